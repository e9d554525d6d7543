import { CaptureRecord } from './capture/record.js';
import { CaptureReader, READ_END, READ_RECORD } from './capture/reader.js';
import { GunzipSource, readOrAbort, type ByteSource } from './capture/source.js';
import { isDecodableLinkType, linkTypeName } from './capture/linktypes.js';
import { isoTime } from './capture/time.js';
import { Anomalies } from './capture/damage.js';
import { DecodedPacket, DecodeStatus, L4, TCP_FLAG } from './decode/packet.js';
import { PacketDecoder } from './decode/decode.js';
import { C2S, DnsStream, IcmpHit, TcpFlow, TcpTable, TcpTombstone, TcpTombstones } from './flow/tcp.js';
import { neitherTlsNorHttp, AppSniffer, APP } from './flow/app.js';
import { DnsTable } from './flow/dns.js';
import { EchoTable } from './flow/echo.js';
import { NeighborTable } from './flow/neighbor.js';
import { UdpTable, type UdpFlow } from './flow/udp.js';
import { HostTable } from './flow/hosts.js';
import { FlowBudget, FreeList } from './flow/chained-table.js';
import { copyAddr, endpointHash, flowHash, formatAddr } from './flow/addr.js';
import type { ClassifyContext } from './verdict/context.js';
import { dnsRecord, tcpRecord, udpRecord } from './verdict/classify.js';
import { icmpVerdict } from './verdict/icmp.js';
import { HealthChecks, isProbe } from './verdict/health.js';
import { DnsNames } from './verdict/names.js';
import { noteVantage, Vantage, vantageOf } from './verdict/vantage.js';
import { echoRecord, HopMemory, neighborConflictRecord, neighborNoReplyRecord } from './verdict/echo-neighbor.js';
import { HEALTHY, VERDICT_IDS, type FlowRecord, type VerdictId } from './verdict/types.js';
import { LINGER_NS, tcpFinal } from './verdict/tcp-rules.js';
import { dnsFinal } from './verdict/dns-rules.js';
import { SCHEMA_VERSION } from './run-report.js';
import { checkHeap } from './memory.js';


export interface AnalyzeOptions {
  /** An unanswered SYN is a timeout once the capture goes on this long after the last SYN. */
  synTimeoutMs: number;
  /** A DNS query with no response this long is dns-no-response. */
  dnsTimeoutMs: number;
  /** A TCP connection idle this long is final (reported, then forgotten). */
  tcpIdleMs: number;
  /** A UDP flow or DNS transaction idle this long is forgotten. */
  udpIdleMs: number;
  /** At most this many flows (TCP, DNS and UDP together) are tracked at once; more are not analysed. */
  maxFlows: number;
}

export const DEFAULT_OPTIONS: AnalyzeOptions = { synTimeoutMs: 3000, dnsTimeoutMs: 5000, tcpIdleMs: 300_000, udpIdleMs: 60_000, maxFlows: 1_000_000 };

/**
 * Which records the report keeps (records are always counted, and passed to `onFlow` as decided):
 * all, none, or the problems up to a number per verdict (what the text report shows; a flood of
 * a million timeouts must not be held in memory to print twenty).
 */
export type Keep = 'all' | 'none' | { problemsPerVerdict: number };

/** How often, in capture time, flows are checked for a final verdict. */
const SWEEP_NS = 1e9;
/** On live input with no packets arriving, flows are checked this often (in wall-clock time). */
const LIVE_SWEEP_NS = 0.25e9;
/**
 * How long a reported connection that was closed (RST, or FIN both ways) is kept to absorb late
 * packets (a retransmitted FIN or final ACK) before it is forgotten. Reported connections that did
 * not close (an unanswered SYN, retried for up to ~2 min) are kept for the TCP idle timeout.
 */
const CLOSED_KEEP_NS = 10e9;
/** Senders of bad checksums remembered for the offload warning (a flood of distinct sources must not grow it). */
const MAX_BAD_SUM_SENDERS = 4096;

