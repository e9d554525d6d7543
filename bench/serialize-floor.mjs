#!/usr/bin/env node
// The floor under "ndjson ≤ 1.3× the time of text": what writing the records costs by itself.
// Reads the records `pcapdiag -f ndjson` wrote, parses them (not timed), and times only turning
// them back into the same lines the way pcapdiag does (JSON.stringify, escapeJson, the
// LineWriter's 64 KiB UTF-8 blocks) to standard output, in batches of BATCH records, as a sweep
// hands them on. Run it with standard output on /dev/null. Prints one JSON line on stderr:
// {records, bytes, seconds, differing}, where `differing` counts lines that did not come back
// byte for byte (0: the same output was timed).
// Usage: node bench/serialize-floor.mjs RECORDS.ndjson > /dev/null
import { openSync, readSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { escapeJson } = await import(pathToFileURL(join(root, 'dist/render/escape.js')).href);
const { LineWriter } = await import(pathToFileURL(join(root, 'dist/cli/output.js')).href);

/** Records a sweep of the dense benchmark capture hands on at once (~2,300 a second of capture). */
const BATCH = 2048;

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: node bench/serialize-floor.mjs RECORDS.ndjson > /dev/null\n');
  process.exit(2);
}
const fd = openSync(file, 'r');
const chunk = Buffer.allocUnsafe(8 << 20);
let carry = Buffer.alloc(0);
const out = new LineWriter(process.stdout);
let records = 0;
let bytes = 0;
let differing = 0;
let ns = 0n;
let lines = [];
let objects = [];

function serialize() {
  const t0 = process.hrtime.bigint();
  for (const r of objects) out.line(escapeJson(JSON.stringify(r)));
  ns += process.hrtime.bigint() - t0;
  // checked after the clock: the same text, so the floor is of this very output
  for (let i = 0; i < objects.length; i++) if (escapeJson(JSON.stringify(objects[i])) !== lines[i]) differing++;
  lines = [];
  objects = [];
}

for (;;) {
  const n = readSync(fd, chunk, 0, chunk.length, null);
  if (n === 0) break;
  const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
  let from = 0;
  for (let nl = buf.indexOf(10, from); nl >= 0; nl = buf.indexOf(10, from)) {
    const line = buf.toString('utf8', from, nl);
    const size = nl + 1 - from;
    from = nl + 1;
    // records only: the group, summary and total lines after them are a few per capture
    if (!line.startsWith('{"type":"flow"')) continue;
    lines.push(line);
    objects.push(JSON.parse(line));
    records++;
    bytes += size;
    if (objects.length === BATCH) serialize();
  }
  carry = Buffer.from(buf.subarray(from));
}
closeSync(fd);
if (objects.length > 0) serialize();
const t0 = process.hrtime.bigint();
out.flush();
ns += process.hrtime.bigint() - t0;
process.stderr.write(JSON.stringify({ records, bytes, seconds: Number(ns) / 1e9, differing }) + '\n');
