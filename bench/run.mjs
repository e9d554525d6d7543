#!/usr/bin/env node
// pcapdiag benchmark: generates a deterministic capture (default ≈ 1 GB, and one a tenth of that
// size with the same mix), then times, in one run: pcapdiag's full analysis with the default
// (text) output from the file and from stdin, with ndjson, on the small capture (for the RSS
// ratio) and `--version`; pcapdiag's bare reader; the pcap-parser package; a minimal C decoder and
// flow table (bench/c-walker.c, when a C compiler is there); tshark -z conv,tcp (when installed);
// and a plain read of the file. Prints packets/s, MB/s, peak RSS and the ratios.
// Usage: npm run bench [-- --size MB] [-- --runs N]
//        npm run bench -- --live [--duration S] [--rate PPS]   (live-memory.mjs: an hour through a pipe)
//        npm run bench -- --flood [--count N]                  (flood.mjs: SYN and DNS floods, peak RSS)
//        npm run bench -- --profile [--size MB] [--runs N]     (profile.mjs: where the time goes, by phase)
import { execFileSync, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { benchCapture, packetCount } from './capture.mjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
for (const [flag, script] of [
  ['--live', 'live-memory.mjs'],
  ['--flood', 'flood.mjs'],
  ['--profile', 'profile.mjs'],
]) {
  if (process.argv.includes(flag)) {
    execFileSync(process.execPath, [join(here, script), ...process.argv.slice(2).filter((a) => a !== flag)], { stdio: 'inherit' });
    process.exit(0);
  }
}
const root = join(here, '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const sizeMb = Number(arg('--size', '1024'));
const runs = Number(arg('--runs', '3'));
const outDir = join(here, 'out');
const file = benchCapture(sizeMb);
const small = benchCapture(Math.max(1, Math.round(sizeMb / 10)));
const bytes = statSync(file).size;
const packets = packetCount(file);
const have = (c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;

/** Median wall seconds and peak RSS (MiB) of `sh -c cmd`, via GNU time. */
function measure(cmd) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync('/usr/bin/time', ['-f', '%e %M', 'sh', '-c', cmd], { encoding: 'utf8', cwd: root, maxBuffer: 1 << 26 });
    const last = r.stderr.trim().split('\n').pop().split(' ');
    if (r.status !== 0) throw new Error(`failed: ${cmd}\n${r.stderr}`);
    samples.push({ wall: Number(last[0]), rssMiB: Number(last[1]) / 1024 });
  }
  samples.sort((a, b) => a.wall - b.wall);
  return samples[Math.floor(samples.length / 2)];
}

const node = process.execPath;
const rows = [];
execFileSync('sh', ['-c', `cat '${file}' > /dev/null`]); // warm the page cache
const add = (name, cmd) => {
  const m = measure(cmd);
  rows.push({ name, ...m });
  process.stderr.write(`  ${name}: ${m.wall.toFixed(2)} s\n`);
  return m;
};
const read = add('cat file > /dev/null (I/O ceiling)', `cat '${file}' > /dev/null`);
// the pipe widened as src/capture/source.ts widenPipe does (perl's fcntl), when perl is there
const widen = have('perl') ? `perl -e 'fcntl(STDIN, 1031, 1048576)'; ` : '';
const pipe = add(`cat file | cat > /dev/null (pipe ceiling${widen ? ', pipe widened to 1 MiB' : ''})`, `cat '${file}' | (${widen}cat > /dev/null)`);
const full = add('pcapdiag, full analysis, default output, from the file', `${node} bin/pcapdiag.js '${file}' > /dev/null 2>&1`);
const stdin = add('pcapdiag, full analysis, default output, from stdin', `cat '${file}' | ${node} bin/pcapdiag.js - > /dev/null 2>&1`);
const ndjson = add('pcapdiag, full analysis, every record as ndjson', `${node} bin/pcapdiag.js -f ndjson '${file}' > /dev/null 2>&1`);
const ndjsonStdin = add('pcapdiag, full analysis, every record as ndjson, from stdin', `cat '${file}' | ${node} bin/pcapdiag.js -f ndjson - > /dev/null 2>&1`);
const smallRun = add(`pcapdiag, full analysis, the ${Math.round(statSync(small).size / 1e6)} MB capture`, `${node} bin/pcapdiag.js '${small}' > /dev/null 2>&1`);
const version = add('pcapdiag --version', `${node} bin/pcapdiag.js --version > /dev/null`);
add('pcapdiag reader only (count records)', `${node} bench/reader-count.mjs '${file}' > /dev/null`);
add('pcap-parser 0.2.1, count packets (64 KiB reads)', `${node} bench/pcap-parser-count.cjs '${file}' > /dev/null`);
add('pcap-parser 0.2.1, count packets (1 MiB reads)', `${node} bench/pcap-parser-count.cjs '${file}' 1048576 > /dev/null`);
const walker = join(outDir, 'c-walker');
const cc = have('cc') && spawnSync('cc', ['-O2', '-o', walker, join(here, 'c-walker.c')]).status === 0;
const c = cc ? add('minimal C decoder + flow table (bench/c-walker.c)', `'${walker}' '${file}' > /dev/null`) : null;
const nodeWalker = add("the same in JavaScript, Node's limit (bench/node-walker.mjs)", `${node} bench/node-walker.mjs '${file}' > /dev/null`);
const tshark = have('tshark') ? add('tshark -r f -q -z conv,tcp', `tshark -n -r '${file}' -q -z conv,tcp > /dev/null 2>&1`) : null;
// the flow-dense mix: client, proxy and resolver captures, where the cost is per record, not per packet
const denseMb = Number(arg('--dense-size', String(Math.max(1, Math.round(sizeMb * 0.3)))));
const dense = benchCapture(denseMb, 'dense');
const densePackets = packetCount(dense);
const denseText = add(`dense mix: pcapdiag, default output`, `${node} bin/pcapdiag.js '${dense}' > /dev/null 2>&1`);
const denseNdjson = add(`dense mix: pcapdiag, every record as ndjson`, `${node} bin/pcapdiag.js -f ndjson '${dense}' > /dev/null 2>&1`);
const denseTshark = have('tshark') ? add('dense mix: tshark -r f -q -z conv,tcp', `tshark -n -r '${dense}' -q -z conv,tcp > /dev/null 2>&1`) : null;

const mb = bytes / 1e6;
console.log(`\ncapture: ${file}\n  ${mb.toFixed(0)} MB, ${packets} packets; median of ${runs} runs; node ${process.version}\n`);
console.log('| what | wall | packets/s | MB/s | peak RSS |');
console.log('|---|---|---|---|---|');
const denseBytes = statSync(dense).size / 1e6;
for (const r of rows) {
  const [p, m] = r.name.startsWith('dense mix') ? [densePackets, denseBytes] : [packets, mb];
  console.log(`| ${r.name} | ${r.wall.toFixed(2)} s | ${(p / r.wall / 1e6).toFixed(2)} M | ${(m / r.wall).toFixed(0)} | ${r.rssMiB.toFixed(0)} MiB |`);
}
console.log('');
if (tshark) console.log(`pcapdiag / tshark throughput: ${(tshark.wall / full.wall).toFixed(1)}× faster (target ≥ 20×)`);
if (c) console.log(`pcapdiag / minimal C: ${(full.wall / c.wall).toFixed(1)}× the time (target ≤ 3×); the same walker in JavaScript alone: ${(nodeWalker.wall / c.wall).toFixed(1)}×`);
console.log(`pcapdiag / minimal JavaScript walker: ${(full.wall / nodeWalker.wall).toFixed(1)}× the time (the cost of the analysis over decoding and a flow table)`);
console.log(`pcapdiag / plain read: ${(full.wall / read.wall).toFixed(1)}× the time of cat`);
console.log(
  `stdin / file: ${(stdin.wall / full.wall).toFixed(2)}× with the default output (target ≤ 1.5×), which from a pipe prints every problem as it is decided; ${(ndjsonStdin.wall / ndjson.wall).toFixed(2)}× with the same output both ways (ndjson); the pipe alone takes ${(pipe.wall / full.wall).toFixed(2)}× the file's analysis`,
);
console.log(`peak RSS, ${sizeMb} MB / ${Math.round(sizeMb / 10)} MB capture: ${(full.rssMiB / smallRun.rssMiB).toFixed(2)}× (target ≤ 1.5×, and ≤ 200 MiB: ${full.rssMiB.toFixed(0)} MiB)`);
console.log(`--version: ${(version.wall * 1000).toFixed(0)} ms (target < 150 ms)`);
console.log(
  `dense mix (${dense}: ${denseBytes.toFixed(0)} MB, ${densePackets} packets):${denseTshark ? ` pcapdiag / tshark ${(denseTshark.wall / denseText.wall).toFixed(1)}× faster (target ≥ 20×);` : ''} ndjson / text ${(denseNdjson.wall / denseText.wall).toFixed(2)}× (target ≤ 1.3×)`,
);
