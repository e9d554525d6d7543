import type { FlowRecord } from '../../verdict/types.js';
import { SCHEMA_VERSION, fileReport, totalSummary, type RunReport } from '../../run-report.js';
import { RENDERERS } from '../../render/index.js';
import { EXIT } from '../../errors.js';
import { expandInputs } from '../../capture/inputs.js';
import { FlowFilter } from '../../filter/filter.js';
import { analysisOptions, type AnalyzeCliOptions } from '../options.js';
import { failureLine, hasGates, loadGates, runGates } from '../gates.js';
import { analyzeCaptures } from '../captures.js';
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
  const inputs = await expandInputs(opts.inputs, signal);
  const several = inputs.length > 1;
  const renderer = (await RENDERERS[opts.format]())(out, { color: opts.color, limit: opts.limit, several });
  const records: FlowRecord[] = [];
  const analysis = analysisOptions(opts);
  const { reports, unreadable } = await analyzeCaptures(inputs, filter, analysis, {
    follow: opts.follow,
    signal,
    per: (source, name) => {
      const live = opts.live || source.live;
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
