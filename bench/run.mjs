#!/usr/bin/env node
// pcapdiag benchmark: generates deterministic captures of two mixes (generate.mjs): bulk (~23
// packets a connection) and flow-dense (short connections, a DNS lookup before most), each of
// --size MB (default ≈ 1 GB) and a tenth of that. Then times, in one run, the runs of every
// command interleaved (round after round, so that a slow minute of a shared machine hits them
// all alike), for each mix: pcapdiag's full analysis with the default (text) output from the file
// and from stdin, with ndjson from the file and from stdin, on the small capture (for the RSS
// ratio); a minimal C decoder and flow table (bench/c-walker.c, when a C compiler is there); tshark
// -z conv,tcp (when installed); the same walker in JavaScript (Node's floor); the verdicts counted
// with their state in typed arrays (verdict-floor.mjs, the floor under the C-walker ratios; with
// --facts and --evidence, what the other rules and the report need of every flow); writing
// the large capture's records alone (serialize-floor.mjs, the floor under ndjson's). For the bulk mix also:
// `--version` and Node's own start-up (the floor under it: pcapdiag answers it before its option
// parser loads), pcapdiag's bare reader, the pcap-parser package, a plain read of the file and a pipe.
// Prints packets/s, MB/s and peak RSS of each, then every target of issue #20 with its measured
// ratio and PASS or FAIL.
// Usage: npm run bench [-- --size MB] [-- --dense-size MB] [-- --runs N] [-- --mix bulk|dense|both]
//        npm run bench -- --live [--duration S] [--rate PPS]   (live-memory.mjs: an hour through a pipe)
//        npm run bench -- --flood [--count N]                  (flood.mjs: SYN and DNS floods, peak RSS)
//        npm run bench -- --profile [--size MB] [--runs N]     (profile.mjs: where the time goes, by phase)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
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
const denseMb = Number(arg('--dense-size', String(sizeMb)));
const runs = Number(arg('--runs', '3'));
const mixArg = arg('--mix', 'both');
const mixes = mixArg === 'both' ? ['bulk', 'dense'] : [mixArg];
const outDir = join(here, 'out');
const have = (c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
const node = process.execPath;
const walker = join(outDir, 'c-walker');
// a fresh clone has no bench/out until the first capture is written: the compiler needs it now
mkdirSync(outDir, { recursive: true });
const cc = have('cc') && spawnSync('cc', ['-O2', '-o', walker, join(here, 'c-walker.c')]).status === 0;
const tsharkThere = have('tshark');
// the pipe widened as src/capture/source.ts widenPipe does (perl's fcntl), when perl is there
const widen = have('perl') ? `perl -e 'fcntl(STDIN, 1031, 1048576)'; ` : '';

/** One wall time (s) and peak RSS (MiB) of `sh -c cmd`, via GNU time. */
function sample(cmd) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', 'sh', '-c', cmd], { encoding: 'utf8', cwd: root, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`failed: ${cmd}\n${r.stderr}`);
  const last = r.stderr.trim().split('\n').pop().split(' ');
  return { wall: Number(last[0]), rssMiB: Number(last[1]) / 1024 };
}

// ---- what is timed --------------------------------------------------------------------------

