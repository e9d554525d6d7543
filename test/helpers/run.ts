import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeSource, DEFAULT_OPTIONS, type AnalyzeOptions, type Report } from '../../src/analyze.js';
import { openCapture } from '../../src/capture/source.js';
import type { RunReport } from '../../src/run-report.js';
import type { FlowRecord } from '../../src/verdict/types.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES = join(ROOT, 'fixtures');
export const BIN = join(ROOT, 'bin', 'pcapdiag.js');
export const SHARED_PCAPS = join(ROOT, '..', 'shared', 'pcaps');

export function fixtureFiles(): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.pcap') || f.endsWith('.pcapng'))
    .sort();
}

export async function analyzeFile(path: string, opts: Partial<AnalyzeOptions> = {}): Promise<Report> {
  const src = await openCapture(path);
  try {
    return await analyzeSource(src, { ...DEFAULT_OPTIONS, ...opts });
  } finally {
    src.close();
  }
}

/** Runs the built CLI. */
export function cli(args: string[], input?: Buffer): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'buffer', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export function readFixture(name: string): Buffer {
  return readFileSync(join(FIXTURES, name));
}

export const sharedPresent = existsSync(join(SHARED_PCAPS, 'MANIFEST.tsv'));

/**
 * Whether the public corpus is there for `what`; when it is not, says so in the test output (a
 * plain clone has no ../shared/pcaps, and a silent skip reads as a pass).
 */
export function withShared(what: string): boolean {
  if (!sharedPresent) console.log(`pcapdiag tests: SKIPPED ${what}: it needs the public corpus at ${SHARED_PCAPS} (MANIFEST.tsv), which is absent`);
  return sharedPresent;
}

/** One row of fixtures/expected.tsv: a flow a fixture capture must be reported with. */
export interface Expected {
  proto: string;
  server: string;
  verdict: string;
  by: string;
}

/** fixtures/expected.tsv, by capture file. */
export function expectations(): Map<string, Expected[]> {
  const m = new Map<string, Expected[]>();
  for (const line of readFileSync(join(FIXTURES, 'expected.tsv'), 'utf8').split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [file, proto, server, verdict, by] = line.split('\t');
    const list = m.get(file) ?? [];
    list.push({ proto, server, verdict, by });
    m.set(file, list);
  }
  return m;
}

/** The `--format json` document, as the CLI prints it. */
export function jsonDoc(text: string): RunReport {
  return JSON.parse(text) as RunReport;
}

/**
 * One `--format ndjson` line: a flow record, or a summary, total or checks line. Typed as all of
 * their fields, optional, so that a test can look at any of them without narrowing first.
 */
export type NdjsonLine = { type: 'flow' | 'summary' | 'total' | 'checks' } & Partial<Omit<FlowRecord, 'type'>> & Partial<Omit<Report, 'records' | 'summary'> & Report['summary'] & { files: number; failed: boolean }>;

/** The lines of `--format ndjson` output. */
export function ndjsonLines(text: string): NdjsonLine[] {
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as NdjsonLine);
}

/** The last element, failing the test when there is none. */
export function last<T>(xs: readonly T[]): T {
  if (xs.length === 0) throw new Error('expected at least one element');
  return xs[xs.length - 1];
}

/** A flow line, with every field a flow record has. */
export const isFlow = (l: NdjsonLine): l is NdjsonLine & FlowRecord => l.type === 'flow';

/** `x`, failing the test when it is undefined or null. */
export function defined<T>(x: T | undefined | null, what = 'a value'): T {
  if (x === undefined || x === null) throw new Error(`expected ${what}`);
  return x;
}
