#!/usr/bin/env node
// What Node itself allows, for the benchmark: bench/c-walker.c written in JavaScript, line for
// line. fs.readSync into one reused 64 KiB buffer with compaction; Ethernet (+802.1Q), IPv4/IPv6,
// TCP/UDP ports; an open-addressing table of 5-tuples in typed arrays counting packets per flow.
// No verdicts, no output but the totals, nothing allocated per packet. Classic little-endian pcap
// only (what bench/generate.mjs writes). The gap between this and the C walker is the cost of the
// language and runtime; the gap between this and pcapdiag is the cost of the analysis.
// Usage: node bench/node-walker.mjs FILE.pcap
import { openSync, readSync } from 'node:fs';

const BUF = 64 * 1024;
const SLOTS = 1 << 20;
const MASK = SLOTS - 1;
// a flow: version, proto, both ports, eight address words, packet count
const used = new Uint8Array(SLOTS);
const meta = new Int32Array(SLOTS * 3); // ver | proto << 8, pa | pb << 16, packets
const addrs = new Int32Array(SLOTS * 8);
let flows = 0;

const buf = Buffer.allocUnsafe(BUF);
const key = new Int32Array(8); // the packet's two addresses, in canonical order

function mix(h, x) {
  return Math.imul(h ^ x, 16777619);
}

/** Addresses of one side at `off` (4 or 16 bytes) into key[at..at+4). */
function loadAddr(off, n, at) {
  key[at] = buf.readInt32BE(off);
  if (n === 16) {
    key[at + 1] = buf.readInt32BE(off + 4);
    key[at + 2] = buf.readInt32BE(off + 8);
    key[at + 3] = buf.readInt32BE(off + 12);
  } else key[at + 1] = key[at + 2] = key[at + 3] = 0;
}

/** Lexicographic order of the two loaded addresses (unsigned words). */
function compareAddrs() {
  for (let i = 0; i < 4; i++) {
    const a = key[i] >>> 0,
      b = key[4 + i] >>> 0;
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
}

function account(ver, proto, sOff, dOff, sp, dp) {
  const n = ver === 4 ? 4 : 16;
  loadAddr(sOff, n, 0);
  loadAddr(dOff, n, 4);
  const cmp = compareAddrs();
  const swap = cmp > 0 || (cmp === 0 && sp > dp);
  const a = swap ? 4 : 0,
    b = swap ? 0 : 4;
  const pa = swap ? dp : sp,
    pb = swap ? sp : dp;
  let h = -2128831035;
  for (let i = 0; i < 4; i++) h = mix(h, key[a + i]);
  for (let i = 0; i < 4; i++) h = mix(h, key[b + i]);
  h = mix(h, pa);
  h = mix(h, pb ^ (proto << 16));
  const vp = ver | (proto << 8),
    ports = pa | (pb << 16);
  for (let i = h & MASK; ; i = (i + 1) & MASK) {
    if (used[i] === 0) {
      used[i] = 1;
      meta[i * 3] = vp;
      meta[i * 3 + 1] = ports;
      meta[i * 3 + 2] = 1;
      for (let j = 0; j < 4; j++) {
        addrs[i * 8 + j] = key[a + j];
        addrs[i * 8 + 4 + j] = key[b + j];
      }
      flows++;
      return;
    }
    if (meta[i * 3] === vp && meta[i * 3 + 1] === ports && sameAddrs(i, a, b)) {
      meta[i * 3 + 2]++;
      return;
    }
  }
}

function sameAddrs(i, a, b) {
  for (let j = 0; j < 4; j++) if (addrs[i * 8 + j] !== key[a + j] || addrs[i * 8 + 4 + j] !== key[b + j]) return false;
  return true;
}

function packet(p, len) {
  if (len < 14) return;
  let type = buf.readUInt16BE(p + 12);
  let off = 14;
  while ((type === 0x8100 || type === 0x88a8) && off + 4 <= len) {
    type = buf.readUInt16BE(p + off + 2);
    off += 4;
  }
  if (type === 0x0800 && off + 20 <= len) {
    const ip = p + off;
    const ihl = (buf[ip] & 15) * 4;
    if ((buf.readUInt16BE(ip + 6) & 0x1fff) !== 0 || off + ihl + 4 > len) return;
    const proto = buf[ip + 9];
    if (proto === 6 || proto === 17) account(4, proto, ip + 12, ip + 16, buf.readUInt16BE(ip + ihl), buf.readUInt16BE(ip + ihl + 2));
  } else if (type === 0x86dd && off + 44 <= len) {
    const ip = p + off;
    const proto = buf[ip + 6];
    if (proto === 6 || proto === 17) account(6, proto, ip + 8, ip + 24, buf.readUInt16BE(ip + 40), buf.readUInt16BE(ip + 42));
  }
}

const fd = openSync(process.argv[2], 'r');
let have = 0,
  pos = 0,
  packets = 0,
  header = true;
for (;;) {
  if (pos > 0) {
    buf.copyWithin(0, pos, have);
    have -= pos;
    pos = 0;
  }
  const n = readSync(fd, buf, have, BUF - have, null);
  if (n <= 0) break;
  have += n;
  if (header) {
    if (have < 24) continue;
    pos = 24;
    header = false;
  }
  while (have - pos >= 16) {
    const incl = buf.readUInt32LE(pos + 8);
    if (incl > BUF - 16) {
      console.error('record too large');
      process.exit(1);
    }
    if (have - pos < 16 + incl) break;
    packet(pos + 16, incl);
    packets++;
    pos += 16 + incl;
  }
}
console.log(`${packets} packets, ${flows} flows`);
