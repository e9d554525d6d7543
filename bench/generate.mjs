#!/usr/bin/env node
// Writes a deterministic, realistic synthetic capture: Ethernet, IPv4 and IPv6, many concurrent
// TCP connections with mixed outcomes (ok with bulk data, refused, timeout, mid-stream reset),
// DNS over UDP (answers, NXDOMAIN, SERVFAIL, no response) and ICMP port unreachables.
// With --mix dense, flow-dense traffic as a client, proxy or resolver capture sees it: short
// HTTP/TLS connections of 5-10 packets, most after a DNS lookup (A, often AAAA too) of one of
// 4,000 names, over IPv4 and IPv6, with realistic failure shares, ~40 s of capture per 100 MB.
// Usage: node bench/generate.mjs OUT.pcap [SIZE_MB=1024] [--mix bulk|dense]
//        node bench/generate.mjs - --duration SECONDS --rate PACKETS_PER_SEC   (a stream to stdout,
//        paced in capture time; prints "progress N" on stderr at 10 %, 50 % and 100 %)
import { openSync, writeSync, closeSync } from 'node:fs';

const out = process.argv[2];
const opt = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : null;
};
const durationUs = opt('--duration') === null ? null : opt('--duration') * 1e6;
const rate = opt('--rate');
const mixAt = process.argv.indexOf('--mix');
const mix = mixAt > 0 ? process.argv[mixAt + 1] : 'bulk';
const targetBytes = durationUs === null ? Number(process.argv[3] ?? 1024) * 1e6 : Infinity;
if (mix !== 'bulk' && mix !== 'dense') {
  console.error(`generate: --mix is bulk or dense, not '${mix}'`);
  process.exit(2);
}
if (!out || (durationUs !== null && !rate)) {
  console.error('usage: node bench/generate.mjs OUT.pcap [SIZE_MB]  |  node bench/generate.mjs - --duration S --rate PPS');
  process.exit(2);
}

let seed = 0x9e3779b9;
function rand() {
  // mulberry32: deterministic
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rand() * n);

