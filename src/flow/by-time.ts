/**
 * Entries in the order of their capture times, each with its time: pushed at the back, taken
 * from the front. What a table prunes from the oldest while times never go backwards (the DNS
 * retry series, the sibling lookups: issue #20), instead of walking all it holds each sweep; an
 * entry may be stale by then (its item seen again later, or already forgotten), which the caller
 * tells from the item. A ring that doubles when full: taking from the front moves nothing.
 */
export class ByTime<T extends object> {
  private items: (T | null)[] = new Array<T | null>(1024).fill(null);
  private times = new Float64Array(1024);
  private head = 0;
  length = 0;

  push(item: T, t: number): void {
    if (this.length === this.times.length) this.grow();
    const i = (this.head + this.length) & (this.times.length - 1);
    this.items[i] = item;
    this.times[i] = t;
    this.length++;
  }

  /** The oldest entry's time (the queue is not empty). */
  oldestT(): number {
    return this.times[this.head];
  }

  /** Takes the oldest entry off: its item. */
  shift(): T {
    const item = this.items[this.head] as T;
    this.items[this.head] = null;
    this.head = (this.head + 1) & (this.times.length - 1);
    this.length--;
    return item;
  }

  clear(): void {
    while (this.length > 0) this.shift();
    this.head = 0;
  }

  private grow(): void {
    const n = this.times.length;
    const items = new Array<T | null>(n * 2).fill(null);
    const times = new Float64Array(n * 2);
    for (let k = 0; k < n; k++) {
      const i = (this.head + k) & (n - 1);
      items[k] = this.items[i];
      times[k] = this.times[i];
    }
    this.items = items;
    this.times = times;
    this.head = 0;
  }
}
