import type { Anomalies } from '../capture/damage.js';
import type { DecodedPacket } from '../decode/packet.js';
import { authorityHasNs, DnsHeader, parseDnsHeader, readAnswers, readDnsName } from '../decode/dns.js';
import { DNS_OPCODE, DNS_RCODE } from '../decode/enums.js';
import { endpointHash, tunnelNote } from './addr.js';
import { ChainedTable, FreeList, unchain } from './chained-table.js';
import { TimerQueue } from './timer-queue.js';
import { FlowEndpoints, NS_PLACEHOLDER } from './endpoints.js';
import { IntMap } from './int-map.js';
import { ByTime } from './by-time.js';
import { DnsTombstones, RETIRED } from './dns-tombstones.js';
import { DnsSiblings, Sibling } from './dns-siblings.js';
import { IcmpHit } from './tcp.js';
import type { FragDatagram } from './fragments.js';

/** Answer parsing lives in the decode layer (decode/dns.ts); still importable from here. */

/** A lookup's series of queries (same client, server, transport, name and type): retries are numbered from it. */
interface Series {
  /** The client and server it is between (their SeriesPair counts it), the query's type and opcode (seriesType) and its name. */
  pair: SeriesPair;
  type: number;
  qname: string;
  n: number;
  /** Time of the latest query of the series. */
  lastT: number;
  /**
   * Time and frame of each of its 2nd to MAX_SERIES-th queries, the retries, one after the other
   * (to name the retry that followed each; the first query retries none). Null until the first
   * retry: most series are one query. Grown by one pair at a time (a push reserves 17 slots).
   */
  retries: number[] | null;
  /** Its seriesHash (its key in DnsTable.attempts), and its clashKey when it is in DnsTable.clashes instead. */
  hash: number;
  clash: string | null;
  /** Still remembered (false once pruned or answered: entries of it may still be in DnsTable.byLastQuery). */
  live: boolean;
  /**
   * The transactions whose series it is: not live and with none, nothing reads it and it is
   * reused, though byLastQuery may still hold entries of it (see pruneAttempts).
   */
  txns: number;
}

/**
 * A client and server that series of queries are between (IP version, transport, both addresses),
 * one object for all of its series: a series is then this pair, its type and name (seriesHash),
 * not the thirteen parts of every query joined into a string key (issue #20: that join and the
 * lookup of its string were the DNS layer's largest cost per query, and its ~40 bytes of address
 * text per key (IPv4; ~90 for IPv6) a part of the retry map's memory; a client asks one or two servers).
 */
class SeriesPair extends FlowEndpoints {
  nextInBucket: SeriesPair | null = null;
  /** Its series in DnsTable.attempts: it is forgotten with the last of them. */
  refs = 0;
  constructor(
    readonly hash: number,
    /** Goes into its series' keys (seriesHash, clashKey): never another pair's, even one forgotten. */
    readonly id: number,
    private readonly transport: 'udp' | 'tcp',
    version: number,
    c: Uint32Array,
    s: Uint32Array,
  ) {
    super();
    this.setAddresses(version, c, s);
  }

  is(version: number, transport: 'udp' | 'tcp', c: Uint32Array, s: Uint32Array): boolean {
    return this.transport === transport && this.hasAddresses(version, c, s);
  }
}

function pairHash(version: number, transport: 'udp' | 'tcp', c: Uint32Array, s: Uint32Array): number {
  return (endpointHash(c, transport === 'udp' ? version : -version) + Math.imul(endpointHash(s, 0), 0x9e3779b1)) | 0;
}

/** A query's type and opcode as one number (opcodes are 4 bits). */
const seriesType = (qtype: number, opcode: number) => qtype * 16 + opcode;

/** A series' key in DnsTable.attempts: a hash of its pair's number, its type and name (FNV-1a over the name). Exported for tests (clashes). */
export function seriesHash(pairId: number, type: number, qname: string): number {
  let h = Math.imul(pairId ^ 0x811c9dc5, 0x01000193) ^ type;
  for (let i = 0; i < qname.length; i++) h = Math.imul(h ^ qname.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 15)) | 0;
}

