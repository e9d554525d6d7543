#!/usr/bin/env node
// Long fuzz run (issue: robustness): random bytes and mutations of real captures (the fixtures,
// plus ../shared/pcaps when present) through the whole analysis, for a given time. Any exception
// other than a clear InputError, or a run that does not end, is a finding: it is printed with
// fast-check's seed and path to replay it, and the script exits 1.
// Usage: npm run fuzz [-- --minutes 10]
import fc from 'fast-check';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeSource, DEFAULT_OPTIONS } from '../dist/analyze.js';
import { InputError } from '../dist/capture/errors.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const minutes = Number(arg('--minutes', '10'));

const seeds = readdirSync(join(root, 'fixtures'))
  .filter((f) => /\.pcap(ng)?$/.test(f))
  .map((f) => readFileSync(join(root, 'fixtures', f)));
const shared = join(root, '..', 'shared', 'pcaps');
if (existsSync(join(shared, 'MANIFEST.tsv'))) {
  for (const f of readdirSync(shared))
    if (/\.(pcap|pcapng|cap)$/.test(f)) {
      const b = readFileSync(join(shared, f));
      if (b.length <= 256 * 1024) seeds.push(b);
    }
}

function source(bytes, chunk) {
  let pos = 0;
  return {
    name: 'fuzz',
    live: false,
    size: bytes.length,
    close() {},
    read(dst, off, len) {
      const n = Math.min(len, chunk, bytes.length - pos);
      bytes.copy(dst, off, pos, pos + n);
      pos += n;
      return n;
    },
  };
}

async function analyse(bytes, chunk) {
  try {
    await analyzeSource(source(bytes, chunk), DEFAULT_OPTIONS, { keep: 'all' });
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
  }
}

const mutation = fc.record({
  seed: fc.integer({ min: 0, max: seeds.length - 1 }),
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { maxLength: 32 }),
  extremes: fc.array(fc.tuple(fc.nat(), fc.constantFrom(0, 0xffffffff, 0x7fffffff, 12, 1, 0x10000, 0x40000)), { maxLength: 6 }),
  splice: fc.option(fc.tuple(fc.nat(), fc.nat(), fc.uint8Array({ maxLength: 64 }))),
  cut: fc.option(fc.nat()),
  chunk: fc.integer({ min: 1, max: 1 << 16 }),
});
const mutated = fc.asyncProperty(mutation, async (m) => {
  let b = Buffer.from(seeds[m.seed]);
  for (const [at, bit] of m.flips) b[at % b.length] ^= 1 << bit;
  for (const [at, v] of m.extremes) b.writeUInt32LE(v >>> 0, (at % Math.max(1, b.length - 4)) & ~3);
  if (m.splice !== null) {
    const [at, drop, insert] = m.splice;
    const o = at % (b.length + 1);
    b = Buffer.concat([b.subarray(0, o), Buffer.from(insert), b.subarray(Math.min(b.length, o + (drop % 256)))]);
  }
  await analyse(m.cut === null ? b : b.subarray(0, m.cut % (b.length + 1)), m.chunk);
});
const random = fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.integer({ min: 1, max: 4096 }), async (b, chunk) => analyse(Buffer.from(b), chunk));

const start = performance.now();
const deadline = start + minutes * 60_000;
let inputs = 0;
let round = 0;
while (performance.now() < deadline) {
  round++;
  for (const [name, prop] of [
    ['mutated captures', mutated],
    ['random bytes', random],
  ]) {
    const r = await fc.check(prop, { numRuns: 2000, seed: round * 7919 + (name === 'random bytes' ? 1 : 0), interruptAfterTimeLimit: Math.max(1000, deadline - performance.now()), markInterruptAsFailure: false });
    inputs += r.numRuns;
    if (r.failed) {
      console.error(`finding (${name}): ${r.counterexample ? JSON.stringify(r.counterexample).slice(0, 400) : ''}\n${r.errorInstance?.stack ?? r.error}\nreplay: seed ${r.seed}, path ${r.counterexamplePath}`);
      process.exit(1);
    }
  }
}
const secs = (performance.now() - start) / 1000;
console.log(`fuzz: ${inputs} inputs in ${(secs / 60).toFixed(1)} min (${(inputs / secs).toFixed(0)}/s) over ${seeds.length} seed captures: no finding`);
