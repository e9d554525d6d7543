import { registerMark } from './verdict/marks.js';
import type { CaptureRecord } from './capture/record.js';
import { isoTime } from './capture/time.js';
import type { AnalyzeOptions } from './options.js';
import { C2S, type TcpFlow } from './flow/tcp.js';
import type { DnsTxn } from './flow/dns.js';
import { SIBLING_WAIT_NS } from './flow/dns-siblings.js';
import type { UdpFlow } from './flow/udp.js';
import type { FlowTracker } from './flow/tracker.js';
import type { ClassifyContext } from './verdict/context.js';
import { described, dnsRecord, tcpRecord, udpRecord } from './verdict/classify.js';
import { icmpVerdict } from './verdict/icmp.js';
import { answered } from './verdict/tcp-evidence.js';
import { HealthChecks, isFailedProbe, isProbe } from './verdict/health.js';
import { noteVantage, Vantage, VANTAGE_HOPS } from './verdict/vantage.js';
import { echoRecord, neighborConflictRecord, neighborNoReplyRecord } from './verdict/echo-neighbor.js';
import type { FlowRecord } from './verdict/types.js';
import { captureMissedBytes } from './verdict/tcp-response.js';
import type { Emitter } from './report/emit.js';
import { checkHeap } from './memory.js';
import { setClientMac } from './related/ends.js';
import { hopsFrom } from './verdict/format.js';

// ---- when a flow is final: every timing constant of the pipeline ---------------------------

/** How often, in capture time, flows are checked for a final verdict. */
export const SWEEP_NS = 1e9;
/** On live input with no packets arriving, flows are checked this often (in wall-clock time). */
export const LIVE_SWEEP_NS = 0.25e9;

/**
 * More TCP flows than this final at once (a flood), or lookups gathered, are emitted in chunks
 * rather than with the sweep's other records (see Lifecycle.reportTcpFlows, emitIfFull).
 */
export const EMIT_CHUNK = 4096;
/**
 * A flood's TCP records built and emitted at a time (Lifecycle.reportTcpFlows). Fewer than
 * EMIT_CHUNK, so that a chunk's records die young: 4,096 problem records (~4.4 KB each, facts and
 * all) outlived text's 8 MiB young generation, and 240 of the 870 MB a 200,000-SYN flood allocates
 * were promoted; with 1,024, 190 MB. Each chunk is held until the next one is related (Emitter.emit),
 * so that two records at most a chunk apart are linked both ways wherever the cut falls.
 */
export const FLOOD_CHUNK = 1024;
/**
 * How long a reported connection that was closed (RST, or FIN both ways) is kept to absorb late
 * packets (a retransmitted FIN or final ACK) before it is forgotten. Reported connections that did
 * not close (an unanswered SYN, retried for up to ~2 min) are kept for the TCP idle timeout.
 */
export const CLOSED_KEEP_NS = 10e9;
/** An ARP or neighbour request unanswered this long after its last retry has failed. */
export const NEIGHBOR_WAIT_NS = 3e9;

/** How long after a closing packet (RST, last FIN, ICMP error) a flow's verdict is taken as final. */
export const LINGER_NS = 1e9;

/**
 * Whether nothing the capture could still show would change this flow's verdict, at capture
 * time `c.captureEndT`. The analyzer reports a flow as soon as this holds.
 */
export function tcpFinal(f: TcpFlow, c: ClassifyContext): boolean {
  const now = c.captureEndT;
  if (now - f.lastT >= c.tcpIdleNs) return true;
  if (f.sawSyn && !answered(f)) {
    // a server RST, or the client's own (it gave up: a RST answering a challenge ACK is not kept as
    // the flow's RST, since the client goes on retrying, TcpFlow.noteRst)
    if (f.rstDir >= 0) return now - f.rst.t >= LINGER_NS;
    if (f.icmp !== null && icmpVerdict(f.icmp) !== null) return now - f.icmp.t >= LINGER_NS;
    // a grace past the timeout: routers send host-unreachable only after their own ARP gives up (~3 s)
    return now - f.lastSynT >= c.synTimeoutNs + LINGER_NS;
  }
  // a client RST before the SYN-ACK answered something else; one after it ends the attempt
  if (f.sawSyn && !f.established) return (f.rstDir === C2S && f.rst.frame > f.synAckFrame && now - f.rst.t >= LINGER_NS) || now - f.synAckT >= c.synTimeoutNs;
  if (f.rstDir >= 0) return now - f.rst.t >= LINGER_NS;
  if (f.c.finT >= 0 && f.s.finT >= 0) return now - Math.max(f.c.finT, f.s.finT) >= LINGER_NS;
  return false;
}