/**
 * A series' key in DnsTable.clashes (its pair's number, type and name, all of it: no two series
 * share one). Joined, not a template literal, whose result is a rope of cons strings that the map
 * would keep as its key.
 */
const clashKey = (pair: SeriesPair, type: number, qname: string) => [pair.id, type, qname].join('|');

/** Queries of one series remembered with their times (a client retrying for minutes is still one series). */
const MAX_SERIES = 16;

/** One DNS query and its response, if any. Every retry is a transaction of its own. */
export class DnsTxn extends FlowEndpoints {
  // Every field is set by init(), for a new object and a reused one alike (see TcpFlow); the
  // placeholders are there to keep the fields in the object itself (see FlowEndpoints)
  nextInBucket: DnsTxn | null = null;
  /** Its place in the order transactions were inserted into the table (ChainedTable). */
  inserted: number = 0;
  hash: number = 0;
  transport: 'udp' | 'tcp' = 'udp';
  id: number = 0;
  qname: string = '';
  qtype: number = 0;
  /** DNS_OPCODE: a query (a lookup), a NOTIFY or an UPDATE. */
  opcode: number = 0;
  /** The query asked for recursion (RD); the response's AA and RA bits. */
  rd: number = 0;
  aa: number = 0;
  ra: number = 0;
  /** The response is a referral: no answer, no AA bit, NS records in the authority section. */
  referral: boolean = false;
  /** Counts reuses of this object, so that a reference kept elsewhere can tell it is stale. */
  gen: number = 0;
  /** An answered failure (NXDOMAIN, no data) still waiting for a sibling lookup (SIBLING_WAIT_NS). */
  waitsForSibling: boolean = false;
  /** Why the failure is benign (Sibling), and the sibling lookup's name, type, response frame and time. */
  sibling: Sibling = Sibling.None;
  siblingName: string = '';
  siblingQtype: number = 0;
  siblingFrame: number = 0;
  siblingT: number = NS_PLACEHOLDER;
  /** This lookup's series of queries; its lastT past queryT means the client asked again (a retry). */
  series: Series | null = null;
  /** Frame and time of the query (0 / -1 when only the response was captured). */
  queryFrame: number = 0;
  queryT: number = NS_PLACEHOLDER;
  firstSec: number = 0;
  firstNsec: number = 0;
  firstT: number = NS_PLACEHOLDER;
  /** 1 for the first query of this name and type between these hosts, 2 for its first retry, …; 1 again once the series' latest query was answered (see response). */
  attempt: number = 0;
  cMac: number = 0;
  respFrame: number = 0;
  respT: number = NS_PLACEHOLDER;
  respTtl: number = 0;
  respMac: number = 0;
  rcode: number = 0;
  ancount: number = 0;
  tc: number = 0;
  answers: string[] = NO_ANSWERS;
  duplicateResponses: number = 0;
  icmp: IcmpHit | null = null;
  /** The answer's IP datagram, when it came in fragments and this lookup saw its first one (flow/fragments.ts). */
  fragments: FragDatagram | null = null;
  /** Set once reported; kept a while to absorb duplicate responses, then evicted. */
  reported: boolean = false;
  /** Time of the last message of this transaction. */
  lastT: number = NS_PLACEHOLDER;
  /** The tunnel its first packet came through (VXLAN, GRE, …), for the evidence; null when none. */
  tunnel: string | null = null;

  constructor(pkt: DecodedPacket, transport: 'udp' | 'tcp', clientIsSrc: boolean, id: number, hash: number) {
    super();
    this.setEndpointsOf(pkt, clientIsSrc);
    this.init(pkt, transport, id, hash);
  }

  /** Makes this object the transaction that `pkt` begins, as the constructor would (see FreeList). */
  reuse(pkt: DecodedPacket, transport: 'udp' | 'tcp', clientIsSrc: boolean, id: number, hash: number): void {
    this.setEndpointsOf(pkt, clientIsSrc);
    this.init(pkt, transport, id, hash);
  }

