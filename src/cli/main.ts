import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { InputError, InternalError, UsageError } from '../capture/errors.js';
import { parseArgv } from './program.js';
import { HEALTHY, type FlowRecord } from '../verdict/types.js';

/** Exit codes (README "Exit codes"). 1 is reserved for CI gates. */
export const EXIT = { OK: 0, USAGE: 2, INPUT: 3, INTERNAL: 70 } as const;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function say(line: string): void {
  process.stderr.write(`pcapdiag: ${line}\n`);
}

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
  });
  try {
    const opts = parseArgv(argv, version(), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }, process.stdout.isTTY === true);
    const stop = stopOnSignals();
    // loaded only now, so --help and --version stay fast
    const [{ openCapture }, { analyzeSource }, { renderText, renderProblem }, { renderJson, summaryLine }, { Progress }] = await Promise.all([
      import('../capture/source.js'), import('../analyze.js'), import('../render/text.js'), import('../render/json.js'), import('./progress.js'),
    ]);
    const source = await openCapture(opts.input, { follow: opts.follow, signal: stop.signal });
    const live = opts.live || source.live;
    const out = new LineWriter();
    // ndjson streams each record as soon as it is decided, and so does text on live input (its
    // problems); text on a file groups the problems at the end; json keeps everything for one document
    const streamText = live && opts.format === 'text';
    const onFlow =
      opts.format === 'ndjson' ? (r: FlowRecord) => out.line(JSON.stringify(r))
      : streamText ? (r: FlowRecord) => { if (!HEALTHY.has(r.verdict)) out.write(renderProblem(r, opts.color)); }
      : null;
    const keep = opts.format === 'json' ? 'all' : opts.format === 'text' && !streamText ? 'problems' : 'none';
    const progress = !opts.quiet && !live && source.size > 0 && process.stderr.isTTY === true && !process.env.CI ? new Progress(source.size) : null;
    if (live && !opts.quiet && process.stderr.isTTY === true) say(`reading ${source.name} live: verdicts are printed as they are decided; Ctrl-C for the summary`);
    let report;
    try {
      report = await analyzeSource(source, opts, {
        keep,
        onFlow,
        live,
        signal: stop.signal,
        onProgress: progress === null ? null : (bytes, packets) => progress.update(bytes, packets),
        onIdle: live ? () => out.flush() : null,
      });
    } finally {
      progress?.stop();
      source.close();
    }
    if (opts.format === 'ndjson') out.line(JSON.stringify(summaryLine(report)));
    else out.write(opts.format === 'text' ? renderText(report, { color: opts.color, limit: opts.limit, problemsShownAbove: streamText }) : renderJson(report));
    // wait until stdout has taken it all: a closed pipe (EPIPE) ends the run here, before stderr is used
    await out.drain();
    if (opts.format !== 'text' && !opts.quiet) for (const w of report.warnings) say(`warning: ${w}`);
    const by = stop.stoppedBy();
    return by === null ? EXIT.OK : SIGNAL_EXIT[by];
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