const jobs = [];
/** A command to time; its median (by wall) is filled in after the runs. */
const job = (mix, name, cmd, file, times = 1) => {
  const j = { mix, name, cmd, file, times, samples: [] };
  jobs.push(j);
  return j;
};
const captures = {};
for (const mix of mixes) {
  const mb = mix === 'bulk' ? sizeMb : denseMb;
  const file = benchCapture(mb, mix);
  const small = benchCapture(Math.max(1, Math.round(mb / 10)), mix);
  const smallMb = Math.round(statSync(small).size / 1e6);
  const j = {};
  if (mix === 'bulk') {
    j.read = job(mix, 'cat file > /dev/null (I/O ceiling)', `cat '${file}' > /dev/null`, file);
    j.pipe = job(mix, `cat file | cat > /dev/null (pipe ceiling${widen ? ', pipe widened to 1 MiB' : ''})`, `cat '${file}' | (${widen}cat > /dev/null)`, file);
  }
  j.text = job(mix, 'pcapdiag, default output, from the file', `${node} bin/pcapdiag.js '${file}' > /dev/null 2>&1`, file);
  j.stdin = job(mix, 'pcapdiag, default output, from stdin', `cat '${file}' | ${node} bin/pcapdiag.js - > /dev/null 2>&1`, file);
  j.ndjson = job(mix, 'pcapdiag, every record as ndjson, from the file', `${node} bin/pcapdiag.js -f ndjson '${file}' > /dev/null 2>&1`, file);
  j.ndjsonStdin = job(mix, 'pcapdiag, every record as ndjson, from stdin', `cat '${file}' | ${node} bin/pcapdiag.js -f ndjson - > /dev/null 2>&1`, file);
  j.small = job(mix, `pcapdiag, default output, the ${smallMb} MB capture`, `${node} bin/pcapdiag.js '${small}' > /dev/null 2>&1`, small);
  if (mix === 'bulk') {
    // start-up commands take a tenth of a second, GNU time's resolution a hundredth: each sample is
    // ten runs in a row, its wall divided by ten
    const tenTimes = (cmd) => `for i in 1 2 3 4 5 6 7 8 9 10; do ${cmd}; done`;
    j.version = job(mix, 'pcapdiag --version (mean of 10)', tenTimes(`${node} bin/pcapdiag.js --version > /dev/null`), null, 10);
    j.nodeStart = job(mix, "node -e 0, Node's own start-up (mean of 10)", tenTimes(`${node} -e 0`), null, 10);
    job(mix, 'pcapdiag reader only (count records)', `${node} bench/reader-count.mjs '${file}' > /dev/null`, file);
    job(mix, 'pcap-parser 0.2.1, count packets (64 KiB reads)', `${node} bench/pcap-parser-count.cjs '${file}' > /dev/null`, file);
    job(mix, 'pcap-parser 0.2.1, count packets (1 MiB reads)', `${node} bench/pcap-parser-count.cjs '${file}' 1048576 > /dev/null`, file);
  }
  j.nodeWalker = job(mix, "the C walker in JavaScript, Node's limit (bench/node-walker.mjs)", `${node} bench/node-walker.mjs '${file}' > /dev/null`, file);
  j.verdictFloor = job(mix, 'the verdicts counted in JavaScript, typed arrays (bench/verdict-floor.mjs)', `${node} bench/verdict-floor.mjs '${file}' > /dev/null`, file);
  j.factsFloor = job(mix, 'the same, with the facts the other TCP rules read (verdict-floor.mjs --facts)', `${node} bench/verdict-floor.mjs --facts '${file}' > /dev/null`, file);
  j.evidenceFloor = job(mix, 'the same, with what the report shows and relates (verdict-floor.mjs --evidence)', `${node} bench/verdict-floor.mjs --evidence '${file}' > /dev/null`, file);
  if (cc) j.c = job(mix, 'minimal C decoder + flow table (bench/c-walker.c)', `'${walker}' '${file}' > /dev/null`, file);
  if (tsharkThere) j.tshark = job(mix, 'tshark -r f -q -z conv,tcp', `tshark -n -r '${file}' -q -z conv,tcp > /dev/null 2>&1`, file);
  captures[mix] = { file, small, mb: statSync(file).size / 1e6, smallMb, packets: packetCount(file), j };
}

