import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { InputError, InternalError, UsageError } from '../errors.js';
import { parseArgv } from './program.js';
import type { FlowRecord } from '../verdict/types.js';
import type { Report } from '../analyze.js';

/** Exit codes (README "Exit codes"). 1: a CI gate (--fail-on, --baseline, --expect) failed. */
export const EXIT = { OK: 0, GATE: 1, USAGE: 2, INPUT: 3, INTERNAL: 70 } as const;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function say(line: string): void {
  process.stderr.write(`pcapdiag: ${line}\n`);
}

/** Output queued for a slow reader before the analysis waits for it. */
const OUTPUT_HIGH_WATER = 4 << 20;

/** Buffers output lines and writes them to stdout in blocks of about 64 KiB. */
class LineWriter {
  private parts: string[] = [];
  private size = 0;
  line(s: string): void {
    this.write(s + '\n');
  }
  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= 65536) this.flush();
  }
  flush(): void {
    if (this.parts.length === 0) return;
    process.stdout.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
  /**
   * Backpressure: when stdout (a slow pipe) has more than OUTPUT_HIGH_WATER queued, a promise that
   * resolves once it drained; the analysis waits for it before reading on. Null otherwise.
   */
  busy(): Promise<void> | null {
    if (process.stdout.writableLength < OUTPUT_HIGH_WATER) return null;
    return new Promise((r) => process.stdout.once('drain', () => r()));
  }
  /** Flushes, and resolves once stdout has written everything (or failed; see the EPIPE handler). */
  drain(): Promise<void> {
    this.flush();
    return new Promise((r) => process.stdout.write('', () => r()));
  }
}

/** Exit code for a run stopped by a signal: 128 + the signal's number, as shells report it. */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * SIGINT/SIGTERM stop the reading; the analysis then reports what it has, and the run exits with
 * 130/143. A second signal exits at once.
 */
function stopOnSignals(): { signal: AbortSignal; stoppedBy: () => keyof typeof SIGNAL_EXIT | null } {
  const ac = new AbortController();
  let by: keyof typeof SIGNAL_EXIT | null = null;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (by !== null) process.exit(SIGNAL_EXIT[sig]);
      by = sig;
      ac.abort();
    });
  }
  return { signal: ac.signal, stoppedBy: () => by };
}

