import { CaptureRecord } from './capture/record.js';
import { CaptureReader, READ_END, READ_RECORD } from './capture/reader.js';
import { GunzipSource, readOrAbort, type ByteSource } from './capture/source.js';
import { linkTypeName } from './capture/linktypes.js';
import { DecodedPacket, L4 } from './decode/packet.js';
import { PacketDecoder } from './decode/decode.js';
import { FlowTracker, type Superseded } from './flow/tracker.js';
import { FragmentReassembler } from './flow/fragments.js';
import type { TcpFlow } from './flow/tcp.js';
import type { FlowMatch } from './filter/filter.js';
import { CaptureClock, Lifecycle } from './lifecycle.js';
import type { AnalyzeOptions } from './options.js';
import { vantageOf } from './verdict/vantage.js';
import type { ChecksumStats } from './report/checksums.js';
import type { FlowRecord } from './verdict/types.js';
import { Emitter, type Keep } from './report/emit.js';
import { PacketStats } from './report/stats.js';
import { SCHEMA_VERSION, type Report } from './report/report.js';
import { Anomalies } from './capture/damage.js';
import { warnings } from './report/warnings.js';
import { checkHeap, limitYoungGeneration } from './memory.js';
import { InputError } from './errors.js';

export { DEFAULT_OPTIONS, type AnalyzeOptions } from './options.js';
export type { Keep } from './report/emit.js';
export type { Report } from './report/report.js';

/**
 * The analysis pipeline: records → decoded packets → flow tracker → lifecycle (final verdicts,
 * records) → emitter (ids, filter, counts, kept records, onFlow). Feed it records with
 * `onRecord`, then call `finish`. Does no I/O.
 */
export class Analyzer implements Superseded {
  private readonly decoder = new PacketDecoder();
  private readonly pkt = new DecodedPacket();
  private readonly clock = new CaptureClock();
  private readonly stats = new PacketStats();
  /** Wrong checksums counted so far, and who sent them (a chunk's state keeps them: src/handoff/). */
  get checksums(): ChecksumStats {
    return this.stats.checksums;
  }
  /** IP fragments in reassembly; a completed datagram is decoded into `whole` and analysed as one packet. */
  private readonly frags: FragmentReassembler;
  private readonly whole = new DecodedPacket();
  readonly flows: FlowTracker;
  private readonly lifecycle: Lifecycle;
  private readonly out: Emitter;

  /**
   * @param onFlow called with each record as soon as its verdict is final, in order of decision
   *   (records decided at the same moment in order of start time).
   * @param filter when given, only the records it accepts are counted, kept and handed on
   *   (`tcpConversations` and `udpFlows` count only conversations and flows it accepts); every
   *   record takes an id, the rejected ones too.
   * @param onFlowProblemsOnly onFlow wants problem records only (live text output): healthy ones are counted, not described.
   */
  constructor(
    readonly opts: AnalyzeOptions,
    keep: Keep = 'all',
    onFlow: ((r: FlowRecord) => void) | null = null,
    filter: FlowMatch | null = null,
    firstId = 1,
    file?: string,
    onFlowProblemsOnly = false,
  ) {
    this.out = new Emitter({ keep, onFlow, onFlowProblemsOnly, filter, firstId, file });
    limitYoungGeneration(!this.out.describe('ok'));
    this.flows = new FlowTracker(opts.maxFlows, this.decoder, this.stats.anomalies, filter, this);
    this.frags = new FragmentReassembler(this.stats.anomalies);
    this.lifecycle = new Lifecycle(opts, this.clock, this.flows, this.out, filter !== null);
  }

  get packets(): number {
    return this.clock.packets;
  }

  /** The packet onRecord decoded last (valid until the next call). */
  get packet(): DecodedPacket {
    return this.pkt;
  }

  /** Capture time of the latest packet, ns since the first. */
  get endT(): number {
    return this.clock.endT;
  }

  /**
   * Where the analysis is when a record is decided: 0 while a packet is observed (a new attempt
   * supersedes a flow), 1 in the sweep after it, 2 at the end. The hand-off (src/handoff/) orders
   * records decided at one packet by it.
   */
  stage = 0;

