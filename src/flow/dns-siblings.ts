import { DNS_RCODE, DNS_TYPE } from '../decode/enums.js';
import { endpointHash } from './addr.js';
import { FreeList, unchain } from './chained-table.js';
import { ByTime } from './by-time.js';

/**
 * How long, in capture time, a failed lookup (NXDOMAIN, or NOERROR without data) waits after its
 * response for a sibling lookup of the same client that tells it was benign: the stem of a
 * search-list expansion resolving (`www.example.test.lab.corp.` NXDOMAIN, then `www.example.test.`
 * answered), or the other address family of the same name answering (A answered, AAAA no data).
 * A stub resolver walks its search list one domain after the other as soon as each answer comes, so
 * the whole walk takes a few round trips to the resolver.
 */
export const SIBLING_WAIT_NS = 2e9;

/** Why a failed lookup is benign: none, a search-list expansion whose stem resolved, the other family resolved. */
export const enum Sibling {
  None = 0,
  SearchMiss = 1,
  OtherFamily = 2,
}

/** What sibling matching reads and writes of a DNS transaction (flow/dns.ts DnsTxn). */
export interface SiblingLookup {
  readonly qname: string;
  readonly qtype: number;
  readonly rcode: number;
  readonly ancount: number;
  readonly tc: number;
  readonly referral: boolean;
  readonly respFrame: number;
  readonly respT: number;
  /** Counts reuses of the transaction's object: a wait kept with another gen is stale. */
  readonly gen: number;
  readonly reported: boolean;
  waitsForSibling: boolean;
  sibling: Sibling;
  siblingName: string;
  siblingQtype: number;
  siblingFrame: number;
  siblingT: number;
}

/** A free triple's type in Resolved.answers (no query type is negative: no lookup matches it). */
const NO_TYPE = -1;

/** A lookup a client got answers for, remembered for SIBLING_WAIT_NS (see DnsSiblings). */
interface Resolved<T extends SiblingLookup> {
  /** Its client, and its key in the client's `resolved` (the name in lower case). */
  client: ClientNames<T>;
  key: string;
  /** Still in its client's map (not pruned, nor evicted past MAX_RESOLVED). */
  live: boolean;
  /**
   * Its entries in resolvedQueue (counted while the queue is in order): not live and none left, it
   * is reused. The queue's clear() leaves the counts too high, on purpose: those are left to the collector.
   */
  queued: number;
  /** The latest of its answers' times (it is forgotten SIBLING_WAIT_NS after it). */
  t: number;
  name: string;
  /**
   * Each query type answered for this name, with the time and frame of its latest answer, as
   * triples (qtype, t, frame) in one array: a sibling is matched by its own type's answer, not by
   * the name's latest answer of any type (an HTTPS lookup 1.9 s after the A made a AAAA without
   * data 3.5 s after the A dns-other-family, citing the HTTPS answer). Made with room for two
   * types (most names get A and AAAA), the second triple's type NO_TYPE until it is taken: adding
   * it by a copy of the array was the costliest line of resolved() in a CPU profile of the dense
   * 102 MB bench capture (92 of its 468 samples).
   */
  answers: number[];
  /** Neighbours in the order the live entries were first resolved (the oldest goes first past MAX_RESOLVED). */
  older: Resolved<T> | null;
  newer: Resolved<T> | null;
}

/** A failed lookup waiting for its sibling, under its own name (`self`) or one of its name's proper prefixes. */
interface Pending<T extends SiblingLookup> {
  /** Its client, and its key in the client's `pending` (a name in lower case, whose length is `key.length`). */
  client: ClientNames<T>;
  key: string;
  /** When it began to wait (its response's time). */
  t: number;
  txn: T;
  gen: number;
  self: boolean;
}

/**
 * One client's lookups as siblings see them, by name in lower case. Keyed by client first and then
 * by the name string the lookup already has, rather than by one string joining both: building and
 * hashing that string (the address as text, a rope of it and the name, flattened by the lookup)
 * was most of the sibling matching's cost and a third of its allocations (issue #20).
 */
class ClientNames<T extends SiblingLookup> {
  nextInBucket: ClientNames<T> | null = null;
  readonly addr = new Uint32Array(4);
  readonly resolved = new Map<string, Resolved<T>>();
  readonly pending = new Map<string, Pending<T>[]>();
  constructor(
    readonly hash: number,
    a: Uint32Array,
  ) {
    this.addr.set(a);
  }
  is(a: Uint32Array): boolean {
    const b = this.addr;
    return b[0] === a[0] && b[1] === a[1] && b[2] === a[2] && b[3] === a[3];
  }
}

