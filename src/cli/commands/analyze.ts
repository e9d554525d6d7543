import type { FlowRecord } from '../../verdict/types.js';
import { SCHEMA_VERSION, fileReport, totalSummary, type RunReport, type Unreadable } from '../../run-report.js';
import { RENDERERS } from '../../render/index.js';
import { EXIT, InputError, UsageError } from '../../errors.js';
import { HEALTHY } from '../../verdict/types.js';
import { PcapngWriter, writeFlowPackets } from '../../render/write-pcap.js';
import { forEachRecordOfParts, partsName } from '../../capture/parts.js';
import { openCapture } from '../../capture/source.js';
import { packetsOfFlows } from '../../explain.js';
import type { PacketsWanted } from '../../render/renderer.js';
import { expandInputs } from '../../capture/inputs.js';
import { FlowFilter } from '../../filter/filter.js';
import { analysisOptions, type AnalyzeCliOptions } from '../options.js';
import { failureLine, hasGates, loadGates, runGates } from '../gates.js';
import { allFiles, analyzeCaptures, analyzeVantages, captureGroups, grouping, vantageMode } from '../captures.js';
import { analyzeInParallel, workersFor } from '../parallel.js';
import type { AnalyzeOptions, Report, RunOptions } from '../../analyze.js';
import type { Checks } from '../../ci/gate.js';
import type { Renderer } from '../../render/renderer.js';
import { FileWriter, LineWriter, runOutlivesStdout, say, type Sink } from '../output.js';
import { refuseOutputsOverInputs } from '../overwrite.js';
import { packetsPath } from '../../handoff/state.js';
import { Progress } from '../progress.js';

/**
 * `pcapdiag [analyze] <capture...> [filter]`: every flow's verdict, written by the renderer of
 * the chosen format, then the CI gates. Returns the exit code (0, or 1 when a gate failed, 3 when
 * a capture among several was unreadable); throws UsageError / InputError.
 */
export async function analyzeCommand(opts: AnalyzeCliOptions, signal?: AbortSignal, sink?: Sink): Promise<number> {
  const filter = opts.filter === null ? null : FlowFilter.parse(opts.filter);
  const gates = loadGates(opts);
  const gated = hasGates(gates);
  if (gated || opts.writePcap !== null) runOutlivesStdout();
  // --follow: the one input as given (a file, a directory or tcpdump's -w name: ring.ts)
  const groups = opts.follow ? [opts.inputs] : await captureGroups(await expandInputs(opts.inputs, signal), grouping(opts));
  const stateFiles = opts.stateOut === null ? [] : [opts.stateOut, packetsPath(opts.stateOut)];
  refuseOutputsOverInputs(
    [['-o', opts.output], ['--write-pcap', opts.writePcap], ...stateFiles.map((p): [string, string] => ['--state-out', p])],
    groups.flatMap((g) => (g instanceof InputError ? [] : g)),
    opts.follow ? opts.inputs[0] : null,
  );
  const out = sink ?? (opts.output !== null ? FileWriter.open(opts.output) : new LineWriter());
  const files = allFiles(groups) ? groups : null; // an input that failed to expand is said in order, in the main path
  const vantages = files !== null && (await vantageMode(files, opts));
  const analysis = analysisOptions(opts);
  if (opts.stateOut !== null) return stateOutRun(opts, signal, analysis, out, gates);
  // --write-pcap: the problem flows, or with a filter every flow it selects
  if (opts.writePcap !== null && groups.some((g) => Array.isArray(g) && g.includes('-'))) throw new UsageError('--write-pcap reads the captures again, and standard input cannot be read twice: save it with tcpdump -w first');
  const toWrite: FlowRecord[] | null = opts.writePcap === null ? null : [];
  // opened first: a file that cannot be written fails the run before the analysis
  const pcapOut = opts.writePcap === null ? null : new PcapngWriter(opts.writePcap);
  if (vantages) {
    // (the correlation's paths are for explain: not kept while the report is written)
    const { paths: _paths, ...v } = await analyzeVantages(files, filter, analysis, signal, opts.vantages);
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
  /** Captures read from standard input or a FIFO: they cannot be read a second time (a file read with --follow can). */
  const once = new Map<string, string>();
  const setup = (name: string, size: number, sourceLive: boolean) => {
    const live = opts.live || sourceLive;
    if (name === '<stdin>' || (sourceLive && !opts.follow)) once.set(name, 'read from a pipe, so its packets cannot be read again for the ladders: give the capture file instead');
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
          : (r: FlowRecord) => {
              const problem = !HEALTHY.has(r.verdict);
              if (wantsAll || problem) toWrite.push(r);
              if (onRecord !== null && (problem || !feed.problemsOnly)) onRecord(r);
            },
      // healthy records only when the renderer streams them or the pcap takes every flow a filter selects
      onFlowProblemsOnly: !wantsAll && (onRecord === null || feed.problemsOnly),
      live,
      onProgress: progress === null ? null : (bytes: number, packets: number) => progress.update(bytes, packets),
      onIdle: live ? () => out.flush() : null,
      outputBusy: () => out.busy(),
      finally: () => progress?.stop(),
    } satisfies RunOptions & { finally: () => void };
  };
  const after = (report: Report, live: boolean) => {
    for (const r of report.records) records.push(r); // (not push(...): a million records overflow the stack)
    renderer.onFile(report, live);
  };
  // several captures of some size: one worker thread per core (the output is the same)
  const workers = opts.live || files === null ? 0 : workersFor(files, opts.follow);
  const { reports, unreadable, partsOf } =
    workers > 0 && files !== null
      ? await analyzeInParallel(files, opts.filter, analysis, workers, { signal, per: (name) => setup(name, 0, false), after: (report) => after(report, false) })
      : await analyzeCaptures(groups, filter, analysis, {
          follow: opts.follow,
          quiet: opts.quiet,
          signal,
          per: (source, name, size) => setup(name, size, source.live),
          after: (report, source) => after(report, opts.live || source.live),
        });
  // --follow round a ring: its parts were written again since they were read
  if (opts.follow) for (const [name, parts] of partsOf) if (new Set(parts).size < parts.length) once.set(name, 'followed round a ring whose parts were written again since, so its packets cannot be read again');
  if (toWrite !== null && pcapOut !== null) await writePcap(pcapOut, toWrite, partsOf, opts.quiet, once);
  if (renderer.packets !== undefined && !signal?.aborted) await readPackets(renderer.packets, once, partsOf);
  const checks = gated ? runGates(gates, records, notAnalysed(reports)) : null;
  return endRun(renderer, out, opts, { analysis, reports, records, checks, unreadable, several });
}

