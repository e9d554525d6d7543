#!/usr/bin/env node
// What a linker's memory of past records (src/related/relate.ts Recent) costs under a flood of
// problems: every record a new key, and once the table is full a key forgotten for each. Times
// a get and an add per record with keys made fresh (as the linkers cut them from records), against
// a Map doing the same (get, set, delete the oldest through one iterator kept over its life, as
// Recent did until issue #20's flood pass).
// Usage: node bench/recent.mjs [N]   (after npm run build)
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Recent } = await import(pathToFileURL(join(root, 'dist/related/relate.js')).href);
const N = Number(process.argv[2] ?? 600000);
const MAX_KEYS = 16384;
const key = (i) => `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

function recent() {
  const r = new Recent(30, MAX_KEYS, 4);
  for (let i = 0; i < N; i++) {
    const k = key(i);
    r.get(k, i / 20000);
    r.add(k, { t: i / 20000 });
  }
}

function map() {
  const m = new Map();
  let order = null;
  for (let i = 0; i < N; i++) {
    const k = key(i);
    const list = m.get(k);
    if (list !== undefined) list.push({ t: i / 20000 });
    else {
      if (m.size >= MAX_KEYS) m.delete((order ??= m.keys()).next().value);
      m.set(k, [{ t: i / 20000 }]);
    }
  }
}

const ns = (fn) => {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / N;
};
for (let round = 0; round < 3; round++) console.log(`Recent ${ns(recent).toFixed(0)} ns a record, Map ${ns(map).toFixed(0)} ns a record (${N} keys, ${MAX_KEYS} kept)`);
