#!/usr/bin/env node
// Long fuzz run (issue: robustness): random bytes and mutations of real captures (the fixtures,
// plus ../shared/pcaps when present) through the whole analysis, for a given time. Three kinds of
// mutation: byte-level (bit flips, 32-bit fields at extremes, splices, cuts); pcapng blocks (a
// block's length, its trailing length, an option's length, an EPB's captured length or interface
// set to extremes); app-layer payloads (TLS record, handshake, certificate-list and certificate
// lengths, HTTP request and status lines and headers) with their length fields at extremes. Any exception
// other than a clear InputError, or a run that does not end, is a finding: it is printed with
// fast-check's seed and path to replay it, and the script exits 1.
// Usage: npm run fuzz [-- --minutes 10]
import fc from 'fast-check';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeSource, DEFAULT_OPTIONS } from '../dist/analyze.js';
import { InputError } from '../dist/errors.js';

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
/** pcapng blocks of a file: [offset, length] of each, while the lengths hold (little-endian sections only). */
function pcapngBlocks(b) {
  const out = [];
  if (b.length < 28 || b.readUInt32BE(0) !== 0x0a0d0d0a || b.readUInt32LE(8) !== 0x1a2b3c4d) return out;
  for (let o = 0; o + 12 <= b.length;) {
    const len = b.readUInt32LE(o + 4);
    if (len < 12 || o + len > b.length) break;
    out.push([o, len]);
    o += len;
  }
  return out;
}
const ngSeeds = seeds.map((b, i) => [i, pcapngBlocks(b)]).filter(([, bl]) => bl.length > 2);
const EXTREMES = [0, 1, 2, 3, 4, 8, 11, 12, 13, 16, 20, 24, 28, 31, 32, 0x7fff, 0x8000, 0xffff, 0x10000, 0xffffff, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff];
const ngMutation = fc.record({
  seed: fc.nat(),
  edits: fc.array(fc.record({ block: fc.nat(), field: fc.constantFrom('len', 'trail', 'body32', 'body16', 'option'), at: fc.nat(), value: fc.constantFrom(...EXTREMES) }), { minLength: 1, maxLength: 4 }),
  chunk: fc.integer({ min: 1, max: 1 << 20 }),
});
const pcapngMutated = fc.asyncProperty(ngMutation, async (m) => {
  if (ngSeeds.length === 0) return;
  const [si, blocks] = ngSeeds[m.seed % ngSeeds.length];
  const b = Buffer.from(seeds[si]);
  for (const e of m.edits) {
    const [o, len] = blocks[e.block % blocks.length];
    const body = Math.max(1, len - 12);
    if (e.field === 'len') b.writeUInt32LE(e.value >>> 0, o + 4);
    else if (e.field === 'trail') b.writeUInt32LE(e.value >>> 0, o + len - 4);
    else if (e.field === 'body32' && body >= 4) b.writeUInt32LE(e.value >>> 0, o + 8 + ((e.at % (body - 3)) & ~3));
    else if (e.field === 'body16' && body >= 2) b.writeUInt16LE(e.value & 0xffff, o + 8 + (e.at % (body - 1)));
    else if (e.field === 'option' && body > 24) b.writeUInt16LE(e.value & 0xffff, o + 8 + 20 + ((e.at % (body - 22)) & ~3) + 2);
  }
  await analyse(b, m.chunk);
});