/**
 * The end of a run: its report to the renderer, then the warnings the format does not show and
 * the gates' failure line on stderr, and the exit code (3 when a capture could not be read, 1
 * when a gate failed).
 */
async function endRun(renderer: Renderer, out: Sink, opts: AnalyzeCliOptions, o: { analysis: AnalyzeOptions; reports: Report[]; records: FlowRecord[]; checks: Checks | null; unreadable: Unreadable[]; several: boolean }): Promise<number> {
  const { reports, checks, unreadable } = o;
  const run: RunReport = {
    schema: SCHEMA_VERSION,
    options: o.analysis,
    filter: opts.filter,
    files: reports.map(fileReport),
    records: o.records,
    groups: reports.flatMap((r) => r.groups),
    summary: totalSummary(reports),
    checks,
    ...(unreadable.length > 0 ? { unreadable } : {}),
  };
  renderer.onEnd(run);
  // wait until stdout has taken it all: a closed pipe (EPIPE) ends the run here, before stderr is used
  await out.drain();
  if (!renderer.showsWarnings && !opts.quiet) for (const r of reports) for (const w of r.warnings) say(`warning: ${o.several ? `${r.input.name}: ` : ''}${w}`);
  if (checks?.failed) say(failureLine(checks));
  if (unreadable.length > 0) return EXIT.INPUT;
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
  unreadable: Unreadable[],
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
    // records in a group so far, by group id (every problem has one)
    const counts = new Map<number, number>();
    for (const r of report.records) {
      records.push(r);
      const problem = !HEALTHY.has(r.verdict);
      if (toWrite !== null && (problem || filtered)) toWrite.push(r);
      if (feed.onRecord !== null && (problem || !feed.problemsOnly)) feed.onRecord(r);
      const n = (counts.get(r.group ?? -r.id) ?? 0) + 1;
      counts.set(r.group ?? -r.id, n);
      if (feed.keep === 'all' || (feed.keep !== 'none' && problem && n <= feed.keep.problemsPerGroup)) kept.push(r);
    }
    renderer.onFile({ ...report, records: kept }, false);
  }
  if (toWrite !== null && pcapOut !== null) await writePcap(pcapOut, toWrite, partsOf, opts.quiet, new Map());
  if (renderer.packets !== undefined) await readPackets(renderer.packets, new Map(), partsOf);
  const gated = hasGates(gates);
  const checks = gated ? runGates(gates, records, notAnalysed(reports)) : null;
  return endRun(renderer, out, opts, { analysis: analysisOptions(opts), reports, records, checks, unreadable, several: reports.length > 1 });
}

