import type { CaptureRecord } from '../capture/record.js';
import type { Anomalies } from '../capture/damage.js';
import { L4, TCP_FLAG, type DecodedPacket } from '../decode/packet.js';
import type { PacketDecoder } from '../decode/decode.js';
import type { FlowMatch } from '../filter/filter.js';
import { C2S, TcpFlow, TcpTable } from './tcp.js';
import { NO_TOMBSTONE, TcpTombstones } from './tombstones.js';
import { DnsTable } from './dns.js';
import { RETIRED } from './dns-tombstones.js';
import { EchoTable } from './echo.js';
import { NeighborTable } from './neighbor.js';
import { UdpTable } from './udp.js';
import { HostTable, IDLE_SERVERS_KEPT } from './hosts.js';
import { FlowBudget, FreeList, MAX_CHAIN } from './chained-table.js';
import { TimerQueue } from './timer-queue.js';
import { flowHash } from './addr.js';
import { dnsOverTcp } from './dns-over-tcp.js';
import { sniffApp } from './app-gate.js';
import { CertChecks } from '../decode/x509.js';
import { linkIcmpError } from './icmp-link.js';
import { ICMP4, ICMP6, UDP_PORT } from '../decode/enums.js';
import type { FragDatagram } from './fragments.js';
import { LoopDetector } from './loops.js';

/** Who reports a TCP flow that a new attempt on the same ports ends before its time (the analyzer). */
export interface Superseded {
  /** Reports `f` now, at capture time `t`; the tracker forgets it right after. */
  superseded(f: TcpFlow, t: number): void;
}

/**
 * Every flow being tracked, and the per-packet dispatch that keeps them: TCP connections (and
 * the tombstones of reported ones), DNS transactions, other UDP flows, pings, ARP / neighbour
 * discovery and the hosts seen. Knows nothing of verdicts: the lifecycle decides when a flow is
 * final and takes it out through `retireTcp` / `forgetTcp` and the tables' own methods.
 */
export class FlowTracker {
  /** Counts TCP, DNS and UDP flows together against --max-flows. */
  readonly budget: FlowBudget;
  readonly tcp: TcpTable;
  /** When each TCP flow is next worth a sweep's look: touched by every packet (see timer-queue.ts). */
  readonly tcpTimers = new TimerQueue<TcpFlow>();
  /** Reported flows' objects, reused for new flows (as many as are live, in a flood). */
  private readonly tcpFree = new FreeList<TcpFlow>(undefined, () => this.tcp.size);
  /** Reported TCP flows, kept compact to absorb their late packets. */
  readonly tombstones: TcpTombstones;
  /** TCP bytes receivers acknowledged that the capture never saw (seq.ts), over the flows reported so far. */
  readonly captureMissed = { bytes: 0, connections: 0 };
  readonly dns: DnsTable;
  readonly udp: UdpTable;
  /** MACs and server profiles; idle server profiles kept are bounded by --max-flows too. */
  readonly hosts: HostTable;
  /** Pings. */
  readonly echo = new EchoTable();
  /** Routers answering time exceeded per destination, at which probe TTLs (flow/loops.ts). */
  readonly loops = new LoopDetector();
  readonly neighbors = new NeighborTable();
  /** Certificate signature checks: their time, and those refused (anomaly tls_certificate_unchecked). */
  private readonly certChecks: CertChecks;
  /** The latest capture time read (ns since the first record, 0 at least): the clock of all but TCP. */
  private clockT = 0;
  /** ICMP errors that quote no packet of a tracked flow. */
  icmpUnmatched = 0;
  /** UDP flows (not DNS) seen, counting only those the filter, if any, accepts. */
  udpFlows = 0;

  /**
   * @param decoder whose DataView over the current record the DNS table reads
   * @param anomalies where the flow layer's anomalies (dns_tcp_gap, dns_malformed) are counted
   * @param filter asked about each new UDP flow by protocol and endpoints, for `udpFlows`
   */
  constructor(
    maxFlows: number,
    private readonly decoder: PacketDecoder,
    private readonly anomalies: Anomalies,
    private readonly filter: FlowMatch | null,
    private readonly owner: Superseded,
  ) {
    this.certChecks = new CertChecks((code, detail) => anomalies.add(code, detail));
    this.budget = new FlowBudget(maxFlows);
    this.hosts = new HostTable(Math.min(IDLE_SERVERS_KEPT, maxFlows));
    this.tcp = new TcpTable(this.budget);
    this.tombstones = new TcpTombstones(this.budget);
    this.budget.reclaim = () => {
      const freed = this.tombstones.evictOldest();
      if (freed) anomalies.add('tcp_tombstone_evicted', 'the flow table was full: the tombstone of a reported connection was forgotten early for a new flow; its late packets, if any, are taken as a new flow');
      return freed;
    };
    this.dns = new DnsTable(this.budget);
    this.dns.anomalies = anomalies;
    this.udp = new UdpTable(this.budget);
    const chainFull = (what: string) => anomalies.add('hash_chain_full', `${what}: ${MAX_CHAIN} flows in one hash bucket already; new ones are counted, not tracked`);
    for (const t of [this.tcp, this.tombstones, this.dns, this.udp]) t.onChainFull = chainFull;
  }