/**
 * How many entries of a map of names wait under a name of each length (names longer than 255
 * characters share the last count). A sibling is looked up under every proper prefix of a name,
 * one map lookup each; a prefix no entry's name is as long as cannot match, and on a client's
 * capture the failures wait under whole names, longer than any prefix of the names that resolve
 * (issue #20: three lookups a DNS answer for nothing).
 */
class LengthCounts {
  private readonly n = new Int32Array(256);
  add(len: number): void {
    this.n[Math.min(len, 255)]++;
  }
  remove(len: number): void {
    this.n[Math.min(len, 255)]--;
  }
  any(len: number): boolean {
    return this.n[Math.min(len, 255)] > 0;
  }
}

/**
 * `www.example.test.` → `www.`, `www.example.` (the names a search-list expansion could have
 * started from), as their lengths in out[0..n), n returned: the prefixes are `name.slice(0, len)`.
 * Counted, not `out.length = 0` and pushed: that frees the array's store, and a push makes one of
 * 17 slots, for every answer.
 */
function properPrefixLengths(name: string, out: number[]): number {
  let n = 0;
  for (let i = name.indexOf('.'); i >= 0 && i < name.length - 1; i = name.indexOf('.', i + 1)) out[n++] = i + 1;
  return n;
}

/**
 * Where in `answers` (Resolved's triples) a type is that was answered within SIBLING_WAIT_NS of
 * `t`: `qtype` itself (`exact`) or one a lookup of `qtype` is the same lookup as (sameLookup); -1 none.
 */
function answeredNear(answers: readonly number[], qtype: number, exact: boolean, t: number): number {
  for (let i = 0; i < answers.length; i += 3) {
    const x = answers[i];
    if ((exact ? x === qtype : sameLookup(x, qtype)) && within(answers[i + 1], t)) return i;
  }
  return -1;
}

/**
 * Whether answers at `a` and `b` are close enough to be siblings: within SIBLING_WAIT_NS, checked
 * as they are matched. The sweeps (prune) forget older entries only at their own times, up to a
 * second after the wait has ended, and a sibling answered in between was matched: whether a
 * failure was benign then hung on where the sweeps fell (8 of 961,818 lookups of the dense 1 GB
 * bench capture, siblings 2.0-2.6 s apart, were dns-other-family; bench/verdict-floor.mjs, which
 * checks the window at each answer, said dns-nodata, as pcapdiag now does).
 */
const within = (a: number, b: number) => Math.abs(b - a) <= SIBLING_WAIT_NS;

const isAddressType = (t: number) => t === DNS_TYPE.A || t === DNS_TYPE.AAAA;
/** A search-list walk asks the same type for every name (A and AAAA together, for getaddrinfo). */
const sameLookup = (a: number, b: number) => a === b || (isAddressType(a) && isAddressType(b));

/** The most names remembered as resolved at once (a resolver's busy capture: the oldest go first). Exported for tests. */
export const MAX_RESOLVED = 1 << 16;

const NO_PENDING: readonly never[] = [];

/** Resolved names and waits kept for reuse, of each: about what a sweep prunes at once on a busy capture. */
const SPARES = 4096;

/** `f` is benign for this reason: it waits no longer. */
function markSibling(f: SiblingLookup, why: Sibling, name: string, qtype: number, frame: number, t: number): void {
  f.waitsForSibling = false;
  f.sibling = why;
  f.siblingName = name;
  f.siblingQtype = qtype;
  f.siblingFrame = frame;
  f.siblingT = t;
}

/**
 * Sibling lookups of one client: a failure (NXDOMAIN, or NOERROR with no data and no referral)
 * looks for the sibling that makes it benign among the lookups the same client resolved lately,
 * and else waits for one (SIBLING_WAIT_NS); a success is remembered, and settles the failures
 * waiting for it.
 */
