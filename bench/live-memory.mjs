#!/usr/bin/env node
// Live memory benchmark: the generator streams a capture of DURATION seconds of capture time at
// RATE packets/s (default one hour at 20 k packets/s, the realistic mix of generate.mjs) into
// `pcapdiag - --format ndjson` through a pipe, faster than real time. Prints pcapdiag's resident
// memory (VmRSS) and peak (VmHWM) when the stream is 10 %, 50 % and 100 % through.
// Usage: node bench/live-memory.mjs [--duration 3600] [--rate 20000]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const duration = Number(arg('--duration', '3600'));
const rate = Number(arg('--rate', '20000'));

const memMiB = (pid) => {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)[1]);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
};

const t0 = performance.now();
const gen = spawn(process.execPath, [join(here, 'generate.mjs'), '-', '--duration', String(duration), '--rate', String(rate)], { stdio: ['ignore', 'pipe', 'pipe'] });
const pd = spawn(process.execPath, [join(here, '..', 'bin', 'pcapdiag.js'), '-', '--format', 'ndjson', '--quiet'], { stdio: [gen.stdout, 'pipe', 'inherit'] });
let summary = '';
let records = 0;
pd.stdout.setEncoding('utf8');
let tail = '';
pd.stdout.on('data', (d) => {
  const lines = (tail + d).split('\n');
  tail = lines.pop();
  for (const l of lines) {
    if (l.startsWith('{"type":"summary"')) summary = l;
    else records++;
  }
});
const rows = [];
let genErr = '';
gen.stderr.setEncoding('utf8');
gen.stderr.on('data', (d) => {
  genErr += d;
  for (const m of d.matchAll(/progress (\d+) (\d+)/g)) {
    // the generator has written this far; pcapdiag is at most a pipe buffer (+4 MiB read-ahead) behind
    const mem = memMiB(pd.pid);
    rows.push({ pct: Number(m[1]), packets: Number(m[2]), ...mem, wall: (performance.now() - t0) / 1000 });
    process.stderr.write(`  ${m[1]}%: ${m[2]} packets written, pcapdiag RSS ${mem.rss.toFixed(0)} MiB (peak ${mem.hwm.toFixed(0)} MiB)\n`);
  }
});
const exit = await new Promise((r) => pd.on('exit', (code) => r(code)));
const s = summary ? JSON.parse(summary) : null;
console.log(`\nlive stream: ${duration} s of capture time at ${rate} packets/s into \`pcapdiag - --format ndjson\` (exit ${exit}); node ${process.version}`);
console.log(`  ${s?.input.packets ?? '?'} packets, ${((s?.input.bytes ?? 0) / 1e9).toFixed(1)} GB, ${records} records, ${((performance.now() - t0) / 1000).toFixed(0)} s wall\n`);
console.log('| stream | packets | RSS | peak RSS so far |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.pct} % | ${r.packets} | ${r.rss.toFixed(0)} MiB | ${r.hwm.toFixed(0)} MiB |`);
if (!genErr.includes('progress 100')) console.log(`generator: ${genErr}`);