export interface Report {
  schema: number;
  input: {
    name: string;
    format: string;
    linkTypes: { linkType: number; name: string; packets: number }[];
    packets: number;
    bytes: number;
    /** ISO 8601 of the first and last packet, null when there were none. */
    first: string | null;
    last: string | null;
    durationSec: number;
    /** Where the capture was taken, judged from TTLs (absent when no connection showed both sides). */
    vantage?: string;
  };
  options: AnalyzeOptions;
  records: FlowRecord[];
  summary: {
    verdicts: Record<string, number>;
    problems: number;
    tcpConnections: number;
    tcpConversations: number;
    dnsTransactions: number;
    udpFlows: number;
  };
  stats: {
    decodedIp: number;
    notIp: number;
    truncatedPackets: number;
    malformedPackets: number;
    badIpChecksums: number;
    badTransportChecksums: number;
    icmpErrorsUnmatched: number;
    unsupportedLinkPackets: number;
    /** New flows not tracked because --max-flows was reached. */
    flowsNotTracked: number;
  };
  anomalies: { code: string; count: number; first: string }[];
  warnings: string[];
}

/**
 * The analysis pipeline: records → decoded packets → flow facts → verdicts. Feed it records
 * with `onRecord`, then call `finish`. Does no I/O.
 */
/** An ARP or neighbour request unanswered this long after its last retry has failed. */
const NEIGHBOR_WAIT_NS = 3e9;

export class Analyzer {
  private readonly decoder = new PacketDecoder();
  private readonly pkt = new DecodedPacket();
  private readonly budget: FlowBudget;
  readonly tcp: TcpTable;
  /** Reported flows' objects, reused for new flows. */
  private readonly tcpFree = new FreeList<TcpFlow>();
  /** Reported TCP flows, kept compact to absorb their late packets. */
  readonly tombstones: TcpTombstones;
  readonly dns: DnsTable;
  readonly udp: UdpTable;
  readonly hosts = new HostTable();
  /** Pings, ARP / neighbour discovery, and the routers that answered probes per destination. */
  readonly echo = new EchoTable();
  readonly neighbors = new NeighborTable();
  private readonly hops = new HopMemory();
  private readonly health = new HealthChecks();
  /** Addresses named by the DNS answers seen so far. */
  private readonly names = new DnsNames();
  /** Connections seen from both sides, by whether each side's packets arrived routed (see vantage.ts). */
  private readonly vantage = new Vantage();
  readonly anomalies = new Anomalies();
  private baseSec = 0;
  private baseNsec = 0;
  private lastSec = 0;
  private lastNsec = 0;
  private endT = 0;
  packets = 0;
  bytes = 0;
  private decodedIp = 0;
  private notIp = 0;
  private truncated = 0;
  private malformed = 0;
  private badIp = 0;
  private badL4 = 0;
  private icmpUnmatched = 0;
  private unsupportedLink = 0;
  /** Senders of packets with a wrong transport checksum, by network key (formatted only at the end). */
  private readonly badSumSenders = new Map<number, { version: number; addr: Uint32Array; count: number }>();
  private nextSweepT = SWEEP_NS;
  private nextId: number;
  private readonly kept: FlowRecord[] = [];
  private readonly verdictCounts = new Map<VerdictId, number>();
  private problems = 0;
  private tcpConnections = 0;
  private tcpConversations = 0;
  private dnsTransactions = 0;
  private udpFlows = 0;
  /** Records of TCP flows that were the first of their 4-tuple (counted as a conversation at emit). */
  private readonly firstOfConversation = new Set<FlowRecord>();

  /**
   * @param onFlow called with each record as soon as its verdict is final, in order of decision
   *   (records decided at the same moment in order of start time).
   */
  /**
   * @param filter when given, only the records it accepts are counted, kept and handed on
   *   (`tcpConversations` and `udpFlows` count only conversations and flows it accepts).
   */
  constructor(
    readonly opts: AnalyzeOptions,
    private readonly keep: Keep = 'all',
    private readonly onFlow: ((r: FlowRecord) => void) | null = null,
    private readonly filter: ((r: FlowRecord) => boolean) | null = null,
    firstId = 1,
    private readonly file: string | undefined = undefined,
    /** onFlow wants problem records only (live text output): healthy ones are counted, not described. */
    private readonly onFlowProblemsOnly = false,
  ) {
    this.nextId = firstId;
    this.budget = new FlowBudget(opts.maxFlows);
    this.tcp = new TcpTable(this.budget);
    this.tombstones = new TcpTombstones(this.budget);
    this.dns = new DnsTable(this.budget);
    this.udp = new UdpTable(this.budget);
  }

  private context(now: number, atEnd = false): ClassifyContext {
    return {
      captureEndT: now,
      atEnd,
      captureStartSec: this.baseSec,
      captureStartNsec: this.baseNsec,
      synTimeoutNs: this.opts.synTimeoutMs * 1e6,
      dnsTimeoutNs: this.opts.dnsTimeoutMs * 1e6,
      tcpIdleNs: this.opts.tcpIdleMs * 1e6,
      hosts: this.hosts,
      describe: this.describe,
      filtering: this.filter !== null,
    };
  }