export class DnsSiblings<T extends SiblingLookup> {
  /** Clients with names resolved or waits, by endpointHash of their address (chained through the clients). */
  private readonly clients = new Map<number, ClientNames<T>>();
  /** Live resolved names in all clients, and the oldest and newest of them by first resolution. */
  private resolvedCount = 0;
  private oldest: Resolved<T> | null = null;
  private newest: Resolved<T> | null = null;
  /**
   * Resolved names and waits in order of time, for prune to take the stale ones from the front
   * rather than walk them all (issue #20), while response times never go backwards (DNS over TCP
   * keeps its flow's clock): then these are dropped and the maps walked, until they are empty.
   * A resolved name is queued at each time it was resolved, with that time.
   */
  private readonly resolvedQueue = new ByTime<Resolved<T>>();
  private resolvedInOrder = true;
  private newestResolvedT = -Infinity;
  private readonly pendingQueue = new ByTime<Pending<T>>();
  private pendingInOrder = true;
  private newestPendingT = -Infinity;
  /** The names' lengths of the resolved names, and of the waits under their own name (self). */
  private readonly resolvedLengths = new LengthCounts();
  private readonly selfLengths = new LengthCounts();
  /** properPrefixLengths' array (reused). */
  private readonly prefixLens: number[] = [];
  /** Entries nothing holds any more, for new ones (they live seconds of capture time: long enough to be promoted). */
  private readonly spareResolved: FreeList<Resolved<T>>;
  private readonly sparePending: FreeList<Pending<T>>;

  /**
   * @param settled called with a waiting failure a success has just made benign (final at the next sweep).
   * @param spares how many entries nothing holds any more are kept for reuse, of each kind.
   */
  constructor(
    private readonly settled: (f: T) => void,
    spares = SPARES,
  ) {
    this.spareResolved = new FreeList(spares);
    this.sparePending = new FreeList(spares);
  }

  /** `txn` was answered at time `t` to the client at `client`. */
  answered(txn: T, client: Uint32Array, t: number): void {
    if (txn.tc !== 0) return;
    const name = txn.qname.toLowerCase();
    const failed = txn.rcode === DNS_RCODE.NXDomain || (txn.rcode === DNS_RCODE.NoError && txn.ancount === 0 && !txn.referral);
    if (failed) this.failed(txn, client, name, t);
    else if (txn.rcode === DNS_RCODE.NoError && txn.ancount > 0) this.resolved(txn, this.clientOf(client), name, t);
  }

  private failed(txn: T, addr: Uint32Array, name: string, t: number): void {
    const c = this.clientOf(addr);
    // a sibling resolved already: the other family of this name, or the stem of this expansion
    const self = c.resolved.get(name);
    if (self !== undefined && txn.rcode === DNS_RCODE.NoError && isAddressType(txn.qtype)) {
      const other = txn.qtype === DNS_TYPE.A ? DNS_TYPE.AAAA : DNS_TYPE.A;
      const a = answeredNear(self.answers, other, true, t);
      if (a >= 0) {
        markSibling(txn, Sibling.OtherFamily, self.name, other, self.answers[a + 2], self.answers[a + 1]);
        return;
      }
    }
    const prefixes = this.prefixLens;
    const np = properPrefixLengths(name, prefixes);
    for (let i = np - 1; i >= 0; i--) {
      if (!this.resolvedLengths.any(prefixes[i])) continue;
      const r = c.resolved.get(name.slice(0, prefixes[i]));
      const a = r === undefined ? -1 : answeredNear(r.answers, txn.qtype, false, t);
      if (r !== undefined && a >= 0) {
        markSibling(txn, Sibling.SearchMiss, r.name, r.answers[a], r.answers[a + 2], r.answers[a + 1]);
        return;
      }
    }
    txn.waitsForSibling = true;
    if (this.pendingInOrder && t < this.newestPendingT) {
      this.pendingInOrder = false;
      this.pendingQueue.clear();
    }
    if (t > this.newestPendingT) this.newestPendingT = t;
    this.addPending(c, name, t, txn, true);
    this.selfLengths.add(name.length);
    for (let i = 0; i < np; i++) this.addPending(c, name.slice(0, prefixes[i]), t, txn, false);
  }