  /** One decoded packet at capture time `t` (ns since the first). */
  observe(pkt: DecodedPacket, rec: CaptureRecord, rawT: number): void {
    // TCP keeps a clock per flow (onTcp); everything else (ARP, ND, DNS, UDP, pings, ICMP errors)
    // takes the capture's clock, which never goes back either (#22): a packet stamped before the
    // first record, or before one already read (tcpdump -i any merges per-CPU buffers), is taken
    // at the latest time read so far. So no record's time, or duration between two of its
    // packets, is negative, and an ICMP error is never earlier than the flow it quotes.
    if (rawT > this.clockT) this.clockT = rawT;
    const t = this.clockT;
    if (pkt.ipVersion === 0) {
      if (pkt.l4 === L4.Arp) {
        this.hosts.observeLink(pkt);
        this.neighbors.arp(pkt, rec.frame, t);
      }
      return;
    }
    this.hosts.observeLink(pkt);
    switch (pkt.l4) {
      case L4.Tcp:
        this.onTcp(pkt, rec, rawT);
        break;
      case L4.Udp:
        if (pkt.srcPort === UDP_PORT.DNS || pkt.dstPort === UDP_PORT.DNS) {
          this.dns.observe(pkt, 'udp', this.decoder.dv, rec.data, pkt.payloadOff, pkt.payloadOff + pkt.payloadLen, rec.frame, rec.tsSec, rec.tsNsec, t);
        } else {
          const u = this.udp.observe(pkt, rec.frame, rec.tsSec, rec.tsNsec, t);
          if (u !== null && (this.filter === null || this.filter({ proto: 'udp', client: u.clientText, server: u.serverText }))) this.udpFlows++;
        }
        break;
      case L4.Icmp4:
      case L4.Icmp6:
        if (pkt.icmpId >= 0) this.onEcho(pkt, rec.frame, t);
        else if (pkt.icmpType === ICMP6.NeighborSolicitation || pkt.icmpType === ICMP6.NeighborAdvertisement) {
          if (pkt.l4 === L4.Icmp6) this.neighbors.nd(pkt, rec.frame, t);
        } else if (pkt.quoteVersion !== 0 && !linkIcmpError(this, pkt, rec.frame, t)) this.icmpUnmatched++;
        break;
    }
  }

  /**
   * The first fragment of a UDP datagram (`pkt`, decoded as far as it goes): when it is a DNS
   * answer to a lookup being tracked, the lookup keeps the datagram, the evidence if the rest of
   * it never arrives.
   */
  fragmentedDns(pkt: DecodedPacket, g: FragDatagram): void {
    if (pkt.srcPort !== UDP_PORT.DNS || pkt.payloadLen < 2) return;
    const id = this.decoder.dv.getUint16(pkt.payloadOff);
    const d = this.dns.findNewest(pkt.ipVersion, 'udp', pkt.dst, pkt.dstPort, pkt.src, pkt.srcPort, id);
    if (d !== null && d !== RETIRED && !d.answered) d.fragments = g;
  }