  private init(pkt: DecodedPacket, transport: 'udp' | 'tcp', id: number, hash: number): void {
    this.nextInBucket = null;
    this.hash = hash;
    this.transport = transport;
    this.id = id;
    this.qname = '';
    this.qtype = 0;
    this.opcode = DNS_OPCODE.Query;
    this.rd = 0;
    this.aa = 0;
    this.ra = 0;
    this.referral = false;
    this.gen = ++generations;
    this.waitsForSibling = false;
    this.sibling = Sibling.None;
    this.siblingName = '';
    this.siblingQtype = 0;
    this.siblingFrame = 0;
    this.siblingT = 0;
    this.series = null;
    this.queryFrame = 0;
    this.queryT = -1;
    this.firstSec = 0;
    this.firstNsec = 0;
    this.firstT = 0;
    this.attempt = 1;
    this.cMac = -1;
    this.respFrame = 0;
    this.respT = -1;
    this.respTtl = 0;
    this.respMac = -1;
    this.rcode = -1;
    this.ancount = 0;
    this.tc = 0;
    this.answers = NO_ANSWERS; // replaced, never changed: a record may hold the array
    this.duplicateResponses = 0;
    this.icmp = null;
    this.fragments = null;
    this.reported = false;
    this.lastT = 0;
    this.tunnel = tunnelNote(pkt);
  }

  /** This transaction's client and server are these (one way round). */
  matches(version: number, transport: string, cAddr: Uint32Array, cPort: number, sAddr: Uint32Array, sPort: number): boolean {
    return this.version === version && this.transport === transport && this.isClient(cAddr, cPort) && this.isServer(sAddr, sPort);
  }

  get answered(): boolean {
    return this.respT >= 0;
  }

  /** The client asked the same server for the same name and type again after this query (a retry), by capture time `now`. */
  retriedBy(now: number): boolean {
    const s = this.series;
    return s !== null && this.queryT >= 0 && s.lastT > this.queryT && s.lastT <= now;
  }

  /** The query that retried this one: its frame and time (frame 0 when past the series' first MAX_SERIES queries). */
  retry(): { frame: number; t: number } | null {
    const s = this.series;
    if (s === null || this.queryT < 0 || s.lastT <= this.queryT) return null;
    const r = s.retries;
    if (r !== null) for (let i = 0; i < r.length; i += 2) if (r[i] > this.queryT) return { frame: r[i + 1], t: r[i] };
    return { frame: 0, t: s.lastT };
  }
}

const NO_ANSWERS: string[] = [];
/** Numbers every (re)use of a DnsTxn object (DnsTxn.gen). */
let generations = 0;
function txnHash(cAddr: Uint32Array, cPort: number, sAddr: Uint32Array, sPort: number, id: number): number {
  return (endpointHash(cAddr, cPort) + Math.imul(endpointHash(sAddr, sPort) ^ id, 0x9e3779b1)) | 0;
}

/** The most identical queries (same transport, client, server and id) tracked at once. */
const MAX_IDENTICAL = 64;

