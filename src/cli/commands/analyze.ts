import type { FlowRecord } from '../../verdict/types.js';
import { SCHEMA_VERSION, fileReport, totalSummary, type RunReport } from '../../run-report.js';
import { RENDERERS } from '../../render/index.js';
import { EXIT, UsageError } from '../../errors.js';
import { HEALTHY } from '../../verdict/types.js';
import { PcapngWriter, writeFlowPackets } from '../../render/write-pcap.js';
import { forEachRecordOfParts } from '../../capture/parts.js';
import { openCapture } from '../../capture/source.js';
import { expandInputs } from '../../capture/inputs.js';
import { FlowFilter } from '../../filter/filter.js';
import { analysisOptions, type AnalyzeCliOptions } from '../options.js';
import { failureLine, hasGates, loadGates, runGates } from '../gates.js';
import { analyzeCaptures, analyzeVantages, captureGroups, grouping, vantageMode } from '../captures.js';
import type { Renderer } from '../../render/renderer.js';
import type { Report } from '../../analyze.js';
import { LineWriter, say, type Sink } from '../output.js';
import { Progress } from '../progress.js';

/**
 * `pcapdiag [analyze] <capture...> [filter]`: every flow's verdict, written by the renderer of
 * the chosen format, then the CI gates. Returns the exit code (0, or 1 when a gate failed, 3 when
 * a capture among several was unreadable); throws UsageError / InputError.
 */
export async function analyzeCommand(opts: AnalyzeCliOptions, signal?: AbortSignal, out: Sink = new LineWriter()): Promise<number> {
  const filter = opts.filter === null ? null : FlowFilter.parse(opts.filter);
  const gates = loadGates(opts);
  const gated = hasGates(gates);
  const groups = await captureGroups(expandInputs(opts.inputs), grouping(opts), opts.follow);
  const vantages = await vantageMode(groups, opts);
  const analysis = analysisOptions(opts);
  // --write-pcap: the problem flows, or with a filter every flow it selects
  if (opts.writePcap !== null && groups.some((g) => g.includes('-'))) throw new UsageError('--write-pcap reads the captures again, and standard input cannot be read twice: save it with tcpdump -w first');
  const toWrite: FlowRecord[] | null = opts.writePcap === null ? null : [];
  // opened first: a file that cannot be written fails the run before the analysis
  const pcapOut = opts.writePcap === null ? null : new PcapngWriter(opts.writePcap);
  if (vantages) {
    const v = await analyzeVantages(groups, filter, analysis, signal);
    if (v.correlated !== null) {
      const renderer = (await RENDERERS[opts.format]())(out, { color: opts.color, limit: opts.limit, several: false });
      return finishRun(opts, renderer, [v.correlated], v.unreadable, v.partsOf, toWrite, pcapOut, gates, out, filter !== null);
    }
    // no flow in common: each capture on its own, as without --vantages
    const renderer = (await RENDERERS[opts.format]())(out, { color: opts.color, limit: opts.limit, several: v.reports.length > 1 });
    return finishRun(opts, renderer, v.reports, v.unreadable, v.partsOf, toWrite, pcapOut, gates, out, filter !== null);
  }
  const several = groups.length > 1;
  const renderer = (await RENDERERS[opts.format]())(out, { color: opts.color, limit: opts.limit, several });
  const records: FlowRecord[] = [];
  const { reports, unreadable, partsOf } = await analyzeCaptures(groups, filter, analysis, {
    follow: opts.follow,
    signal,
    per: (source, name, size) => {
      const live = opts.live || source.live;
      const feed = renderer.feed(live);
      const progress = !opts.quiet && !live && size > 0 && process.stderr.isTTY && !process.env.CI ? new Progress(size) : null;
      if (live && !opts.quiet && process.stderr.isTTY) say(`reading ${name} live: verdicts are printed as they are decided; Ctrl-C for the summary`);
      const onRecord = feed.onRecord;
      const wantsAll = toWrite !== null && filter !== null;
      return {
        // the gates judge every record
        keep: gated ? 'all' : feed.keep,
        onFlow:
          toWrite === null
            ? onRecord
            : (r) => {
                const problem = !HEALTHY.has(r.verdict);
                if (wantsAll || problem) toWrite.push(r);
                if (onRecord !== null && (problem || !feed.problemsOnly)) onRecord(r);
              },
        onFlowProblemsOnly: feed.problemsOnly && !wantsAll,
        live,
        onProgress: progress === null ? null : (bytes, packets) => progress.update(bytes, packets),
        onIdle: live ? () => out.flush() : null,
        outputBusy: () => out.busy(),
        finally: () => progress?.stop(),
      };
    },
    after: (report, source) => {
      for (const r of report.records) records.push(r); // (not push(...): a million records overflow the stack)
      renderer.onFile(report, opts.live || source.live);
    },
  });
  if (toWrite !== null && pcapOut !== null) await writePcap(pcapOut, toWrite, partsOf, opts.quiet);
  const checks = gated ? runGates(gates, records) : null;
  const run: RunReport = {
    schema: SCHEMA_VERSION,
    options: analysis,
    filter: opts.filter,
    files: reports.map(fileReport),
    records,
    summary: totalSummary(reports),
    checks,
  };
  renderer.onEnd(run);
  // wait until stdout has taken it all: a closed pipe (EPIPE) ends the run here, before stderr is used
  await out.drain();
  if (!renderer.showsWarnings && !opts.quiet) for (const r of reports) for (const w of r.warnings) say(`warning: ${several ? `${r.input.name}: ` : ''}${w}`);
  if (checks?.failed) say(failureLine(checks));
  if (unreadable > 0) return EXIT.INPUT;
  return checks?.failed ? EXIT.GATE : EXIT.OK;
}

