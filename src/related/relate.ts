import type { FlowRecord, RelatedKind } from '../verdict/types.js';
import { CAUSE, type Cause } from '../verdict/facts.js';
import { randomBytes } from 'node:crypto';
import { flatten } from '../memory.js';
import { endpointOfCode } from './ends.js';

/**
 * One way two records are related (a proxy's two legs, a NAT's two legs, the two address families
 * of one name, a resolver's answer and its own upstream queries…). A linker sees every record of
 * a capture once, in order of decision, and says which earlier records (or records of the same
 * batch) it relates to; it keeps what it needs of past records itself, bounded.
 */
export interface Linker {
  /**
   * Calls `found` for each record `r` relates to. `whyHere` is written on `r` ("the proxy's
   * connection to its upstream 10.0.3.30:8080 (#4) was refused 2 ms earlier"); `whyThere`, when
   * given, on the other record, if it has not been handed on yet (same batch). `causeHere` /
   * `causeThere`, when given, say what the other record tells of this one's (the other one's)
   * cause: its summary and check are then written from it (the first cause a record gets is kept).
   */
  relate(r: FlowRecord, found: Found): void;
  /**
   * The protocols of the records this linker can relate; the Relater hands it no others (absent:
   * all). Most records are of a kind most linkers never link: not calling them costs nothing.
   */
  readonly protos?: readonly FlowRecord['proto'][];
  /** Handles of its entries (Handles) taken and held by none of its tables: 0 unless one leaked (for tests). */
  readonly unheld?: () => number;
}

export type Found = (otherId: number, kind: RelatedKind, whyHere: string, whyThere?: string, causeHere?: Cause, causeThere?: Cause) => void;

const NO_RECORDS: readonly FlowRecord[] = [];

/** Links kept per record (a pool of 10,000 health checks must not give one record 10,000 links). */
export const MAX_RELATED = 8;

/**
 * The cross-flow stage between the decision of records and their emission: runs every linker on
 * each numbered record. Links to records of earlier batches are one way (those were handed on
 * already, possibly written out); within a batch they are written both ways.
 */
export class Relater {
  /** The batch being related, and the index in it of the record being related. */
  private batch: readonly FlowRecord[] = [];
  private at = 0;
  /** The records just before the batch, while they are held (see relate). */
  private before: readonly FlowRecord[] = NO_RECORDS;
  /** The one `found` callback every linker is handed (not a closure per record and linker). */
  private readonly found: Found = (otherId, kind, whyHere, whyThere, causeHere, causeThere) => {
    const r = this.batch[this.at];
    if (otherId === r.id) return;
    addLink(r, otherId, kind, whyHere);
    if (causeHere !== undefined) r[CAUSE] ??= causeHere;
    // a batch is numbered in order (Emitter.emit), so an earlier record of it is found by its id,
    // as one of the batch before it, when that is still held
    let other: FlowRecord;
    const i = otherId - this.batch[0].id;
    if (i >= 0 && i < this.at && this.batch[i].id === otherId) other = this.batch[i];
    else {
      const before = this.before;
      const j = before.length > 0 ? otherId - before[0].id : -1;
      if (j < 0 || j >= before.length || before[j].id !== otherId) return;
      other = before[j];
    }
    if (whyThere !== undefined) addLink(other, r.id, kind, whyThere);
    if (causeThere !== undefined) other[CAUSE] ??= causeThere;
  };

  /** The linkers for each protocol, in the order given (made once: no per-record filtering). */
  private readonly byProto: Readonly<Record<FlowRecord['proto'], readonly Linker[]>>;

  constructor(linkers: readonly Linker[]) {
    const of = (p: FlowRecord['proto']) => linkers.filter((l) => l.protos === undefined || l.protos.includes(p));
    this.byProto = { tcp: of('tcp'), udp: of('udp'), dns: of('dns'), icmp: of('icmp'), arp: of('arp') };
  }

