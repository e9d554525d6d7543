/** A hash table of flows with bucket chains through the flows themselves: no per-lookup allocation. */
export interface Chained<T> {
  readonly hash: number;
  nextInBucket: T | null;
}

/** An entry of a ChainedTable. */
export interface TableEntry<T> extends Chained<T> {
  /** Set by the table at insert: the number of entries inserted before this one (eachInOrder). */
  inserted: number;
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
 * Most entries one hash bucket of a flow table holds (#22). Hashes are seeded per process, and a
 * bucket is chosen from all 32 bits of a hash (bucketOf), so chosen keys cannot collide on
 * purpose; this bounds every walk of a chain whatever happens (a seed guessed, a weak key): a new
 * entry whose bucket is full is refused, counted as the anomaly hash_chain_full (the caller counts
 * its packets, as for --max-flows). Above the 64 identical DNS queries a chain may hold on purpose
 * (dns.ts). A table halved merges buckets: a chain may then hold more, and takes no new entry
 * until it is back under the bound.
 */
export const MAX_CHAIN = 256;

/** Buckets a table starts with, and never goes below (2 to this power). */
const MIN_BITS = 10;

/**
 * The bucket of `hash` among 2^(32 - shift): the top bits of the hash times 2^32 / φ (Fibonacci
 * hashing), which every bit of the hash moves. Not its low bits: a DNS transaction's hash
 * (dns.ts txnHash) is its endpoints' times a constant with the query id mixed in below, and ids a
 * sender chose alike in their low bits would have shared one bucket, whatever the seed.
 */
function bucketOf(hash: number, shift: number): number {
  return Math.imul(hash, 0x9e3779b9) >>> shift;
}

/**
 * Entries by hash: an array of chain heads, a power of two long, indexed by bucketOf, with at most
 * one entry per bucket on average (doubled past that; halved below an eighth, by a remove or at the
 * end of a walk). A chain may hold entries of several hashes: a walk from head(hash) checks each
 * entry's own key. Entries of one hash keep their order in it, newest first, through every resize.
 *
 * Not a Map from hash to chain: a table whose entries come and go (a flow, a DNS lookup) filled
 * the Map's table with deleted entries, and V8 made it anew at its full size every time it was
 * full, 0.1-0.5 MB a time, allocated old (large objects) and dead at the next one: 50 MB over the
 * dense 1 GB bench capture, besides a hash lookup per packet.
 */
export class ChainedTable<T extends TableEntry<T>> {
  private buckets: (T | null)[] = new Array<T | null>(1 << MIN_BITS).fill(null);
  /** 32 minus the bits of a bucket's number (bucketOf). */
  private shift = 32 - MIN_BITS;
  size = 0;
  /** Entries inserted so far (TableEntry.inserted). */
  private inserts = 0;
  /** Walks by each() under way: a remove must not resize under them. */
  private walks = 0;
  /** Called when a new entry is refused because its bucket is full (see MAX_CHAIN). */
  onChainFull: ((what: string) => void) | null = null;

  constructor(readonly budget: FlowBudget = new FlowBudget(Infinity)) {}

  /** How many buckets the table has now (for tests). */
  get bucketCount(): number {
    return this.buckets.length;
  }

  /**
   * Whether the bucket of `hash` holds MAX_CHAIN entries already, of any hash: then a new one must
   * not be inserted (reported through onChainFull, naming `what`, after "frame N: " when `frame` is
   * given: the text is made only then, not for every new flow). At one entry a bucket on average,
   * no chain of ordinary traffic comes near it.
   */
  chainFull(hash: number, what: string, frame = -1): boolean {
    let n = 0;
    for (let f = this.buckets[bucketOf(hash, this.shift)]; f !== null; f = f.nextInBucket) {
      if (++n >= MAX_CHAIN) {
        this.onChainFull?.(frame >= 0 ? `frame ${frame}: ${what}` : what);
        return true;
      }
    }
    return false;
  }

  /** The first entry of the chain that holds the entries of `hash` (with others: check each one's key). */
  head(hash: number): T | null {
    return this.buckets[bucketOf(hash, this.shift)];
  }

  /** Adds `item` (not in the table, and not during a walk: see each). */
  insert(item: T): void {
    const b = bucketOf(item.hash, this.shift);
    item.nextInBucket = this.buckets[b];
    this.buckets[b] = item;
    item.inserted = this.inserts++;
    this.size++;
    this.budget.used++;
    if (this.size > this.buckets.length) this.resize(this.buckets.length * 2);
  }

  /** Takes `item` out of the table; false when it was not in it. */
  remove(item: T): boolean {
    const b = bucketOf(item.hash, this.shift);
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
    if (this.walks === 0) this.shrinkIfSparse();
    return true;
  }

  /**
   * Calls `fn` on every entry, in no particular order; `fn` may remove the entry it is given (the
   * walk has already taken the next one), but must not insert. No copy of the table: sweeps run
   * every second of capture.
   */
  each(fn: (item: T) => void): void {
    const buckets = this.buckets;
    this.walks++;
    try {
      for (let i = 0; i < buckets.length; i++) {
        for (let f = buckets[i]; f !== null;) {
          const next: T | null = f.nextInBucket;
          fn(f);
          f = next;
        }
      }
    } finally {
      this.walks--;
    }
    // what the walk removed (a table whose entries go only in sweeps, as UDP flows do)
    if (this.walks === 0) this.shrinkIfSparse();
  }

  /** Every entry, in the order they were inserted (what is reported at the end of a capture goes in the order it was first seen). */
  eachInOrder(): T[] {
    const all: T[] = [];
    this.each((f) => all.push(f));
    return all.sort((a, b) => a.inserted - b.inserted);
  }

  /** Halves the buckets, as many times as it takes, while fewer than an eighth hold an entry. */
  private shrinkIfSparse(): void {
    let n = this.buckets.length;
    while (n > 1 << MIN_BITS && this.size < n >> 3) n >>= 1;
    if (n !== this.buckets.length) this.resize(n);
  }

  /**
   * Re-chains every entry into `n` buckets. An old bucket's entries go to new ones (or several old
   * buckets' to one), appended in the order they were in, so entries of one hash keep theirs.
   */
  private resize(n: number): void {
    const old = this.buckets;
    const next = new Array<T | null>(n).fill(null);
    const tails = new Array<T | null>(n).fill(null);
    const shift = 32 - Math.log2(n);
    for (let i = 0; i < old.length; i++) {
      for (let f = old[i]; f !== null;) {
        const after: T | null = f.nextInBucket;
        const b = bucketOf(f.hash, shift);
        f.nextInBucket = null;
        const tail = tails[b];
        if (tail === null) next[b] = f;
        else tail.nextInBucket = f;
        tails[b] = f;
        f = after;
      }
    }
    this.buckets = next;
    this.shift = shift;
  }
}

/** Most objects a free list keeps when its owner holds fewer live: enough for the flows reported in a sweep of a busy capture. */
const FREE_MAX = 4096;

/**
 * Objects nothing refers to any more (flows reported and forgotten, a table's entries let go),
 * kept to be reused for new ones. A flow or an entry outlives a young-generation collection or two
 * (V8 collects every couple of seconds of a busy capture), so a fresh object for each was copied
 * once or twice and then died in the old generation: the garbage collector was a fifth of the run.
 * A reused object stays where it is. The first `count` of `free`, not push and pop: popping a
 * sweep's burst shrank the array's store, and the next burst grew it again.
 *
 * It keeps up to `max` objects, or as many as its owner holds live (`live`), whichever is more. A
 * flood (20,000 SYNs a capture second, each flow open 5 s) reports as many flows each sweep as
 * arrive in the next second: with 4,096 kept, four of five new flows were fresh objects, each
 * copied by the young generation's collections and dead in the old one (a 1 M SYN flood 34.9 s,
 * 24.4 s with its flows reused). Never more than the live objects: the list holds at most what
 * the owner's peak did, and `trim` lets go of what is more than that once the owner shrinks.
 */
export class FreeList<T> {
  private readonly free: (T | undefined)[] = [];
  private count = 0;

  constructor(
    private readonly max = FREE_MAX,
    private readonly live: (() => number) | null = null,
  ) {}

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
    if (this.count < this.max || (this.live !== null && this.count < this.live())) this.free[this.count++] = item;
  }

  /** Lets go of the objects beyond `max` and the owner's live count (a sweep's: after a flood, say). */
  trim(): void {
    const keep = this.live === null ? this.max : Math.max(this.max, this.live());
    if (this.count <= keep) return;
    this.free.length = keep;
    this.count = keep;
  }

  /** Objects kept (for tests). */
  get size(): number {
    return this.count;
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
