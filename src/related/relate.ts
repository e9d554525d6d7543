import type { FlowRecord, RelatedKind } from '../verdict/types.js';
import { CAUSE, type Cause } from '../verdict/facts.js';
import { flatten } from '../memory.js';

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
}

export type Found = (otherId: number, kind: RelatedKind, whyHere: string, whyThere?: string, causeHere?: Cause, causeThere?: Cause) => void;

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
  /** The one `found` callback every linker is handed (not a closure per record and linker). */
  private readonly found: Found = (otherId, kind, whyHere, whyThere, causeHere, causeThere) => {
    const r = this.batch[this.at];
    if (otherId === r.id) return;
    addLink(r, otherId, kind, whyHere);
    if (causeHere !== undefined) r[CAUSE] ??= causeHere;
    // a batch is numbered in order (Emitter.emit), so an earlier record of it is found by its id
    const i = otherId - this.batch[0].id;
    if (i < 0 || i >= this.at || this.batch[i].id !== otherId) return;
    const other = this.batch[i];
    if (whyThere !== undefined) addLink(other, r.id, kind, whyThere);
    if (causeThere !== undefined) other[CAUSE] ??= causeThere;
  };

  /** The linkers for each protocol, in the order given (made once: no per-record filtering). */
  private readonly byProto: Readonly<Record<FlowRecord['proto'], readonly Linker[]>>;

  constructor(linkers: readonly Linker[]) {
    const of = (p: FlowRecord['proto']) => linkers.filter((l) => l.protos === undefined || l.protos.includes(p));
    this.byProto = { tcp: of('tcp'), udp: of('udp'), dns: of('dns'), icmp: of('icmp'), arp: of('arp') };
  }

  /** Relates a batch of records numbered in order (consecutive ids), in their order. */
  relate(batch: readonly FlowRecord[]): void {
    if (batch.length === 0) return;
    this.batch = batch;
    for (this.at = 0; this.at < batch.length; this.at++) {
      const r = batch[this.at];
      const linkers = this.byProto[r.proto];
      for (let i = 0; i < linkers.length; i++) linkers[i].relate(r, this.found);
    }
    this.batch = [];
  }
}

function addLink(r: FlowRecord, id: number, kind: RelatedKind, why: string): void {
  const list = (r.related ??= []);
  if (list.length >= MAX_RELATED || list.some((x) => x.id === id && x.kind === kind)) return;
  list.push({ id, kind, why });
}

/** What Recent.get returns for a key with no entries (shared, never changed). */
const NONE: readonly never[] = [];

/**
 * What linkers remember of past records: a bounded map from a key (an address, a name) to the
 * latest entries under it, forgetting entries older than `windowSec` of capture time and the
 * oldest keys beyond `maxKeys`. Keys whose entries are all older than the window before the newest
 * entry added are forgotten by a pass over the keys each time the newest entry's time has moved on
 * a PASS_EVERY-th of the window: without it every linker held its `maxKeys` keys to the end, 28 MB
 * of a 110 MB heap on the 1 GB dense benchmark capture.
 */
/**
 * Passes per window: a key is forgotten at most a window / PASS_EVERY after its window, so a
 * linker holds the keys of about 1.25 windows. A pass per so much capture time, not a few keys an
 * add: on a dense capture, where keys are added to all the time, walking 4 keys an add (each a
 * lookup and a read of its entries, out of cache) was a sixth of the linkers' time.
 */
const PASS_EVERY = 4;

export class Recent<T extends { t: number }> {
  private readonly byKey = new Map<string, T[]>();
  /** Oldest-first over byKey's keys, made at the first eviction. */
  private order: MapIterator<string> | null = null;
  /** Capture time (s) of the newest entry added. */
  private latest = -Infinity;
  /** The value of `latest` at the last pass that forgot expired keys. */
  private passed = -Infinity;
  /**
   * The key get() found last and its list, while that is still the map's: a linker adds under the
   * key it just looked up (a second lookup of a key, out of cache on a dense capture).
   */
  private foundKey: string | undefined = undefined;
  private foundList: T[] | undefined = undefined;
  /** With one entry a key: the list of the key evicted last, for the next key added (a list a key each, as long-lived as the keys). */
  private evictedList: T[] | null = null;