  /**
   * Relates a batch of records numbered in order (consecutive ids), in their order. `before`, the
   * records numbered just before it when they are not handed on yet (a flood's chunk, held by
   * Emitter.emit), take links both ways too.
   */
  relate(batch: readonly FlowRecord[], before: readonly FlowRecord[] = NO_RECORDS): void {
    if (batch.length === 0) return;
    this.batch = batch;
    this.before = before;
    for (this.at = 0; this.at < batch.length; this.at++) {
      const r = batch[this.at];
      const linkers = this.byProto[r.proto];
      for (let i = 0; i < linkers.length; i++) linkers[i].relate(r, this.found);
    }
    this.batch = [];
    this.before = NO_RECORDS;
  }
}

function addLink(r: FlowRecord, id: number, kind: RelatedKind, why: string): void {
  const list = (r.related ??= []);
  if (list.length >= MAX_RELATED || list.some((x) => x.id === id && x.kind === kind)) return;
  list.push({ id, kind, why });
}

/** What Recent.get returns for a key with no entries (shared, never changed). */
const NONE: readonly never[] = [];

/** An entry object's capture time (Recent's timeOf, unless a linker keeps entries in columns). */
const timeField = (e: { t: number }): number => e.t;

/**
 * Passes per window: a key is forgotten at most a window / PASS_EVERY after its window, so a
 * linker holds the keys of about 1.25 windows. A pass per so much capture time, not a few keys an
 * add: on a dense capture, where keys are added to all the time, walking 4 keys an add (each a
 * lookup and a read of its entries, out of cache) was a sixth of the linkers' time.
 */
const PASS_EVERY = 4;

/** No key (a slot of the table, a neighbour in the order). */
const NO = -1;
/** The slots a table makes at its first key (then twice as many each time they are all taken). */
const MIN_SLOTS = 64;
/** The arrays of a table with no key yet. */
const NO_SLOTS = new Int32Array(0);
/** The list of a slot no key has had yet (never read, never written). */
const NO_LIST: never[] = [];
/** The one entry of the list of a slot no key holds (never read). */
const VACANT = undefined;

/**
 * A secret per process, as the flow tables' (flow/addr.ts): keys come from packets (addresses,
 * ISNs), and keys chosen to share a slot would make every lookup walk them all.
 */
const KEY_SEED = randomBytes(4).readInt32LE(0);

