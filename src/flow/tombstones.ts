import type { DecodedPacket } from '../decode/packet.js';
import { C2S, S2C, type FlowEndpoints } from './endpoints.js';
import { MAX_CHAIN, type FlowBudget } from './chained-table.js';

/**
 * How far from a closed connection's next sequence number a straggler may be: a generous receive window.
 */
const SEQ_WINDOW = 1 << 20;

/**
 * How long a closed connection's tombstone keeps recognising its stragglers by their sequence
 * numbers, after CLOSED_KEEP_NS of absorbing every packet: Linux's TIME_WAIT (2 MSL = 60 s), the
 * time the closing side itself keeps the old connection to catch them.
 */
export const TIME_WAIT_NS = 60e9;

/** What a tombstone is made from: a reported TCP flow. */
export interface Retired extends FlowEndpoints {
  readonly hash: number;
  readonly isn: number;
  readonly sawSyn: boolean;
  readonly closed: boolean;
  readonly lastT: number;
  readonly c: { readonly nextSeq: number };
  readonly s: { readonly nextSeq: number };
}

// bits of a tombstone
/** The flow began with a SYN. */
const SYN = 1;
/** Closed by RST or FINs both ways (kept briefly). */
const CLOSED = 2;
/** The client's (server's) next sequence number is known. */
const C_NEXT = 4;
const S_NEXT = 8;
/** Past CLOSED_KEEP_NS: only packets in its sequence window are its own. */
const NARROWED = 16;

/** Int32 words of endpoints per tombstone (FlowEndpoints.writeEndpoints). */
const WORDS = 11;
/** A tombstone handle that names none. */
export const NO_TOMBSTONE = -1;

/**
 * Reported TCP flows, as tombstones, until their late packets have had time to pass: enough of
 * each to recognise its late packets (a retransmitted SYN or FIN, the last ACK) so that they are
 * absorbed rather than reported as a new flow. A busy client's capture holds ~90,000 of them (60 s
 * of closed connections): as objects in a Map they were the largest class of the heap (192 bytes
 * each and a map entry, 21 MB at 28 s of the 1 GB dense benchmark capture), so they live in typed
 * arrays here, a slot per tombstone (~100 bytes, nothing for the collector to trace), with a
 * hash table of their own. A handle is a slot number; a slot is reused once its tombstone is gone,
 * so the expiry queues keep each slot's serial with it and skip the entries of a gone tombstone.
 */
export class TcpTombstones {
  size = 0;
  /** Called when a new tombstone is refused because its hash's chain is full (see MAX_CHAIN). */
  onChainFull: ((what: string) => void) | null = null;

  private capacity = 0;
  private words = new Int32Array(0);
  private hashes = new Int32Array(0);
  /** Next slot in the bucket's chain, or in the free list; -1 at the end. */
  private next = new Int32Array(0);
  private isn = new Int32Array(0);
  private cNext = new Int32Array(0);
  private sNext = new Int32Array(0);
  private bits = new Int32Array(0);
  /** Bumped when a slot is freed: a queue entry with an older serial names a gone tombstone. */
  private serial = new Int32Array(0);
  /** Capture time (ms) of the tombstone's last packet, and when it was (re)queued for expiry. */
  private lastMs = new Float64Array(0);
  private queuedMs = new Float64Array(0);
  private free = -1;
  /** Heads of the chains, by hash & mask (-1: empty). */
  private buckets = new Int32Array(0).fill(-1);
  private mask = -1;

  private readonly closedQueue = new SlotQueue();
  /** Closed ones past CLOSED_KEEP_NS, until TIME_WAIT_NS: they absorb only in-window packets. */
  private readonly narrowQueue = new SlotQueue();
  private readonly openQueue = new SlotQueue();

  constructor(readonly budget: FlowBudget) {}

