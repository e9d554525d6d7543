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
}

/** The only place that decides the process's exit code. */
export async function main(argv: string[]): Promise<number> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.OK); // `pcapdiag … | head`: the reader is gone, stop quietly
  });
  try {
    const opts = parseArgv(argv, version(), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }, process.stdout.isTTY === true);
    // loaded only now, so --help and --version stay fast
    const [{ openCapture }, { analyzeSource }, { renderText }, { renderJson, summaryLine }] = await Promise.all([
      import('../capture/source.js'), import('../analyze.js'), import('../render/text.js'), import('../render/json.js'),
    ]);
    const source = await openCapture(opts.input);
    // ndjson streams each record as soon as it is decided; text keeps only the problems; json all
    const out = new LineWriter();
    const onFlow = opts.format === 'ndjson' ? (r: object) => out.line(JSON.stringify(r)) : null;
    let report;
    try {
      report = await analyzeSource(source, opts, opts.format === 'json' ? 'all' : opts.format === 'text' ? 'problems' : 'none', onFlow);
    } finally {
      source.close();
    }
    if (opts.format !== 'text') for (const w of report.warnings) say(`warning: ${w}`);
    if (opts.format === 'ndjson') out.line(JSON.stringify(summaryLine(report)));
    else out.write(opts.format === 'text' ? renderText(report, { color: opts.color, limit: opts.limit }) : renderJson(report));
    out.flush();
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