/**
 * Whether a DNS transaction's verdict is final at capture time `c.captureEndT`. A failed lookup
 * waits SIBLING_WAIT_NS after its response for the lookup that would make it benign (flow/dns.ts).
 */
export function dnsFinal(d: DnsTxn, c: ClassifyContext): boolean {
  if (d.answered) return !d.waitsForSibling || c.captureEndT - d.respT >= SIBLING_WAIT_NS;
  if (d.icmp !== null && icmpVerdict(d.icmp) !== null) return true;
  return c.captureEndT - d.queryT >= c.dnsTimeoutNs;
}

/**
 * The earliest capture time at which tcpFinal(f) holds if no further packet changes `f`: when
 * the sweeps' timer queue (flow/timer-queue.ts) next looks at an unchanged flow. tcpFinal rule by
 * rule, each `now - x >= y` as `x + y` (integers: exact): change the two together;
 * test/timer-queue.test.ts checks that they agree on every flow of the fixtures.
 */
export function tcpFinalAt(f: TcpFlow, c: ClassifyContext): number {
  let at = Infinity;
  if (f.sawSyn && !answered(f)) {
    if (f.rstDir >= 0) at = f.rst.t + LINGER_NS;
    else if (f.icmp !== null && icmpVerdict(f.icmp) !== null) at = f.icmp.t + LINGER_NS;
    else at = f.lastSynT + c.synTimeoutNs + LINGER_NS;
  } else if (f.sawSyn && !f.established) {
    at = f.synAckT + c.synTimeoutNs;
    if (f.rstDir === C2S && f.rst.frame > f.synAckFrame) at = Math.min(at, f.rst.t + LINGER_NS);
  } else if (f.rstDir >= 0) at = f.rst.t + LINGER_NS;
  else if (f.c.finT >= 0 && f.s.finT >= 0) at = Math.max(f.c.finT, f.s.finT) + LINGER_NS;
  return Math.min(f.lastT + c.tcpIdleNs, at);
}

/** The earliest capture time at which dnsFinal(d) holds if nothing changes `d` (see tcpFinalAt). */
export function dnsFinalAt(d: DnsTxn, c: ClassifyContext): number {
  if (d.answered) return d.waitsForSibling ? d.respT + SIBLING_WAIT_NS : -Infinity;
  if (d.icmp !== null && icmpVerdict(d.icmp) !== null) return -Infinity;
  return d.queryT + c.dnsTimeoutNs;
}

// ---- capture time ---------------------------------------------------------------------------

/**
 * File input sweeps at the first packet of each second of wall-clock time (the epoch's whole
 * seconds), not a second after the previous sweep: when sweeps happen, and so which records are
 * decided together and numbered in which order, then depends on the packets' own timestamps
 * only, not on where the capture began, so a part analysed on its own sweeps at the same packets
 * as the whole set does (src/handoff/). `t` is capture time (ns since the first packet, whose
 * nanoseconds within its second are `baseNsec`); returns the capture time of the next boundary.
 */
export function nextSweepAfter(t: number, baseNsec: number): number {
  return (Math.floor((baseNsec + t) / SWEEP_NS) + 1) * SWEEP_NS - baseNsec;
}

/**
 * The capture time from which a sweep may change UDP flow `u` without a further packet or ICMP
 * error: its record once LINGER_NS after the ICMP error that answered it, else its removal once
 * idle `udpIdleNs` (a later packet only puts that off: the sweep then finds it not due yet).
 */
