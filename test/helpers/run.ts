import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeSource, DEFAULT_OPTIONS, type AnalyzeOptions, type Report } from '../../src/analyze.js';
import { openCapture } from '../../src/capture/source.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES = join(ROOT, 'fixtures');
export const BIN = join(ROOT, 'bin', 'pcapdiag.js');
export const SHARED_PCAPS = join(ROOT, '..', 'shared', 'pcaps');

export function fixtureFiles(): string[] {
  return readdirSync(FIXTURES).filter((f) => f.endsWith('.pcap') || f.endsWith('.pcapng')).sort();
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
