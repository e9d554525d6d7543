#!/usr/bin/env node
// Where the time goes: runs pcapdiag's full analysis (default output) on the benchmark capture
// under V8's CPU profiler (`node --cpu-prof`, a sample every 100 µs of the main thread) and
// puts every sample in one phase by its stack:
//   - anything under a sweep, the end of the input or the report written after it (verdicts,
//     records and output), split by the innermost of: writing the output, serialising it
//     (ndjson/json/text renderers), sentences and names, building records (verdicts, facts), and
//     the rest (the sweep's walk and finality checks, the emitter);
//   - otherwise the innermost of: reading the file, framing records, decoding headers and
//     checksums, the TCP flow layer, DNS, the MAC/host table, other packet work (the read loop);
//   - the garbage collector's own samples; everything else is start-up (Node, modules, CLI).
// Prints the median of --runs runs per phase, in ms and per packet. Then, from as many runs without
// the profiler, the CPU time of the main thread and of all the others (thread-cpu.mjs), against
// the wall time: how much of the second core the single-threaded analysis already uses.
// Usage: npm run bench -- --profile [--size MB | --file CAPTURE] [--runs N] [--mix bulk|dense] [-- --format ndjson]
//   (arguments after a lone -- go to pcapdiag)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCapture, packetCount } from './capture.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const file = arg('--file', null) ?? benchCapture(Number(arg('--size', '1024')), arg('--mix', 'bulk'));
const dashes = process.argv.indexOf('--');
const extra = dashes > 0 ? process.argv.slice(dashes + 1) : [];
const runs = Number(arg('--runs', '3'));
const packets = packetCount(file);

const PHASES = [
  'start-up (Node, modules, CLI) and unattributed',
  'reading the file (read syscalls)',
  'framing records (pcap/pcapng)',
  'decoding headers, checksums',
  'TCP flow layer, per packet',
  'DNS, per packet',
  'MAC and host table',
  'other packet work (UDP, ICMP, ARP, the read loop)',
  'sweeps: the walk, finality, emitter',
  'garbage collector',
  'sweeps: building records (verdicts, facts)',
  'sweeps: sentences and names',
  'sweeps: serialising (renderer)',
  'sweeps: writing the output',
];
const at = (name, url) => (f) => f.functionName === name && f.url.endsWith(url);
const inside = (part) => (f) => f.url.includes(part);
// innermost match wins, except under a sweep (all of it is the sweep's)
const PACKET_RULES = [
  [1, at('readNow', 'capture/source.js')],
  [2, inside('/dist/capture/reader.js')],
  [3, inside('/dist/decode/')],
  [4, at('onTcp', 'flow/tracker.js')],
  [5, at('observe', 'flow/dns.js')],
  [6, at('observeLink', 'flow/hosts.js')],
  [7, at('observe', 'flow/tracker.js')],
  [7, at('onRecord', 'dist/analyze.js')],
  [7, at('analyzeSource', 'dist/analyze.js')],
  // the read loop itself (CaptureRun.read), with what V8 inlined into it: analyzeSource awaits, so
  // it is not on the stack of the loop's samples
  [7, at('read', 'dist/analyze.js')],
];
const SWEEP_RULES = [
  [13, inside('/dist/cli/output.js')],
  [12, inside('/dist/render/ndjson.js')],
  [12, inside('/dist/render/json.js')],
  [12, inside('/dist/render/text.js')],
  [12, inside('/dist/render/html')],
  [12, inside('/dist/render/junit.js')],
  [11, inside('/dist/render/sentences.js')],
  [11, at('label', 'verdict/names.js')],
  [10, inside('/dist/verdict/')],
];
// a sweep, the records of the flows open at the end of the input, and the report a renderer writes
// after each capture and at the end of the run (the text report's groups and table)
const isSweep = (f) =>
  ((f.functionName === 'sweep' || f.functionName === 'finishing' || f.functionName === 'superseded') && f.url.endsWith('dist/lifecycle.js')) ||
  ((f.functionName === 'onFile' || f.functionName === 'onEnd') && f.url.includes('/dist/render/'));