export function udpDueAt(u: UdpFlow, udpIdleNs: number): number {
  return !u.reported && u.icmp !== null ? u.icmp.t + LINGER_NS : u.lastT + udpIdleNs;
}

/** Capture time: packets and bytes seen, the first and last timestamps, and when the next sweep is due. */
/** On a TCP record, the bytes of its connection the capture missed (captureMissedBytes), for records decided apart (src/handoff/). JSON leaves it out. */
export const CAPTURE_MISSED: unique symbol = Symbol('captureMissed');
registerMark(CAPTURE_MISSED);

export class CaptureClock {
  packets = 0;
  bytes = 0;
  baseSec = 0;
  baseNsec = 0;
  private lastSec = 0;
  private lastNsec = 0;
  /** The latest capture time seen, ns since the first packet. */
  endT = 0;
  nextSweepT = SWEEP_NS;
  /** The origin was given (seed): the first record does not set it. */
  private seeded = false;

  /**
   * Counts capture time from this instant instead of from the first record (the hand-off's replay
   * of a set split across processes: src/handoff/, where the first packet is in another chunk).
   */
  seed(sec: number, nsec: number): void {
    this.baseSec = sec;
    this.baseNsec = nsec;
    this.seeded = true;
    this.nextSweepT = nextSweepAfter(0, nsec);
  }

  /** Counts a record; returns its capture time, ns since the first record. */
  tick(rec: CaptureRecord): number {
    if (this.packets === 0 && !this.seeded) {
      this.baseSec = rec.tsSec;
      this.baseNsec = rec.tsNsec;
      this.nextSweepT = nextSweepAfter(0, rec.tsNsec);
    }
    this.packets++;
    this.bytes += rec.capLen;
    const t = (rec.tsSec - this.baseSec) * 1e9 + (rec.tsNsec - this.baseNsec);
    if (t >= this.endT) {
      this.endT = t;
      this.lastSec = rec.tsSec;
      this.lastNsec = rec.tsNsec;
    }
    return t;
  }

  /** When the capture ended: its last packet, or a later pcapng statistics time (the capture ran at least until then). */
  endOfCapture(statsEnd: { tsSec: number; tsNsec: number } | null): number {
    const se = statsEnd;
    const statsEndT = se === null || this.packets === 0 ? 0 : (se.tsSec - this.baseSec) * 1e9 + (se.tsNsec - this.baseNsec);
    return Math.max(this.endT, statsEndT);
  }

  /** Wall-clock time of capture time `t` (ns since the first packet), as ISO 8601. */
  isoAt(t: number): string {
    const ns = this.baseNsec + t;
    const sec = Math.floor(ns / 1e9);
    return isoTime(this.baseSec + sec, ns - sec * 1e9);
  }

  /** The report's first, last and duration. */
  span(): { first: string | null; last: string | null; durationSec: number } {
    return {
      first: this.packets > 0 ? isoTime(this.baseSec, this.baseNsec) : null,
      last: this.packets > 0 ? isoTime(this.lastSec, this.lastNsec) : null,
      durationSec: Math.round(this.endT / 1e3) / 1e6,
    };
  }
}

// ---- reporting flows as they become final ------------------------------------------------------

/**
 * Decides when each tracked flow is final, builds its record and emits it: every SWEEP_NS of
 * capture time (or LIVE_SWEEP_NS of wall-clock time on idle live input), when a new attempt
 * supersedes a TCP flow, and for everything left at the end. Reported flows are then forgotten
 * (TCP ones leave a tombstone), after the keep times above.
 */
export class Lifecycle {
  private readonly health = new HealthChecks();
  /** The answered lookups a sweep reported, let go after its emit (flow/dns.ts retire); one array for every sweep. */
  private readonly retire: DnsTxn[] = [];
  /** The records of the lookups a sweep (or the end) decided, until they join its batch or fill a chunk (emitIfFull). */
  private readonly lookups: FlowRecord[] = [];
  /** Connections seen from both sides, by whether each side's packets arrived routed (see vantage.ts). */
  readonly vantage = new Vantage();