  /**
   * Whether a record of this verdict may be kept or handed on (see emit), and so needs its
   * sentences. With a limit per verdict, one decided once the limit was counted never is: counts
   * only grow, so a record built without sentences here is never one that is shown.
   */
  private readonly describe = (v: VerdictId): boolean => {
    if (this.keep === 'all') return true;
    const problem = !HEALTHY.has(v);
    if (this.onFlow !== null && (problem || !this.onFlowProblemsOnly)) return true;
    return problem && this.keep !== 'none' && (this.verdictCounts.get(v) ?? 0) < this.keep.problemsPerVerdict;
  };

  /** Numbers, counts, keeps and hands on a batch of decided records. */
  private emit(batch: FlowRecord[]): void {
    batch.sort((x, y) => x.t - y.t || x.firstFrame - y.firstFrame || (x.proto < y.proto ? -1 : x.proto > y.proto ? 1 : 0));
    for (const r of batch) {
      const newConversation = this.firstOfConversation.delete(r);
      if (this.filter !== null && !this.filter(r)) continue;
      if (r.proto === 'tcp') {
        this.tcpConnections++;
        if (newConversation) this.tcpConversations++;
      } else if (r.proto === 'dns') this.dnsTransactions++;
      r.id = this.nextId++;
      if (this.file !== undefined) r.file = this.file;
      this.verdictCounts.set(r.verdict, (this.verdictCounts.get(r.verdict) ?? 0) + 1);
      const problem = !HEALTHY.has(r.verdict);
      if (problem) this.problems++;
      const kept = this.keep === 'all' || (problem && this.keep !== 'none' && this.verdictCounts.get(r.verdict)! <= this.keep.problemsPerVerdict);
      // names label what is shown; every lookup teaches them, shown or not
      const handOn = this.onFlow !== null && (problem || !this.onFlowProblemsOnly);
      if (kept || handOn) this.names.label(r);
      this.names.learn(r);
      if (kept) this.kept.push(r);
      if (handOn) this.onFlow!(r);
    }
  }

  /** Reports what became final by capture time `now`, and forgets what has been idle long enough. */
  private sweep(now: number): void {
    const c = this.context(now);
    const batch: FlowRecord[] = [];
    const tcpIdle = c.tcpIdleNs;
    this.tcp.each((f) => {
      if (tcpFinal(f, c)) {
        this.reportTcp(f, c, batch);
        this.tombstones.add(new TcpTombstone(f));
        this.forgetTcp(f);
      }
    });
    this.tombstones.expire(now, CLOSED_KEEP_NS, tcpIdle);
    const udpIdle = this.opts.udpIdleMs * 1e6;
    this.dns.each((d) => {
      if (!d.reported && dnsFinal(d, c)) {
        batch.push(dnsRecord(d, c));
        d.reported = true;
      }
      // kept for --dns-timeout after its last message, to absorb duplicate responses
      if (d.reported && now - d.lastT >= c.dnsTimeoutNs) this.dns.forget(d);
    });
    this.dns.pruneAttempts(now, udpIdle);
    this.udp.each((u) => {
      if (!u.reported && u.icmp !== null && now - u.icmp.t >= LINGER_NS) this.reportUdp(u, c, batch);
      if (now - u.lastT >= udpIdle && (u.icmp === null || u.reported)) this.udp.remove(u);
    });
    this.reportEchoAndNeighbors(c, batch, false);
    batch.push(...this.health.flush(now, false));
    this.emit(batch);
  }

  /**
   * Pings whose last request waited --syn-timeout (all of them at the end); neighbour requests
   * unanswered for NEIGHBOR_WAIT_NS (Linux gives up after 3 tries a second apart; at the end,
   * LINGER_NS or a repeated request); address conflicts as soon as a second MAC claims an address.
   */
  private reportEchoAndNeighbors(c: ClassifyContext, batch: FlowRecord[], atEnd: boolean): void {
    if (this.echo.size > 0) for (const e of this.echo.takeFinal(c.captureEndT, c.synTimeoutNs, atEnd)) batch.push(echoRecord(e, c, this.hops));
    for (const k of this.neighbors.takeConflicts()) batch.push(neighborConflictRecord(k, c));
    for (const a of this.neighbors.takeUnanswered(c.captureEndT, atEnd ? LINGER_NS : NEIGHBOR_WAIT_NS, atEnd)) batch.push(neighborNoReplyRecord(a, c));
  }

