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

/** Buckets of a new table (a power of two); it doubles when it holds more entries than half its buckets. */
const FIRST_BUCKETS = 1024;

/**
 * Flows by hash, chained through the flows themselves (newest first). The buckets are a plain
 * array indexed by the hash's low bits, not a Map keyed by the hash: a flow-dense capture inserts
 * and removes a flow every few packets, and a Map's table, which keeps removed entries until it
 * rebuilds, was rebuilt every few thousand flows (garbage the collector had to move), besides
 * hashing the key on every lookup. A chain may hold flows of other hashes: every lookup checks
 * the flow's identity anyway, and chainFull counts those of the one hash.
 */
export class ChainedTable<T extends Chained<T>> {
  private buckets: (T | null)[] = new Array<T | null>(FIRST_BUCKETS).fill(null);
  private mask = FIRST_BUCKETS - 1;
  size = 0;
  /** Called when a new entry is refused because its hash's chain is full (see MAX_CHAIN). */
  onChainFull: ((what: string) => void) | null = null;

  constructor(readonly budget: FlowBudget = new FlowBudget(Infinity)) {}

  /** Whether MAX_CHAIN entries have `hash` already: then a new one must not be inserted (reported through onChainFull, naming `what`). */
  chainFull(hash: number, what: string): boolean {
    let n = 0;
    for (let f = this.buckets[hash & this.mask]; f !== null; f = f.nextInBucket) {
      if (f.hash === hash && ++n >= MAX_CHAIN) {
        this.onChainFull?.(what);
        return true;
      }
    }
    return false;
  }

  /** The newest entry of the chain `hash` is in (which may hold other hashes too: check the entry). */
  head(hash: number): T | null {
    return this.buckets[hash & this.mask];
  }

  insert(item: T): void {
    if (this.size >= this.buckets.length >> 1) this.grow();
    const b = item.hash & this.mask;
    item.nextInBucket = this.buckets[b];
    this.buckets[b] = item;
    this.size++;
    this.budget.used++;
  }

  /** Takes `item` out of the table; false when it was not in it. */
  remove(item: T): boolean {
    const b = item.hash & this.mask;
    let f = this.buckets[b];
    let prev: T | null = null;
    while (f !== null && f !== item) {
      prev = f;
      f = f.nextInBucket;
    }
    if (f === null) return false;
    if (prev !== null) prev.nextInBucket = item.nextInBucket;
    else this.buckets[b] = item.nextInBucket;
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
    const buckets = this.buckets;
    for (let b = 0; b < buckets.length; b++) {
      for (let f = buckets[b]; f !== null;) {
        const next: T | null = f.nextInBucket;
        fn(f);
        f = next;
      }
    }
  }

  /**
   * Twice the buckets. The entries of one new bucket all come from one old bucket (the mask gains
   * a bit) and are put back oldest first, each at the head: a chain keeps its order, so a lookup
   * still finds the newest entry of a flow first.
   */
  private grow(): void {
    const old = this.buckets;
    this.buckets = new Array<T | null>(old.length * 2).fill(null);
    this.mask = this.buckets.length - 1;
    const chain: T[] = [];
    for (let b = 0; b < old.length; b++) {
      for (let f = old[b]; f !== null; f = f.nextInBucket) chain.push(f);
      for (let i = chain.length - 1; i >= 0; i--) {
        const f = chain[i];
        const nb = f.hash & this.mask;
        f.nextInBucket = this.buckets[nb];
        this.buckets[nb] = f;
      }
      chain.length = 0;
    }
  }
}

/** Most objects a free list keeps: enough for the flows reported in a sweep of a busy capture, not a flood's worth. */
const FREE_MAX = 4096;

/**
 * Objects of flows that were reported and forgotten, kept to be reused for new ones. A flow
 * outlives a young-generation collection or two (V8 collects every couple of seconds of a busy
 * capture), so a fresh object for each was copied once or twice and then died in the old
 * generation: the garbage collector was a fifth of the run. A reused object stays where it is.
 */
export class FreeList<T> {
  private readonly free: T[] = [];

  /** An object to reuse (the caller makes it new: see TcpFlow.reuse), or undefined. */
  take(): T | undefined {
    return this.free.pop();
  }

  /** An object nothing reads any more. */
  give(item: T): void {
    if (this.free.length < FREE_MAX) this.free.push(item);
  }
}