const CHUNK = 8 << 20;
const buf = Buffer.alloc(CHUNK);
const dv = new DataView(buf.buffer);
let pos = 0;
let written = 0;
const fd = out === '-' ? 1 : openSync(out, 'w');
function flush() {
  let off = 0;
  while (off < pos) {
    try {
      off += writeSync(fd, buf, off, pos - off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
  written += pos;
  pos = 0;
}

// global header: µs, little-endian, Ethernet
buf.writeUInt32LE(0xa1b2c3d4, 0);
buf.writeUInt16LE(2, 4);
buf.writeUInt16LE(4, 6);
buf.writeUInt32LE(262144, 16);
buf.writeUInt32LE(1, 20);
pos = 24;

const CLIENT_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const GW_MAC = [0x00, 0x01, 0xd7, 0x2a, 0x10, 0x01];
const T0 = 1763780000;

/** One packet: ts in µs since T0; a = client (index), s = server; dir 0 c2s / 1 s2c. */
function packet(tsUs, v6, cHost, sHost, cPort, sPort, dir, proto, flags, seq, ack, payloadLen, payloadWriter, ttl) {
  const l4Len = proto === 6 ? 20 : 8;
  const ipLen = (v6 ? 40 : 20) + l4Len + payloadLen;
  const frameLen = 14 + ipLen;
  if (pos + 16 + frameLen > CHUNK) flush();
  const sec = T0 + Math.floor(tsUs / 1e6);
  dv.setUint32(pos, sec, true);
  dv.setUint32(pos + 4, tsUs % 1e6, true);
  dv.setUint32(pos + 8, frameLen, true);
  dv.setUint32(pos + 12, frameLen, true);
  let o = pos + 16;
  const [dmac, smac] = dir === 0 ? [GW_MAC, CLIENT_MAC] : [CLIENT_MAC, GW_MAC];
  for (let i = 0; i < 6; i++) {
    buf[o + i] = dmac[i];
    buf[o + 6 + i] = smac[i];
  }
  dv.setUint16(o + 12, v6 ? 0x86dd : 0x0800);
  o += 14;
  const src = dir === 0 ? cHost : sHost,
    dst = dir === 0 ? sHost : cHost;
  if (v6) {
    dv.setUint32(o, 0x60000000);
    dv.setUint16(o + 4, ipLen - 40);
    buf[o + 6] = proto;
    buf[o + 7] = ttl;
    const srcNet = dir === 0 ? 0xfd000001 : 0xfd000002,
      dstNet = dir === 0 ? 0xfd000002 : 0xfd000001; // clients fd00:1::/64, servers fd00:2::/64
    dv.setUint32(o + 8, srcNet);
    dv.setUint32(o + 12, 0);
    dv.setUint32(o + 16, 0);
    dv.setUint32(o + 20, src);
    dv.setUint32(o + 24, dstNet);
    dv.setUint32(o + 28, 0);
    dv.setUint32(o + 32, 0);
    dv.setUint32(o + 36, dst);
    o += 40;
  } else {
    buf[o] = 0x45;
    buf[o + 1] = 0;
    dv.setUint16(o + 2, ipLen);
    dv.setUint32(o + 4, 0x40000000);
    buf[o + 8] = ttl;
    buf[o + 9] = proto;
    dv.setUint16(o + 10, 0);
    dv.setUint32(o + 12, src);
    dv.setUint32(o + 16, dst);
    o += 20;
  }
  const sp = dir === 0 ? cPort : sPort,
    dp = dir === 0 ? sPort : cPort;
  dv.setUint16(o, sp);
  dv.setUint16(o + 2, dp);
  if (proto === 6) {
    dv.setUint32(o + 4, seq >>> 0);
    dv.setUint32(o + 8, ack >>> 0);
    buf[o + 12] = 0x50;
    buf[o + 13] = flags;
    dv.setUint16(o + 14, 64240);
    dv.setUint32(o + 16, 0);
    o += 20;
  } else {
    dv.setUint16(o + 4, 8 + payloadLen);
    dv.setUint16(o + 6, 0);
    o += 8;
  }
  if (payloadWriter) payloadWriter(o);
  else buf.fill(0x61, o, o + payloadLen);
  // checksums as a sending stack writes them (a capture taken off the hosts, e.g. on a mirror port)
  const ipOff = pos + 30,
    l4Off = ipOff + (v6 ? 40 : 20);
  if (!v6) dv.setUint16(ipOff + 10, ~onesSum(ipOff, l4Off, 0) & 0xffff);
  const pseudo = onesSum(ipOff + (v6 ? 8 : 12), l4Off, proto + l4Len + payloadLen); // both addresses
  dv.setUint16(l4Off + (proto === 6 ? 16 : 6), ~onesSum(l4Off, l4Off + l4Len + payloadLen, pseudo) & 0xffff || 0xffff);
  pos += 16 + frameLen;
}

/** RFC 1071 one's-complement sum of buf[from, to) (big-endian 16-bit words) plus `sum`, folded. */
function onesSum(from, to, sum) {
  let s = sum;
  let i = from;
  for (; i + 1 < to; i += 2) s += (buf[i] << 8) | buf[i + 1];
  if (i < to) s += buf[i] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

const SYN = 2,
  ACK = 16,
  FIN = 1,
  RST = 4,
  PSH = 8;

/** A session is a list of packet thunks at relative times (µs). */
function tcpSession(kind) {
  const v6 = rand() < 0.1;
  const c = v6 ? 0x10 + ri(200) : (0x0a000100 | ri(250)) >>> 0;
  const s = v6 ? 0x20 + ri(50) : (0x0a000200 | ri(50)) >>> 0;
  const cp = 20000 + ri(40000),
    sp = [80, 443, 8080, 5432, 22][ri(5)];
  const isn = ri(2 ** 32),
    sisn = ri(2 ** 32);
  const rtt = 200 + ri(30000);
  const P = [];
  const add = (t, dir, flags, seq, ack, len, ttl) => P.push([t, (ts) => packet(ts, v6, c, s, cp, sp, dir, 6, flags, seq, ack, len, null, ttl)]);
  const sTtl = 64 - 1 - ri(10);
  if (kind === 'timeout') {
    add(0, 0, SYN, isn, 0, 0, 64);
    add(1e6, 0, SYN, isn, 0, 0, 64);
    add(3e6, 0, SYN, isn, 0, 0, 64);
    return P;
  }
  add(0, 0, SYN, isn, 0, 0, 64);
  if (kind === 'refused') {
    add(rtt, 1, RST | ACK, 0, isn + 1, 0, sTtl);
    return P;
  }
  add(rtt, 1, SYN | ACK, sisn, isn + 1, 0, sTtl);
  let t = rtt + 50;
  add(t, 0, ACK, isn + 1, sisn + 1, 0, 64);
  const req = 200 + ri(600);
  add(t + 20, 0, ACK | PSH, isn + 1, sisn + 1, req, 64);
  let sseq = sisn + 1;
  const segs = 1 + ri(kind === 'bulk' ? 200 : 20);
  t += rtt;
  for (let i = 0; i < segs; i++) {
    const len = i === segs - 1 ? 1 + ri(1448) : 1448;
    add(t, 1, ACK, sseq, isn + 1 + req, len, sTtl);
    sseq += len;
    if (i % 2 === 1) add(t + rtt, 0, ACK, isn + 1 + req, sseq, 0, 64);
    t += 15;
    if (kind === 'reset' && i === segs >> 1) {
      add(t + 1e6, 1, RST | ACK, sseq, isn + 1 + req, 0, sTtl);
      return P;
    }
  }
  add(t + 10, 1, FIN | ACK, sseq, isn + 1 + req, 0, sTtl);
  add(t + rtt, 0, FIN | ACK, isn + 1 + req, sseq + 1, 0, 64);
  add(t + 2 * rtt, 1, ACK, sseq + 1, isn + 2 + req, 0, sTtl);
  return P;
}

const NAME = Buffer.from([3, 0x77, 0x77, 0x77, 7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 4, 0x74, 0x65, 0x73, 0x74, 0]);
function dnsSession() {
  const c = (0x0a000100 | ri(250)) >>> 0,
    s = 0x0a000235;
  const cp = 20000 + ri(40000),
    id = ri(65536);
  const r = rand();
  const rcode = r < 0.8 ? 0 : r < 0.9 ? 3 : 2;
  const answered = rand() > 0.05;
  const msg = (resp) => (o) => {
    dv.setUint16(o, id);
    dv.setUint16(o + 2, resp ? 0x8180 | rcode : 0x0100);
    dv.setUint16(o + 4, 1);
    dv.setUint16(o + 6, resp && rcode === 0 ? 1 : 0);
    dv.setUint32(o + 8, 0);
    NAME.copy(buf, o + 12);
    dv.setUint16(o + 30, 1);
    dv.setUint16(o + 32, 1);
    if (resp && rcode === 0) {
      dv.setUint16(o + 34, 0xc00c);
      dv.setUint16(o + 36, 1);
      dv.setUint16(o + 38, 1);
      dv.setUint32(o + 40, 300);
      dv.setUint16(o + 44, 4);
      dv.setUint32(o + 46, 0x0a000214);
    }
  };
  const P = [[0, (ts) => packet(ts, false, c, s, cp, 53, 0, 17, 0, 0, 0, 34, msg(false), 64)]];
  if (answered) P.push([300 + ri(5000), (ts) => packet(ts, false, c, s, cp, 53, 1, 17, 0, 0, 0, rcode === 0 ? 50 : 34, msg(true), 63)]);
  return P;
}

/** DNS name of service n: svcN.dept.example.test, as labels. */
function serviceName(n) {
  const labels = [`svc${n}`, ['web', 'api', 'db', 'cdn', 'auth'][n % 5], 'example', 'test'];
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
}
const NAMES = 4000;
const serviceV4 = (n) => (0x0a020000 | ((n >> 8) << 8) | (n & 0xff)) >>> 0; // 10.2.x.y
const serviceV6 = (n) => 0x1000 + n; // fd00:2::1000+n

/** A DNS lookup of service n by client c (IPv4 to the resolver): [packets, answered with an address]. */
function denseLookup(c, n, qtype, at) {
  const name = serviceName(n);
  const cp = 20000 + ri(40000),
    id = ri(65536);
  const r = rand();
  const rcode = r < 0.9 ? 0 : r < 0.95 ? 3 : r < 0.97 ? 2 : 5;
  const answered = rand() > 0.03;
  const nodata = qtype === 28 && rand() < 0.3;
  const answers = rcode === 0 && !nodata ? 1 : 0;
  const rdLen = qtype === 28 ? 16 : 4;
  const qLen = 12 + name.length + 4;
  const msg = (resp) => (o) => {
    dv.setUint16(o, id);
    dv.setUint16(o + 2, resp ? 0x8180 | rcode : 0x0100);
    dv.setUint16(o + 4, 1);
    dv.setUint16(o + 6, resp ? answers : 0);
    dv.setUint32(o + 8, 0);
    name.copy(buf, o + 12);
    let q = o + 12 + name.length;
    dv.setUint16(q, qtype);
    dv.setUint16(q + 2, 1);
    q += 4;
    if (resp && answers > 0) {
      dv.setUint16(q, 0xc00c);
      dv.setUint16(q + 2, qtype);
      dv.setUint16(q + 4, 1);
      dv.setUint32(q + 6, 300);
      dv.setUint16(q + 10, rdLen);
      if (qtype === 28) {
        dv.setUint32(q + 12, 0xfd000002);
        dv.setUint32(q + 16, 0);
        dv.setUint32(q + 20, 0);
        dv.setUint32(q + 24, serviceV6(n));
      } else dv.setUint32(q + 12, serviceV4(n));
    }
  };
  const P = [[at, (ts) => packet(ts, false, c, 0x0a000235, cp, 53, 0, 17, 0, 0, 0, qLen, msg(false), 64)]];
  const rtt = 300 + ri(3000);
  if (answered) P.push([at + rtt, (ts) => packet(ts, false, c, 0x0a000235, cp, 53, 1, 17, 0, 0, 0, qLen + (answers > 0 ? 12 + rdLen : 0), msg(true), 63)]);
  return { P, ok: answered && answers > 0, done: at + rtt };
}

/** A dense session: a lookup (A, often AAAA too), then a short HTTP or TLS connection. */
function denseSession() {
  const c = (0x0a000100 | ri(250)) >>> 0;
  const n = ri(NAMES);
  const P = [];
  let at = 0;
  let v6 = false;
  if (rand() < 0.85) {
    const a = denseLookup(c, n, 1, 0);
    P.push(...a.P);
    let ok = a.ok;
    at = a.done;
    if (rand() < 0.6) {
      const aaaa = denseLookup(c, n, 28, 100);
      P.push(...aaaa.P);
      v6 = aaaa.ok && rand() < 0.4;
      ok ||= aaaa.ok;
      at = Math.max(at, aaaa.done);
    }
    if (!ok) return P;
    at += 50;
  }
  const s = v6 ? serviceV6(n) : serviceV4(n);
  const cHost = v6 ? 0x10 + (c & 0xff) : c;
  const cp = 20000 + ri(40000),
    sp = rand() < 0.7 ? 443 : 80;
  const isn = ri(2 ** 32),
    sisn = ri(2 ** 32);
  const rtt = 200 + ri(20000);
  const sTtl = 64 - 1 - ri(10);
  const add = (t, dir, flags, seq, ack, len, ttl) => P.push([at + t, (ts) => packet(ts, v6, cHost, s, cp, sp, dir, 6, flags, seq, ack, len, null, ttl)]);
  const r = rand();
  add(0, 0, SYN, isn, 0, 0, 64);
  if (r < 0.01) {
    add(1e6, 0, SYN, isn, 0, 0, 64);
    add(3e6, 0, SYN, isn, 0, 0, 64);
    return P;
  } // timeout
  if (r < 0.04) {
    add(rtt, 1, RST | ACK, 0, isn + 1, 0, sTtl);
    return P;
  } // refused
  add(rtt, 1, SYN | ACK, sisn, isn + 1, 0, sTtl);
  add(rtt + 40, 0, ACK, isn + 1, sisn + 1, 0, 64);
  const req = 150 + ri(400);
  add(rtt + 60, 0, ACK | PSH, isn + 1, sisn + 1, req, 64);
  const resp = 200 + ri(2500);
  let t = 2 * rtt + 60 + ri(5000);
  if (r < 0.05) {
    add(t + 1e6, 1, RST | ACK, sisn + 1, isn + 1 + req, 0, sTtl);
    return P;
  } // reset before the answer
  add(t, 1, ACK | PSH, sisn + 1, isn + 1 + req, Math.min(resp, 1448), sTtl);
  let sseq = sisn + 1 + Math.min(resp, 1448);
  if (resp > 1448) {
    add(t + 15, 1, ACK | PSH, sseq, isn + 1 + req, resp - 1448, sTtl);
    sseq += resp - 1448;
  }
  t += rtt;
  add(t, 0, FIN | ACK, isn + 1 + req, sseq, 0, 64);
  add(t + rtt, 1, FIN | ACK, sseq, isn + 2 + req, 0, sTtl);
  add(t + 2 * rtt, 0, ACK, isn + 2 + req, sseq + 1, 0, 64);
  return P;
}

// Merge concurrent sessions by time with a binary heap of [nextTime, session, index].
const heap = [];
const push = (e) => {
  heap.push(e);
  let i = heap.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (heap[p][0] <= heap[i][0]) break;
    [heap[p], heap[i]] = [heap[i], heap[p]];
    i = p;
  }
};
const pop = () => {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      let m = i;
      if (l < heap.length && heap[l][0] < heap[m][0]) m = l;
      if (r < heap.length && heap[r][0] < heap[m][0]) m = r;
      if (m === i) break;
      [heap[m], heap[i]] = [heap[i], heap[m]];
      i = m;
    }
  }
  return top;
};

let clock = 0;
let packets = 0;
let nextStart = 0;
// --rate: the gap between session starts is scaled so that packets / capture time stays at the rate
let gapScale = 1;
const marks = [0.1, 0.5];
while (durationUs === null ? written + pos < targetBytes : clock < durationUs) {
  while (nextStart <= clock || heap.length === 0) {
    const r = mix === 'dense' ? 0 : rand();
    const sess = mix === 'dense' ? denseSession() : r < 0.6 ? tcpSession('ok') : r < 0.65 ? tcpSession('bulk') : r < 0.7 ? tcpSession('refused') : r < 0.72 ? tcpSession('timeout') : r < 0.74 ? tcpSession('reset') : dnsSession();
    sess.sort((a, b) => a[0] - b[0]);
    push([nextStart + sess[0][0], sess, 0, nextStart]);
    nextStart += Math.round((mix === 'dense' ? 200 + ri(1600) : 50 + ri(2000)) * gapScale);
  }
  const [t, sess, i, start] = pop();
  clock = t;
  sess[i][1](Math.round(t));
  packets++;
  if (i + 1 < sess.length) push([start + sess[i + 1][0], sess, i + 1, start]);
  if (rate !== null && packets % 10000 === 0 && clock > 1e6) {
    gapScale *= Math.min(1.5, Math.max(0.67, packets / (clock / 1e6) / rate));
    if (marks.length > 0 && clock >= marks[0] * durationUs) {
      flush();
      console.error(`progress ${Math.round(marks.shift() * 100)} ${packets}`);
    }
  }
}
flush();
if (fd !== 1) closeSync(fd);
if (durationUs !== null) console.error(`progress 100 ${packets}`);
console.error(`wrote ${out}: ${packets} packets, ${(written / 1e6).toFixed(1)} MB, ${(clock / 1e6).toFixed(0)} s of capture time`);