/** Pairs DNS queries with responses by (client, server, transport, id). */
export class DnsTable extends ChainedTable<DnsTxn> {
  /**
   * Queries per (transport, client, server, name, type), for numbering retries, by seriesHash;
   * ended by an answer with records, else pruned when idle (an IntMap, see there).
   */
  private readonly attempts = new IntMap<Series>();
  /**
   * Series whose seriesHash another series in `attempts` had when they began, by clashKey (a map of
   * strings, so that no choice of names makes a lookup walk a chain). Empty but for a clash of
   * hashes, or many names chosen to clash.
   */
  private readonly clashes = new Map<string, Series>();
  /**
   * The series of both, in order of their queries, with each query's time (a series queried again
   * is in it again; an entry older than its series' last query is skipped): while query times
   * never go backwards, pruning takes the stale ones from the front and stops at the first query
   * still fresh (a walk of all of them each sweep was 80,000 entries on a resolver's capture).
   * Entries stay for series ended by an answer, and for a Series object reused since (see
   * pruneAttempts). Unused, and empty, once a time went backwards.
   */
  private readonly byLastQuery = new ByTime<Series>();
  /** The series of `attempts` for a walk of them all (pruneAttempts, out of order). */
  private readonly stale: (Series | null)[] = [];
  /** The client-server pairs of `attempts`' series, by pairHash (chained through the pairs). */
  private readonly pairs = new Map<number, SeriesPair>();
  private pairIds = 0;
  /** The latest query time in `attempts`, and whether they came in order of time (see byLastQuery). */
  private newestQueryT = -Infinity;
  private attemptsInOrder = true;
  /** Failed lookups and the sibling lookups that make them benign (flow/dns-siblings.ts). */
  private readonly siblings = new DnsSiblings<DnsTxn>((f) => this.timers.touch(f));
  readonly header = new DnsHeader();
  /** Forgotten transactions' objects, reused for new ones (as many as are live, in a flood). */
  private readonly free = new FreeList<DnsTxn>(undefined, () => this.size);
  /** Answered lookups reported and let go (retire), until their late duplicates have passed. */
  readonly retired = new DnsTombstones(this.budget);
  /** Series nothing refers to any more, for new ones (see newSeries). */
  private readonly spareSeries = new FreeList<Series>();
  /** When each transaction is next worth a sweep's look: touched by each of its messages (see timer-queue.ts). */
  readonly timers = new TimerQueue<DnsTxn>();
  /** DNS messages too short or malformed to read (each also the anomaly dns_malformed, when an Anomalies is given). */
  malformed = 0;
  /** Queries not tracked because MAX_IDENTICAL identical ones were already (anomaly dns_identical_queries). */
  identicalDropped = 0;
  /** Where dns_malformed is counted (the tracker's); null in tests that build a table alone. */
  anomalies: Anomalies | null = null;

  /**
   * One DNS message at u8[off..end) carried by `pkt` (UDP payload or one TCP-framed message).
   * Time `t` and absolute (sec, nsec) are the packet's.
   */
  observe(pkt: DecodedPacket, transport: 'udp' | 'tcp', dv: DataView, u8: Uint8Array, off: number, end: number, frame: number, sec: number, nsec: number, t: number): void {
    const h = this.header;
    if (!parseDnsHeader(dv, u8, off, end, h)) {
      // not silently: a lookup that cannot be read is one the report cannot speak of
      this.malformed++;
      this.anomalies?.add('dns_malformed', this.malformed === 1 ? `frame ${frame}, ${end - off} bytes over ${transport.toUpperCase()}` : undefined);
      return;
    }
    // IQUERY (obsolete), STATUS and DSO are not followed; NOTIFY and UPDATE are, with their rcodes
    if (h.opcode !== DNS_OPCODE.Query && h.opcode !== DNS_OPCODE.Notify && h.opcode !== DNS_OPCODE.Update) return;
    if (h.qr === 0) this.query(pkt, transport, u8, off, end, frame, sec, nsec, t);
    else this.response(pkt, transport, u8, off, end, frame, sec, nsec, t);
  }