  private resolved(txn: T, c: ClientNames<T>, name: string, t: number): void {
    const r = c.resolved.get(name);
    if (r === undefined) {
      const nr = this.newResolved(c, name, t, txn);
      if (this.newest !== null) this.newest.newer = nr;
      else this.oldest = nr;
      this.newest = nr;
      this.resolvedCount++;
      c.resolved.set(name, nr);
      this.resolvedLengths.add(name.length);
      this.queueResolved(nr, t);
      // past the most, the oldest goes (after the new one is in: its client is not left empty)
      if (this.resolvedCount > MAX_RESOLVED && this.oldest !== null) this.dropResolved(this.oldest);
    } else {
      // times only move forward (a DNS-over-TCP answer read late keeps its flow's earlier clock)
      if (t > r.t) r.t = t;
      const a = r.answers;
      let i = 0;
      while (i < a.length && a[i] !== txn.qtype && a[i] !== NO_TYPE) i += 3;
      // a type new to the name: in the free triple (the second), else three slots more, not push's 17
      if (i === a.length) r.answers = a.concat(txn.qtype, t, txn.respFrame);
      else if (a[i] === NO_TYPE) {
        a[i] = txn.qtype;
        a[i + 1] = t;
        a[i + 2] = txn.respFrame;
      } else if (t >= a[i + 1]) {
        a[i + 1] = t;
        a[i + 2] = txn.respFrame;
      }
      this.queueResolved(r, t);
    }
    if (c.pending.size === 0) return;
    // failures of this very name (the other family) and of longer names that start with it (expansions of this stem)
    const waiting = c.pending.get(name) ?? NO_PENDING;
    for (let w = 0; w < waiting.length; w++) {
      const p = waiting[w];
      const f = p.txn;
      if (f.gen !== p.gen || !f.waitsForSibling || f.reported || !within(p.t, t)) continue;
      if (p.self) {
        if (f.rcode === DNS_RCODE.NoError && isAddressType(f.qtype) && isAddressType(txn.qtype) && f.qtype !== txn.qtype) markSibling(f, Sibling.OtherFamily, txn.qname, txn.qtype, txn.respFrame, t);
      } else if (sameLookup(f.qtype, txn.qtype)) markSibling(f, Sibling.SearchMiss, txn.qname, txn.qtype, txn.respFrame, t);
      if (!f.waitsForSibling) this.settled(f);
    }
    // failures of shorter names this one extends (the name as given failed, an expansion resolved):
    // they wait under their own name (self)
    const prefixes = this.prefixLens;
    const np = properPrefixLengths(name, prefixes);
    for (let i = 0; i < np; i++) {
      const len = prefixes[i];
      if (!this.selfLengths.any(len)) continue;
      const waiting = c.pending.get(name.slice(0, len)) ?? NO_PENDING;
      for (let w = 0; w < waiting.length; w++) {
        const p = waiting[w];
        const f = p.txn;
        if (f.gen === p.gen && f.waitsForSibling && !f.reported && p.self && within(p.t, t) && sameLookup(f.qtype, txn.qtype)) {
          markSibling(f, Sibling.SearchMiss, txn.qname, txn.qtype, txn.respFrame, t);
          this.settled(f);
        }
      }
    }
  }

  /** The client clientOf gave last, while it is in `clients` (a client's answers come in pairs: A and AAAA). */
  private lastClient: ClientNames<T> | null = null;

  /** The client at `a`: the one its earlier lookups made, else a new one. */
  private clientOf(a: Uint32Array): ClientNames<T> {
    const last = this.lastClient;
    if (last !== null && last.is(a)) return last;
    const c = this.findOrAddClient(a);
    this.lastClient = c;
    return c;
  }

  private findOrAddClient(a: Uint32Array): ClientNames<T> {
    const hash = endpointHash(a, 0);
    const head = this.clients.get(hash) ?? null;
    for (let c = head; c !== null; c = c.nextInBucket) if (c.is(a)) return c;
    const c = new ClientNames<T>(hash, a);
    c.nextInBucket = head;
    this.clients.set(hash, c);
    return c;
  }

  /** Forgets `c` once it holds nothing. */
  private dropIfEmpty(c: ClientNames<T>): void {
    if (c.resolved.size !== 0 || c.pending.size !== 0) return;
    unchain(this.clients, c);
    if (c === this.lastClient) this.lastClient = null;
  }

  /** Takes `r` out of its client's map (it stays queued, as not live). */
  private dropResolved(r: Resolved<T>): void {
    r.live = false;
    r.client.resolved.delete(r.key);
    this.resolvedLengths.remove(r.key.length);
    this.resolvedCount--;
    if (r.older !== null) r.older.newer = r.newer;
    else this.oldest = r.newer;
    if (r.newer !== null) r.newer.older = r.older;
    else this.newest = r.older;
    r.older = r.newer = null;
    this.dropIfEmpty(r.client);
  }