  private reportTcp(f: TcpFlow, c: ClassifyContext, batch: FlowRecord[]): void {
    noteVantage(f, this.vantage);
    const r = tcpRecord(f, c);
    if (f.firstOfConversation) this.firstOfConversation.add(r);
    if (isProbe(f, r.verdict)) batch.push(...this.health.offer(f, r));
    else batch.push(r);
  }

  private reportUdp(u: UdpFlow, c: ClassifyContext, batch: FlowRecord[]): void {
    u.reported = true;
    const r = udpRecord(u, c);
    if (r !== null) batch.push(r);
  }

  /** Takes a reported flow out of the table for good; its object then serves a new flow. */
  private forgetTcp(f: TcpFlow): void {
    const removed = this.tcp.remove(f);
    if (f.profile !== null) this.hosts.release(f.profileKey, f.profile);
    f.profile = null;
    f.dnsStream = null;
    if (removed) this.tcpFree.give(f);
  }

  /**
   * Live input: no packet has arrived for `idleNs` of wall-clock time. The capture is taken to
   * have gone on that long after its last packet, so timeouts fire without a further packet.
   */
  advanceIdle(idleNs: number): void {
    if (this.packets === 0) return;
    const now = this.endT + idleNs;
    if (now >= this.nextSweepT - SWEEP_NS + LIVE_SWEEP_NS) {
      this.sweep(now);
      this.nextSweepT = now + SWEEP_NS;
    }
  }

  onRecord(rec: CaptureRecord): void {
    if (this.packets === 0) {
      this.baseSec = rec.tsSec;
      this.baseNsec = rec.tsNsec;
    }
    this.packets++;
    this.bytes += rec.capLen;
    const t = (rec.tsSec - this.baseSec) * 1e9 + (rec.tsNsec - this.baseNsec);
    if (t >= this.endT) {
      this.endT = t;
      this.lastSec = rec.tsSec;
      this.lastNsec = rec.tsNsec;
    }
    this.observe(rec, t);
    // after the packet: what arrives at time t counts as seen by time t
    if (t >= this.nextSweepT) {
      this.sweep(t);
      this.nextSweepT = t + SWEEP_NS;
    }
  }

  private observe(rec: CaptureRecord, t: number): void {
    const pkt = this.pkt;
    this.decoder.decode(rec, pkt);
    if (pkt.anomaly !== '') this.anomalies.add(pkt.anomaly, `frame ${rec.frame}`);
    switch (pkt.status) {
      case DecodeStatus.Truncated:
        this.truncated++;
        break;
      case DecodeStatus.Malformed:
        this.malformed++;
        break;
      case DecodeStatus.Unsupported:
        if (!isDecodableLinkType(rec.linkType)) this.unsupportedLink++;
        break;
    }
    if (pkt.ipVersion === 0) {
      if (pkt.l4 === L4.Arp) {
        this.hosts.observeLink(pkt);
        this.neighbors.arp(pkt, rec.frame, t);
      } else this.notIp++;
      return;
    }
    this.decodedIp++;
    this.hosts.observeLink(pkt);
    if (pkt.badChecksum !== 0) this.noteBadChecksum(pkt);
    switch (pkt.l4) {
      case L4.Tcp:
        this.onTcp(pkt, rec, t);
        break;
      case L4.Udp:
        if (pkt.srcPort === 53 || pkt.dstPort === 53) {
          this.dns.observe(pkt, 'udp', this.decoder.dv, rec.data, pkt.payloadOff, pkt.payloadOff + pkt.payloadLen, rec.frame, rec.tsSec, rec.tsNsec, t);
        } else {
          const u = this.udp.observe(pkt, rec.frame, rec.tsSec, rec.tsNsec, t);
          if (u !== null) this.countUdpFlow(u);
        }
        break;
      case L4.Icmp4:
      case L4.Icmp6:
        if (pkt.icmpId >= 0) this.onEcho(pkt, rec.frame, t);
        else if (pkt.icmpType === 135 || pkt.icmpType === 136) {
          if (pkt.l4 === L4.Icmp6) this.neighbors.nd(pkt, rec.frame, t);
        } else if (pkt.quoteVersion !== 0) this.onIcmpError(pkt, rec.frame, t);
        break;
    }
  }

  /** A new UDP flow: counted when the filter, if any, accepts it. */
  private countUdpFlow(u: UdpFlow): void {
    if (this.filter === null) {
      this.udpFlows++;
      return;
    }
    const probe = { proto: 'udp', client: u.clientText, server: u.serverText, verdict: 'ok' } as FlowRecord;
    if (this.filter(probe)) this.udpFlows++;
  }