/** TCP payloads of Ethernet/IPv4 pcap records: [offset, length]. */
function payloads(b) {
  const out = [];
  if (b.length < 24 || b.readUInt32LE(0) !== 0xa1b2c3d4 || b.readUInt32LE(20) !== 1) return out;
  for (let o = 24; o + 16 <= b.length;) {
    const cap = b.readUInt32LE(o + 8);
    const d = o + 16;
    if (d + cap > b.length) break;
    if (cap > 54 && b.readUInt16BE(d + 12) === 0x0800 && b[d + 23] === 6) {
      const ihl = (b[d + 14] & 15) * 4;
      const t = d + 14 + ihl;
      const p = t + (b[t + 12] >> 4) * 4;
      if (p < d + cap) out.push([p, d + cap - p]);
    }
    o = d + cap;
  }
  return out;
}
const appSeeds = seeds.map((b, i) => [i, payloads(b).filter(([p]) => seeds[i][p] === 0x16 || /^(GET|POST|HTTP|HEAD|PUT)/.test(seeds[i].toString('latin1', p, p + 5)))]).filter(([, ps]) => ps.length > 0);
const LINES = [
  'GET / HTTP/1.1',
  'HTTP/1.1 200 OK',
  'HTTP/1.1 999 ' + 'x'.repeat(5000),
  'GET /' + '\x9b\u202e]]>'.repeat(100) + ' HTTP/1.0',
  'Server: \x1b]0;pwn\x07',
  'Content-Length: 99999999999999999999',
  'Host: ' + 'h'.repeat(70000),
  '\r\n\r\n',
  'HTTP/1.1 -1 \u0000',
];
const appMutation = fc.record({
  seed: fc.nat(),
  edits: fc.array(fc.record({ payload: fc.nat(), kind: fc.constantFrom('u8', 'u16', 'u24', 'line'), at: fc.integer({ min: 0, max: 200 }), value: fc.constantFrom(...EXTREMES), line: fc.constantFrom(...LINES) }), {
    minLength: 1,
    maxLength: 6,
  }),
  chunk: fc.integer({ min: 1, max: 1 << 20 }),
});
const appMutated = fc.asyncProperty(appMutation, async (m) => {
  if (appSeeds.length === 0) return;
  const [si, ps] = appSeeds[m.seed % appSeeds.length];
  const b = Buffer.from(seeds[si]);
  for (const e of m.edits) {
    const [p, len] = ps[e.payload % ps.length];
    // TLS: record length at 3, handshake length at 6, certificate list / certificate lengths
    // further on: a 16- or 24-bit value at an offset in the first 200 bytes hits them all
    const at = p + (e.at % len);
    if (e.kind === 'u8') b[at] = e.value & 0xff;
    else if (e.kind === 'u16' && at + 2 <= p + len) b.writeUInt16BE(e.value & 0xffff, at);
    else if (e.kind === 'u24' && at + 3 <= p + len) b.writeUIntBE(e.value & 0xffffff, at, 3);
    else if (e.kind === 'line') Buffer.from(e.line + '\r\n', 'latin1').copy(b, at, 0, Math.min(e.line.length + 2, p + len - at));
  }
  await analyse(b, m.chunk);
});

const random = fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.integer({ min: 1, max: 4096 }), async (b, chunk) => analyse(Buffer.from(b), chunk));

const start = performance.now();
const deadline = start + minutes * 60_000;
let inputs = 0;
let round = 0;
const counts = {};
while (performance.now() < deadline) {
  round++;
  for (const [i, [name, prop]] of [
    ['mutated captures', mutated],
    ['pcapng blocks', pcapngMutated],
    ['app-layer payloads', appMutated],
    ['random bytes', random],
  ].entries()) {
    const r = await fc.check(prop, { numRuns: 2000, seed: round * 7919 + i, interruptAfterTimeLimit: Math.max(1000, deadline - performance.now()), markInterruptAsFailure: false });
    inputs += r.numRuns;
    counts[name] = (counts[name] ?? 0) + r.numRuns;
    if (r.failed) {
      console.error(`finding (${name}): ${r.counterexample ? JSON.stringify(r.counterexample).slice(0, 400) : ''}\n${r.errorInstance?.stack ?? r.error}\nreplay: seed ${r.seed}, path ${r.counterexamplePath}`);
      process.exit(1);
    }
  }
}
const secs = (performance.now() - start) / 1000;
console.log(`fuzz: ${inputs} inputs in ${(secs / 60).toFixed(1)} min (${(inputs / secs).toFixed(0)}/s) over ${seeds.length} seed captures (${ngSeeds.length} pcapng, ${appSeeds.length} with TLS/HTTP payloads): no finding`);
console.log(
  `fuzz: by kind: ${Object.entries(counts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')}`,
);