  constructor(
    private readonly opts: AnalyzeOptions,
    private readonly clock: CaptureClock,
    private readonly flows: FlowTracker,
    private readonly out: Emitter,
    /** A --filter reads the endpoints of every record (ClassifyContext.filtering). */
    private readonly filtering: boolean,
  ) {}

  context(now: number, atEnd = false): ClassifyContext {
    return {
      captureEndT: now,
      atEnd,
      captureStartSec: this.clock.baseSec,
      captureStartNsec: this.clock.baseNsec,
      synTimeoutNs: this.opts.synTimeoutMs * 1e6,
      dnsTimeoutNs: this.opts.dnsTimeoutMs * 1e6,
      responseTimeoutNs: this.opts.responseTimeoutMs * 1e6,
      tcpIdleNs: this.opts.tcpIdleMs * 1e6,
      hosts: this.flows.hosts,
      loops: this.flows.loops,
      describe: this.out.describe,
      describeLater: this.out.describeLater,
      filtering: this.filtering,
    };
  }

  /** After a packet at capture time `t`: sweeps when one is due (what arrives at time t counts as seen by time t). */
  tick(t: number): void {
    if (t >= this.clock.nextSweepT) {
      this.sweep(t);
      this.clock.nextSweepT = nextSweepAfter(t, this.clock.baseNsec);
    }
  }

  /**
   * Live input: no packet has arrived for `idleNs` of wall-clock time. The capture is taken to
   * have gone on that long after its last packet, so timeouts fire without a further packet.
   */
  idle(idleNs: number): void {
    if (this.clock.packets === 0) return;
    const now = this.clock.endT + idleNs;
    if (now >= this.clock.nextSweepT - SWEEP_NS + LIVE_SWEEP_NS) {
      this.sweep(now);
      this.clock.nextSweepT = now + SWEEP_NS;
    }
  }

  /** A TCP flow that a new attempt on its ports (a SYN with a new ISN) ends: reported at once. */
  superseded(f: TcpFlow, t: number): void {
    const batch: FlowRecord[] = [];
    this.reportTcp(f, this.context(t), batch);
    this.out.emit(batch);
  }

  /** Reports what became final by capture time `now`, and forgets what has been idle long enough. */
  private sweep(now: number): void {
    const c = this.context(now);
    const flows = this.flows;
    const batch: FlowRecord[] = [];
    // only the flows changed since the last sweep or due by now (flow/timer-queue.ts); one not
    // final is looked at again when it could be (never this sweep again: TimerQueue.begin)
    const tq = flows.tcpTimers;
    const finals: TcpFlow[] = [];
    tq.begin(now);
    for (let f = tq.next(now); f !== null; f = tq.next(now)) {
      if (tcpFinal(f, c)) finals.push(f);
      else tq.schedule(f, tcpFinalAt(f, c));
    }
    // a sweep emits its chunks one after the other (only the end's wait for the output: finishing)
    for (const _ of this.reportTcpFlows(finals, c, batch, true));
    flows.tombstones.expire(now, CLOSED_KEEP_NS, c.tcpIdleNs);
    const udpIdle = this.opts.udpIdleMs * 1e6;
    const dq = flows.dns.timers;
    const retire = this.retire;
    const lookups = this.lookups;
    dq.begin(now);
    for (let d = dq.next(now); d !== null; d = dq.next(now)) {
      if (!d.reported && dnsFinal(d, c)) {
        lookups.push(dnsRecord(d, c));
        d.reported = true;
        // an answered one is let go after its record's emit (it may be described then)
        if (d.answered) retire.push(d);
        this.emitIfFull(lookups);
        if (d.answered) continue;
      }
      // kept for --dns-timeout after its last message, to absorb duplicate responses
      if (d.reported && now - d.lastT >= c.dnsTimeoutNs) flows.dns.forget(d);
      else dq.schedule(d, d.reported ? d.lastT + c.dnsTimeoutNs : dnsFinalAt(d, c));
    }
    this.joinLookups(batch);
    flows.dns.pruneAttempts(now, udpIdle);
    flows.dns.pruneSiblings(now);
    // only the UDP flows new or answered by an ICMP error since the last sweep, or due by now
    const uq = flows.udp.timers;
    uq.begin(now);
    for (let u = uq.next(now); u !== null; u = uq.next(now)) {
      if (!u.reported && u.icmp !== null && now - u.icmp.t >= LINGER_NS) this.reportUdp(u, c, batch);
      if (now - u.lastT >= udpIdle && (u.icmp === null || u.reported)) flows.udp.remove(u);
      else uq.schedule(u, udpDueAt(u, udpIdle));
    }
    this.reportEchoAndNeighbors(c, batch, false);
    batch.push(...this.health.flush(now, false));
    this.out.emit(batch);
    this.retireAnswered();
    // after the retiring: one reported already --dns-timeout after its last message (a quiet gap
    // before this sweep, a short --dns-timeout) goes now, as the transaction itself would have
    flows.dns.retired.expire(now, c.dnsTimeoutNs);
    flows.trimSpares();
  }

