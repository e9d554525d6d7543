import { UsageError } from '../../errors.js';
import { expandInputs } from '../../capture/inputs.js';
import { openCapture, ThroughSource, type ByteSource } from '../../capture/source.js';
import { FlowFilter } from '../../filter/filter.js';
import { FlowSelector, packetsOf } from '../../explain.js';
import { renderLadder } from '../../render/ladder.js';
import { renderPathLadder } from '../../render/path-ladder.js';
import { EXIT } from '../../errors.js';
import { analysisOptions, type ExplainCliOptions } from '../options.js';
import { allFiles, analyzeCaptures, analyzeVantages, captureGroups, grouping, vantageMode } from '../captures.js';
import { forEachRecordOfParts } from '../../capture/parts.js';
import { LineWriter, say, type Sink } from '../output.js';
import type { Report } from '../../report/report.js';
import type { FlowRecord } from '../../verdict/types.js';

/**
 * `pcapdiag explain <capture...> [filter] <selector>`: the captures are analysed exactly as the
 * analysis reads them (the same timers, filter and numbering across captures), so an id printed by
 * `pcapdiag -f ndjson` with the same arguments names the same flow here; then the flow's packets are
 * read again from its capture. Standard input and FIFOs are kept in memory for that second read.
 * Captures read as vantage points of one network (the analysis's rule: vantageMode, --vantages)
 * give the correlated records and ids, and the flow is drawn from every capture at once.
 */
export async function explainCommand(opts: ExplainCliOptions, signal?: AbortSignal, out: Sink = new LineWriter()): Promise<number> {
  const { text, unreadable } = await explainText(opts, signal, (line) => say(`warning: ${line}`));
  out.write(text);
  await out.drain();
  // a capture among several could not be read (said on stderr): exit 3, as the analysis does
  return unreadable > 0 ? EXIT.INPUT : EXIT.OK;
}

/**
 * What `pcapdiag explain` prints: the ladder, verdict, reasons and checks of the selected flow;
 * `warn` is given the warnings of the capture it came from (damage, checksums…), as the analysis
 * says them. `unreadable`: how many of the captures could not be read (each said on stderr).
 */
export async function explainText(opts: ExplainCliOptions, signal?: AbortSignal, warn: (line: string) => void = () => {}): Promise<{ text: string; unreadable: number }> {
  const filter = opts.filter === null ? null : FlowFilter.parse(opts.filter);
  const inputs = await expandInputs(opts.inputs, signal);
  const selector = new FlowSelector(opts.selector);
  const groups = await captureGroups(inputs, grouping(opts));
  // several captures of one network (the analysis's rule, vantageMode): the correlated records and ids
  const files = allFiles(groups) ? groups : null;
  if (files !== null && (await vantageMode(files, { ...opts, follow: false }))) {
    const v = await analyzeVantages(files, filter, analysisOptions(opts), signal, opts.vantages);
    // not correlated after all (no flow in common): each capture's records, as the analysis numbers them
    const reports = v.correlated !== null ? [v.correlated] : v.reports;
    for (const report of reports) for (const r of report.records) selector.offer(r);
    const r = selector.found;
    if (r === null) throw noFlow(opts, (reports.at(-1)?.nextId ?? 1) - 1);
    warnOf(reports, r, warn);
    const view = v.paths?.pathOf(r) ?? null;
    const unreadable = v.unreadable.length;
    if (v.correlated !== null && view !== null) return { text: renderPathLadder(r, view, v.correlated.input.vantages ?? [], opts.color), unreadable };
    // not correlated (ARP, ping): its own capture's ladder
    const name = r.file ?? String(inputs[0]);
    const parts = v.partsOf.get(name) ?? [name];
    const steps = await packetsOf((fn) => forEachRecordOfParts(parts, async (part) => await openCapture(part), fn), r);
    return { text: renderLadder(r, steps, opts.color), unreadable };
  }
  const kept = new Map<string, MemoryCopy>();
  const { reports, partsOf, unreadable } = await analyzeCaptures(groups, filter, analysisOptions(opts), {
    signal,
    per: (source, name) => {
      // a pipe or FIFO cannot be read twice (a second open of a FIFO waits for a writer that never
      // comes): keep what it gave for the flow's packets
      const copy = name === '<stdin>' || source.live ? new MemoryCopy(source) : undefined;
      if (copy !== undefined) kept.set(name, copy);
      return { keep: 'none', onFlow: (r) => selector.offer(r), onFlowProblemsOnly: false, readThrough: copy };
    },
  });
  const r = selector.found;
  if (r === null) throw noFlow(opts, (reports.at(-1)?.nextId ?? 1) - 1);
  warnOf(reports, r, warn);
  const name = r.file ?? String(inputs[0]);
  const copy = kept.get(name);
  const parts = copy !== undefined ? [name] : (partsOf.get(name) ?? [name]);
  const steps = await packetsOf((fn) => forEachRecordOfParts(parts, async (part) => copy?.replay() ?? (await openCapture(part)), fn), r);
  return { text: renderLadder(r, steps, opts.color), unreadable: unreadable.length };
}

/** The warnings of the report `r` is one of (named by its capture when there are several). */
function warnOf(reports: readonly Report[], r: FlowRecord, warn: (line: string) => void): void {
  const report = reports.length === 1 ? reports[0] : reports.find((x) => x.input.name === r.file);
  for (const w of report?.warnings ?? []) warn(reports.length === 1 ? w : `${report?.input.name ?? ''}: ${w}`);
}

function noFlow(opts: ExplainCliOptions, flows: number): UsageError {
  return new UsageError(`no flow matches '${opts.selector}' in ${opts.inputs.join(' ')}${opts.filter !== null ? ` '${opts.filter}'` : ''} (${flows} flow${flows === 1 ? '' : 's'}; use an id from the report or host:port)`);
}

/** Standard input is kept in memory up to this size for explain's second read. */
const MAX_KEPT_BYTES = 1 << 30;

/**
 * Reads through to a source and keeps a copy of everything it gave (standard input, which cannot
 * be read twice), to replay it as a source of its own.
 */
class MemoryCopy extends ThroughSource {
  private readonly chunks: Buffer[] = [];
  private kept = 0;

  read(buf: Buffer, off: number, len: number): number | Promise<number> {
    const got = this.inner.read(buf, off, len);
    return typeof got === 'number' ? this.keep(buf, off, got) : got.then((n) => this.keep(buf, off, n));
  }
  private keep(buf: Buffer, off: number, n: number): number {
    if (n <= 0) return n;
    this.kept += n;
    if (this.kept > MAX_KEPT_BYTES) throw new UsageError('explain keeps standard input in memory, and it passed 1 GiB: save the capture to a file and explain that');
    this.chunks.push(Buffer.from(buf.subarray(off, off + n)));
    return n;
  }

  replay(): ByteSource {
    const data = Buffer.concat(this.chunks);
    let at = 0;
    return {
      name: this.inner.name,
      live: false,
      size: data.length,
      read: (buf, off, len) => {
        const n = Math.min(len, data.length - at);
        data.copy(buf, off, at, at + n);
        at += n;
        return n;
      },
      close: () => {},
    };
  }
}
