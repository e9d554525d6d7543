import { randomBytes } from 'node:crypto';
import { DNS_RCODE, DNS_TYPE } from '../decode/enums.js';
import { endpointHash } from './addr.js';
import { FreeList, unchain } from './chained-table.js';
import { ByTime } from './by-time.js';
import { IntMap } from './int-map.js';

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
  /** Its client, and its key (the name in lower case): found in DnsSiblings.resolvedTable by tableKeyOf(client, key). */
  client: ClientNames<T>;
  key: string;
  tableKey: number;
  /** The next entry of its table key (see Chained). */
  next: Resolved<T> | null;
  /** Still in resolvedTable (not pruned, nor evicted past MAX_RESOLVED). */
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
  /** Its client, and the key it waits under (a name in lower case, whose length is `key.length`): see Waits. */
  client: ClientNames<T>;
  key: string;
  /** When it began to wait (its response's time). */
  t: number;
  txn: T;
  gen: number;
  self: boolean;
}

/** The waits of one client under one key (Pending), in the order they began. */
interface Waits<T extends SiblingLookup> {
  client: ClientNames<T>;
  key: string;
  tableKey: number;
  /** The next entry of its table key (see Chained). */
  next: Waits<T> | null;
  /** Never empty while in the table (an entry whose last wait goes leaves it). */
  list: Pending<T>[];
}

/** The one wait in the list of a spare Waits (never read). */
const VACANT_WAIT = undefined;

/** Entries of a table of chains: an IntMap holds the first of each table key, the others follow through `next`. */
interface Chained<E> {
  tableKey: number;
  next: E | null;
}

/** `e` first in its table key's chain. Exported for tests. */
export function chainIn<E extends Chained<E>>(table: IntMap<E>, e: E): void {
  e.next = table.get(e.tableKey) ?? null;
  table.set(e.tableKey, e);
}

/** `e` out of its table key's chain. Exported for tests. */
export function chainOut<E extends Chained<E>>(table: IntMap<E>, e: E): void {
  const head = table.get(e.tableKey);
  if (head === e) {
    if (e.next === null) table.delete(e.tableKey);
    else table.set(e.tableKey, e.next);
  } else {
    let q = head ?? null;
    while (q !== null && q.next !== e) q = q.next;
    if (q !== null) q.next = e.next;
  }
  e.next = null;
}

/** A secret per process, as the other tables': names come from packets, and names chosen to share a table key would make lookups walk them all. */
const NAME_SEED = randomBytes(4).readInt32LE(0);

/** The bits of a table key kept: all, but for tests that make keys collide (narrowTableKeys). */
let tableKeyMask = -1;

/** Tests: table keys of `bits` bits (32: all), so that entries of different clients and names share them. */
export function narrowTableKeys(bits: number): void {
  tableKeyMask = bits >= 32 ? -1 : (1 << bits) - 1;
}

/**
 * The table key of `name.slice(0, len)` for client `c`: FNV-1a over its characters from the seed
 * and the client's number, then MurmurHash3's finaliser. Read in place: a prefix needs no string.
 */
