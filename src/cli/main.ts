import { readFileSync } from 'node:fs';
import { EXIT, InputError, InternalError, UsageError } from '../errors.js';
import { say, stderrClosedByReader, stdoutClosedByReader } from './output.js';
import { escapeDocument } from '../render/escape.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Exit code for a run stopped by a signal: 128 + the signal's number, as shells report it. */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * SIGINT/SIGTERM stop the reading; the command then reports what it has, and the run exits with
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

/** The process boundary: the only place that decides the exit code and turns errors into one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    // `pcapdiag … | head`: the reader is gone; stop quietly, unless CI gates are still to be checked
    if (e.code === 'EPIPE') {
      if (!stdoutClosedByReader()) process.exit(EXIT.OK);
      return;
    }
    say(`cannot write the output: ${e.code ?? e.message}`);
    process.exit(EXIT.INPUT);
  });
  // stderr's reader gone too (`2>&1 | head`): a run that goes on says nothing more (a gated one
  // still exits with its gates' code); other errors of stderr cannot be said anywhere either
  process.stderr.on('error', () => stderrClosedByReader());
  try {
    if (argv[0] === 'merge') {
      const { mergeCommand, parseMergeArgs } = await import('./commands/merge.js');
      return await mergeCommand(parseMergeArgs(argv.slice(1)));
    }
    // `--version` alone is answered before the option parser loads: commander and the option
    // table are a third of its start-up, and scripts call it to check the tool is there
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
      process.stdout.write(`${version()}\n`);
      return EXIT.OK;
    }
    const { parseArgv } = await import('./program.js');
    const call = parseArgv(argv, version(), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(escapeDocument(s)) }, { isTty: process.stdout.isTTY, noColor: Boolean(process.env.NO_COLOR) });
    const stop = stopOnSignals();
    // the commands are loaded only now, so --help and --version stay fast
    const code = call.command === 'explain' ? await (await import('./commands/explain.js')).explainCommand(call.options, stop.signal) : await (await import('./commands/analyze.js')).analyzeCommand(call.options, stop.signal);
    const by = stop.stoppedBy();
    return by !== null ? SIGNAL_EXIT[by] : code;
  } catch (e) {
    if (e instanceof (await import('./commander.js')).CommanderError) return e.exitCode; // --help / --version
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