  private query(pkt: DecodedPacket, transport: 'udp' | 'tcp', u8: Uint8Array, off: number, end: number, frame: number, sec: number, nsec: number, t: number): void {
    const h = this.header;
    const hash = txnHash(pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort, h.id);
    // the frame's text made only for a full chain (a string per query was a tenth of query()'s cost)
    if (this.budget.full || this.chainFull(hash, 'DNS query', frame)) {
      this.budget.dropped++;
      return;
    }
    // identical queries (same client port, server and id) outstanding together are retries; past a
    // few dozen they are a flood, and each response would walk all of them (100 k: minutes)
    let same = 0;
    for (let f = this.head(hash); f !== null && same < MAX_IDENTICAL; f = f.nextInBucket) if (f.id === h.id && f.matches(pkt.ipVersion, transport, pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort)) same++;
    if (same < MAX_IDENTICAL) same += this.retired.count(pkt.ipVersion, transport, pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort, h.id, hash, MAX_IDENTICAL - same);
    if (same === MAX_IDENTICAL) {
      this.identicalDropped++;
      this.anomalies?.add('dns_identical_queries', this.identicalDropped === 1 ? `frame ${frame}: more than ${MAX_IDENTICAL} identical queries (same client port, server and id) at once; the others are counted, not tracked` : undefined);
      return;
    }
    const txn = this.make(pkt, transport, true, h.id, hash);
    txn.qname = h.qnameOff >= 0 ? (readDnsName(u8, off, h.qnameOff, end) ?? '<malformed name>') : '<no question>';
    txn.qtype = h.qtype;
    txn.queryFrame = frame;
    txn.queryT = t;
    txn.firstSec = sec;
    txn.firstNsec = nsec;
    txn.firstT = t;
    txn.cMac = pkt.srcMac;
    txn.opcode = h.opcode;
    txn.rd = h.rd;
    const pair = this.pairOf(pkt.ipVersion, transport, pkt.src, pkt.dst);
    const type = seriesType(txn.qtype, h.opcode);
    const qname = txn.qname;
    const sh = seriesHash(pair.id, type, qname);
    const holder = this.attempts.get(sh);
    let seen: Series | undefined = holder;
    let ck: string | null = null;
    if (holder === undefined || holder.pair !== pair || holder.type !== type || holder.qname !== qname) {
      // not in `attempts`: in `clashes`, or new (a series in `clashes` may outlive the holder of its hash)
      seen = undefined;
      if (holder !== undefined || this.clashes.size > 0) {
        ck = clashKey(pair, type, qname);
        seen = this.clashes.get(ck);
      }
    }
    txn.attempt = seen === undefined ? 1 : seen.n + 1;
    if (t < this.newestQueryT) {
      this.attemptsInOrder = false;
      this.byLastQuery.clear();
    } else this.newestQueryT = t;
    if (seen === undefined) {
      const clash = holder === undefined ? null : (ck ?? clashKey(pair, type, qname));
      seen = this.newSeries(pair, type, qname, t, sh, clash);
      pair.refs++;
      if (clash === null) this.attempts.set(sh, seen);
      else this.clashes.set(clash, seen);
    } else {
      seen.n++;
      seen.lastT = t;
      if (seen.retries === null) seen.retries = [t, frame];
      else if (seen.n <= MAX_SERIES) seen.retries = seen.retries.concat(t, frame);
    }
    if (this.attemptsInOrder) this.byLastQuery.push(seen, t);
    txn.series = seen;
    seen.txns++;
    txn.lastT = t;
    this.insert(txn);
    this.timers.touch(txn);
  }

  /** The pair of a query from `c` to `s`: the one its earlier series share, else a new one. */
  private pairOf(version: number, transport: 'udp' | 'tcp', c: Uint32Array, s: Uint32Array): SeriesPair {
    const hash = pairHash(version, transport, c, s);
    const head = this.pairs.get(hash) ?? null;
    for (let p = head; p !== null; p = p.nextInBucket) if (p.is(version, transport, c, s)) return p;
    const p = new SeriesPair(hash, ++this.pairIds, transport, version, c, s);
    p.nextInBucket = head;
    this.pairs.set(hash, p);
    return p;
  }

  /**
   * A new series, in one nothing refers to any more when there is one: most series are one query,
   * made for every lookup; those kept for --udp-idle (unanswered or failed) live long enough to be
   * promoted, and were 70 MB on the 1 GB dense bench capture, dying in the old generation.
   */
  private newSeries(pair: SeriesPair, type: number, qname: string, t: number, hash: number, clash: string | null): Series {
    const v = this.spareSeries.take();
    if (v === undefined) return { pair, type, qname, n: 1, lastT: t, retries: null, hash, clash, live: true, txns: 0 };
    v.pair = pair;
    v.type = type;
    v.qname = qname;
    v.n = 1;
    v.lastT = t;
    v.retries = null;
    v.hash = hash;
    v.clash = clash;
    v.live = true;
    v.txns = 0;
    return v;
  }

  /** Keeps `v` for reuse once nothing reads it (entries of it may be left in byLastQuery: see pruneAttempts). */
  private reuseIfLoose(v: Series): void {
    if (!v.live && v.txns === 0) this.spareSeries.give(v);
  }

  /** Forgets a series, and its pair with the last of the pair's series. */
  private dropSeries(v: Series): void {
    if (v.clash === null) this.attempts.delete(v.hash);
    else this.clashes.delete(v.clash);
    v.live = false;
    const p = v.pair;
    if (--p.refs > 0) return;
    unchain(this.pairs, p);
  }