  /**
   * Whether `hash` has MAX_CHAIN tombstones already: then a new one must not be added (reported
   * through onChainFull, naming `what`, after "frame N: " when `frame` is given, as ChainedTable).
   */
  chainFull(hash: number, what: string, frame = -1): boolean {
    if (this.size === 0) return false;
    let n = 0;
    for (let s = this.buckets[hash & this.mask]; s >= 0; s = this.next[s]) {
      if (this.hashes[s] === hash && ++n >= MAX_CHAIN) {
        this.onChainFull?.(frame >= 0 ? `frame ${frame}: ${what}` : what);
        return true;
      }
    }
    return false;
  }

  /** A tombstone for the reported flow `f`, in the table and queued for expiry. */
  add(f: Retired): void {
    if (this.free < 0) this.grow();
    const s = this.free;
    this.free = this.next[s];
    f.writeEndpoints(this.words, s * WORDS);
    this.hashes[s] = f.hash;
    this.isn[s] = f.isn | 0;
    this.cNext[s] = f.c.nextSeq | 0;
    this.sNext[s] = f.s.nextSeq | 0;
    this.bits[s] = (f.sawSyn ? SYN : 0) | (f.closed ? CLOSED : 0) | (f.c.nextSeq >= 0 ? C_NEXT : 0) | (f.s.nextSeq >= 0 ? S_NEXT : 0);
    this.lastMs[s] = Math.floor(f.lastT / 1e6);
    if ((this.size + 1) * 2 > this.buckets.length) this.rehash();
    const b = f.hash & this.mask;
    this.next[s] = this.buckets[b];
    this.buckets[b] = s;
    this.size++;
    this.budget.used++;
    this.enqueue((this.bits[s] & CLOSED) !== 0 ? this.closedQueue : this.openQueue, s);
  }

  /** The newest tombstone of the packet's flow (either direction), or NO_TOMBSTONE. */
  find(version: number, src: Uint32Array, srcPort: number, dst: Uint32Array, dstPort: number, hash: number): number {
    if (this.size === 0) return NO_TOMBSTONE;
    for (let s = this.buckets[hash & this.mask]; s >= 0; s = this.next[s]) {
      if (this.hashes[s] === hash && this.directionOf(s, version, src, srcPort, dst, dstPort) >= 0) return s;
    }
    return NO_TOMBSTONE;
  }

  /** Takes tombstone `s` out of the table; false when it was not in it. */
  remove(s: number): boolean {
    if (s < 0) return false;
    const b = this.hashes[s] & this.mask;
    let prev = -1;
    let x = this.buckets[b];
    while (x >= 0 && x !== s) {
      prev = x;
      x = this.next[x];
    }
    if (x < 0) return false;
    if (prev >= 0) this.next[prev] = this.next[s];
    else this.buckets[b] = this.next[s];
    // a narrowed one was not counted against --max-flows
    if ((this.bits[s] & NARROWED) === 0) this.budget.used--;
    this.serial[s]++;
    this.next[s] = this.free;
    this.free = s;
    this.size--;
    return true;
  }

  /** Whether tombstone `s` stands for a connection closed by RST or FINs. */
  closed(s: number): boolean {
    return (this.bits[s] & CLOSED) !== 0;
  }

  /** A late packet of tombstone `s`'s flow at capture time `t` (ns) was absorbed: it is kept longer. */
  touch(s: number, t: number): void {
    this.lastMs[s] = Math.floor(t / 1e6);
  }

  /** A SYN or data after the close (a connection that went on after a stray RST): keep it as long as an open one, counted again. */
  reopen(s: number): void {
    if ((this.bits[s] & NARROWED) !== 0) this.budget.used++;
    this.bits[s] &= ~(CLOSED | NARROWED);
  }

  /**
   * Whether a packet that is not a new SYN belongs to tombstone `s`'s flow: always within
   * CLOSED_KEEP_NS of the close (or while not closed); afterwards only when its sequence number is
   * within SEQ_WINDOW of its sender's next one (a RST or retransmission of the old connection, as
   * the Teredo trace's RSTs 16-18 s after the close), so that a new midstream connection on the
   * same ports is not swallowed.
   */
  owns(s: number, pkt: DecodedPacket): boolean {
    const bits = this.bits[s];
    if ((bits & NARROWED) === 0) return true;
    const dir = this.directionOf(s, pkt.ipVersion, pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort);
    const known = dir === C2S ? bits & C_NEXT : bits & S_NEXT;
    if (known === 0) return false;
    const d = (pkt.seq - (dir === C2S ? this.cNext[s] : this.sNext[s])) | 0;
    return d <= SEQ_WINDOW && d >= -SEQ_WINDOW;
  }