  /**
   * The capture has ended at capture time `end`: every flow still tracked is reported. Yields
   * after each chunk of records it emits before the last batch, so that a caller writing to a
   * pipe can wait for the reader between them (CaptureRun.finish): the flood bench's 1 M SYN
   * flood ends with 60,000 flows waiting, whose records were 80 MB of ndjson queued at once.
   */
  *finishing(end: number): Generator<void, void, void> {
    const c = this.context(end, true);
    const batch: FlowRecord[] = [];
    // in the order they were first seen: records alike in time keep it, and health checks see their probes in it
    yield* this.reportTcpFlows(this.flows.tcp.eachInOrder(), c, batch, false);
    const lookups = this.lookups;
    for (const d of this.flows.dns.eachInOrder()) {
      if (d.reported) continue;
      lookups.push(dnsRecord(d, c));
      if (this.emitIfFull(lookups)) yield;
    }
    this.joinLookups(batch);
    for (const u of this.flows.udp.eachInOrder()) if (!u.reported && u.icmp !== null) this.reportUdp(u, c, batch);
    this.reportEchoAndNeighbors(c, batch, true);
    batch.push(...this.health.flush(c.captureEndT, true));
    this.out.emit(batch);
  }

  /**
   * Pings whose last request waited --syn-timeout (all of them at the end); neighbour requests
   * unanswered for NEIGHBOR_WAIT_NS (Linux gives up after 3 tries a second apart; at the end,
   * LINGER_NS or a repeated request); address conflicts as soon as a second MAC claims an address.
   */
  private reportEchoAndNeighbors(c: ClassifyContext, batch: FlowRecord[], atEnd: boolean): void {
    const { echo, neighbors } = this.flows;
    if (echo.size > 0) for (const e of echo.takeFinal(c.captureEndT, c.synTimeoutNs, atEnd)) batch.push(echoRecord(e, c));
    for (const k of neighbors.takeConflicts()) batch.push(neighborConflictRecord(k, c));
    for (const a of neighbors.takeUnanswered(c.captureEndT, atEnd ? LINGER_NS : NEIGHBOR_WAIT_NS, atEnd)) batch.push(neighborNoReplyRecord(a, c));
  }

  /**
   * Emits the lookups' records gathered so far once they are EMIT_CHUNK, and lets go of the
   * answered lookups among them: a flood of DNS queries (20,000 a capture second, none answered)
   * has a second's worth of lookups time out at each sweep and all those still waiting at the end,
   * each record about as heavy as its lookup (the ndjson run of a 1 M query flood peaked at 458 MB
   * with them all in one batch, 228 MB a chunk at a time). A chunk is emitted before the sweep's
   * other records, as TCP flows are (reportTcpFlows); fewer lookups join the sweep's batch, which
   * is emitted in one piece as before.
   */
  private emitIfFull(lookups: FlowRecord[]): boolean {
    if (lookups.length < EMIT_CHUNK) return false;
    this.out.emit(lookups);
    lookups.length = 0;
    this.retireAnswered();
    checkHeap();
    return true;
  }