/** A key's hash: FNV-1a over its UTF-16 units from the seed, then MurmurHash3's finaliser (every bit moves the low ones). */
function keyHash(key: string): number {
  let h = KEY_SEED ^ 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/**
 * What linkers remember of past records: a bounded map from a key (an address, a name) to the
 * latest entries under it, forgetting entries older than `windowSec` of capture time and the
 * oldest keys beyond `maxKeys`. Keys whose entries are all older than the window before the newest
 * entry added are forgotten by a pass over the keys each time the newest entry's time has moved on
 * a PASS_EVERY-th of the window: without it every linker held its `maxKeys` keys to the end, 28 MB
 * of a 110 MB heap on the 1 GB dense benchmark capture.
 *
 * Not a Map: a flood of problems (a SYN flood, a scan) brings a new key with nearly every record,
 * and with it a key forgotten. A Map of 16,384 keys with one in and one out per record fills its
 * table with deleted entries and is made anew again and again: a get and an add of a key made
 * fresh took ~880 ns. Here the keys live in numbered slots (arrays doubled as they fill, up to
 * maxKeys), found through an open-addressing table of twice as many places (linear probing,
 * deletion by shifting back: no deleted marks), in a list by first insertion for the oldest:
 * ~270 ns (`node bench/recent.mjs`). Nothing is allocated per key: each slot has its list of
 * entries, kept for the keys that take the slot after (see insert).
 *
 * Entries are objects with their capture time in `t`, or handles (numbers) into a linker's own
 * columns (Handles) with a `timeOf` that reads it there.
 */
export class Recent<T> {
  /** The slots, taken and given back (Handles): doubled when they are all taken, up to maxKeys (a small capture makes few). */
  private readonly slots: Handles;
  /** Places of the table: the slot of the key there, or NO. Twice the slots or more, a power of two. */
  private places = NO_SLOTS;
  private mask = 0;
  /** By slot: its key, hash, place and entries (oldest first); its neighbours by first insertion. */
  private keys: string[] = [];
  private hashes = NO_SLOTS;
  private placeOf = NO_SLOTS;
  private lists: T[][] = [];
  private older = NO_SLOTS;
  private newer = NO_SLOTS;
  /** The key first inserted longest ago and most lately, NO when none. */
  private oldest = NO;
  private newest = NO;
  private size = 0;
  /** Capture time (s) of the newest entry added. */
  private latest = -Infinity;
  /** The value of `latest` at the last pass that forgot expired keys. */
  private passed = -Infinity;
  /**
   * The key get() found last and its slot, while that key is still there: a linker adds under the
   * key it just looked up.
   */
  private foundKey: string | undefined = undefined;
  private foundSlot = NO;

  /**
   * @param dropped given every entry this no longer holds (shifted out past perKey, replaced under a
   *   key with one entry, expired when its key was looked up, evicted with its key or forgotten with
   *   it by the pass over expired keys), once: its linker may fill it in for a later record instead
   *   of making one (a linker's entries live long enough to be promoted, and then die in the old
   *   generation, issue #20), or give its handle back (Handles).
   * @param timeOf an entry's capture time (s): its `t`, unless its linker keeps it elsewhere.
   */
  constructor(
    private readonly windowSec: number,
    private readonly maxKeys: number,
    private readonly perKey: number,
    private readonly dropped: ((e: T) => void) | null = null,
    private readonly timeOf: (e: T) => number = timeField as (e: T) => number,
  ) {
    this.slots = new Handles((n) => this.grow(n), maxKeys);
  }

  /** How many keys it holds (for tests). */
  get keyCount(): number {
    return this.size;
  }

  /** How many entries it holds under all its keys (for tests). */
  get entryCount(): number {
    let n = 0;
    for (let slot = this.oldest; slot !== NO; slot = this.newer[slot]) n += this.lists[slot].length;
    return n;
  }

  add(key: string, e: T): void {
    const t = this.timeOf(e);
    if (t > this.latest) {
      this.latest = t;
      if (t - this.passed >= this.windowSec / PASS_EVERY) this.expire();
    }
    const hash = key === this.foundKey ? this.hashes[this.foundSlot] : keyHash(key);
    const slot = key === this.foundKey ? this.foundSlot : this.find(key, hash);
    if (slot === NO) {
      // past the most, the oldest goes first (the new key is never the one evicted)
      if (this.size >= this.maxKeys) this.evictOldest();
      this.insert(key, hash, e);
      return;
    }
    const list = this.lists[slot];
    if (list.length < this.perKey) {
      list.push(e); // within the list's room for perKey
      return;
    }
    const first = list[0];
    for (let i = 1; i < list.length; i++) list[i - 1] = list[i];
    list[list.length - 1] = e;
    if (this.dropped !== null) this.dropped(first);
  }

  /**
   * The entries under `key` no older than the window at capture time `now` (seconds), oldest first:
   * the list held, to be read before the next add or get (they change it in place).
   */
  get(key: string, now: number): readonly T[] {
    // an empty table answers without hashing the key (most linkers' tables stay empty on most captures)
    if (this.size === 0) return NONE;
    const slot = this.find(key, keyHash(key));
    if (slot === NO) return NONE;
    const list = this.lists[slot];
    let drop = 0;
    while (drop < list.length && this.timeOf(list[drop]) < now - this.windowSec) drop++;
    if (drop === list.length) {
      if (this.dropped !== null) for (let i = 0; i < drop; i++) this.dropped(list[i]);
      this.remove(slot);
      return NONE;
    }
    if (drop > 0) {
      if (this.dropped !== null) for (let i = 0; i < drop; i++) this.dropped(list[i]);
      // in place (splice makes an array of what it takes out), never to length 0 (that lets go of the list's room)
      for (let i = drop; i < list.length; i++) list[i - drop] = list[i];
      list.length -= drop;
    }
    this.foundKey = key;
    this.foundSlot = slot;
    return list;
  }

  /** The slot of `key` (whose hash is `hash`), or NO. */
  private find(key: string, hash: number): number {
    if (this.size === 0) return NO;
    const places = this.places;
    const mask = this.mask;
    for (let p = hash & mask; ; p = (p + 1) & mask) {
      const slot = places[p];
      if (slot === NO) return NO;
      if (this.hashes[slot] === hash && this.keys[slot] === key) return slot;
    }
  }

  /**
   * `key` into a free slot, the newest by first insertion, with `e` its one entry. The list is the
   * slot's, made with room for perKey entries when the slot is first used and kept for the keys that
   * take the slot after: a list made for each key, and made again by each add, lived as long as
   * its key, long enough to be promoted, and was 10 % of what the dense 1 GB bench capture's text
   * run promoted to the old generation (issue #20).
   */
  private insert(key: string, hash: number, e: T): void {
    const slot = this.slots.take();
    let list = this.lists[slot];
    if (list === NO_LIST) list = this.lists[slot] = new Array<T>(this.perKey);
    if (list.length !== 1) list.length = 1;
    list[0] = e;
    const places = this.places;
    const mask = this.mask;
    let p = hash & mask;
    while (places[p] !== NO) p = (p + 1) & mask;
    places[p] = slot;
    this.placeOf[slot] = p;
    // a flat key: one cut from a longer string, or a template literal's rope, would keep what it was made from
    this.keys[slot] = flatten(key);
    this.hashes[slot] = hash;
    this.older[slot] = this.newest;
    this.newer[slot] = NO;
    if (this.newest !== NO) this.newer[this.newest] = slot;
    else this.oldest = slot;
    this.newest = slot;
    this.size++;
  }

  /** Takes the key of `slot` out: its place is filled by shifting back the keys after it that may move. */
  private remove(slot: number): void {
    const places = this.places;
    const mask = this.mask;
    let hole = this.placeOf[slot];
    places[hole] = NO;
    for (let p = (hole + 1) & mask; places[p] !== NO; p = (p + 1) & mask) {
      const s = places[p];
      // a key may fill the hole unless its home place lies after the hole, up to p (cyclically)
      const home = this.hashes[s] & mask;
      if (((p - home) & mask) >= ((p - hole) & mask)) {
        places[hole] = s;
        this.placeOf[s] = hole;
        places[p] = NO;
        hole = p;
      }
    }
    const o = this.older[slot];
    const n = this.newer[slot];
    if (o !== NO) this.newer[o] = n;
    else this.oldest = n;
    if (n !== NO) this.older[n] = o;
    else this.newest = o;
    this.keys[slot] = '';
    // the list stays the slot's, one long (not emptied: that lets go of its room), holding nothing:
    // an entry object left in it would live on with what it refers to until the slot is taken again
    const list = this.lists[slot];
    if (list.length !== 1) list.length = 1;
    list[0] = VACANT as T;
    this.slots.give(slot);
    this.size--;
    if (slot === this.foundSlot) {
      this.foundKey = undefined;
      this.foundSlot = NO;
    }
  }

  /** `n` slots (Handles widened them): the keys keep their slots, and are placed again in a table twice as large. */
  private grow(n: number): void {
    this.hashes = widened(this.hashes, n);
    this.placeOf = widened(this.placeOf, n);
    this.older = widened(this.older, n);
    this.newer = widened(this.newer, n);
    for (let i = this.keys.length; i < n; i++) {
      this.keys.push('');
      this.lists.push(NO_LIST);
    }
    let places = 8;
    while (places < 2 * n) places *= 2;
    this.places = new Int32Array(places).fill(NO);
    this.mask = places - 1;
    for (let slot = this.oldest; slot !== NO; slot = this.newer[slot]) {
      let p = this.hashes[slot] & this.mask;
      while (this.places[p] !== NO) p = (p + 1) & this.mask;
      this.places[p] = slot;
      this.placeOf[slot] = p;
    }
  }

  private evictOldest(): void {
    const slot = this.oldest;
    if (slot === NO) return;
    const list = this.lists[slot];
    if (this.dropped !== null) for (let i = 0; i < list.length; i++) this.dropped(list[i]);
    this.remove(slot);
  }

  /** Forgets the keys whose every entry is older than the window before the newest. */
  private expire(): void {
    this.passed = this.latest;
    const before = this.latest - this.windowSec;
    for (let slot = this.oldest; slot !== NO;) {
      const next = this.newer[slot];
      const list = this.lists[slot];
      let newest = -Infinity;
      for (let i = 0; i < list.length; i++) {
        const t = this.timeOf(list[i]);
        if (t > newest) newest = t;
      }
      if (newest < before) {
        if (this.dropped !== null) for (let i = 0; i < list.length; i++) this.dropped(list[i]);
        this.remove(slot);
      }
      slot = next;
    }
  }
}

/**
 * Handles (0, 1, 2, …) of a linker's entries kept in its own typed-array columns, indexed by
 * handle, instead of an object each. The linkers that remember every working connection, for 30
 * and 120 s of capture (other-family, same-host), kept tens of thousands of entry objects alive,
 * each with its time in a heap number of its own: long enough to be promoted, then marked by every
 * full collection. In columns, the dense 1 GB bench capture's text run promotes 215 MB instead of
 * 237 MB to the old generation (issue #20). A handle is taken for a record and given back when the
 * Recent that held it drops it (its `dropped` sees every entry it forgets). When all are taken there
 * are twice as many, and `widen` is called with the new count: the linker widens its columns to it.
 * Recent numbers its own slots with one.
 */
export class Handles {
  private free = NO_SLOTS;
  private freeCount = 0;
  private capacity = 0;

  /**
   * @param widen called with the new count when there are more handles, before any of them is taken.
   * @param max the most there are: they are doubled up to it (Recent's slots, up to its maxKeys).
   */
  constructor(
    private readonly widen: (capacity: number) => void,
    private readonly max = Infinity,
  ) {}

  take(): number {
    if (this.freeCount === 0) this.grow();
    return this.free[--this.freeCount];
  }

  give(h: number): void {
    this.free[this.freeCount++] = h;
  }

  /** How many are taken (for tests). */
  get taken(): number {
    return this.capacity - this.freeCount;
  }

  private grow(): void {
    const n = Math.min(this.max, Math.max(MIN_SLOTS, 2 * this.capacity));
    // none is free: the new ones are, lowest taken first
    this.free = new Int32Array(n);
    for (let h = n - 1; h >= this.capacity; h--) this.free[this.freeCount++] = h;
    this.capacity = n;
    this.widen(n);
  }
}

/**
 * A linker's column of endpoints by handle (Handles): an IPv4 one kept as a number (its code,
 * endsOf), any other as its text. A record's endpoint text, kept for the 30 or 120 s a
 * linker remembers working connections, lived as long, and was promoted (with the flat copy that
 * reading it made of its rope): with the endpoints of the dense 1 GB bench capture's connections,
 * 42 of the 203 MB that outlived a young collection in its text run (issue #20).
 */
export class EndpointColumn {
  private codes = new Float64Array(0);
  private readonly texts: string[] = [];

  /** Room for `n` handles (Handles' widen). */
  widen(n: number): void {
    this.codes = widened(this.codes, n);
    for (let h = this.texts.length; h < n; h++) this.texts.push('');
  }

  /** `endpoint` for `h`, whose code is `code` (endsOf's cCode or sCode; -1: not IPv4). */
  set(h: number, endpoint: string, code: number): void {
    this.codes[h] = code;
    this.texts[h] = code < 0 ? endpoint : '';
  }

  /** The endpoint of `h`, as it was given (written anew for an IPv4 one). */
  get(h: number): string {
    const code = this.codes[h];
    return code >= 0 ? endpointOfCode(code) : this.texts[h];
  }

  /** Lets go of the text `h` held, if any. */
  clear(h: number): void {
    this.texts[h] = '';
  }
}

/** `a` in an array of `n` elements (n ≥ its length), the rest zero: a column widened (Handles). */
export function widened<A extends Float64Array | Int32Array | Uint8Array>(a: A, n: number): A {
  const b = new (a.constructor as new (length: number) => A)(n);
  b.set(a);
  return b;
}
