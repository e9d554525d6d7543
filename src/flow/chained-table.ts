/** A hash table of flows with bucket chains through the flows themselves: no per-lookup allocation. */
export interface Chained<T> {
  readonly hash: number;
  nextInBucket: T | null;
}

/**
 * The flows all tables may hold together (`--max-flows`): a cap on state, so that a flood of
 * distinct flows cannot grow memory without bound. New flows beyond it are not tracked.
 */
export class FlowBudget {
  used = 0;
  /** New flows not tracked because the budget was spent. */
  dropped = 0;
  /**
   * Frees one unit of the budget when it is spent, if it can (the flow tracker forgets its oldest
   * tombstone: a reported flow kept only to absorb late packets); true when it did.
   */
  reclaim: (() => boolean) | null = null;
  constructor(readonly max: number) {}
  get full(): boolean {
    return this.used >= this.max && !(this.reclaim !== null && this.reclaim() && this.used < this.max);
  }
}

/**
 * Most entries one hash bucket of a flow table holds (#22). Hashes are seeded per process, so
 * chosen keys cannot collide on purpose; this bounds every walk of a chain whatever happens (a
 * seed guessed, a weak key): a new entry whose bucket is full is refused, counted as the anomaly
 * hash_chain_full (the caller counts its packets, as for --max-flows). Above the 64 identical DNS
 * queries a chain may hold on purpose (dns.ts).
 */
export const MAX_CHAIN = 256;

export class ChainedTable<T extends Chained<T>> {
  private readonly buckets = new Map<number, T>();
  size = 0;
  /** Called when a new entry is refused because its bucket is full (see MAX_CHAIN). */
  onChainFull: ((what: string) => void) | null = null;

  constructor(readonly budget: FlowBudget = new FlowBudget(Infinity)) {}

  /**
   * Whether the bucket of `hash` holds MAX_CHAIN entries already: then a new one must not be
   * inserted (reported through onChainFull, naming `what`, after "frame N: " when `frame` is
   * given: the text is made only then, not for every new flow).
   */
  chainFull(hash: number, what: string, frame = -1): boolean {
    let n = 0;
    for (let f = this.buckets.get(hash) ?? null; f !== null; f = f.nextInBucket) {
      if (++n >= MAX_CHAIN) {
        this.onChainFull?.(frame >= 0 ? `frame ${frame}: ${what}` : what);
        return true;
      }
    }
    return false;
  }

  head(hash: number): T | null {
    return this.buckets.get(hash) ?? null;
  }

  insert(item: T): void {
    item.nextInBucket = this.buckets.get(item.hash) ?? null;
    this.buckets.set(item.hash, item);
    this.size++;
    this.budget.used++;
  }

  /** Takes `item` out of the table; false when it was not in it. */
  remove(item: T): boolean {
    let f = this.buckets.get(item.hash) ?? null;
    let prev: T | null = null;
    while (f !== null && f !== item) {
      prev = f;
      f = f.nextInBucket;
    }
    if (f === null) return false;
    if (prev !== null) prev.nextInBucket = item.nextInBucket;
    else if (item.nextInBucket === null) this.buckets.delete(item.hash);
    else this.buckets.set(item.hash, item.nextInBucket);
    item.nextInBucket = null;
    this.size--;
    this.budget.used--;
    return true;
  }

  /**
   * Calls `fn` on every entry; `fn` may remove the entry it is given (the walk has already taken
   * the next one), but must not insert. No copy of the table: sweeps run every second of capture.
   */
  each(fn: (item: T) => void): void {
    // forEach, not for…of: no iterator result object per bucket
    this.buckets.forEach((head) => {
      for (let f: T | null = head; f !== null;) {
        const next: T | null = f.nextInBucket;
        fn(f);
        f = next;
      }
    });
  }
}

/** Most objects a free list keeps: enough for the flows reported in a sweep of a busy capture, not a flood's worth. */
const FREE_MAX = 4096;

/**
 * Objects nothing refers to any more (flows reported and forgotten, a table's entries let go),
 * kept to be reused for new ones. A flow or an entry outlives a young-generation collection or two
 * (V8 collects every couple of seconds of a busy capture), so a fresh object for each was copied
 * once or twice and then died in the old generation: the garbage collector was a fifth of the run.
 * A reused object stays where it is. The first `count` of `free`, not push and pop: popping a
 * sweep's burst shrank the array's store, and the next burst grew it again.
 */
export class FreeList<T> {
  private readonly free: (T | undefined)[] = [];
  private count = 0;

  constructor(private readonly max = FREE_MAX) {}

  /** An object to reuse (the caller makes it new: see TcpFlow.reuse), or undefined. */
  take(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.free[--this.count];
    // not kept from here: an object handed out and later dropped without being given back (its
    // owner's counts left too high by a queue's clear()) is the collector's
    this.free[this.count] = undefined;
    return item;
  }

  /** An object nothing reads any more. */
  give(item: T): void {
    if (this.count < this.max) this.free[this.count++] = item;
  }
}

/**
 * Takes `item` out of its chain in `map` (chains of entries with one hash, through nextInBucket,
 * the map holding each chain's head by that hash). Nothing when it is not there.
 */
export function unchain<T extends Chained<T>>(map: Map<number, T>, item: T): void {
  let prev: T | null = null;
  let q = map.get(item.hash) ?? null;
  while (q !== null && q !== item) {
    prev = q;
    q = q.nextInBucket;
  }
  if (q === null) return;
  if (prev !== null) prev.nextInBucket = item.nextInBucket;
  else if (item.nextInBucket === null) map.delete(item.hash);
  else map.set(item.hash, item.nextInBucket);
}