/**
 * Vantage points: reports analysed in full (every record kept) are handed to the renderer as if
 * they had just been read, then the run ends as any other (gates, --write-pcap, exit code).
 */
async function finishRun(
  opts: AnalyzeCliOptions,
  renderer: Renderer,
  reports: Report[],
  unreadable: number,
  partsOf: ReadonlyMap<string, readonly string[]>,
  toWrite: FlowRecord[] | null,
  pcapOut: PcapngWriter | null,
  gates: ReturnType<typeof loadGates>,
  out: Sink,
  filtered: boolean,
): Promise<number> {
  const records: FlowRecord[] = [];
  for (const report of reports) {
    const feed = renderer.feed(false);
    const kept: FlowRecord[] = [];
    const counts = new Map<string, number>();
    for (const r of report.records) {
      records.push(r);
      const problem = !HEALTHY.has(r.verdict);
      if (toWrite !== null && (problem || filtered)) toWrite.push(r);
      if (feed.onRecord !== null && (problem || !feed.problemsOnly)) feed.onRecord(r);
      const n = (counts.get(r.verdict) ?? 0) + 1;
      counts.set(r.verdict, n);
      if (feed.keep === 'all' || (feed.keep !== 'none' && problem && n <= feed.keep.problemsPerVerdict)) kept.push(r);
    }
    renderer.onFile({ ...report, records: kept }, false);
  }
  if (toWrite !== null && pcapOut !== null) await writePcap(pcapOut, toWrite, partsOf, opts.quiet);
  const gated = hasGates(gates);
  const checks = gated ? runGates(gates, records) : null;
  const run: RunReport = { schema: SCHEMA_VERSION, options: analysisOptions(opts), filter: opts.filter, files: reports.map(fileReport), records, summary: totalSummary(reports), checks };
  renderer.onEnd(run);
  await out.drain();
  if (!renderer.showsWarnings && !opts.quiet) for (const r of reports) for (const w of r.warnings) say(`warning: ${reports.length > 1 ? `${r.input.name}: ` : ''}${w}`);
  if (checks?.failed) say(failureLine(checks));
  if (unreadable > 0) return EXIT.INPUT;
  return checks?.failed ? EXIT.GATE : EXIT.OK;
}

/** --write-pcap: the chosen flows' packets, read again from their captures, into one pcapng file. */
async function writePcap(out: PcapngWriter, chosen: readonly FlowRecord[], partsOf: ReadonlyMap<string, readonly string[]>, quiet: boolean): Promise<void> {
  const byFile = new Map<string, FlowRecord[]>();
  for (const r of chosen) {
    const f = r.file ?? '';
    let list = byFile.get(f);
    if (list === undefined) byFile.set(f, (list = []));
    list.push(r);
  }
  try {
    for (const [file, list] of byFile) {
      const parts = partsOf.get(file) ?? [file];
      await writeFlowPackets((fn) => forEachRecordOfParts(parts, (p) => openCapture(p), fn), list, out);
    }
  } finally {
    out.close();
  }
  if (!quiet) say(`wrote ${out.packets} packet${out.packets === 1 ? '' : 's'} of ${chosen.length} flow${chosen.length === 1 ? '' : 's'} to ${out.path}`);
}
