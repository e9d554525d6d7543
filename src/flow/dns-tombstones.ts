import type { FlowBudget } from './chained-table.js';
import type { FlowEndpoints } from './endpoints.js';

/** What a retired lookup is made from: an answered DNS transaction, reported (flow/dns.ts DnsTxn). */
export interface RetiredLookup extends FlowEndpoints {
  readonly transport: 'udp' | 'tcp';
  readonly id: number;
  readonly hash: number;
  /** Its place in the order the DNS table's entries were inserted (ChainedTable). */
  readonly inserted: number;
  readonly lastT: number;
}

/** Int32 words of an entry: FlowEndpoints.writeEndpoints's 11 (version, ports, addresses), then these. */
const TRANSPORT = 11; // 0 UDP, 1 TCP
const ID = 12;
const HASH = 13;
/** Next entry in the bucket's chain, or in the free list; -1 at the end. */
const NEXT = 14;
const WORDS = 16;

/**
 * Answered lookups already reported, kept until `--dns-timeout` after their last message to absorb
 * late duplicates of their response (and ICMP errors quoting their query), as the transactions
 * themselves were kept before: a DnsTxn with its strings, answers and boxed times for five seconds
 * after its answer. On a capture of many lookups a second those were most of the heap (74,000 of
 * them, ~35 MB, at 13 s of a 971 MB capture at 41,500 packets a second, issue #20); an entry here
 * is 64 bytes of key and 16 of times. They count against --max-flows as the transactions did.
 */
export class DnsTombstones {
  size = 0;
  private capacity = 0;
  private words = new Int32Array(0);
  /** Capture time (ns) of the lookup's last message, and its ChainedTable.inserted. */
  private lastT = new Float64Array(0);
  private inserted = new Float64Array(0);
  private free = -1;
  /** Heads of the chains, by bucketOf (-1 empty). */
  private buckets = new Int32Array(1024).fill(-1);
  /** 32 minus the bits of a bucket's number. */
  private shift = 22;
  /** Entries by lastT, a binary min-heap of slots: each is forgotten at the first sweep its time is up. */
  private heap = new Int32Array(0);
  private heapN = 0;

  constructor(readonly budget: FlowBudget) {}

  /** An entry for `d`, which leaves its table now. */
  add(d: RetiredLookup): void {
    if (this.free < 0) this.grow();
    const s = this.free;
    const w = s * WORDS;
    this.free = this.words[w + NEXT];
    d.writeEndpoints(this.words, w);
    this.words[w + TRANSPORT] = d.transport === 'tcp' ? 1 : 0;
    this.words[w + ID] = d.id;
    this.words[w + HASH] = d.hash;
    this.lastT[s] = d.lastT;
    this.inserted[s] = d.inserted;
    if ((this.size + 1) * 2 > this.buckets.length) this.rehash();
    const b = this.bucketOf(d.hash);
    this.words[w + NEXT] = this.buckets[b];
    this.buckets[b] = s;
    this.size++;
    this.budget.used++;
    this.heapPush(s);
  }

  /**
   * The ChainedTable.inserted of the newest entry for these endpoints, transport and id, or -1:
   * what a live transaction of the same key is compared with (the newest of them is the match).
   */
  latest(version: number, transport: 'udp' | 'tcp', cAddr: Uint32Array, cPort: number, sAddr: Uint32Array, sPort: number, id: number, hash: number): number {
    let newest = -1;
    if (this.size === 0) return newest;
    for (let s = this.buckets[this.bucketOf(hash)]; s >= 0; s = this.words[s * WORDS + NEXT]) {
      if (this.inserted[s] > newest && this.matches(s, version, transport, cAddr, cPort, sAddr, sPort, id, hash)) newest = this.inserted[s];
    }
    return newest;
  }

  /** How many entries have these endpoints, transport and id, counted up to `max`. */
  count(version: number, transport: 'udp' | 'tcp', cAddr: Uint32Array, cPort: number, sAddr: Uint32Array, sPort: number, id: number, hash: number, max: number): number {
    let n = 0;
    if (this.size === 0) return n;
    for (let s = this.buckets[this.bucketOf(hash)]; s >= 0 && n < max; s = this.words[s * WORDS + NEXT]) {
      if (this.matches(s, version, transport, cAddr, cPort, sAddr, sPort, id, hash)) n++;
    }
    return n;
  }

