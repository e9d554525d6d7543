#!/usr/bin/env node
// Two builds (or any commands) timed against each other the way the passes in HISTORY.md compare
// them: run after run alternating, A B A B …, so that a slow minute of a shared machine (2 cores,
// run-to-run noise of ±15 % seen on the same command) hits both alike. Prints, for each command,
// the least, median and most wall time and user CPU and the peak RSS (GNU time), and for two
// commands in how many rounds the second was the faster: a change of a few per cent is believable
// when it wins nearly every round, not when the medians differ by less than their spread.
// A command's standard output is discarded (its error output is shown when it fails).
// Usage: node bench/ab.mjs [--runs N] 'COMMAND A' 'COMMAND B' [...]
//   e.g. node bench/ab.mjs --runs 7 'node ../base/bin/pcapdiag.js f.pcap >/dev/null' 'node bin/pcapdiag.js f.pcap >/dev/null'
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
let runs = 5;
const at = args.indexOf('--runs');
if (at >= 0) {
  runs = Number(args[at + 1]);
  args.splice(at, 2);
}
if (args.length === 0 || !Number.isInteger(runs) || runs < 1) {
  process.stderr.write("usage: node bench/ab.mjs [--runs N] 'COMMAND A' 'COMMAND B' [...]\n");
  process.exit(2);
}

/** GNU time writes its figures to a file of their own: a command's stderr cannot run into them. */
const dir = mkdtempSync(join(tmpdir(), 'ab-'));
const figures = join(dir, 'time');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Wall (s), user CPU (s) and peak RSS (MiB) of `sh -c cmd`, via GNU time; its output is not kept. */
function sample(cmd) {
  const r = spawnSync('/usr/bin/time', ['-o', figures, '-f', '%e %U %M', 'sh', '-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  if (r.error !== undefined || r.status !== 0) {
    process.stderr.write(`failed (${r.error?.message ?? `exit ${r.status}`}): ${cmd}\n${r.stderr ?? ''}`);
    process.exit(1);
  }
  const [wall, user, kb] = readFileSync(figures, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { wall, user, rssMiB: kb / 1024 };
}

const samples = args.map(() => []);
for (let round = 0; round < runs; round++) {
  args.forEach((cmd, k) => samples[k].push(sample(cmd)));
  process.stderr.write(`round ${round + 1}/${runs}: ${samples.map((s) => s[round].wall.toFixed(2)).join(' / ')} s\n`);
}

const spread = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0].toFixed(2)} / ${s[s.length >> 1].toFixed(2)} / ${s[s.length - 1].toFixed(2)}`;
};
console.log(`${runs} rounds; least / median / most`);
args.forEach((cmd, k) => {
  const s = samples[k];
  const rss = Math.max(...s.map((x) => x.rssMiB));
  console.log(`${String.fromCharCode(65 + k)}: wall ${spread(s.map((x) => x.wall))} s, user ${spread(s.map((x) => x.user))} s, peak ${rss.toFixed(0)} MiB: ${cmd}`);
});
if (args.length === 2) {
  const wins = samples[1].filter((b, i) => b.wall < samples[0][i].wall).length;
  console.log(`B was faster than A in ${wins} of ${runs} rounds`);
}