  /** A SYN from the client with the flow's own ISN: a retransmission, not a new attempt. */
  isRetransmittedSyn(s: number, pkt: DecodedPacket): boolean {
    return (this.bits[s] & SYN) !== 0 && (pkt.seq | 0) === this.isn[s] && this.directionOf(s, pkt.ipVersion, pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort) === C2S;
  }

  /**
   * By `now` (ns): closed flows idle `closedKeepNs` go on recognising only their in-window
   * stragglers, and are forgotten once idle TIME_WAIT_NS; the others are forgotten once idle `idleNs`.
   */
  expire(now: number, closedKeepNs: number, idleNs: number): void {
    const nowMs = Math.floor(now / 1e6);
    this.drain(this.closedQueue, nowMs, Math.min(closedKeepNs, idleNs) / 1e6, CLOSED, 0);
    this.drain(this.narrowQueue, nowMs, Math.min(TIME_WAIT_NS, idleNs) / 1e6, CLOSED | NARROWED, 1);
    this.drain(this.openQueue, nowMs, idleNs / 1e6, 0, 1);
  }

  /**
   * Forgets the oldest tombstone that counts against --max-flows (timed-out and open ones first,
   * then those closed in the last CLOSED_KEEP_NS), for a new flow when the budget is spent: a SYN
   * flood must not keep new flows out for --tcp-idle with the tombstones of its timeouts. False
   * when there is none. A late packet of a forgotten one is taken as a new flow.
   */
  evictOldest(): boolean {
    for (const q of [this.openQueue, this.closedQueue]) {
      for (let s = this.shiftLive(q); s >= 0; s = this.shiftLive(q)) {
        if ((this.bits[s] & NARROWED) !== 0) {
          this.enqueue(this.narrowQueue, s); // not counted: where it belongs
          continue;
        }
        if (this.remove(s)) return true;
      }
    }
    return false;
  }

  /**
   * Walks queue `q` from its oldest entry: a tombstone whose bits under `mask` are no longer `want`
   * (reopened, or narrowed) moves to the queue it belongs in; one idle `keepMs` by `nowMs` expires
   * (`expiry` 0: it is narrowed and moves to narrowQueue, no longer counted; 1: it is forgotten);
   * one refreshed since it was queued is queued again; the first other one stops the walk.
   */
  private drain(q: SlotQueue, nowMs: number, keepMs: number, want: number, expiry: 0 | 1): void {
    while (q.length > 0) {
      const s = q.peekSlot();
      if (q.peekSerial() !== this.serial[s]) {
        q.drop(); // gone already
        continue;
      }
      const stays = want === 0 ? true : (this.bits[s] & want) === want;
      if (!stays) this.enqueue(this.openQueue, s);
      else if (nowMs - this.lastMs[s] >= keepMs) {
        if (expiry === 1) this.remove(s);
        else {
          this.bits[s] |= NARROWED;
          this.budget.used--;
          this.enqueue(this.narrowQueue, s);
        }
      } else if (this.lastMs[s] > this.queuedMs[s])
        this.enqueue(q, s); // a late packet refreshed it: its turn comes later
      else break;
      q.drop();
    }
  }

  private enqueue(q: SlotQueue, s: number): void {
    this.queuedMs[s] = this.lastMs[s];
    q.push(s, this.serial[s]);
  }

  /** The oldest entry of `q` whose tombstone is still there (taken out of the queue), or -1. */
  private shiftLive(q: SlotQueue): number {
    while (q.length > 0) {
      const s = q.peekSlot();
      const live = q.peekSerial() === this.serial[s];
      q.drop();
      if (live) return s;
    }
    return -1;
  }