function tableKeyOf(c: { readonly id: number }, name: string, len: number): number {
  let h = hashStart(c);
  for (let i = 0; i < len; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return finish(h);
}

/** FNV-1a's state before a name's first character: the seed and the client's number. */
function hashStart(c: { readonly id: number }): number {
  return Math.imul(NAME_SEED ^ c.id, 0x9e3779b1) ^ 0x811c9dc5;
}

/** A table key from FNV-1a's state after the name's characters. */
function finish(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & tableKeyMask;
}

/**
 * tableKeyOf for `name` and for each of its first `n` prefixes (lengths `lens`, rising) into
 * `out`, in one pass over the name (FNV-1a reads a prefix first): the name's is returned.
 */
function tableKeysOf(c: { readonly id: number }, name: string, lens: readonly number[], n: number, out: number[]): number {
  let h = hashStart(c);
  let j = 0;
  for (let i = 0; i < name.length; i++) {
    h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    if (j < n && lens[j] === i + 1) out[j++] = finish(h);
  }
  return finish(h);
}

/** Whether `key` is `name.slice(0, len)`. */
const isPrefixKey = (key: string, name: string, len: number): boolean => key.length === len && (len === name.length ? key === name : name.startsWith(key));

/** Numbers the clients (ClientNames.id). */
let clientIds = 0;

/**
 * One client of the lookups siblings see: its entries (Resolved, Waits) are in the siblings' two
 * tables, by their client and name in lower case. Per client, they were in two Maps of names:
 * made, grown and shrunk as a client's few names of the last seconds came and went, their tables
 * lived long enough to be promoted, 67 of the 306 MB that outlived a young collection in the dense
 * 1 GB bench capture's text run (issue #20). Keyed by client and name, not by one string joining
 * both: building and hashing that string was most of the sibling matching's cost once.
 */
class ClientNames<T extends SiblingLookup> {
  nextInBucket: ClientNames<T> | null = null;
  readonly addr = new Uint32Array(4);
  readonly id = ++clientIds | 0;
  /** Its live entries in resolvedTable, and in pendingTable. */
  resolvedCount = 0;
  waitsCount = 0;
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
  /** Every client's resolved names, and waits, by tableKeyOf (chained: Chained). */
  private readonly resolvedTable = new IntMap<Resolved<T>>();
  private readonly pendingTable = new IntMap<Waits<T>>();
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
  /** properPrefixLengths' array, and the table keys of those prefixes (reused). */
  private readonly prefixLens: number[] = [];
  private readonly prefixKeys: number[] = [];
  /** Entries nothing holds any more, for new ones (they live seconds of capture time: long enough to be promoted). */
  private readonly spareResolved: FreeList<Resolved<T>>;
  private readonly sparePending: FreeList<Pending<T>>;
  private readonly spareWaits: FreeList<Waits<T>>;

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
    this.spareWaits = new FreeList(spares);
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
    const prefixes = this.prefixLens;
    const np = properPrefixLengths(name, prefixes);
    const keys = this.prefixKeys;
    const tk = tableKeysOf(c, name, prefixes, np, keys);
    // a sibling resolved already: the other family of this name, or the stem of this expansion
    const self = c.resolvedCount === 0 ? undefined : this.resolvedOf(tk, c, name, name.length);
    if (self !== undefined && txn.rcode === DNS_RCODE.NoError && isAddressType(txn.qtype)) {
      const other = txn.qtype === DNS_TYPE.A ? DNS_TYPE.AAAA : DNS_TYPE.A;
      const a = answeredNear(self.answers, other, true, t);
      if (a >= 0) {
        markSibling(txn, Sibling.OtherFamily, self.name, other, self.answers[a + 2], self.answers[a + 1]);
        return;
      }
    }
    for (let i = np - 1; i >= 0; i--) {
      if (!this.resolvedLengths.any(prefixes[i]) || c.resolvedCount === 0) continue;
      const r = this.resolvedOf(keys[i], c, name, prefixes[i]);
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
    this.addPending(c, name, tk, t, txn, true);
    this.selfLengths.add(name.length);
    for (let i = 0; i < np; i++) this.addPending(c, name.slice(0, prefixes[i]), keys[i], t, txn, false);
  }

  /** The resolved entry of `c` under `name.slice(0, len)`, whose table key is `tk`. */
  private resolvedOf(tk: number, c: ClientNames<T>, name: string, len: number): Resolved<T> | undefined {
    for (let r = this.resolvedTable.get(tk) ?? null; r !== null; r = r.next) if (r.client === c && isPrefixKey(r.key, name, len)) return r;
    return undefined;
  }

  /** The waits of `c` under `name.slice(0, len)`, whose table key is `tk`. */
  private waitsOf(tk: number, c: ClientNames<T>, name: string, len: number): Waits<T> | undefined {
    for (let w = this.pendingTable.get(tk) ?? null; w !== null; w = w.next) if (w.client === c && isPrefixKey(w.key, name, len)) return w;
    return undefined;
  }

  private resolved(txn: T, c: ClientNames<T>, name: string, t: number): void {
    // one table key for the name's entries in both tables
    const tk = tableKeyOf(c, name, name.length);
    const r = c.resolvedCount === 0 ? undefined : this.resolvedOf(tk, c, name, name.length);
    if (r === undefined) {
      const nr = this.newResolved(c, name, tk, t, txn);
      if (this.newest !== null) this.newest.newer = nr;
      else this.oldest = nr;
      this.newest = nr;
      this.resolvedCount++;
      c.resolvedCount++;
      chainIn(this.resolvedTable, nr);
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
    if (c.waitsCount === 0) return;
    // failures of this very name (the other family) and of longer names that start with it (expansions of this stem)
    const waiting = this.waitsOf(tk, c, name, name.length)?.list ?? NO_PENDING;
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
      const waiting = this.waitsOf(tableKeyOf(c, name, len), c, name, len)?.list ?? NO_PENDING;
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
    if (c.resolvedCount !== 0 || c.waitsCount !== 0) return;
    unchain(this.clients, c);
    if (c === this.lastClient) this.lastClient = null;
  }

  /** Takes `r` out of its client's map (it stays queued, as not live). */
  private dropResolved(r: Resolved<T>): void {
    r.live = false;
    chainOut(this.resolvedTable, r);
    r.client.resolvedCount--;
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
  private newResolved(c: ClientNames<T>, name: string, tableKey: number, t: number, txn: T): Resolved<T> {
    const r = this.spareResolved.take();
    if (r === undefined) return { client: c, key: name, tableKey, next: null, live: true, queued: 0, t, name: txn.qname, answers: [txn.qtype, t, txn.respFrame, NO_TYPE, 0, 0], older: this.newest, newer: null };
    r.client = c;
    r.key = name;
    r.tableKey = tableKey;
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

  /** `txn` waits under `key` (whose table key is `tk`) of client `c`, from time `t`. */
  private addPending(c: ClientNames<T>, key: string, tk: number, t: number, txn: T, self: boolean): void {
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
    const w = c.waitsCount === 0 ? undefined : this.waitsOf(tk, c, key, key.length);
    if (w !== undefined) w.list.push(p);
    else {
      let nw = this.spareWaits.take();
      if (nw === undefined) nw = { client: c, key, tableKey: tk, next: null, list: [p] };
      else {
        nw.client = c;
        nw.key = key;
        nw.tableKey = tk;
        nw.list[0] = p; // a spare's list is left one long (see dropWaits)
      }
      chainIn(this.pendingTable, nw);
      c.waitsCount++;
    }
    if (this.pendingInOrder) this.pendingQueue.push(p, t);
  }

  /** `w`, whose last wait went, out of the table (and its client, once that holds nothing). */
  private dropWaits(w: Waits<T>): void {
    chainOut(this.pendingTable, w);
    w.client.waitsCount--;
    this.dropIfEmpty(w.client);
    // one long, not emptied: an array set to length 0 lets go of its room; holding no wait, which
    // would live on (and its lookup) while the spare does
    if (w.list.length !== 1) w.list.length = 1;
    w.list[0] = VACANT_WAIT as unknown as Pending<T>;
    this.spareWaits.give(w);
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
        const w = p.client.waitsCount === 0 ? undefined : this.waitsOf(tableKeyOf(p.client, p.key, p.key.length), p.client, p.key, p.key.length);
        if (w === undefined) continue;
        const list = w.list;
        const at = list.indexOf(p);
        if (at < 0) continue;
        if (list.length === 1) this.dropWaits(w);
        else list.splice(at, 1);
        if (p.self) this.selfLengths.remove(p.key.length);
        // out of its list and the queue: nothing holds it
        this.sparePending.give(p);
      }
    } else {
      // lists compacted in place: no array per list each sweep (thousands of entries a second on a client's capture)
      const heads = this.pruneHeads;
      const n = this.pendingTable.values(heads);
      for (let i = 0; i < n; i++) {
        for (let w = heads[i]; w !== null;) {
          const next: Waits<T> | null = w.next;
          this.pruneWaits(w, now);
          w = next;
        }
        heads[i] = null;
      }
      // and the clients left holding nothing (a failure settled at once made its client, and added nothing)
      for (const head of this.clients.values()) {
        for (let c: ClientNames<T> | null = head; c !== null;) {
          const next: ClientNames<T> | null = c.nextInBucket;
          this.dropIfEmpty(c);
          c = next;
        }
      }
      if (this.pendingTable.size === 0) {
        this.pendingInOrder = true;
        this.newestPendingT = -Infinity;
      }
    }
  }

  /** The chains of pendingTable, for prune's walk of them all (reused). */
  private readonly pruneHeads: (Waits<T> | null)[] = [];

  /** Keeps the waits of `w` that still wait, in order; `w` goes when none does. */
  private pruneWaits(w: Waits<T>, now: number): void {
    const list = w.list;
    let n = 0;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (p.txn.gen === p.gen && p.txn.waitsForSibling && !p.txn.reported && now - p.txn.respT <= SIBLING_WAIT_NS) list[n++] = p;
      else if (p.self) this.selfLengths.remove(p.key.length);
    }
    if (n === 0) this.dropWaits(w);
    else list.length = n;
  }
}