  /**
   * @param dropped given an entry this no longer holds (shifted out past perKey, expired when its
   *   key was looked up, or evicted with its key), which its linker may fill in for a later record
   *   instead of making one: a linker's entries live long enough to be promoted, and then die in
   *   the old generation (issue #20). Entries forgotten otherwise (replaced under a key with one
   *   entry, or with their key by the pass over expired keys) are left to the collector.
   */
  constructor(
    private readonly windowSec: number,
    private readonly maxKeys: number,
    private readonly perKey: number,
    private readonly dropped: ((e: T) => void) | null = null,
  ) {}

  add(key: string, e: T): void {
    if (e.t > this.latest) {
      this.latest = e.t;
      if (e.t - this.passed >= this.windowSec / PASS_EVERY) this.expire();
    }
    if (this.perKey === 1) {
      // the one entry of a key is replaced whole, so a new list either way (the one of the key
      // evicted last, when there is one), and one lookup, not a lookup and an insertion: a key
      // already there keeps its place; a new one is the newest
      let list = this.evictedList;
      if (list === null) list = [e];
      else {
        this.evictedList = null;
        list[0] = e;
      }
      this.byKey.set(flatten(key), list);
      this.foundKey = undefined;
      if (this.byKey.size > this.maxKeys) this.evictOldest();
      return;
    }
    const list = key === this.foundKey ? this.foundList : this.byKey.get(key);
    if (list === undefined) {
      if (this.byKey.size >= this.maxKeys) this.evictOldest();
      // a flat key (the linkers' are template literals: ropes that keep the strings they were
      // cut from) and a list of one: `[]` and a push reserve 17 slots (180 bytes a key)
      this.byKey.set(flatten(key), [e]);
      return;
    }
    if (list.length < this.perKey) {
      const longer = list.concat([e]); // exactly one slot more
      this.byKey.set(key, longer);
      if (list === this.foundList) this.foundList = longer;
      return;
    }
    const first = list[0];
    for (let i = 1; i < list.length; i++) list[i - 1] = list[i];
    list[list.length - 1] = e;
    if (this.dropped !== null) this.dropped(first);
  }

  private evictOldest(): void {
    // Maps iterate in insertion order: the next key of one iterator kept over the map's life is
    // the one added longest ago (every key it passed was deleted here). A new iterator per
    // eviction would walk the deleted entries V8 keeps until it compacts the table: 45 µs an add
    // at 16,384 keys, most of a flood's run.
    this.order ??= this.byKey.keys();
    const oldest = this.order.next();
    if (oldest.done === true) return;
    if (this.dropped !== null || this.perKey === 1) {
      const list = this.byKey.get(oldest.value);
      if (list !== undefined && this.dropped !== null) for (let i = 0; i < list.length; i++) this.dropped(list[i]);
      if (list !== undefined && this.perKey === 1) this.evictedList = list;
    }
    this.byKey.delete(oldest.value);
    this.foundKey = undefined;
  }

  /** Forgets the keys whose every entry is older than the window before the newest. */
  private expire(): void {
    this.passed = this.latest;
    this.foundKey = undefined;
    const before = this.latest - this.windowSec;
    // forEach, not for-of: a pass is rare, so it runs unoptimised, where a for-of over a Map's
    // entries costs 4 to 8 times as much; deleting the entry it is at is allowed
    this.byKey.forEach((list, key) => {
      let newest = -Infinity;
      for (let i = 0; i < list.length; i++) if (list[i].t > newest) newest = list[i].t;
      if (newest < before) this.byKey.delete(key);
    });
  }

  /** The entries under `key` no older than the window at capture time `now` (seconds), oldest first. */
  get(key: string, now: number): readonly T[] {
    // an empty map answers without hashing the key (most linkers' maps stay empty on most captures)
    if (this.byKey.size === 0) return NONE;
    const list = this.byKey.get(key);
    if (list === undefined) return NONE;
    let drop = 0;
    while (drop < list.length && list[drop].t < now - this.windowSec) drop++;
    if (drop > 0) {
      if (this.dropped !== null) for (let i = 0; i < drop; i++) this.dropped(list[i]);
      list.splice(0, drop);
    }
    if (list.length === 0) {
      this.byKey.delete(key);
      this.foundKey = undefined;
    } else {
      this.foundKey = key;
      this.foundList = list;
    }
    return list;
  }
}