  private directionOf(s: number, version: number, src: Uint32Array, srcPort: number, dst: Uint32Array, dstPort: number): number {
    const w = this.words;
    const at = s * WORDS;
    if (version !== w[at]) return -1;
    if (this.isEnd(at + 3, w[at + 1], src, srcPort) && this.isEnd(at + 7, w[at + 2], dst, dstPort)) return C2S;
    if (this.isEnd(at + 7, w[at + 2], src, srcPort) && this.isEnd(at + 3, w[at + 1], dst, dstPort)) return S2C;
    return -1;
  }

  /** Whether the address words at `at` and `port` are `a` and `aPort`. */
  private isEnd(at: number, port: number, a: Uint32Array, aPort: number): boolean {
    const w = this.words;
    return aPort === port && (a[0] | 0) === w[at] && (a[1] | 0) === w[at + 1] && (a[2] | 0) === w[at + 2] && (a[3] | 0) === w[at + 3];
  }

  /** Twice the slots (1,024 at first), the new ones on the free list. */
  private grow(): void {
    const old = this.capacity;
    const cap = old === 0 ? 1024 : old * 2;
    const widen32 = (a: Int32Array, per = 1) => {
      const b = new Int32Array(cap * per);
      b.set(a);
      return b;
    };
    const widen64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.words = widen32(this.words, WORDS);
    this.hashes = widen32(this.hashes);
    this.next = widen32(this.next);
    this.isn = widen32(this.isn);
    this.cNext = widen32(this.cNext);
    this.sNext = widen32(this.sNext);
    this.bits = widen32(this.bits);
    this.serial = widen32(this.serial);
    this.lastMs = widen64(this.lastMs);
    this.queuedMs = widen64(this.queuedMs);
    for (let s = cap - 1; s >= old; s--) {
      this.next[s] = this.free;
      this.free = s;
    }
    this.capacity = cap;
  }

  /**
   * Twice the buckets. The tombstones of one new bucket all come from one old bucket (the mask
   * gains a bit), and are put back oldest first, each at the head: the chain keeps its order, so
   * find still answers the newest tombstone of a flow.
   */
  private rehash(): void {
    const old = this.buckets;
    const n = Math.max(2048, old.length * 2);
    this.buckets = new Int32Array(n).fill(-1);
    this.mask = n - 1;
    // one chain at a time, its length counted: setting an array's length to 0 frees its store,
    // and the next push made one of 17 slots, for every bucket in use (7 MB a dense 100 MB run)
    const chain: number[] = [];
    for (let b = 0; b < old.length; b++) {
      let k = 0;
      for (let s = old[b]; s >= 0; s = this.next[s]) chain[k++] = s;
      for (let i = k - 1; i >= 0; i--) {
        const s = chain[i];
        const nb = this.hashes[s] & this.mask;
        this.next[s] = this.buckets[nb];
        this.buckets[nb] = s;
      }
    }
  }
}

/** A FIFO of (slot, serial) pairs in one growable Int32Array: in order of last packet (near enough). */
class SlotQueue {
  private items = new Int32Array(2048);
  /** Index (in pairs) of the oldest entry, and of the next free one. */
  private head = 0;
  private tail = 0;

  get length(): number {
    return this.tail - this.head;
  }

  push(slot: number, serial: number): void {
    if (this.tail * 2 >= this.items.length) this.makeRoom();
    this.items[this.tail * 2] = slot;
    this.items[this.tail * 2 + 1] = serial;
    this.tail++;
  }

  peekSlot(): number {
    return this.items[this.head * 2];
  }

  peekSerial(): number {
    return this.items[this.head * 2 + 1];
  }

  drop(): void {
    this.head++;
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  /** Moves the entries to the front, or doubles the array when more than half of it is in use. */
  private makeRoom(): void {
    const n = this.tail - this.head;
    if (n * 2 * 2 > this.items.length) {
      const items = new Int32Array(this.items.length * 2);
      items.set(this.items.subarray(this.head * 2, this.tail * 2));
      this.items = items;
    } else this.items.copyWithin(0, this.head * 2, this.tail * 2);
    this.head = 0;
    this.tail = n;
  }
}