  private noteBadChecksum(pkt: DecodedPacket): void {
    if (pkt.badChecksum & 1) this.badIp++;
    if (pkt.badChecksum & 2) {
      this.badL4++;
      const key = pkt.ipVersion === 4 ? pkt.src[0] : 4294967296 + (endpointHash(pkt.src, 0) >>> 0);
      const e = this.badSumSenders.get(key);
      if (e !== undefined) e.count++;
      else if (this.badSumSenders.size < MAX_BAD_SUM_SENDERS) this.badSumSenders.set(key, { version: pkt.ipVersion, addr: copyAddr(pkt.src), count: 1 });
    }
  }

  private onTcp(pkt: DecodedPacket, rec: CaptureRecord, t: number): void {
    const hash = flowHash(pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort);
    const flags = pkt.tcpFlags;
    const isSyn = (flags & (TCP_FLAG.SYN | TCP_FLAG.ACK)) === TCP_FLAG.SYN;
    let f = this.tcp.find(pkt, hash);
    let firstOfConversation = f === null;
    if (f === null) {
      const ts = this.tombstones.find(pkt.ipVersion, pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort, hash);
      if (ts !== null) {
        // a late packet of a reported flow (a retransmitted SYN, FIN or ACK) is absorbed; a SYN with
        // a new ISN is a new attempt on the same ports
        if (!isSyn || ts.isRetransmittedSyn(pkt)) {
          ts.lastMs = Math.floor(t / 1e6);
          if (ts.closed && (isSyn || pkt.payloadLen > 0)) ts.reopen();
          return;
        }
        this.tombstones.remove(ts);
        // as tshark's conversation table: a 4-tuple reused after it closed is a new conversation
        firstOfConversation = ts.closed;
      }
    }
    if (f === null && this.budget.full) {
      this.budget.dropped++;
      return;
    }
    if (f === null) {
      if (isSyn) f = this.newTcp(pkt, rec, t, hash, true, true);
      else if (flags & TCP_FLAG.SYN) f = this.newTcp(pkt, rec, t, hash, false, false);
      else f = this.newTcp(pkt, rec, t, hash, pkt.srcPort >= pkt.dstPort, false);
      f.firstOfConversation = firstOfConversation;
    } else if (isSyn && !(f.sawSyn && pkt.seq === f.isn && f.direction(pkt) === C2S)) {
      // the same ports with a new ISN: a new attempt, and the old one is over
      const batch: FlowRecord[] = [];
      this.reportTcp(f, this.context(t), batch);
      this.emit(batch);
      const closed = f.closed;
      this.forgetTcp(f);
      f = this.newTcp(pkt, rec, t, hash, true, true);
      f.firstOfConversation = closed;
    }
    const dir = f.direction(pkt);
    f.observe(pkt, dir, rec.frame, t);
    if (pkt.payloadLen > 0 && (f.sPort === 53 || f.cPort === 53)) this.onDnsOverTcp(f, dir, pkt, rec, t);
    else if (pkt.payloadLen > 0 && !f.appDone) this.onApp(f, dir, pkt, rec, t);
  }

  /** TLS or HTTP in the connection's first bytes (only for connections seen from their SYN). */
  private onApp(f: TcpFlow, dir: number, pkt: DecodedPacket, rec: CaptureRecord, t: number): void {
    if (!f.sawSyn || (pkt.tcpFlags & TCP_FLAG.RST) !== 0) {
      f.appDone = !f.sawSyn;
      return;
    }
    const payload = rec.data.subarray(pkt.payloadOff, pkt.payloadOff + pkt.payloadLen);
    if (f.app === null && neitherTlsNorHttp(payload, dir)) {
      f.appDone = true;
      return;
    }
    const app = (f.app ??= new AppSniffer());
    app.feed(dir, pkt.seq, payload, pkt.payloadLen === pkt.payloadWireLen, rec.frame, t);
    if (app.done) {
      f.appDone = true;
      if (app.kind === APP.Other) f.app = null;
    }
  }

  private newTcp(pkt: DecodedPacket, rec: CaptureRecord, t: number, hash: number, clientIsSrc: boolean, sawSyn: boolean): TcpFlow {
    let f = this.tcpFree.take();
    if (f === undefined) f = new TcpFlow(pkt, rec.frame, rec.tsSec, rec.tsNsec, t, hash, clientIsSrc, sawSyn);
    else f.reuse(pkt, rec.frame, rec.tsSec, rec.tsNsec, t, hash, clientIsSrc, sawSyn);
    f.profileKey = HostTable.serverKey(f.version, clientIsSrc ? pkt.dst : pkt.src);
    f.profile = this.hosts.server(f.profileKey);
    this.tcp.insert(f);
    return f;
  }