  /** The lookups' records that did not fill a chunk join the batch of the sweep (or end) that decided them. */
  private joinLookups(batch: FlowRecord[]): void {
    const lookups = this.lookups;
    for (let i = 0; i < lookups.length; i++) batch.push(lookups[i]);
    lookups.length = 0;
  }

  /** The answered lookups reported since the last emit leave the table (flow/dns.ts retire). */
  private retireAnswered(): void {
    const retire = this.retire;
    for (let i = 0; i < retire.length; i++) this.flows.dns.retire(retire[i]);
    retire.length = 0;
  }

  /**
   * Reports TCP flows that are final, and retires them when `retire`. Up to EMIT_CHUNK of them go
   * into `batch` with the sweep's other records (emitted together, in time order). More (a SYN
   * flood times out, or ends with the capture, all at once) are sorted as their records would be
   * and reported and emitted FLOOD_CHUNK at a time, before the sweep's other records: a record
   * weighs about as much as its flow, and holding 600,000 of them at once took the peak past 1 GiB
   * (#22). At the end of the capture (`retire` false) the flows of a chunk are forgotten once
   * reported, so their memory goes too. Yields after each chunk it emits (see finishing).
   */
  private *reportTcpFlows(fs: (TcpFlow | null)[], c: ClassifyContext, batch: FlowRecord[], retire: boolean): Generator<void, void, void> {
    if (fs.length <= EMIT_CHUNK) {
      for (let i = 0; i < fs.length; i++) {
        const f = fs[i];
        if (f === null) continue;
        this.reportTcp(f, c, batch);
        if (retire) this.flows.retireTcp(f);
      }
      return;
    }
    // the order Emitter.emit sorts records in: t (µs), then first frame
    const us = (f: TcpFlow) => Math.round(f.firstT / 1e3);
    fs.sort((a, b) => (a === null || b === null ? 0 : us(a) - us(b) || a.firstFrame - b.firstFrame));
    for (let i = 0; i < fs.length; i += FLOOD_CHUNK) {
      const chunk: FlowRecord[] = [];
      for (let j = i; j < Math.min(fs.length, i + FLOOD_CHUNK); j++) {
        const f = fs[j];
        if (f === null) continue;
        fs[j] = null; // neither the flow nor its record is held past its chunk
        this.reportTcp(f, c, chunk);
        if (retire) this.flows.retireTcp(f);
        else this.flows.forgetTcp(f);
      }
      // held until the next batch is related (Emitter.emit): the sweep's or the end's last one follows
      this.out.emit(chunk, true);
      checkHeap();
      yield;
    }
  }

  private reportTcp(f: TcpFlow, c: ClassifyContext, batch: FlowRecord[]): void {
    const vantage = noteVantage(f, this.vantage);
    const missed = captureMissedBytes(f);
    if (missed > 0) {
      this.flows.captureMissed.bytes += missed;
      this.flows.captureMissed.connections++;
    }
    let r = tcpRecord(f, c);
    const probe = isProbe(f, r.verdict);
    // a health check's record may be held past this batch (health.ts), when its flow's object serves another
    if (probe) r = described(r);
    if (vantage >= 0) (r as unknown as Record<symbol, number>)[VANTAGE_HOPS] = vantage;
    if (missed > 0) (r as unknown as Record<symbol, number>)[CAPTURE_MISSED] = missed;
    // the client's own MAC only when its packets were not routed (an initial TTL): else a router's
    if (f.c.ttlMax >= 0 && hopsFrom(f.c.ttlMax) === 0) setClientMac(r, f.c.mac);
    if (f.firstOfConversation) this.out.newConversation(r);
    if (probe) batch.push(...this.health.offer(f, r));
    else if (isFailedProbe(f, r.verdict)) batch.push(this.health.failed(f, r));
    else batch.push(r);
  }

  private reportUdp(u: UdpFlow, c: ClassifyContext, batch: FlowRecord[]): void {
    u.reported = true;
    const r = udpRecord(u, c);
    if (r !== null) batch.push(r);
  }
}