  /** Analyses one packet; returns its capture time (ns since the first packet). */
  onRecord(rec: CaptureRecord): number {
    const t = this.clock.tick(rec);
    const pkt = this.pkt;
    this.decoder.decode(rec, pkt);
    this.stats.note(pkt, rec);
    this.stage = 0;
    if (pkt.fragmented === 0 || !FragmentReassembler.takes(pkt)) this.flows.observe(pkt, rec, t);
    else this.onFragment(rec, t);
    if (t >= this.frags.nextExpiry) this.frags.expire(t);
    this.stage = 1;
    this.lifecycle.tick(t);
    return t;
  }

  /** Whether the record just handed to onFlow began a new TCP conversation (for the hand-off's merge). */
  get newConversation(): boolean {
    return this.out.lastNewConversation;
  }

  /** The hand-off's replay: counts capture time from this instant (the whole set's first packet). */
  seedClock(sec: number, nsec: number): void {
    this.clock.seed(sec, nsec);
  }

  /** The hand-off's replay: a packet that is not replayed arrived at capture time `t` (a sweep is due at it). */
  tickAt(t: number): void {
    this.stage = 1;
    this.lifecycle.tick(t);
  }

  /** The hand-off's replay: what a packet that is not replayed teaches about MACs and routers, and nothing else. */
  learnLink(rec: CaptureRecord): void {
    this.decoder.decode(rec, this.pkt);
    if (this.pkt.ipVersion !== 0 || this.pkt.l4 === L4.Arp) this.flows.hosts.observeLink(this.pkt);
  }

  /** A fragment: held until its datagram is whole, which is then analysed as the packet that completed it. */
  private onFragment(rec: CaptureRecord, t: number): void {
    const pkt = this.pkt;
    const whole = this.frags.add(pkt, rec, t);
    const g = this.frags.lastDatagram;
    // the first fragment of an answer: its lookup learns that the answer came in pieces
    if (g !== null && pkt.fragment === 0 && pkt.l4 === L4.Udp) this.flows.fragmentedDns(pkt, g);
    if (whole === null) return;
    this.decoder.decode(whole, this.whole);
    if (this.whole.badChecksum !== 0) this.stats.checksums.note(this.whole);
    this.flows.observe(this.whole, whole, t);
  }

  /** Live input: no packet has arrived for `idleNs` of wall-clock time (see Lifecycle.idle). */
  advanceIdle(idleNs: number): void {
    this.lifecycle.idle(idleNs);
  }

  /** The flow tracker's call when a new attempt ends a TCP flow. */
  superseded(f: TcpFlow, t: number): void {
    this.lifecycle.superseded(f, t);
  }

  /** Ends the capture and builds its report; `parts` lists the files of a capture read in parts (null for one file). */
  finish(reader: ReadSummary, name: string, parts: readonly PartRead[] | null = null): Report {
    const ending = this.finishing(reader, name, parts);
    for (let step = ending.next(); ; step = ending.next()) if (step.done === true) return step.value;
  }