for (const c of Object.values(captures)) execFileSync('sh', ['-c', `cat '${c.file}' '${c.small}' > /dev/null`]); // warm the page cache
// the records of each capture as ndjson, for the serialising floor (timed after the rounds): the
// large capture's, against whose text run the target is measured (the small one's text run is
// mostly fixed cost, start-up and warm-up, which made the floor look a third of what it is on the bulk mix)
for (const c of Object.values(captures)) {
  c.ndjsonFile = c.file.replace(/\.pcap$/, '.ndjson');
  execFileSync('sh', ['-c', `${node} bin/pcapdiag.js -f ndjson '${c.file}' > '${c.ndjsonFile}'`], { cwd: root });
}
execFileSync('sync'); // the ~1.4 GB just written, on disk before the timed rounds
for (let r = 0; r < runs; r++) {
  for (const j of jobs) {
    // its capture read just before, untimed, so that every command reads it from the page cache:
    // the warming above is undone by the ndjson written after it, and the kernel may page out
    // what a capture's runs leave idle between them (on the bench machine a DAMON scheme pages out
    // memory not touched for 60 s: the dense 1 GB capture was found 181 of its 977 MB resident)
    if (j.file !== null) execFileSync('sh', ['-c', `cat '${j.file}' > /dev/null`]);
    const s = sample(j.cmd);
    j.samples.push(s);
    // a command run ten times a sample is shown as the mean of its ten, as its name says
    process.stderr.write(`  run ${r + 1}/${runs} ${j.mix}: ${j.name}: ${(s.wall / j.times).toFixed(j.times > 1 ? 3 : 2)} s\n`);
  }
}
for (const j of jobs) {
  const sorted = [...j.samples].sort((a, b) => a.wall - b.wall);
  const m = sorted[Math.floor(sorted.length / 2)];
  Object.assign(j, { wall: m.wall / j.times, rssMiB: m.rssMiB });
}
// serialize-floor.mjs times only its writing of the records (not its reading and parsing): its
// own figure, not a wall time; the median of `runs`
for (const c of Object.values(captures)) {
  const seen = [];
  for (let r = 0; r < runs; r++) {
    const res = spawnSync(node, [join(here, 'serialize-floor.mjs'), c.ndjsonFile], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (res.status !== 0) throw new Error(`serialize-floor.mjs failed: ${res.stderr}`);
    seen.push(JSON.parse(res.stderr.trim().split('\n').pop()));
  }
  seen.sort((a, b) => a.seconds - b.seconds);
  c.serialize = seen[Math.floor(seen.length / 2)];
}

// verdict-floor.mjs's counts against pcapdiag's (the summary line of the ndjson written above):
// equal counts per verdict show it decides what pcapdiag decides on this capture (not record by
// record: two errors the other way round would cancel)
for (const c of Object.values(captures)) {
  const floor = JSON.parse(execFileSync(node, [join(here, 'verdict-floor.mjs'), c.file], { encoding: 'utf8' }));
  const ours = JSON.parse(execFileSync('tail', ['-n', '1', c.ndjsonFile], { encoding: 'utf8' })).verdicts;
  c.floorCounts = compareVerdicts(ours, floor.verdicts);
  // what the evidence floor decides, relates and groups, against pcapdiag: its verdicts, the
  // other-family links as pairs of records (each by its first frame: the failed one's, then its
  // fallback's), search-list misses and groups
  const evidence = JSON.parse(execFileSync(node, [join(here, 'verdict-floor.mjs'), '--evidence', c.file], { encoding: 'utf8', maxBuffer: 1 << 26 }));
  const { differ } = compareVerdicts(ours, evidence.verdicts);
  const ourPairs = await familyPairs(c.ndjsonFile);
  const floorPairs = new Set(evidence.familyPairs);
  const both = [...ourPairs].filter((x) => floorPairs.has(x)).length;
  const groups = Number(spawnSync('grep', ['-c', '"type":"group"', c.ndjsonFile], { encoding: 'utf8' }).stdout.trim());
  c.evidenceCounts = { ev: evidence.evidence, differ, pairs: ourPairs.size, floorPairs: floorPairs.size, both, searchMisses: ours['dns-search-miss'] ?? 0, groups };
}

/** pcapdiag's verdict counts against a floor's: records by each, how many the same, each verdict they differ in ("v ours / its"). */
function compareVerdicts(ours, its) {
  let records = 0,
    floorRecords = 0,
    same = 0;
  const differ = [];
  for (const v of new Set([...Object.keys(ours), ...Object.keys(its)])) {
    const a = ours[v] ?? 0,
      b = its[v] ?? 0;
    records += a;
    floorRecords += b;
    same += Math.min(a, b);
    if (a !== b) differ.push(`${v} ${a} / ${b}`);
  }
  return { records, floorRecords, same, differ };
}

/**
 * The other-family links in a capture's ndjson as pairs of first frames ("failed fallback"): the
 * lines that have one (grep), then the lines of the records they name that have none (a link to a
 * record of an earlier batch is written on the later record only).
 */
async function familyPairs(ndjson) {
  const { CONNECTED } = await import('../dist/related/ends.js');
  const records = new Map();
  const links = [];
  const read = (text) => {
    for (const line of text.split('\n')) {
      if (!line.startsWith('{"type":"flow"')) continue;
      const r = JSON.parse(line);
      records.set(r.id, r);
      for (const l of r.related ?? []) if (l.kind === 'other-family') links.push([r.id, l.id]);
    }
  };
  const grep = (args) => spawnSync('grep', args, { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout;
  read(grep(['-F', '"kind":"other-family"', ndjson]));
  const missing = [...new Set(links.flat())].filter((id) => !records.has(id));
  if (missing.length > 0) {
    const patterns = join(outDir, 'family-ids.txt');
    writeFileSync(patterns, missing.map((id) => `{"type":"flow","id":${id},`).join('\n') + '\n');
    read(grep(['-F', '-f', patterns, ndjson]));
  }
  const pairs = new Set();
  for (const [a, b] of links) {
    const [failed, worked] = CONNECTED.has(records.get(a).verdict) ? [b, a] : [a, b];
    pairs.add(`${records.get(failed).firstFrame} ${records.get(worked).firstFrame}`);
  }
  return pairs;
}

// ---- what was measured ----------------------------------------------------------------------

console.log(`\nnode ${process.version}; median of ${runs} runs, the runs of all commands interleaved\n`);
for (const [mix, c] of Object.entries(captures)) {
  console.log(`${mix} mix: ${c.file}\n  ${c.mb.toFixed(0)} MB, ${c.packets} packets\n`);
  console.log('| what | wall | packets/s | MB/s | peak RSS |');
  console.log('|---|---|---|---|---|');
  for (const r of jobs.filter((x) => x.mix === mix)) {
    const [p, m] = r.file === c.small ? [NaN, c.smallMb] : [c.packets, c.mb];
    // GNU time gives hundredths: a wall of 0.00 s has no rate
    const timed = r.file !== null && r.wall > 0;
    const rate = timed && !Number.isNaN(p) ? `${(p / r.wall / 1e6).toFixed(2)} M` : '';
    console.log(`| ${r.name} | ${r.wall.toFixed(2)} s | ${rate} | ${timed ? (m / r.wall).toFixed(0) : ''} | ${r.rssMiB.toFixed(0)} MiB |`);
  }
  console.log('');
}

// ---- the targets (issue #20), each with its measured ratio --------------------------------------

const targets = [];
const target = (mix, what, value, unit, ok, detail) => targets.push({ mix, what, value: `${value}${unit}`, ok, detail });
for (const [mix, c] of Object.entries(captures)) {
  const { text, stdin, ndjson, ndjsonStdin, small, c: cw, tshark } = c.j;
  if (tshark) target(mix, 'text ≥ 20× faster than tshark -q -z conv,tcp', (tshark.wall / text.wall).toFixed(1), '×', tshark.wall / text.wall >= 20, `tshark ${tshark.wall.toFixed(2)} s, pcapdiag ${text.wall.toFixed(2)} s`);
  target(mix, 'ndjson ≤ 1.3× the time of text', (ndjson.wall / text.wall).toFixed(2), '×', ndjson.wall / text.wall <= 1.3, `ndjson ${ndjson.wall.toFixed(2)} s`);
  const cMax = mix === 'bulk' ? 3 : 5;
  if (cw) target(mix, `text ≤ ${cMax}× the minimal C walker`, (text.wall / cw.wall).toFixed(1), '×', text.wall / cw.wall <= cMax, `C ${cw.wall.toFixed(2)} s`);
  const peak = Math.max(text.rssMiB, stdin.rssMiB, ndjson.rssMiB, ndjsonStdin.rssMiB);
  target(mix, 'peak RSS ≤ 200 MiB (text, ndjson, file, stdin)', peak.toFixed(0), ' MiB', peak <= 200, `text ${text.rssMiB.toFixed(0)}, ndjson ${ndjson.rssMiB.toFixed(0)} MiB`);
  target(mix, `peak RSS ${c.mb.toFixed(0)} MB / ${c.smallMb} MB capture ≤ 1.5×`, (text.rssMiB / small.rssMiB).toFixed(2), '×', text.rssMiB / small.rssMiB <= 1.5, `${text.rssMiB.toFixed(0)} / ${small.rssMiB.toFixed(0)} MiB`);
  target(mix, 'stdin ≤ 1.5× the file, text', (stdin.wall / text.wall).toFixed(2), '×', stdin.wall / text.wall <= 1.5, 'from a pipe the text report prints every problem as it is decided');
  target(mix, 'stdin ≤ 1.5× the file, ndjson (the same output both ways)', (ndjsonStdin.wall / ndjson.wall).toFixed(2), '×', ndjsonStdin.wall / ndjson.wall <= 1.5, '');
  if (mix === 'bulk') target(mix, '--version < 150 ms', (c.j.version.wall * 1000).toFixed(0), ' ms', c.j.version.wall < 0.15, '');
}
console.log('| mix | target | measured | | detail |');
console.log('|---|---|---|---|---|');
for (const t of targets) console.log(`| ${t.mix} | ${t.what} | ${t.value} | ${t.ok ? 'PASS' : 'FAIL'} | ${t.detail} |`);
console.log('');
// the floors under the speed targets, per mix: what Node itself takes to read the capture and keep a flow table
for (const [mix, c] of Object.entries(captures)) {
  const { text, nodeWalker, c: cw, tshark } = c.j;
  const goal = tshark ? tshark.wall / 20 : NaN; // 20× tshark's time
  if (cw) console.log(`${mix}: the C walker in JavaScript alone takes ${(nodeWalker.wall / cw.wall).toFixed(1)}× the C walker's time (${nodeWalker.wall.toFixed(2)} s against ${cw.wall.toFixed(2)} s)`);
  if (tshark) {
    console.log(`${mix}: 20× tshark is ${goal.toFixed(2)} s, ${(goal / nodeWalker.wall).toFixed(2)}× the JavaScript walker's time${goal < nodeWalker.wall ? ': below what Node takes to decode and count flows, before any analysis' : ''}`);
  }
  console.log(`${mix}: pcapdiag / the JavaScript walker: ${(text.wall / nodeWalker.wall).toFixed(1)}× (the cost of the analysis over decoding and a flow table)`);
  // under "≤ 3× / 5× the C walker": this capture's verdicts counted with the least work, data-oriented
  const { verdictFloor: vf } = c.j;
  const fc = c.floorCounts;
  const cMax = mix === 'bulk' ? 3 : 5;
  const x = cw ? vf.wall / cw.wall : NaN;
  const against = cw ? `, ${x.toFixed(1)}× the C walker (${x <= cMax ? `under the ${cMax}× target: not a floor that stops it` : `over the ${cMax}× target`})` : '';
  const counts = `${fc.records} records by pcapdiag, ${fc.floorRecords} by it, ${fc.same} with the same verdicts${fc.differ.length > 0 ? ` (pcapdiag / it: ${fc.differ.join(', ')})` : ''}`;
  console.log(`${mix}: counting this capture's verdicts alone, flow state in typed arrays (bench/verdict-floor.mjs), takes ${vf.wall.toFixed(2)} s${against}; pcapdiag takes ${(text.wall / vf.wall).toFixed(1)}× its time; ${counts}`);
  // the same with what the TCP rules these captures do not trigger read of every packet (sequence
  // space, turns, TTLs, windows): work every TCP packet takes whichever rule it ends in
  /** A floor's time against the C-walker target and 20× tshark, and pcapdiag's against it. */
  const stands = (wall) => {
    const x = cw ? wall / cw.wall : NaN;
    const overC = cw ? `, ${x.toFixed(1)}× the C walker (${x <= cMax ? `under the ${cMax}× target` : `over the ${cMax}× target: a floor that stops it`})` : '';
    const overT = tshark ? `; 20× tshark is ${goal.toFixed(2)} s (${wall > goal ? 'under this floor: it stops that target' : 'over this floor'})` : '';
    return `${wall.toFixed(2)} s${overC}${overT}; pcapdiag takes ${(text.wall / wall).toFixed(1)}× its time`;
  };
  console.log(`${mix}: with the facts the other TCP rules read of every packet (verdict-floor.mjs --facts) it takes ${stands(c.j.factsFloor.wall)}`);
  // and with what every flow keeps for the report whichever verdict it ends in (the deciding
  // packets, MACs, the name asked), the answers' addresses and the links and groups they make
  const { ev, differ, pairs, floorPairs, both, searchMisses, groups } = c.evidenceCounts;
  const made = `its verdicts ${differ.length === 0 ? "pcapdiag's" : `differ (pcapdiag / it): ${differ.join(', ')}`}; other-family links ${floorPairs}, pcapdiag ${pairs}, ${both} the same pairs of records; search-list misses ${ev.searchMisses} (pcapdiag ${searchMisses}); groups ${ev.groups} (${groups}); records shown ${ev.shown}`;
  console.log(`${mix}: with what the report shows and relates (verdict-floor.mjs --evidence) it takes ${stands(c.j.evidenceFloor.wall)}; ${made}`);
  // the floor under "ndjson ≤ 1.3× text": ndjson does all that text does, then describes and writes every record
  const { serialize: sf } = c;
  const share = sf.seconds / text.wall;
  const verdict = share > 0.3 ? 'more than the 0.3× of the text run the target leaves, before a record is described' : `${Math.round((share / 0.3) * 100)} % of the 0.3× of the text run the target leaves`;
  console.log(
    `${mix}: writing the ${sf.records} records alone (JSON.stringify, escaping, UTF-8 blocks: bench/serialize-floor.mjs${sf.differing > 0 ? `, ${sf.differing} lines came back different` : ''}) takes ${sf.seconds.toFixed(2)} s, ${share.toFixed(2)}× the text run (${text.wall.toFixed(2)} s): ${verdict}`,
  );
}
const bulk = captures.bulk;
if (bulk) {
  const { text, read, pipe, version, nodeStart } = bulk.j;
  const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
  console.log(`bulk: --version takes ${ms(version.wall)}: Node's own start-up (node -e 0, the floor under the 150 ms target) ${ms(nodeStart.wall)}, reading the version from package.json the other ${ms(version.wall - nodeStart.wall)}`);
  console.log(`bulk: pcapdiag / plain read: ${read.wall > 0 ? (text.wall / read.wall).toFixed(1) : '∞'}× the time of cat; the pipe alone takes ${(pipe.wall / text.wall).toFixed(2)}× the file's analysis`);
}