  private response(pkt: DecodedPacket, transport: 'udp' | 'tcp', u8: Uint8Array, off: number, end: number, frame: number, sec: number, nsec: number, t: number): void {
    const h = this.header;
    const hash = txnHash(pkt.dst, pkt.dstPort, pkt.src, pkt.srcPort, h.id);
    let answeredMatch: DnsTxn | null = null;
    let txn: DnsTxn | null = null;
    for (let f = this.head(hash); f !== null; f = f.nextInBucket) {
      if (f.id !== h.id || !f.matches(pkt.ipVersion, transport, pkt.dst, pkt.dstPort, pkt.src, pkt.srcPort)) continue;
      if (!f.answered) {
        txn = f; // newest unanswered first: a reply answers the latest retry
        break;
      }
      if (answeredMatch === null) answeredMatch = f;
    }
    if (txn === null) {
      // a late duplicate of a retired lookup's response, when that lookup is the newest of its key
      const r = this.retired.latest(pkt.ipVersion, transport, pkt.dst, pkt.dstPort, pkt.src, pkt.srcPort, h.id, hash);
      if (r >= 0 && (answeredMatch === null || r > answeredMatch.inserted)) return;
    }
    if (txn === null && answeredMatch !== null) {
      answeredMatch.duplicateResponses++;
      this.timers.touch(answeredMatch);
      return;
    }
    if (txn === null) {
      if (this.budget.full || this.chainFull(hash, 'DNS response', frame)) {
        this.budget.dropped++;
        return;
      }
      txn = this.make(pkt, transport, false, h.id, hash);
      txn.qname = h.qnameOff >= 0 ? (readDnsName(u8, off, h.qnameOff, end) ?? '<malformed name>') : '<no question>';
      txn.qtype = h.qtype;
      txn.opcode = h.opcode;
      txn.rd = h.rd;
      txn.firstSec = sec;
      txn.firstNsec = nsec;
      txn.firstT = t;
      this.insert(txn);
    }
    txn.respFrame = frame;
    txn.respT = t;
    txn.lastT = t;
    txn.respTtl = pkt.ttl;
    txn.respMac = pkt.srcMac;
    txn.rcode = h.rcode;
    txn.ancount = h.ancount;
    txn.tc = h.tc;
    txn.aa = h.aa;
    txn.ra = h.ra;
    if (h.opcode === DNS_OPCODE.Query) {
      // in an UPDATE the counts are of prerequisites and updates, not answers
      if (h.ancount > 0) txn.answers = readAnswers(u8, off, end, h, 4);
      if (h.rcode === DNS_RCODE.NoError && h.ancount === 0 && h.aa === 0 && h.nscount > 0) txn.referral = authorityHasNs(u8, off, end, h);
      this.siblings.answered(txn, pkt.dst, t);
    }
    // the series' latest query (by its number: another may have come at the same time) answered:
    // a lookup with records (truncated or not: the client has them, or asks over TCP, a series of
    // its own), a NOTIFY or UPDATE with NOERROR. A later query is then a new one, not a retry.
    // Most lookups end so; their series, kept for --udp-idle before, were the DNS table's largest
    // part (80,000 at once on the dense 1 GB bench capture)
    const v = txn.series;
    if (v !== null && v.live && txn.attempt === v.n && h.rcode === DNS_RCODE.NoError && (h.ancount > 0 || h.opcode !== DNS_OPCODE.Query)) this.dropSeries(v);
    this.timers.touch(txn);
  }

  /** Transaction objects kept to be reused (for tests). */
  get spareTxns(): number {
    return this.free.size;
  }

  /** Lets go of the spare transactions beyond what the table holds live (FreeList.trim). */
  trimSpares(): void {
    this.free.trim();
  }

  /** Forgets what siblings older than `now - SIBLING_WAIT_NS` left: resolved names and stale waits. */
  pruneSiblings(now: number): void {
    this.siblings.prune(now);
  }

  private make(pkt: DecodedPacket, transport: 'udp' | 'tcp', clientIsSrc: boolean, id: number, hash: number): DnsTxn {
    const txn = this.free.take();
    if (txn === undefined) return new DnsTxn(pkt, transport, clientIsSrc, id, hash);
    txn.reuse(pkt, transport, clientIsSrc, id, hash);
    return txn;
  }