function phasesOf(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const phaseOfNode = new Map();
  const phaseOf = (id) => {
    if (phaseOfNode.has(id)) return phaseOfNode.get(id);
    const frames = [];
    for (let x = id; x !== undefined; x = parent.get(x)) frames.push(byId.get(x).callFrame);
    let phase = 0;
    if (frames[0].functionName === '(garbage collector)') phase = 9;
    else if (frames.some(isSweep)) {
      phase = 8;
      outer: for (const f of frames)
        for (const [p, rule] of SWEEP_RULES)
          if (rule(f)) {
            phase = p;
            break outer;
          }
    } else {
      // innermost first: frames[0] is the leaf
      outer: for (const f of frames)
        for (const [p, rule] of PACKET_RULES)
          if (rule(f)) {
            phase = p;
            break outer;
          }
    }
    phaseOfNode.set(id, phase);
    return phase;
  };
  const ms = new Array(PHASES.length).fill(0);
  for (let i = 0; i < profile.samples.length; i++) ms[phaseOf(profile.samples[i])] += profile.timeDeltas[i] / 1000;
  return ms;
}

// the compiled modules, not bin/pcapdiag.js's bundle (dist/bundle/), in both halves: the phases
// above are told apart by each function's module, which the bundle merges (start-up is then
// ~75 ms longer than bin's)
const unbundled = join(here, 'unbundled.mjs');
const results = [];
const walls = [];
for (let r = 0; r < runs; r++) {
  const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-prof-'));
  const t0 = performance.now();
  const p = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${dir}`, unbundled, ...extra, file], { stdio: ['ignore', 'ignore', 'ignore'] });
  walls.push((performance.now() - t0) / 1000);
  if (p.status !== 0) throw new Error(`pcapdiag exited ${p.status}`);
  const prof = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  results.push(phasesOf(JSON.parse(readFileSync(join(dir, prof), 'utf8'))));
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = PHASES.map((name, i) => ({ name, ms: median(results.map((r) => r[i])) }));
const total = rows.reduce((a, r) => a + r.ms, 0);
console.log(`\n${file}${extra.length > 0 ? ` (pcapdiag ${extra.join(' ')})` : ''}: ${packets} packets; median of ${runs} profiled runs (wall ${median(walls).toFixed(2)} s under the profiler); node ${process.version}\n`);
console.log('| phase | ms | share | ns per packet |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.ms.toFixed(0)} | ${((100 * r.ms) / total).toFixed(0)} % | ${((r.ms * 1e6) / packets).toFixed(0)} |`);
console.log(`| main thread in all | ${total.toFixed(0)} | | ${((total * 1e6) / packets).toFixed(0)} |`);

// CPU by thread, without the profiler
const tick = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
const cpu = [];
for (let r = 0; r < runs; r++) {
  const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-cpu-'));
  const out = join(dir, 'threads.json');
  const t0 = performance.now();
  const p = spawnSync(process.execPath, ['--import', join(here, 'thread-cpu.mjs'), unbundled, ...extra, file], { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, PCAPDIAG_THREAD_CPU: out } });
  const wall = performance.now() - t0;
  if (p.status !== 0) throw new Error(`pcapdiag exited ${p.status}`);
  const threads = JSON.parse(readFileSync(out, 'utf8'));
  const sum = (ts) => ts.reduce((a, t) => a + (t.user + t.sys) * tick, 0);
  const main = threads.filter((t) => t.main);
  const others = threads.filter((t) => !t.main && t.user + t.sys > 0);
  cpu.push({ wall, main: sum(main), mainSys: main.reduce((a, t) => a + t.sys * tick, 0), others: sum(others), busy: others.length });
  rmSync(dir, { recursive: true, force: true });
}
const m = (k) => median(cpu.map((c) => c[k]));
console.log(
  `\nCPU by thread, median of ${runs} runs without the profiler: wall ${m('wall').toFixed(0)} ms; main thread ${m('main').toFixed(0)} ms (of it in the kernel ${m('mainSys').toFixed(0)}); the ${m('busy')} other threads that ran (V8's collector and compiler) ${m('others').toFixed(0)} ms, ${((100 * m('others')) / m('wall')).toFixed(0)} % of the second core`,
);