  /** Forgets the entries whose last message is `keepNs` or more before `now` (each sweep). */
  expire(now: number, keepNs: number): void {
    while (this.heapN > 0 && now - this.lastT[this.heap[0]] >= keepNs) this.remove(this.heapPop());
  }

  /**
   * A hash's bucket: its top bits times 2^32 / φ, as ChainedTable's bucketOf. Not its low bits: a
   * lookup's hash has its id mixed in below, and ids alike there would share a chain.
   */
  private bucketOf(hash: number): number {
    return Math.imul(hash, 0x9e3779b9) >>> this.shift;
  }

  private matches(s: number, version: number, transport: 'udp' | 'tcp', c: Uint32Array, cPort: number, a: Uint32Array, sPort: number, id: number, hash: number): boolean {
    const w = this.words;
    const o = s * WORDS;
    return (
      w[o + HASH] === hash &&
      w[o + ID] === id &&
      w[o] === version &&
      w[o + 1] === cPort &&
      w[o + 2] === sPort &&
      w[o + TRANSPORT] === (transport === 'tcp' ? 1 : 0) &&
      w[o + 3] === (c[0] | 0) &&
      w[o + 4] === (c[1] | 0) &&
      w[o + 5] === (c[2] | 0) &&
      w[o + 6] === (c[3] | 0) &&
      w[o + 7] === (a[0] | 0) &&
      w[o + 8] === (a[1] | 0) &&
      w[o + 9] === (a[2] | 0) &&
      w[o + 10] === (a[3] | 0)
    );
  }

  private remove(s: number): void {
    const w = this.words;
    const b = this.bucketOf(w[s * WORDS + HASH]);
    if (this.buckets[b] === s) this.buckets[b] = w[s * WORDS + NEXT];
    else {
      let p = this.buckets[b];
      while (w[p * WORDS + NEXT] !== s) p = w[p * WORDS + NEXT];
      w[p * WORDS + NEXT] = w[s * WORDS + NEXT];
    }
    w[s * WORDS + NEXT] = this.free;
    this.free = s;
    this.size--;
    this.budget.used--;
  }

  private heapPush(s: number): void {
    const h = this.heap;
    const t = this.lastT[s];
    let i = this.heapN++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.lastT[h[p]] <= t) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = s;
  }

  private heapPop(): number {
    const h = this.heap;
    const top = h[0];
    const last = h[--this.heapN];
    const t = this.lastT[last];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.heapN) break;
      const r = l + 1;
      const c = r < this.heapN && this.lastT[h[r]] < this.lastT[h[l]] ? r : l;
      if (this.lastT[h[c]] >= t) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
    return top;
  }

  /** Twice the slots (at least 1024), the new ones on the free list. */
  private grow(): void {
    const old = this.capacity;
    const cap = Math.max(1024, old * 2);
    const words = new Int32Array(cap * WORDS);
    words.set(this.words);
    this.words = words;
    const lastT = new Float64Array(cap);
    lastT.set(this.lastT);
    this.lastT = lastT;
    const inserted = new Float64Array(cap);
    inserted.set(this.inserted);
    this.inserted = inserted;
    const heap = new Int32Array(cap);
    heap.set(this.heap);
    this.heap = heap;
    for (let s = cap - 1; s >= old; s--) {
      this.words[s * WORDS + NEXT] = this.free;
      this.free = s;
    }
    this.capacity = cap;
  }

  /** Twice the buckets. */
  private rehash(): void {
    const old = this.buckets;
    const n = old.length * 2;
    this.buckets = new Int32Array(n).fill(-1);
    this.shift--;
    const tails = new Int32Array(n).fill(-1);
    const w = this.words;
    for (let b = 0; b < old.length; b++) {
      for (let s = old[b]; s >= 0;) {
        const after = w[s * WORDS + NEXT];
        const nb = this.bucketOf(w[s * WORDS + HASH]);
        w[s * WORDS + NEXT] = -1;
        if (tails[nb] < 0) this.buckets[nb] = s;
        else w[tails[nb] * WORDS + NEXT] = s;
        tails[nb] = s;
        s = after;
      }
    }
  }
}

/** What DnsTable.findNewest answers when the newest lookup of the key is a retired one. */
export const RETIRED = Symbol('retired lookup');
