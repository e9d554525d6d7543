import type { Anomalies } from '../capture/damage.js';
import type { DecodedPacket } from '../decode/packet.js';
import { DnsHeader, parseDnsHeader, readAnswers, readDnsName } from '../decode/dns.js';
import { DNS_OPCODE } from '../decode/enums.js';
import { endpointHash, tunnelNote } from './addr.js';
import { ChainedTable, FreeList } from './chained-table.js';
import { TimerQueue } from './timer-queue.js';
import { FlowEndpoints } from './endpoints.js';
import { IcmpHit } from './tcp.js';
import type { FragDatagram } from './fragments.js';

/** Answer parsing lives in the decode layer (decode/dns.ts); still importable from here. */

/** One DNS query and its response, if any. Every retry is a transaction of its own. */
export class DnsTxn extends FlowEndpoints {
  // Every field is set by init(), for a new object and a reused one alike (see TcpFlow).
  declare nextInBucket: DnsTxn | null;
  declare hash: number;
  declare transport: 'udp' | 'tcp';
  declare id: number;
  declare qname: string;
  declare qtype: number;
  /** Frame and time of the query (0 / -1 when only the response was captured). */
  declare queryFrame: number;
  declare queryT: number;
  declare firstSec: number;
  declare firstNsec: number;
  declare firstT: number;
  /** 1 for the first query of this name and type between these hosts, 2 for its first retry, … */
  declare attempt: number;
  declare cMac: number;
  declare respFrame: number;
  declare respT: number;
  declare respTtl: number;
  declare respMac: number;
  declare rcode: number;
  declare ancount: number;
  declare tc: number;
  declare answers: string[];
  declare duplicateResponses: number;
  declare icmp: IcmpHit | null;
  /** The answer's IP datagram, when it came in fragments and this lookup saw its first one (flow/fragments.ts). */
  declare fragments: FragDatagram | null;
  /** Set once reported; kept a while to absorb duplicate responses, then evicted. */
  declare reported: boolean;
  /** Time of the last message of this transaction. */
  declare lastT: number;
  /** The tunnel its first packet came through (VXLAN, GRE, …), for the evidence; null when none. */
  declare tunnel: string | null;

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
}

const NO_ANSWERS: string[] = [];

function txnHash(cAddr: Uint32Array, cPort: number, sAddr: Uint32Array, sPort: number, id: number): number {
  return (endpointHash(cAddr, cPort) + Math.imul(endpointHash(sAddr, sPort) ^ id, 0x9e3779b1)) | 0;
}

/** The most identical queries (same transport, client, server and id) tracked at once. */
const MAX_IDENTICAL = 64;

/** Pairs DNS queries with responses by (client, server, transport, id). */
export class DnsTable extends ChainedTable<DnsTxn> {
  /** Queries per (transport, client, server, name, type), for numbering retries; pruned when idle. */
  private readonly attempts = new Map<string, { n: number; lastT: number }>();
  readonly header = new DnsHeader();
  /** Forgotten transactions' objects, reused for new ones. */
  private readonly free = new FreeList<DnsTxn>();
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
    if (h.opcode !== DNS_OPCODE.Query) return; // NOTIFY, UPDATE…: not lookups
    if (h.qr === 0) this.query(pkt, transport, u8, off, end, frame, sec, nsec, t);
    else this.response(pkt, transport, u8, off, end, frame, sec, nsec, t);
  }

  private query(pkt: DecodedPacket, transport: 'udp' | 'tcp', u8: Uint8Array, off: number, end: number, frame: number, sec: number, nsec: number, t: number): void {
    const h = this.header;
    const hash = txnHash(pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort, h.id);
    if (this.budget.full) {
      this.budget.dropped++;
      return;
    }
    // identical queries (same client port, server and id) outstanding together are retries; past a
    // few dozen they are a flood, and each response would walk all of them (100 k: minutes)
    let same = 0;
    for (let f = this.head(hash); f !== null && same < MAX_IDENTICAL; f = f.nextInBucket) if (f.id === h.id && f.matches(pkt.ipVersion, transport, pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort)) same++;
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
    // the addresses as their words, not their text: formatting two addresses (IPv6 above all) for
    // every query was the DNS layer's largest cost on a resolver's capture (issue #20)
    const a = pkt.src;
    const b = pkt.dst;
    const key = `${txn.qname}|${txn.qtype}|${transport}|${pkt.ipVersion}|${a[0]},${a[1]},${a[2]},${a[3]}|${b[0]},${b[1]},${b[2]},${b[3]}`;
    const seen = this.attempts.get(key);
    txn.attempt = seen === undefined ? 1 : seen.n + 1;
    if (seen === undefined) this.attempts.set(key, { n: 1, lastT: t });
    else {
      seen.n++;
      seen.lastT = t;
    }
    txn.lastT = t;
    this.insert(txn);
    this.timers.touch(txn);
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
    if (txn === null && answeredMatch !== null) {
      answeredMatch.duplicateResponses++;
      this.timers.touch(answeredMatch);
      return;
    }
    if (txn === null) {
      if (this.budget.full) {
        this.budget.dropped++;
        return;
      }
      txn = this.make(pkt, transport, false, h.id, hash);
      txn.qname = h.qnameOff >= 0 ? (readDnsName(u8, off, h.qnameOff, end) ?? '<malformed name>') : '<no question>';
      txn.qtype = h.qtype;
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
    if (h.ancount > 0) txn.answers = readAnswers(u8, off, end, h, 4);
    this.timers.touch(txn);
  }

  private make(pkt: DecodedPacket, transport: 'udp' | 'tcp', clientIsSrc: boolean, id: number, hash: number): DnsTxn {
    const txn = this.free.take();
    if (txn === undefined) return new DnsTxn(pkt, transport, clientIsSrc, id, hash);
    txn.reuse(pkt, transport, clientIsSrc, id, hash);
    return txn;
  }

  /** Takes a reported transaction out of the table for good: nothing may read it after this. */
  forget(txn: DnsTxn): void {
    this.timers.forget(txn);
    if (this.remove(txn)) this.free.give(txn);
  }

  /** The newest transaction between these endpoints (for an ICMP error quoting a query). */
  findLatest(version: number, transport: string, cAddr: Uint32Array, cPort: number, sAddr: Uint32Array, sPort: number, id: number): DnsTxn | null {
    for (let f = this.head(txnHash(cAddr, cPort, sAddr, sPort, id)); f !== null; f = f.nextInBucket) {
      if (f.id === id && f.matches(version, transport, cAddr, cPort, sAddr, sPort)) return f;
    }
    return null;
  }

  /** Forgets retry numbering for queries not repeated for `idleNs`. */
  pruneAttempts(now: number, idleNs: number): void {
    for (const [k, v] of this.attempts) if (now - v.lastT >= idleNs) this.attempts.delete(k);
  }
}