  /** DNS over TCP: in-order reassembly of each direction, then one DNS message per length prefix. */
  private onDnsOverTcp(f: TcpFlow, dir: number, pkt: DecodedPacket, rec: CaptureRecord, t: number): void {
    const streams = (f.dnsStream ??= [new DnsStream(), new DnsStream()]);
    const st = streams[dir];
    let from = pkt.payloadOff;
    const end = pkt.payloadOff + pkt.payloadLen;
    if (st.nextSeq < 0) st.nextSeq = pkt.seq;
    const ahead = (pkt.seq - st.nextSeq) | 0;
    if (ahead > 0) {
      this.anomalies.add('dns_tcp_gap', `frame ${rec.frame}: bytes missing in a DNS-over-TCP stream`);
      st.buf = Buffer.alloc(0);
    } else from += -ahead;
    if (from >= end) return;
    st.nextSeq = (pkt.seq + pkt.payloadLen) >>> 0;
    st.buf = Buffer.concat([st.buf, rec.data.subarray(from, end)]);
    while (st.buf.length >= 2) {
      const len = st.buf.readUInt16BE(0);
      if (st.buf.length < 2 + len) break;
      const msg = st.buf.subarray(2, 2 + len);
      const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
      this.dns.observe(pkt, 'tcp', dv, msg, 0, len, rec.frame, rec.tsSec, rec.tsNsec, t);
      st.buf = st.buf.subarray(2 + len);
    }
    if (st.buf.length > 70000) st.buf = Buffer.alloc(0);
  }

  /** ICMP echo request or reply (ping). */
  private onEcho(pkt: DecodedPacket, frame: number, t: number): void {
    const type = pkt.icmpType;
    if (type === 8 || type === 128) this.echo.request(pkt, frame, t);
    else if (type === 0 || type === 129) this.echo.reply(pkt, frame, t);
  }

  private onIcmpError(pkt: DecodedPacket, frame: number, t: number): void {
    if (pkt.quoteEchoId >= 0 && this.echo.error(pkt, frame, t)) return;
    if (pkt.quoteSrcPort < 0) {
      this.icmpUnmatched++;
      return;
    }
    const v = pkt.quoteVersion;
    let linked = false;
    if (pkt.quoteProto === 6) {
      const f = this.tcp.findByEndpoints(v, pkt.quoteSrc, pkt.quoteSrcPort, pkt.quoteDst, pkt.quoteDstPort);
      if (f !== null) {
        f.icmpCount++;
        if ((v === 4 && pkt.icmpType === 3 && pkt.icmpCode === 4) || (v === 6 && pkt.icmpType === 2)) f.sawPmtuIcmp = true;
        if (f.icmp === null || (icmpVerdict(f.icmp) === null && pkt.icmpType === (v === 4 ? 3 : 1))) f.icmp = new IcmpHit(pkt, frame, t);
        linked = true;
      } else {
        // an ICMP error for a flow already reported (its retransmitted SYN): belongs to it, changes nothing
        const hash = flowHash(pkt.quoteSrc, pkt.quoteSrcPort, pkt.quoteDst, pkt.quoteDstPort);
        linked = this.tombstones.find(v, pkt.quoteSrc, pkt.quoteSrcPort, pkt.quoteDst, pkt.quoteDstPort, hash) !== null;
      }
    } else if (pkt.quoteProto === 17) {
      if (pkt.quoteDstPort === 53 && pkt.quoteDnsId >= 0) {
        const d = this.dns.findLatest(v, 'udp', pkt.quoteSrc, pkt.quoteSrcPort, pkt.quoteDst, pkt.quoteDstPort, pkt.quoteDnsId);
        if (d !== null) {
          if (d.icmp === null) d.icmp = new IcmpHit(pkt, frame, t);
          linked = true;
        }
      }
      if (!linked) {
        const u = this.udp.find(v, pkt.quoteSrc, pkt.quoteSrcPort, pkt.quoteDst, pkt.quoteDstPort);
        if (u !== null) {
          u.icmpCount++;
          if (u.icmp === null) u.icmp = new IcmpHit(pkt, frame, t);
          linked = true;
        }
      }
    }
    if (!linked) this.icmpUnmatched++;
  }

