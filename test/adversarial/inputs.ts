/** Small crafted captures for the adversarial suite, built from the test builders. */
import { gzipSync } from 'node:zlib';
import { dnsQuery } from './dns-msg.js';
import { ethernet, ipv4, ipv6, Ng, pcap, tcp, tcpFrame, udp, FLAGS, type Rec } from '../helpers/build.js';

export const CLIENT = '10.0.1.10';
export const SERVER = '10.0.2.20';

/** A refused connection: SYN, then RST+ACK. */
export function refused(port = 80, sec = 1): Buffer {
  return pcap([
    { sec, frac: 0, data: tcpFrame('c2s', { sport: 40000, dport: port, seq: 100, flags: FLAGS.SYN }) },
    { sec, frac: 1000, data: tcpFrame('s2c', { sport: port, dport: 40000, seq: 0, ack: 101, flags: FLAGS.RST | FLAGS.ACK }) },
  ]);
}

/** A DNS message over UDP from the client to the server's port 53 (or back). */
export function dnsUdp(msg: Buffer, dir: 'q' | 'r' = 'q', port = 5353): Buffer {
  const u = dir === 'q' ? udp(port, 53, msg) : udp(53, port, msg);
  const ip = dir === 'q' ? ipv4({ src: CLIENT, dst: SERVER, proto: 17 }, u) : ipv4({ src: SERVER, dst: CLIENT, proto: 17 }, u);
  return ethernet('00:01:d7:2a:10:01', '52:54:00:12:34:56', 0x0800, ip);
}

/** A gzip file made of one member per part (`cat a.gz b.gz`). */
export function multiGzip(data: Buffer, parts: number): Buffer {
  const step = Math.ceil(data.length / parts);
  const members: Buffer[] = [];
  for (let i = 0; i < data.length; i += step) members.push(gzipSync(data.subarray(i, i + step)));
  return Buffer.concat(members);
}

/**
 * DNS over TCP whose second message's first segment is missing from the capture; the segment
 * after the gap starts inside that message with bytes that read as a length prefix and a query
 * for `ghost.example.` (what a reader that takes them for a message boundary makes up).
 */
export function dnsTcpGap(): Buffer {
  const c = (o: Parameters<typeof tcp>[0], p?: Buffer) => tcpFrame('c2s', { ...o, dport: 53, sport: 41000 }, p);
  const s = (o: Parameters<typeof tcp>[0], p?: Buffer) => tcpFrame('s2c', { ...o, sport: 53, dport: 41000 }, p);
  const framed = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m]);
  const first = framed(dnsQuery(1, 'real.example'));
  const ghost = framed(dnsQuery(2, 'ghost.example'));
  const second = framed(Buffer.concat([dnsQuery(3, 'second.example'), ghost])); // the missing bytes are its first 10
  const lost = second.subarray(0, second.length - ghost.length);
  const after = second.subarray(second.length - ghost.length);
  let seq = 1001;
  const recs: Rec[] = [
    { sec: 1, frac: 0, data: c({ sport: 0, dport: 0, seq: 1000, flags: FLAGS.SYN }) },
    { sec: 1, frac: 100, data: s({ sport: 0, dport: 0, seq: 5000, ack: 1001, flags: FLAGS.SYN | FLAGS.ACK }) },
    { sec: 1, frac: 200, data: c({ sport: 0, dport: 0, seq: 1001, ack: 5001, flags: FLAGS.ACK }) },
    { sec: 1, frac: 300, data: c({ sport: 0, dport: 0, seq, ack: 5001, flags: FLAGS.ACK | FLAGS.PSH }, first) },
  ];
  seq += first.length + lost.length;
  recs.push({ sec: 1, frac: 500, data: c({ sport: 0, dport: 0, seq, ack: 5001, flags: FLAGS.ACK | FLAGS.PSH }, after) });
  return pcap(recs);
}

/** An IPv6 SYN between two addresses. */
export function syn6(src: Buffer, dst: Buffer, sport: number, sec: number, frac: number): Rec {
  return { sec, frac, data: ethernet('00:01:d7:2a:10:01', '52:54:00:12:34:56', 0x86dd, ipv6(src, dst, 6, tcp({ sport, dport: 443, seq: 1, flags: FLAGS.SYN }))) };
}

/**
 * fixtures/http-errors.pcap with hostile text put in place of equal-length text (so sequence
 * numbers still hold): the 404's path gets a C1 CSI, `]]>`, an RLO and a zero-width space (HTTP
 * text is read as Latin-1, so their UTF-8 bytes are C1 characters); its reason gets BEL, U+0080,
 * `]]>` and an isolate; the 503's Server header ESC and BEL.
 */
export function hostileHttp(fixture: Buffer): Buffer {
  const swap = (b: Buffer, from: string, to: Buffer): Buffer => {
    const f = Buffer.from(from, 'latin1');
    if (to.length !== f.length) throw new Error(`${from}: ${to.length} bytes for ${f.length}`);
    for (let i = b.indexOf(f); i >= 0; i = b.indexOf(f, i + 1)) to.copy(b, i);
    return b;
  };
  const b = Buffer.from(fixture);
  swap(b, '/missing.html', Buffer.from('/\u009b]]>\u202e\u200bx', 'utf8'));
  swap(b, 'File not found', Buffer.from('\u0007\u0080]]>\u2066abcde', 'utf8'));
  swap(b, 'nginx/1.22.1', Buffer.from('\u001b]0;pwn\u0007zzzz', 'utf8'));
  return b;
}

/** fixtures/tls-self-signed.pcap with the certificate's CN (a UTF8String) turned into RLO, ZWSP and `x.examplea`. */
export function hostileCert(fixture: Buffer): Buffer {
  const b = Buffer.from(fixture);
  const from = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 16, ...Buffer.from('www.example.test')]);
  const to = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 16, ...Buffer.from('\u202e\u200bx.examplea', 'utf8')]);
  for (let i = b.indexOf(from); i >= 0; i = b.indexOf(from, i + 1)) to.copy(b, i);
  return b;
}

/**
 * A pcapng of `n` SYNs from distinct clients, 1 ms apart: the first on an ordinary interface (so
 * times are measured from 2023), the others on an interface with these IDB options.
 */
export function synFloodNg(n: number, idb: { tsresol?: number; tsoffset?: number }, ticks0 = 1_700_000_000_000_000n, step = 1000n): Buffer {
  const ng = new Ng();
  const parts = [ng.shb(), ng.idb(1), ng.idb(1, idb)];
  for (let i = 0; i < n; i++) {
    const client = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const frame = tcpFrame('c2s', { sport: 40000, dport: 443, seq: i, flags: FLAGS.SYN }, undefined, client);
    parts.push(i === 0 ? ng.epb(0, 1_700_000_000_000_000n, frame) : ng.epb(1, ticks0 + BigInt(i) * step, frame));
  }
  return Buffer.concat(parts);
}

export { Ng, pcap, tcpFrame, FLAGS };
