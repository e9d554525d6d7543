import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from './helpers/run.js';

// src/memory.ts limitYoungGeneration: a run that describes only its problems stops V8's young
// generation at 8 MiB; one that describes every record lets it grow (to 32 MiB on Node 20).
// A child process reports the largest young generation it saw, sampled through the run and at its end.
const PROBE = `import v8 from 'node:v8';
let max = 0;
const look = () => { for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') max = Math.max(max, s.space_size); };
setInterval(look, 2).unref();
process.on('exit', () => { look(); process.stderr.write('young ' + max + '\\n'); });
`;
const MiB = 1024 * 1024;

// Two analyses in one process, text and then ndjson (as a library caller or the tests run them):
// the limit the first set must not hold for the second. Prints each run's largest young generation.
const TWO_RUNS = (root: string) => `import v8 from 'node:v8';
const { parseArgv } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist/cli/program.js')).href)});
const { analyzeCommand } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist/cli/commands/analyze.js')).href)});
const sink = { write() {}, line() {}, flush() {}, busy: () => null, drain: () => Promise.resolve() };
const run = async (args) => { const call = parseArgv(args, '0', { out: () => {}, err: () => {} }, { isTty: false, noColor: true }); await analyzeCommand({ ...call.options, quiet: true }, undefined, sink); };
let max = 0;
const look = () => { for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') max = Math.max(max, s.space_size); };
const timer = setInterval(look, 2);
await run([process.argv[2]]);
look();
process.stderr.write('text young ' + max + '\\n');
max = 0;
await run(['-f', 'ndjson', process.argv[2]]);
look();
clearInterval(timer);
process.stderr.write('young ' + max + '\\n');
`;

let dir = '';
let capture = '';
let probe = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pcapdiag-young-'));
  capture = join(dir, 'dense.pcap');
  probe = join(dir, 'probe.mjs');
  writeFileSync(probe, PROBE);
  // the bench's flow-dense mix, 20 MB (85k packets): enough for the young generation to grow
  const g = spawnSync(process.execPath, [join(ROOT, 'bench', 'generate.mjs'), capture, '20', '--mix', 'dense'], { encoding: 'utf8' });
  expect(g.status, g.stderr).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function youngMax(args: string[]): number {
  const r = spawnSync(process.execPath, ['--import', probe, BIN, ...args, capture], { encoding: 'utf8', maxBuffer: 256 * MiB, timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  const m = /young (\d+)/.exec(r.stderr);
  expect(m, r.stderr).not.toBeNull();
  return Number(m?.[1]);
}

describe('the young generation', () => {
  it('stops at 8 MiB when only problems are described (text)', () => {
    const young = youngMax([]);
    expect(young).toBeGreaterThanOrEqual(4 * MiB); // it did grow, up to the limit
    expect(young).toBeLessThanOrEqual(8 * MiB);
  });

  it('grows past 8 MiB when every record is described (ndjson)', () => {
    expect(youngMax(['-f', 'ndjson'])).toBeGreaterThan(8 * MiB);
  });

  it('grows again for an ndjson analysis after a text one in the same process', () => {
    const script = join(dir, 'two-runs.mjs');
    writeFileSync(script, TWO_RUNS(ROOT));
    const r = spawnSync(process.execPath, [script, capture], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(Number(/text young (\d+)/.exec(r.stderr)?.[1])).toBeLessThanOrEqual(8 * MiB); // the text run stopped it
    expect(Number(/^young (\d+)/m.exec(r.stderr)?.[1])).toBeGreaterThan(8 * MiB);
  });
});

// src/memory.ts collectCompacting sets --optimize-for-size for the governor's collections, which
// implies --max-semi-space-size=1: a worker thread started after one (parallel captures) must still
// get the young generation Node was started with. The child holds enough to make checkHeap collect,
// then starts a worker that keeps some of what it allocates (so that its young generation grows)
// and reports the largest young generation it saw.
const AFTER_GOVERNOR = (root: string) => `import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
const { checkHeap } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist/memory.js')).href)});
const held = [];
for (let i = 0; i < 600000; i++) held.push({ i, s: 'x' + i });
const before = v8.getHeapStatistics().used_heap_size;
checkHeap();
process.stderr.write('collected ' + (v8.getHeapStatistics().used_heap_size < before) + '\\n');
const code = "const v8 = require('node:v8'); let max = 0, keep = [];" +
  "for (let i = 0; i < 2e6; i++) { keep.push({ a: i, b: [i] }); if (keep.length > 20000) keep = [];" +
  "if (i % 10000 === 0) for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') max = Math.max(max, s.space_size); }" +
  "require('node:worker_threads').parentPort.postMessage(max);";
const max = await new Promise((r) => new Worker(code, { eval: true }).on('message', r));
process.stderr.write('worker young ' + max + ' held ' + held.length + '\\n');
`;

describe("a worker thread's young generation after a governed collection", () => {
  const workerYoung = (nodeArgs: string[]) => {
    const script = join(dir, 'after-governor.mjs');
    writeFileSync(script, AFTER_GOVERNOR(ROOT));
    const r = spawnSync(process.execPath, [...nodeArgs, script], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('collected true'); // checkHeap did collect, with the flag set
    return Number(/worker young (\d+)/.exec(r.stderr)?.[1]);
  };

  it("is V8's own size (it grows past 8 MiB), not the 2 MiB --optimize-for-size implies", () => {
    expect(workerYoung([])).toBeGreaterThan(8 * MiB);
  });

  it('is the size Node was started with', () => {
    const young = workerYoung(['--max-semi-space-size=4']);
    expect(young).toBeGreaterThan(2 * MiB);
    expect(young).toBeLessThanOrEqual(8 * MiB);
  });
});