  /** Takes a reported transaction out of the table for good: nothing may read it after this. */
  forget(txn: DnsTxn): void {
    txn.waitsForSibling = false;
    const v = txn.series;
    if (v !== null) {
      txn.series = null;
      v.txns--;
      this.reuseIfLoose(v);
    }
    this.timers.forget(txn);
    if (this.remove(txn)) this.free.give(txn);
  }

  /** The newest transaction in the table between these endpoints. */
  findLatest(version: number, transport: 'udp' | 'tcp', cAddr: Uint32Array, cPort: number, sAddr: Uint32Array, sPort: number, id: number): DnsTxn | null {
    return this.latestIn(txnHash(cAddr, cPort, sAddr, sPort, id), version, transport, cAddr, cPort, sAddr, sPort, id);
  }

  /** findLatest, given the endpoints' txnHash. */
  private latestIn(hash: number, version: number, transport: 'udp' | 'tcp', cAddr: Uint32Array, cPort: number, sAddr: Uint32Array, sPort: number, id: number): DnsTxn | null {
    for (let f = this.head(hash); f !== null; f = f.nextInBucket) {
      if (f.id === id && f.matches(version, transport, cAddr, cPort, sAddr, sPort)) return f;
    }
    return null;
  }

  /**
   * The newest lookup between these endpoints (for an ICMP error quoting a query, a fragmented
   * answer): RETIRED when that is a retired one, reported already (nothing to add to it).
   */
  findNewest(version: number, transport: 'udp' | 'tcp', cAddr: Uint32Array, cPort: number, sAddr: Uint32Array, sPort: number, id: number): DnsTxn | typeof RETIRED | null {
    const hash = txnHash(cAddr, cPort, sAddr, sPort, id);
    const found = this.latestIn(hash, version, transport, cAddr, cPort, sAddr, sPort, id);
    const r = this.retired.latest(version, transport, cAddr, cPort, sAddr, sPort, id, hash);
    return r >= 0 && (found === null || r > found.inserted) ? RETIRED : found;
  }

  /**
   * Lets go of an answered lookup once reported (and described: after the sweep's emit): a compact
   * entry in `retired` absorbs its late duplicates until --dns-timeout after its last message, as
   * the transaction itself did, and counts against --max-flows as it did.
   */
  retire(txn: DnsTxn): void {
    this.retired.add(txn);
    this.forget(txn);
  }

  /** Forgets retry numbering for queries not repeated for `idleNs`. */
  pruneAttempts(now: number, idleNs: number): void {
    const before = now - idleNs;
    if (this.attemptsInOrder) {
      // in order of query: a series whose last query is stale is stale (its earlier entries skipped)
      const q = this.byLastQuery;
      while (q.length > 0 && q.oldestT() <= before) {
        const t = q.oldestT();
        const v = q.shift();
        // its last query, else a later entry has that. An entry left from an earlier use of a
        // reused object is no later than the new use's first query, and matches its last only
        // when that came at the same time, and is due with this entry in this same loop.
        if (v.live && v.lastT === t) {
          this.dropSeries(v);
          this.reuseIfLoose(v);
        }
      }
    } else {
      // a query time went backwards: a walk of them all
      const stale = this.stale;
      const n = this.attempts.values(stale);
      for (let i = 0; i < n; i++) {
        const v = stale[i] as Series;
        stale[i] = null;
        if (v.lastT <= before) this.dropSeries(v);
      }
      this.pruneBefore = before;
      this.clashes.forEach(this.pruneClash);
    }
    if (this.attempts.size === 0 && this.clashes.size === 0) {
      this.attemptsInOrder = true;
      this.newestQueryT = -Infinity;
      this.byLastQuery.clear();
    }
  }

  /** forEach's callback (no [key, value] array per entry; deleting the key visited is allowed). */
  private readonly pruneClash = (v: Series): void => {
    if (v.lastT <= this.pruneBefore) this.dropSeries(v);
  };
  private pruneBefore = 0;
}