  /** finish, yielding after each chunk of records the end of the capture emits before its last batch (Lifecycle.finishing). */
  *finishing(reader: ReadSummary, name: string, parts: readonly PartRead[] | null = null): Generator<void, Report, void> {
    this.frags.finish();
    this.stage = 2;
    yield* this.lifecycle.finishing(this.clock.endOfCapture(reader.statsEnd));
    const { clock, flows, opts, stats } = this;
    const anomalies = stats.anomaliesWith(reader.anomalies);
    return {
      schema: SCHEMA_VERSION,
      input: {
        name,
        format: reader.formatLabel,
        linkTypes: [...reader.linkTypes].map(([linkType, packets]) => ({ linkType, name: linkTypeName(linkType), packets })),
        packets: clock.packets,
        bytes: clock.bytes,
        ...clock.span(),
        ...(parts === null ? {} : { parts: parts.map((p) => ({ name: p.name, packets: p.packets, first: p.firstT < 0 ? null : clock.isoAt(p.firstT), last: p.lastT < 0 ? null : clock.isoAt(p.lastT) })) }),
        ...vantageOf(this.lifecycle.vantage),
      },
      options: { synTimeoutMs: opts.synTimeoutMs, dnsTimeoutMs: opts.dnsTimeoutMs, responseTimeoutMs: opts.responseTimeoutMs, tcpIdleMs: opts.tcpIdleMs, udpIdleMs: opts.udpIdleMs, maxFlows: opts.maxFlows },
      records: this.out.kept,
      groups: this.out.groups(),
      summary: this.out.summary(flows.udpFlows),
      stats: stats.stats(flows.icmpUnmatched, flows.budget.dropped, flows.captureMissed, this.frags.counts),
      anomalies,
      warnings: warnings({
        anomalies,
        linkTypes: reader.linkTypes,
        checksums: stats.checksums.warning(),
        flowsNotTracked: flows.budget.dropped,
        maxFlows: opts.maxFlows,
        truncatedPackets: stats.truncated,
        captureMissed: flows.captureMissed,
      }),
      nextId: this.out.nextId,
    };
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
  filter?: FlowMatch | null;
  /** Id of the first record: records of several captures are numbered on, from the previous capture's `Report.nextId`. */
  firstId?: number;
  /** Label for every record's `file`. */
  file?: string;
  /** Backpressure from the output: a promise to wait for before reading on, or null when it keeps up. */
  outputBusy?: (() => Promise<void> | null) | null;
  /** Sees every packet after the analysis did, with its capture time (the vantage-point correlation logs packets here). */
  onPacket?: ((pkt: DecodedPacket, rec: CaptureRecord, t: number) => void) | null;
}

/** Live input: how often the wall-clock timers are checked. */
const TICK_MS = 250;
/** File input: the read loop yields to the event loop (signals, progress) every this many refills. */
const YIELD_EVERY_REFILLS = 8;

/** What the report says about the file(s) read: CaptureReader, or a merge of the readers of several parts. */
export interface ReadSummary {
  readonly statsEnd: { tsSec: number; tsNsec: number } | null;
  readonly anomalies: Anomalies;
  readonly linkTypes: ReadonlyMap<number, number>;
  readonly formatLabel: string;
}

/** One part of a capture read by a CaptureRun. */
export interface PartRead {
  name: string;
  packets: number;
  /** Capture times (ns since the run's first packet) of the part's first and last packets; -1 when it had none. */
  firstT: number;
  lastT: number;
}

/**
 * One analysis over one or more sources read one after the other as a single capture: the parts
 * of a rotated capture (`tcpdump -C`/`-G`), so flows cross part boundaries. Frame numbers count
 * on from one part to the next, as `mergecap -a` would number them.
 */
export class CaptureRun {
  readonly analyzer: Analyzer;
  readonly parts: PartRead[] = [];
  private readonly anomalies = new Anomalies();
  private readonly linkTypes = new Map<number, number>();
  private formatLabel = '';
  private statsEnd: { tsSec: number; tsNsec: number } | null = null;
  private frames = 0;
  private bytesRead = 0;
  private size = 0;
  private interrupted = false;

  constructor(
    readonly opts: AnalyzeOptions,
    private readonly run: RunOptions = {},
  ) {
    this.analyzer = new Analyzer(opts, run.keep ?? 'all', run.onFlow ?? null, run.filter ?? null, run.firstId ?? 1, run.file, run.onFlowProblemsOnly ?? false);
  }