  private onTcp(pkt: DecodedPacket, rec: CaptureRecord, rawT: number): void {
    const flags = pkt.tcpFlags;
    const isSyn = (flags & (TCP_FLAG.SYN | TCP_FLAG.ACK)) === TCP_FLAG.SYN;
    // the 4-tuple's hash only when the packet is not of the flow found last (TcpTable.recentOf)
    let hash = 0;
    let f = this.tcp.recentOf(pkt);
    if (f === null) {
      hash = flowHash(pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort);
      f = this.tcp.find(pkt, hash);
    }
    // the packet's direction in the flow found (another flow made below works out its own)
    const found = f;
    const foundDir = this.tcp.dir;
    // A TCP flow's clock never goes back (#22): a packet stamped before the capture's first record
    // is taken at 0, and one stamped before its flow's previous packet (tcpdump -i any reorders,
    // a clock step) at that packet's time. So every time a flow keeps is >= 0 (-1 stays a safe
    // "not seen"), and no duration between two of its packets is negative.
    let t = rawT < 0 ? 0 : rawT;
    if (f !== null && t < f.lastT) t = f.lastT;
    let firstOfConversation = f === null;
    if (f === null) {
      const tombs = this.tombstones;
      const ts = tombs.find(pkt.ipVersion, pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort, hash);
      if (ts !== NO_TOMBSTONE) {
        // a late packet of a reported flow (a retransmitted SYN, FIN or ACK) is absorbed; a SYN with
        // a new ISN is a new attempt on the same ports
        // (a closed one, after CLOSED_KEEP_NS, only packets in its sequence window: TcpTombstones.owns)
        if ((!isSyn && tombs.owns(ts, pkt)) || tombs.isRetransmittedSyn(ts, pkt)) {
          tombs.touch(ts, t);
          if (tombs.closed(ts) && (isSyn || pkt.payloadLen > 0)) tombs.reopen(ts);
          return;
        }
        // as tshark's conversation table: a 4-tuple reused after it closed is a new conversation
        firstOfConversation = tombs.closed(ts);
        tombs.remove(ts);
      }
    }
    if (f === null && (this.budget.full || this.tcp.chainFull(hash, 'TCP flow', rec.frame))) {
      this.budget.dropped++;
      return;
    }
    if (f === null) {
      if (isSyn) f = this.newTcp(pkt, rec, t, hash, true, true);
      else if (flags & TCP_FLAG.SYN) f = this.newTcp(pkt, rec, t, hash, false, false);
      else f = this.newTcp(pkt, rec, t, hash, pkt.srcPort >= pkt.dstPort, false);
      f.firstOfConversation = firstOfConversation;
    } else if (isSyn && !f.sawSyn && f.adoptsSyn(pkt, rawT)) {
      // the SYN of the SYN-ACK that began this flow, captured after it (TcpFlow.adoptsSyn)
    } else if (isSyn && !(f.sawSyn && pkt.seq === f.isn && foundDir === C2S)) {
      // the same ports with a new ISN: a new attempt, and the old one is over
      this.owner.superseded(f, t);
      const closed = f.closed;
      // the same 4-tuple: the same hash (found through recentOf, `hash` was not worked out)
      const sameHash = f.hash;
      this.forgetTcp(f);
      f = this.newTcp(pkt, rec, t, sameHash, true, true);
      f.firstOfConversation = closed;
    }
    const dir = f === found ? foundDir : f.direction(pkt);
    f.observe(pkt, rec.data, dir, rec.frame, t);
    this.tcpTimers.touch(f);
    if (pkt.payloadLen > 0 && (f.sPort === UDP_PORT.DNS || f.cPort === UDP_PORT.DNS)) dnsOverTcp(f, dir, pkt, rec, t, this.dns, this.anomalies);
    else if (pkt.payloadLen > 0 && !f.appDone) sniffApp(f, dir, pkt, rec, t, this.certChecks);
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

  /** ICMP echo request or reply (ping). */
  private onEcho(pkt: DecodedPacket, frame: number, t: number): void {
    const type = pkt.icmpType;
    if (type === ICMP4.EchoRequest || type === ICMP6.EchoRequest) this.echo.request(pkt, frame, t);
    else if (type === ICMP4.EchoReply || type === ICMP6.EchoReply) this.echo.reply(pkt, frame, t);
  }

  /** A reported flow: a tombstone takes its place to absorb late packets, and it is forgotten. */
  retireTcp(f: TcpFlow): void {
    // a bucket full of tombstones: this flow's late packets, if any, will be taken as a new flow
    if (!this.tombstones.chainFull(f.hash, 'tombstone of a reported TCP flow', f.lastFrame)) this.tombstones.add(f);
    this.forgetTcp(f);
  }

  /** Flow objects kept to be reused (for tests). */
  get spareTcpFlows(): number {
    return this.tcpFree.size;
  }

  /** After a sweep: the spare flow objects beyond what the tables hold live are let go (FreeList.trim). */
  trimSpares(): void {
    this.tcpFree.trim();
    this.dns.trimSpares();
  }

  /** Takes a reported flow out of the table for good; its object then serves a new flow. */
  forgetTcp(f: TcpFlow): void {
    const removed = this.tcp.remove(f);
    this.tcpTimers.forget(f);
    if (f.profile !== null) this.hosts.release(f.profileKey, f.profile);
    f.profile = null;
    f.dnsStream = null;
    if (removed) this.tcpFree.give(f);
  }
}
