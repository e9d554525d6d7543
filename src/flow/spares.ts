/**
 * Objects a table no longer refers to, kept to be filled in again for its next entries rather than
 * made anew: a table's entries live long enough to be promoted, and made anew for every entry they
 * die in the old generation, where only a full collection frees them (issue #20). At most `max`;
 * a count, not push and pop: popping a burst shrank the array's store, and the next burst grew it
 * again (11 MB of stores on the 1 GB dense bench capture).
 */
export class Spares<T> {
  private readonly items: T[] = [];
  private count = 0;

  constructor(private readonly max: number) {}

  put(x: T): void {
    if (this.count < this.max) this.items[this.count++] = x;
  }

  take(): T | undefined {
    return this.count === 0 ? undefined : this.items[--this.count];
  }
}