  /** Reads a source to its end (or until `signal` aborts) as the next part of the capture. */
  async read(source: ByteSource): Promise<void> {
    const { run, analyzer } = this;
    const reader = new CaptureReader();
    reader.frame = this.frames;
    const rec = new CaptureRecord();
    const { signal, onProgress, onIdle } = run;
    const onPacket = run.onPacket ?? null;
    const packetsBefore = analyzer.packets;
    let firstT = -1;
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
          const t = analyzer.onRecord(rec);
          if (onPacket !== null) onPacket(analyzer.packet, rec, t);
          if (firstT < 0) firstT = t;
          continue;
        }
        if (st === READ_END || signal?.aborted) break;
        const [off, len] = reader.writable();
        let got = source.read(reader.buf, off, len);
        if (typeof got !== 'number') {
          onProgress?.(this.bytesRead + reader.bytesRead, analyzer.packets);
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
            onProgress?.(this.bytesRead + reader.bytesRead, analyzer.packets);
            await new Promise((r) => setImmediate(r));
          }
        }
        if (run.live) lastInput = performance.now();
        reader.commit(got);
      }
    } catch (e) {
      // a gzip damaged before any capture came out of it: the damage is why, not "empty input"
      if (e instanceof InputError && source instanceof GunzipSource && source.damage !== null) throw new InputError(`${e.message} (${source.damage})`);
      throw e;
    } finally {
      if (timer !== null) clearInterval(timer);
    }
    if (source instanceof GunzipSource) {
      reader.formatLabel = `gzip-compressed ${reader.formatLabel}`;
      if (source.damage !== null) reader.anomalies.add('compressed_stream_damaged', `${source.damage} after ${reader.bytesRead} uncompressed bytes; the rest of the file is unreadable`);
    }
    this.frames = reader.frame;
    this.bytesRead += reader.bytesRead;
    this.size += source.size;
    this.anomalies.merge(reader.anomalies);
    for (const [lt, n] of reader.linkTypes) this.linkTypes.set(lt, (this.linkTypes.get(lt) ?? 0) + n);
    if (this.formatLabel === '') this.formatLabel = reader.formatLabel;
    else if (reader.formatLabel !== '' && !this.formatLabel.split(' + ').includes(reader.formatLabel)) this.formatLabel += ` + ${reader.formatLabel}`;
    if (reader.statsEnd !== null) this.statsEnd = reader.statsEnd;
    const packets = analyzer.packets - packetsBefore;
    this.parts.push({ name: source.name, packets, firstT, lastT: packets === 0 ? -1 : analyzer.endT });
    if (signal?.aborted && !source.live) this.interrupted = true;
  }

  /**
   * Ends the capture: pending flows are judged as at its end. Between the chunks of records that
   * makes (a flood's flows all end with it), waits while the output is busy, as read does.
   */
  async finish(name: string): Promise<Report> {
    const ending = this.analyzer.finishing(this.summary, name, this.parts.length > 1 ? this.parts : null);
    let step = ending.next();
    for (; step.done !== true; step = ending.next()) {
      const busy = this.run.outputBusy?.();
      if (busy) await busy;
    }
    const report = step.value;
    report.warnings.push(...partGaps(this.parts, Math.max(this.opts.synTimeoutMs, this.opts.dnsTimeoutMs) * 1e6));
    if (this.interrupted) {
      const pct = this.size > 0 ? ` (${Math.floor((100 * this.bytesRead) / this.size)}% of the ${this.parts.length > 1 ? 'files' : 'file'})` : '';
      report.warnings.unshift(`interrupted after ${this.analyzer.packets} packets${pct}; verdicts cover what was read`);
    }
    return report;
  }

  // ReadSummary, for Analyzer.finish
  get summary(): ReadSummary {
    return { statsEnd: this.statsEnd, anomalies: this.anomalies, linkTypes: this.linkTypes, formatLabel: this.formatLabel };
  }
}

/** Packets of consecutive parts may be this much out of time order (tcpdump -i any) before the parts are said to overlap. */
const PART_OVERLAP_NS = 1e9;

/** Warnings for parts that overlap in time, or between which no packet came for longer than the timeouts. */
export function partGaps(parts: readonly PartRead[], timeoutNs: number): string[] {
  const out: string[] = [];
  let prev: PartRead | null = null;
  for (const p of parts) {
    if (p.firstT < 0) continue;
    if (prev !== null) {
      const gap = p.firstT - prev.lastT;
      if (gap < -PART_OVERLAP_NS) out.push(`${p.name} starts ${formatSeconds(-gap)} before ${prev.name} ends: read as the next part of one capture, the parts overlap in time (give them as separate captures with --separate)`);
      else if (gap > timeoutNs) out.push(`no packet for ${formatSeconds(gap)} between ${prev.name} and ${p.name}: a gap in the capture or a quiet network; flows open across it may be judged by what came after`);
    }
    prev = p;
  }
  return out;
}

function formatSeconds(ns: number): string {
  const s = ns / 1e9;
  return s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(s >= 10 ? 0 : 3)} s`;
}

/** Reads a source to its end (or until `signal` aborts) and analyses it. */
export async function analyzeSource(source: ByteSource, opts: AnalyzeOptions, run: RunOptions = {}): Promise<Report> {
  const r = new CaptureRun(opts, run);
  await r.read(source);
  return await r.finish(source.name);
}