  finish(reader: CaptureReader, name: string): Report {
    const se = reader.statsEnd;
    const statsEndT = se === null || this.packets === 0 ? 0 : (se.tsSec - this.baseSec) * 1e9 + (se.tsNsec - this.baseNsec);
    const ctx = this.context(Math.max(this.endT, statsEndT), true);
    const batch: FlowRecord[] = [];
    this.tcp.each((f) => this.reportTcp(f, ctx, batch));
    this.dns.each((d) => {
      if (!d.reported) batch.push(dnsRecord(d, ctx));
    });
    this.udp.each((u) => {
      if (!u.reported && u.icmp !== null) this.reportUdp(u, ctx, batch);
    });
    this.reportEchoAndNeighbors(ctx, batch, true);
    batch.push(...this.health.flush(ctx.captureEndT, true));
    this.emit(batch);
    const verdicts: Record<string, number> = {};
    for (const v of VERDICT_IDS) {
      const n = this.verdictCounts.get(v);
      if (n !== undefined) verdicts[v] = n;
    }

    for (const [code, n] of reader.anomalies.counts) this.anomalies.counts.set(code, (this.anomalies.counts.get(code) ?? 0) + n);
    for (const [code, d] of reader.anomalies.firstSeen) this.anomalies.firstSeen.set(code, d);
    const anomalies = [...this.anomalies.counts].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([code, count]) => ({ code, count, first: this.anomalies.firstSeen.get(code) ?? '' }));

    return {
      schema: SCHEMA_VERSION,
      input: {
        name,
        format: reader.formatLabel,
        linkTypes: [...reader.linkTypes].map(([linkType, packets]) => ({ linkType, name: linkTypeName(linkType), packets })),
        packets: this.packets,
        bytes: this.bytes,
        first: this.packets > 0 ? isoTime(this.baseSec, this.baseNsec) : null,
        last: this.packets > 0 ? isoTime(this.lastSec, this.lastNsec) : null,
        durationSec: Math.round(this.endT / 1e3) / 1e6,
        ...vantageOf(this.vantage),
      },
      options: { synTimeoutMs: this.opts.synTimeoutMs, dnsTimeoutMs: this.opts.dnsTimeoutMs, tcpIdleMs: this.opts.tcpIdleMs, udpIdleMs: this.opts.udpIdleMs, maxFlows: this.opts.maxFlows },
      records: this.kept,
      summary: {
        verdicts,
        problems: this.problems,
        tcpConnections: this.tcpConnections,
        tcpConversations: this.tcpConversations,
        dnsTransactions: this.dnsTransactions,
        udpFlows: this.udpFlows,
      },
      stats: {
        decodedIp: this.decodedIp,
        notIp: this.notIp,
        truncatedPackets: this.truncated,
        malformedPackets: this.malformed,
        badIpChecksums: this.badIp,
        badTransportChecksums: this.badL4,
        icmpErrorsUnmatched: this.icmpUnmatched,
        unsupportedLinkPackets: this.unsupportedLink,
        flowsNotTracked: this.budget.dropped,
      },
      anomalies,
      warnings: this.warnings(reader, anomalies),
    };
  }

  private warnings(reader: CaptureReader, anomalies: Report['anomalies']): string[] {
    const w: string[] = [];
    const damage = anomalies.filter((a) => a.code === 'truncated_file' || a.code === 'compressed_stream_damaged' || a.code === 'bad_block_length' || a.code === 'absurd_record_length' || a.code === 'bad_section_header' || a.code === 'unsupported_section_version');
    for (const d of damage) w.push(`damaged capture: ${d.first}; verdicts cover what was readable`);
    for (const [lt, n] of reader.linkTypes) {
      if (!isDecodableLinkType(lt)) w.push(`${n} packet${n === 1 ? '' : 's'} with unsupported link type ${lt} (${linkTypeName(lt)}) counted but not analysed`);
    }
    if (this.badL4 > 0) {
      const senders = [...this.badSumSenders.values()].sort((a, b) => b.count - a.count);
      const top = formatAddr(senders[0].version, senders[0].addr);
      const n = senders[0].count;
      const offload = senders.length === 1 ? `, all sent by ${top}: most likely checksum offload on the capturing host, harmless` : ` (most from ${top}: ${n}); if these hosts are the capturing host, it is checksum offload`;
      w.push(`${this.badL4} packet${this.badL4 === 1 ? '' : 's'} with a wrong TCP/UDP/ICMP checksum${offload}`);
    }
    if (this.budget.dropped > 0) {
      w.push(`flow table full (--max-flows ${this.opts.maxFlows}): ${this.budget.dropped} new flow${this.budget.dropped === 1 ? ' was' : 's were'} not tracked, so their packets were counted but not analysed; raise --max-flows if memory allows`);
    }
    if (this.truncated > 0) w.push(`${this.truncated} packet${this.truncated === 1 ? '' : 's'} cut short by the snapshot length before their headers ended`);
    return w;
  }
}

