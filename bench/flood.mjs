#!/usr/bin/env node
// Memory under attack: writes two captures and reports pcapdiag's peak RSS on each (GNU time):
//   syn-flood: 1 M SYNs from 1 M distinct sources to one server, at 20 k/s, never answered;
//   dns-flood: 1 M DNS queries from distinct ports and ids, at 20 k/s, never answered;
//   udp-flood: 1 M UDP datagrams to port 443 (QUIC-like), each a new flow, at 20 k/s, never
//     answered: no records, but --max-flows flows held for --udp-idle (60 s).
// --rate R sends R packets per capture second instead (1000000: 600 k SYNs in 0.6 s, all of them
// in flight at once, since none is older than the SYN timeout before the capture ends);
// --syn-only skips the DNS flood; --bin B measures another build (e.g. main's bin/pcapdiag.js).
// Usage: npm run bench -- --flood [--count N] [--rate R] [--syn-only] [--bin B]
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const count = Number(arg('--count', '1000000'));
const rate = Number(arg('--rate', '20000'));
const synOnly = process.argv.includes('--syn-only');
const bin = arg('--bin', join(here, '..', 'bin', 'pcapdiag.js'));
const outDir = join(here, 'out');
mkdirSync(outDir, { recursive: true });

function write(file, frame) {
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(8 << 20);
  let pos = 24;
  buf.writeUInt32LE(0xa1b2c3d4, 0);
  buf.writeUInt16LE(2, 4);
  buf.writeUInt16LE(4, 6);
  buf.writeUInt32LE(65535, 16);
  buf.writeUInt32LE(1, 20);
  for (let i = 0; i < count; i++) {
    if (pos + 200 > buf.length) {
      writeSync(fd, buf, 0, pos);
      pos = 0;
    }
    const us = Math.floor((i * 1e6) / rate); // 20 k packets/s unless --rate
    const len = frame(buf, pos + 16, i);
    buf.writeUInt32LE(1763780000 + Math.floor(us / 1e6), pos);
    buf.writeUInt32LE(us % 1e6, pos + 4);
    buf.writeUInt32LE(len, pos + 8);
    buf.writeUInt32LE(len, pos + 12);
    pos += 16 + len;
  }
  writeSync(fd, buf, 0, pos);
  closeSync(fd);
}

function eth(b, o) {
  b.writeUIntBE(0x0001d72a1001, o, 6);
  b.writeUIntBE(0x525400123456, o + 6, 6);
  b.writeUInt16BE(0x0800, o + 12);
}
function ip(b, o, src, dst, proto, len) {
  b[o] = 0x45;
  b[o + 1] = 0;
  b.writeUInt16BE(len, o + 2);
  b.writeUInt32BE(0, o + 4);
  b[o + 8] = 64;
  b[o + 9] = proto;
  b.writeUInt16BE(0, o + 10);
  b.writeUInt32BE(src >>> 0, o + 12);
  b.writeUInt32BE(dst >>> 0, o + 16);
}
const synFlood = join(outDir, `syn-flood-${count}-${rate}.pcap`);
write(synFlood, (b, o, i) => {
  eth(b, o);
  ip(b, o + 14, 0x0b000000 + i, 0x0a000214, 6, 40);
  const t = o + 34;
  b.writeUInt16BE(1024 + (i % 60000), t);
  b.writeUInt16BE(80, t + 2);
  b.writeUInt32BE((i * 7919) >>> 0, t + 4);
  b.writeUInt32BE(0, t + 8);
  b[t + 12] = 0x50;
  b[t + 13] = 0x02;
  b.writeUInt16BE(64240, t + 14);
  b.writeUInt32BE(0, t + 16);
  return 54;
});
const name = Buffer.from([3, 0x77, 0x77, 0x77, 7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 4, 0x74, 0x65, 0x73, 0x74, 0]);
const dnsFlood = join(outDir, `dns-flood-${count}-${rate}.pcap`);
if (!synOnly)
  write(dnsFlood, (b, o, i) => {
    eth(b, o);
    ip(b, o + 14, 0x0a000100 + (i % 250), 0x0a000235, 17, 20 + 8 + 34);
    const u = o + 34;
    b.writeUInt16BE(1024 + (i % 64000), u);
    b.writeUInt16BE(53, u + 2);
    b.writeUInt16BE(8 + 34, u + 4);
    b.writeUInt16BE(0, u + 6);
    const d = u + 8;
    b.writeUInt16BE(i & 0xffff, d);
    b.writeUInt16BE(0x0100, d + 2);
    b.writeUInt16BE(1, d + 4);
    b.writeUInt32BE(0, d + 6);
    b.writeUInt16BE(0, d + 10);
    name.copy(b, d + 12);
    b.writeUInt16BE(1, d + 30);
    b.writeUInt16BE(1, d + 32);
    return 14 + 20 + 8 + 34;
  });
const udpFlood = join(outDir, `udp-flood-${count}-${rate}.pcap`);
if (!synOnly)
  write(udpFlood, (b, o, i) => {
    eth(b, o);
    ip(b, o + 14, 0x0b000000 + i, 0x0a000214, 17, 20 + 8 + 100);
    const u = o + 34;
    b.writeUInt16BE(1024 + (i % 60000), u);
    b.writeUInt16BE(443, u + 2);
    b.writeUInt16BE(8 + 100, u + 4);
    b.writeUInt16BE(0, u + 6);
    b.fill(0x41, u + 8, u + 108);
    return 14 + 20 + 8 + 100;
  });

console.log(`\n| capture (${count} packets, ${rate / 1000} k/s, none answered) | wall | peak RSS | records | not tracked |`);
console.log('|---|---|---|---|---|');
for (const [label, file, extra] of [
  ['SYN flood, distinct sources', synFlood, []],
  ['DNS queries, never answered', dnsFlood, []],
  ['SYN flood, --max-flows 100000', synFlood, ['--max-flows', '100000']],
  ['UDP datagrams, each a new flow', udpFlood, []],
]) {
  if (synOnly && (file === dnsFlood || file === udpFlood)) continue;
  const r = spawnSync('sh', ['-c', `/usr/bin/time -f '%e %M' '${process.execPath}' '${bin}' -f ndjson --quiet ${extra.join(' ')} '${file}' | tail -1`], { encoding: 'utf8' });
  const [wall, kb] = r.stderr.trim().split('\n').pop().split(' ');
  const summary = JSON.parse(r.stdout); // ndjson's last line: records stream out and are not kept
  const records = Object.values(summary.verdicts).reduce((a, b) => a + b, 0);
  console.log(`| ${label} | ${Number(wall).toFixed(1)} s | ${(Number(kb) / 1024).toFixed(0)} MiB | ${records} | ${summary.stats.flowsNotTracked} |`);
}