  /** A name newly resolved for `c`, in a Resolved no map, list or queue holds any more when there is one. */
  private newResolved(c: ClientNames<T>, name: string, t: number, txn: T): Resolved<T> {
    const r = this.spareResolved.take();
    if (r === undefined) return { client: c, key: name, live: true, queued: 0, t, name: txn.qname, answers: [txn.qtype, t, txn.respFrame, NO_TYPE, 0, 0], older: this.newest, newer: null };
    r.client = c;
    r.key = name;
    r.live = true;
    r.queued = 0;
    r.t = t;
    r.name = txn.qname;
    const a = r.answers;
    if (a.length === 6) {
      a[0] = txn.qtype;
      a[1] = t;
      a[2] = txn.respFrame;
      a[3] = NO_TYPE; // its time and frame are stale until a type takes it: read only after the type
    } else r.answers = [txn.qtype, t, txn.respFrame, NO_TYPE, 0, 0];
    r.older = this.newest;
    r.newer = null;
    return r;
  }

  private addPending(c: ClientNames<T>, key: string, t: number, txn: T, self: boolean): void {
    let p = this.sparePending.take();
    if (p === undefined) p = { client: c, key, t, txn, gen: txn.gen, self };
    else {
      p.client = c;
      p.key = key;
      p.t = t;
      p.txn = txn;
      p.gen = txn.gen;
      p.self = self;
    }
    const list = c.pending.get(key);
    if (list === undefined) c.pending.set(key, [p]);
    else list.push(p);
    if (this.pendingInOrder) this.pendingQueue.push(p, t);
  }

  /** `r` was resolved (again) at `t`: see resolvedQueue. */
  private queueResolved(r: Resolved<T>, t: number): void {
    if (!this.resolvedInOrder) return;
    if (t < this.newestResolvedT) {
      this.resolvedInOrder = false;
      this.resolvedQueue.clear();
      return;
    }
    this.newestResolvedT = t;
    this.resolvedQueue.push(r, t);
    r.queued++;
  }

  /** Forgets what siblings older than `now - SIBLING_WAIT_NS` left: resolved names and stale waits. */
  prune(now: number): void {
    if (this.resolvedInOrder) {
      // in order of time: the stale ones are the first; a name resolved again since an entry has a later one
      const q = this.resolvedQueue;
      while (q.length > 0 && now - q.oldestT() > SIBLING_WAIT_NS) {
        const t = q.oldestT();
        const r = q.shift();
        r.queued--;
        if (r.live && r.t === t) this.dropResolved(r);
        if (!r.live && r.queued === 0) this.spareResolved.give(r);
      }
    } else {
      for (let r = this.oldest; r !== null;) {
        const next = r.newer;
        if (now - r.t > SIBLING_WAIT_NS) this.dropResolved(r);
        r = next;
      }
      if (this.resolvedCount === 0) {
        this.resolvedInOrder = true;
        this.newestResolvedT = -Infinity;
      }
    }
    if (this.pendingInOrder) {
      // in order of time, and so first in their lists; settled waits are left to their time
      // (every lookup skips them: only selfLengths counts them, to skip lookups)
      const q = this.pendingQueue;
      while (q.length > 0 && now - q.oldestT() > SIBLING_WAIT_NS) {
        const p = q.shift();
        const pending = p.client.pending;
        const list = pending.get(p.key);
        if (list === undefined) continue;
        const at = list.indexOf(p);
        if (at < 0) continue;
        if (list.length === 1) {
          pending.delete(p.key);
          this.dropIfEmpty(p.client);
        } else list.splice(at, 1);
        if (p.self) this.selfLengths.remove(p.key.length);
        // out of its list and the queue: nothing holds it
        this.sparePending.give(p);
      }
    } else {
      // lists compacted in place: no array per list each sweep (thousands of entries a second on a client's capture)
      let waiting = 0;
      this.pruneNow = now;
      for (const head of this.clients.values()) {
        for (let c: ClientNames<T> | null = head; c !== null;) {
          const next: ClientNames<T> | null = c.nextInBucket;
          c.pending.forEach(this.prunePending);
          waiting += c.pending.size;
          this.dropIfEmpty(c);
          c = next;
        }
      }
      if (waiting === 0) {
        this.pendingInOrder = true;
        this.newestPendingT = -Infinity;
      }
    }
  }

  private pruneNow = 0;
  private readonly prunePending = (list: Pending<T>[], k: string, pending: Map<string, Pending<T>[]>): void => {
    const now = this.pruneNow;
    let n = 0;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (p.txn.gen === p.gen && p.txn.waitsForSibling && !p.txn.reported && now - p.txn.respT <= SIBLING_WAIT_NS) list[n++] = p;
      else if (p.self) this.selfLengths.remove(p.key.length);
    }
    if (n === 0) pending.delete(k);
    else list.length = n;
  };
}