/** --write-pcap: the chosen flows' packets, read again from their captures, into one pcapng file. */
async function writePcap(out: PcapngWriter, chosen: readonly FlowRecord[], partsOf: ReadonlyMap<string, readonly string[]>, quiet: boolean, once: ReadonlyMap<string, string>): Promise<void> {
  const byFile = new Map<string, FlowRecord[]>();
  for (const r of chosen) {
    const f = r.file ?? '';
    let list = byFile.get(f);
    if (list === undefined) byFile.set(f, (list = []));
    list.push(r);
  }
  try {
    for (const [file, list] of byFile) {
      const why = once.get(file);
      if (why !== undefined) {
        if (!quiet) say(`warning: ${file} was ${why}: the packets of its ${list.length} flow${list.length === 1 ? ' are' : 's are'} not written`);
        continue;
      }
      const parts = partsOf.get(file) ?? [file];
      await writeFlowPackets((fn) => forEachRecordOfParts(parts, (p) => openCapture(p), fn), list, out);
    }
  } finally {
    out.close();
  }
  if (!quiet) say(`wrote ${out.packets} packet${out.packets === 1 ? '' : 's'} of ${chosen.length} flow${chosen.length === 1 ? '' : 's'} to ${out.path}`);
}

/**
 * The second read for a renderer that draws flows' packets: each capture file with wanted flows is
 * opened again and read once for all of them (packetsOfFlows, the way explain reads one flow).
 */
async function readPackets(wanted: PacketsWanted, once: ReadonlyMap<string, string>, partsOf: ReadonlyMap<string, readonly string[]>): Promise<void> {
  const byFile = new Map<string, FlowRecord[]>();
  for (const r of wanted.flows()) {
    const file = r.file ?? '';
    const list = byFile.get(file);
    if (list === undefined) byFile.set(file, [r]);
    else list.push(r);
  }
  for (const [file, flows] of byFile) {
    const why = once.get(file);
    if (why !== undefined) {
      wanted.give(file, null, why);
      continue;
    }
    const parts = partsOf.get(file) ?? [file];
    let steps;
    try {
      steps = await packetsOfFlows((fn) => forEachRecordOfParts(parts, (p) => openCapture(p), fn), flows, wanted.maxSteps);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      wanted.give(file, null, `cannot be read again for the ladders: ${e.message}`);
      continue;
    }
    wanted.give(file, steps, '');
  }
}

/**
 * `--state-out`: the captures are one chunk of a rotated set (read in time order as one capture),
 * analysed on their own; the chunk's report is written as usual and its state for `pcapdiag merge`.
 */
async function stateOutRun(opts: AnalyzeCliOptions, signal: AbortSignal | undefined, analysis: ReturnType<typeof analysisOptions>, out: Sink, gates: ReturnType<typeof loadGates>): Promise<number> {
  if (opts.follow || opts.vantages || opts.separate || opts.writePcap !== null || opts.filter !== null) throw new UsageError('--state-out takes no filter, --follow, --vantages, --separate or --write-pcap');
  if (opts.inputs.includes('-')) throw new UsageError('--state-out reads the chunk twice, and standard input cannot be read twice');
  const groups = await captureGroups(await expandInputs(opts.inputs, signal), 'sequence');
  const bad = groups.find((g): g is InputError => g instanceof InputError);
  if (bad !== undefined) throw bad;
  const chunk = groups.flatMap((g) => (g instanceof InputError ? [] : [...g]));
  const { analyzeChunk } = await import('../../handoff/chunk.js');
  const name = partsName(chunk);
  const report = await analyzeChunk(chunk, analysis, opts.stateOut ?? '', name);
  const renderer = (await RENDERERS[opts.format]())(out, { color: opts.color, limit: opts.limit, several: false });
  return finishRun(opts, renderer, [report], [], new Map([[name, chunk]]), null, null, gates, out, false);
}

/** Flows the captures counted without analysing them (--max-flows was reached). */
const notAnalysed = (reports: readonly Report[]): number => reports.reduce((n, r) => n + r.stats.flowsNotTracked, 0);
