import type { FlowRecord } from '../../verdict/types.js';
import { SCHEMA_VERSION, fileReport, totalSummary, type RunReport } from '../../run-report.js';
import { RENDERERS } from '../../render/index.js';
import { EXIT, InputError } from '../../errors.js';
import { openCapture } from '../../capture/source.js';
import { packetsOfFlows } from '../../explain.js';
import type { PacketsWanted } from '../../render/renderer.js';
import { expandInputs } from '../../capture/inputs.js';
import { FlowFilter } from '../../filter/filter.js';
import { analysisOptions, type AnalyzeCliOptions } from '../options.js';
import { failureLine, hasGates, loadGates, runGates } from '../gates.js';
import { analyzeCaptures } from '../captures.js';
import { FileWriter, LineWriter, say, type Sink } from '../output.js';
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
  const inputs = expandInputs(opts.inputs);
  const out = sink ?? (opts.output !== null ? FileWriter.open(opts.output) : new LineWriter());
  const several = inputs.length > 1;
  const renderer = (await RENDERERS[opts.format]())(out, { color: opts.color, limit: opts.limit, several });
  const records: FlowRecord[] = [];
  const analysis = analysisOptions(opts);
  /** Captures read from standard input or a FIFO: they cannot be read a second time (a file read with --follow can). */
  const once = new Set<string>();
  const { reports, unreadable } = await analyzeCaptures(inputs, filter, analysis, {
    follow: opts.follow,
    signal,
    per: (source, name) => {
      const live = opts.live || source.live;
      if (name === '<stdin>' || (source.live && !opts.follow)) once.add(name);
      const feed = renderer.feed(live);
      const progress = !opts.quiet && !live && source.size > 0 && process.stderr.isTTY && !process.env.CI ? new Progress(source.size) : null;
      if (live && !opts.quiet && process.stderr.isTTY) say(`reading ${name} live: verdicts are printed as they are decided; Ctrl-C for the summary`);
      return {
        // the gates judge every record
        keep: gated ? 'all' : feed.keep,
        onFlow: feed.onRecord,
        onFlowProblemsOnly: feed.problemsOnly,
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
  if (renderer.packets !== undefined && !signal?.aborted) await readPackets(renderer.packets, once);
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
 * The second read for a renderer that draws flows' packets: each capture file with wanted flows is
 * opened again and read once for all of them (packetsOfFlows, the way explain reads one flow).
 */
async function readPackets(wanted: PacketsWanted, once: ReadonlySet<string>): Promise<void> {
  const byFile = new Map<string, FlowRecord[]>();
  for (const r of wanted.flows()) {
    const file = r.file ?? '';
    const list = byFile.get(file);
    if (list === undefined) byFile.set(file, [r]);
    else list.push(r);
  }
  for (const [file, flows] of byFile) {
    if (once.has(file)) {
      wanted.give(file, null, 'read from a pipe, so its packets cannot be read again for the ladders: give the capture file instead');
      continue;
    }
    let source;
    try {
      source = await openCapture(file);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      wanted.give(file, null, `cannot be read again for the ladders: ${e.message}`);
      continue;
    }
    try {
      wanted.give(file, await packetsOfFlows(source, flows, wanted.maxSteps), '');
    } finally {
      source.close();
    }
  }
}
