import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { InputError, InternalError, UsageError } from '../capture/errors.js';
import { parseArgv } from './program.js';

/** Exit codes (README "Exit codes"). 1 is reserved for CI gates. */
export const EXIT = { OK: 0, USAGE: 2, INPUT: 3, INTERNAL: 70, INTERRUPTED: 130 } as const;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function say(line: string): void {
  process.stderr.write(`pcapdiag: ${line}\n`);
}

/** The only place that decides the process's exit code. */
export async function main(argv: string[]): Promise<number> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.OK); // `pcapdiag … | head`: the reader is gone, stop quietly
  });
  try {
    const opts = parseArgv(argv, version(), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }, process.stdout.isTTY === true);
    // loaded only now, so --help and --version stay fast
    const [{ openCapture }, { analyzeSource }, { RENDERERS }] = await Promise.all([import('../capture/source.js'), import('../analyze.js'), import('../render/index.js')]);
    const source = await openCapture(opts.input);
    let report;
    try {
      report = await analyzeSource(source, opts);
    } finally {
      source.close();
    }
    const text = opts.format === 'text' ? RENDERERS.text(report, { color: opts.color, limit: opts.limit }) : RENDERERS[opts.format](report);
    if (opts.format !== 'text') for (const w of report.warnings) say(`warning: ${w}`);
    process.stdout.write(text);
    return EXIT.OK;
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
