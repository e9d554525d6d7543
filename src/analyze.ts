import { CaptureRecord } from './capture/record.js';
import { CaptureReader, READ_END, READ_RECORD } from './capture/reader.js';
import { GunzipSource, readOrAbort, type ByteSource } from './capture/source.js';
import { linkTypeName } from './capture/linktypes.js';
import { DecodedPacket } from './decode/packet.js';
import { PacketDecoder } from './decode/decode.js';
import { FlowTracker, type Superseded } from './flow/tracker.js';
import type { TcpFlow } from './flow/tcp.js';
import type { FlowMatch } from './filter/filter.js';
import { CaptureClock, Lifecycle } from './lifecycle.js';
import type { AnalyzeOptions } from './options.js';
import { vantageOf } from './verdict/vantage.js';
import type { FlowRecord } from './verdict/types.js';
import { Emitter, type Keep } from './report/emit.js';
import { PacketStats } from './report/stats.js';
import { SCHEMA_VERSION, type Report } from './report/report.js';
import { warnings } from './report/warnings.js';
import { checkHeap } from './memory.js';

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
    this.flows = new FlowTracker(opts.maxFlows, this.decoder, this.stats.anomalies, filter, this);
    this.lifecycle = new Lifecycle(opts, this.clock, this.flows, this.out, filter !== null);
  }

  get packets(): number {
    return this.clock.packets;
  }

  onRecord(rec: CaptureRecord): void {
    const t = this.clock.tick(rec);
    this.decoder.decode(rec, this.pkt);
    this.stats.note(this.pkt, rec);
    this.flows.observe(this.pkt, rec, t);
    this.lifecycle.tick(t);
  }

  /** Live input: no packet has arrived for `idleNs` of wall-clock time (see Lifecycle.idle). */
  advanceIdle(idleNs: number): void {
    this.lifecycle.idle(idleNs);
  }

  /** The flow tracker's call when a new attempt ends a TCP flow. */
  superseded(f: TcpFlow, t: number): void {
    this.lifecycle.superseded(f, t);
  }

  finish(reader: CaptureReader, name: string): Report {
    this.lifecycle.finish(this.clock.endOfCapture(reader.statsEnd));
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
        ...vantageOf(this.lifecycle.vantage),
      },
      options: { synTimeoutMs: opts.synTimeoutMs, dnsTimeoutMs: opts.dnsTimeoutMs, responseTimeoutMs: opts.responseTimeoutMs, tcpIdleMs: opts.tcpIdleMs, udpIdleMs: opts.udpIdleMs, maxFlows: opts.maxFlows },
      records: this.out.kept,
      summary: this.out.summary(flows.udpFlows),
      stats: stats.stats(flows.icmpUnmatched, flows.budget.dropped, flows.captureMissed),
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