export interface RunOptions {
  /** Which records the report keeps. */
  keep?: Keep;
  /** Called with each record as soon as its verdict is final. */
  onFlow?: ((r: FlowRecord) => void) | null;
  /** onFlow is called for problems only; healthy records are then counted, not described. */
  onFlowProblemsOnly?: boolean;
  /**
   * Live input: the timeouts also fire on the wall clock. While no input arrives, the capture is
   * taken to go on in real time from its last packet, so an unanswered SYN becomes a timeout a few
   * seconds later even if no further packet comes.
   */
  live?: boolean;
  /** Stops reading (Ctrl-C): what was read is analysed and pending flows are reported as at the end. */
  signal?: AbortSignal;
  /** Called now and then with the input bytes read and packets seen. */
  onProgress?: ((bytes: number, packets: number) => void) | null;
  /** Called whenever the analysis waits for input, and after each wall-clock tick (flush output here). */
  onIdle?: (() => void) | null;
  /** Only records this accepts are counted, kept and handed on (a `--filter`). */
  filter?: ((r: FlowRecord) => boolean) | null;
  /** Id of the first record (records of several captures are numbered on). */
  firstId?: number;
  /** Label for every record's `file`. */
  file?: string;
  /** Backpressure from the output: a promise to wait for before reading on, or null when it keeps up. */
  outputBusy?: (() => Promise<void> | null) | null;
}

/** Live input: how often the wall-clock timers are checked. */
const TICK_MS = 250;
/** File input: the read loop yields to the event loop (signals, progress) every this many refills. */
const YIELD_EVERY_REFILLS = 8;

/** Reads a source to its end (or until `signal` aborts) and analyses it. */
export async function analyzeSource(source: ByteSource, opts: AnalyzeOptions, run: RunOptions = {}): Promise<Report> {
  const reader = new CaptureReader();
  const rec = new CaptureRecord();
  const analyzer = new Analyzer(opts, run.keep ?? 'all', run.onFlow ?? null, run.filter ?? null, run.firstId ?? 1, run.file, run.onFlowProblemsOnly ?? false);
  const { signal, onProgress, onIdle } = run;
  let lastInput = performance.now();
  const timer = run.live
    ? setInterval(() => {
        analyzer.advanceIdle((performance.now() - lastInput) * 1e6);
        onIdle?.();
      }, TICK_MS)
    : null;
  let refills = 0;
  try {
    for (;;) {
      const st = reader.next(rec);
      if (st === READ_RECORD) {
        analyzer.onRecord(rec);
        continue;
      }
      if (st === READ_END || signal?.aborted) break;
      const [off, len] = reader.writable();
      let got = source.read(reader.buf, off, len);
      if (typeof got !== 'number') {
        onProgress?.(reader.bytesRead, analyzer.packets);
        onIdle?.();
        checkHeap();
        const busy = run.outputBusy?.();
        if (busy) await busy;
        got = await readOrAbort(got, signal);
        if (got < 0) break;
      } else {
        checkHeap();
        const busy = run.outputBusy?.();
        if (busy) await busy;
        else if (++refills % YIELD_EVERY_REFILLS === 0) {
          onProgress?.(reader.bytesRead, analyzer.packets);
          await new Promise((r) => setImmediate(r));
        }
      }
      if (run.live) lastInput = performance.now();
      reader.commit(got);
    }
  } finally {
    if (timer !== null) clearInterval(timer);
  }
  if (source instanceof GunzipSource) {
    reader.formatLabel = `gzip-compressed ${reader.formatLabel}`;
    if (source.damage !== null) reader.anomalies.add('compressed_stream_damaged', `${source.damage} after ${reader.bytesRead} uncompressed bytes; the rest of the file is unreadable`);
  }
  const report = analyzer.finish(reader, source.name);
  if (signal?.aborted && !source.live) {
    const pct = source.size > 0 ? ` (${Math.floor((100 * reader.bytesRead) / source.size)}% of the file)` : '';
    report.warnings.unshift(`interrupted after ${analyzer.packets} packets${pct}; verdicts cover what was read`);
  }
  return report;
}