/** The only place that decides the process's exit code. */
export async function main(argv: string[]): Promise<number> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.OK); // `pcapdiag … | head`: the reader is gone, stop quietly
    say(`cannot write the output: ${e.code ?? e.message}`);
    process.exit(EXIT.INPUT);
  });
  try {
    if (argv[0] === 'explain') {
      const { explainMain } = await import('../explain.js');
      const text = await explainMain(argv.slice(1), process.stdout.isTTY === true && !process.env.NO_COLOR);
      await new Promise<void>((r) => process.stdout.write(text, () => r()));
      return EXIT.OK;
    }
    const opts = parseArgv(argv, version(), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }, process.stdout.isTTY === true);
    const stop = stopOnSignals();
    // loaded only now, so --help and --version stay fast
    const [{ openCapture }, { expandInputs }, { analyzeSource }, { renderText, renderProblem, renderTotal }, { renderJson, summaryLine }, { Progress }, runReport, ci, { FlowFilter }] = await Promise.all([
      import('../capture/source.js'), import('../capture/inputs.js'), import('../analyze.js'), import('../render/text.js'), import('../render/json.js'),
      import('./progress.js'), import('../run-report.js'), import('./gates.js'), import('../filter/filter.js'),
    ]);
    const filter = opts.filter === null ? null : FlowFilter.parse(opts.filter);
    const gates = ci.loadGates(opts);
    const inputs = expandInputs(opts.inputs);
    const several = inputs.length > 1;
    const out = new LineWriter();
    const reports: Report[] = [];
    const records: FlowRecord[] = [];
    let unreadable = 0;
    for (const input of inputs) {
      if (stop.signal.aborted) break;
      let source;
      try {
        source = await openCapture(input, { follow: opts.follow, signal: stop.signal });
      } catch (e) {
        if (!(e instanceof InputError) || !several) throw e;
        say(e.message); // one unreadable capture among several: say so, go on, exit 3 at the end
        unreadable++;
        continue;
      }
      const live = opts.live || source.live;
      // ndjson streams each record as soon as it is decided, and so does text on live input (its
      // problems); text on a file groups the problems at the end; json and junit need them all
      const streamText = live && opts.format === 'text';
      const keepAll = opts.format === 'json' || opts.format === 'junit' || ci.hasGates(gates);
      const onFlow =
        opts.format === 'ndjson' ? (r: FlowRecord) => out.line(JSON.stringify(r))
        : streamText ? (r: FlowRecord) => out.write(renderProblem(r, opts.color))
        : null;
      const progress = !opts.quiet && !live && source.size > 0 && process.stderr.isTTY === true && !process.env.CI ? new Progress(source.size) : null;
      if (live && !opts.quiet && process.stderr.isTTY === true) say(`reading ${source.name} live: verdicts are printed as they are decided; Ctrl-C for the summary`);
      let report: Report;
      try {
        report = await analyzeSource(source, opts, {
          keep: keepAll ? 'all' : opts.format === 'text' && !streamText ? { problemsPerVerdict: opts.limit } : 'none',
          onFlow,
          onFlowProblemsOnly: streamText,
          live,
          signal: stop.signal,
          onProgress: progress === null ? null : (bytes, packets) => progress.update(bytes, packets),
          onIdle: live ? () => out.flush() : null,
          outputBusy: () => out.busy(),
          filter: filter === null ? null : (r) => filter.matches(r),
          firstId: reports.reduce((n, r) => n + Object.values(r.summary.verdicts).reduce((a, b) => a + b, 0), 0) + 1,
          file: input === '-' ? '<stdin>' : input,
        });
      } finally {
        progress?.stop();
        source.close();
      }
      reports.push(report);
      for (const r of report.records) records.push(r); // (not push(...): a million records overflow the stack)
      if (opts.format === 'ndjson') out.line(JSON.stringify(summaryLine(report)));
      if (opts.format === 'text') out.write((several ? '\n' : '') + renderText(report, { color: opts.color, limit: opts.limit, problemsShownAbove: streamText }));
    }
    const checks = ci.hasGates(gates) ? ci.runGates(gates, records) : null;
    const run = {
      schema: runReport.SCHEMA_VERSION, options: reports[0]?.options ?? opts, filter: opts.filter,
      files: reports.map(runReport.fileReport), records, summary: runReport.totalSummary(reports), checks,
    };
    if (opts.format === 'ndjson') {
      if (several) out.line(JSON.stringify({ type: 'total', files: reports.length, ...run.summary }));
      if (checks !== null) out.line(JSON.stringify({ type: 'checks', ...checks }));
    } else if (opts.format === 'json') out.write(renderJson(run));
    else if (opts.format === 'junit') out.write((await import('../render/junit.js')).renderJunit(run));
    else {
      if (several) out.write(renderTotal(run, opts.color));
      if (checks !== null) out.write('\n' + (await import('../render/checks.js')).checksLines(checks, new Map(records.map((r) => [r.id, r]))).join('\n') + '\n');
    }
    // wait until stdout has taken it all: a closed pipe (EPIPE) ends the run here, before stderr is used
    await out.drain();
    if (opts.format !== 'text' && !opts.quiet) for (const r of reports) for (const w of r.warnings) say(`warning: ${several ? `${r.input.name}: ` : ''}${w}`);
    if (checks?.failed) say(ci.failureLine(checks));
    const by = stop.stoppedBy();
    if (by !== null) return SIGNAL_EXIT[by];
    if (unreadable > 0) return EXIT.INPUT;
    return checks?.failed ? EXIT.GATE : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // --help / --version
    if (e instanceof UsageError) {
      say(`${e.message} (see pcapdiag --help)`);
      return EXIT.USAGE;
    }
    if (e instanceof InputError) {
      say(e.message);
      return EXIT.INPUT;
    }
    const msg = e instanceof InternalError ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    say(`internal error: ${msg}. This is a bug: please report it with the capture if you can share it.`);
    if (process.env.PCAPDIAG_DEBUG) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
    return EXIT.INTERNAL;
  }
}
