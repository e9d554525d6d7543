import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openCapture } from '../src/capture/source.js';
import { forEachRecord } from '../src/capture/reader.js';
import { PacketDecoder } from '../src/decode/decode.js';
import { DecodedPacket, L4 } from '../src/decode/packet.js';
import { DnsHeader, parseDnsHeader, readAnswers } from '../src/decode/dns.js';
import { looksLikeTls, parseClientHello, parseServerHello, tlsAlert, tlsCertificates, tlsHandshakeAt, tlsRecordAt, TLS_NEED_MORE, TLS_NOT_TLS } from '../src/decode/tls.js';
import { httpHeadEnd, httpLineEnd, looksLikeHttpRequest, looksLikeHttpResponse, parseRequestLine, parseStatusLine, serverHeader } from '../src/decode/http.js';
import { CertChecks, certInfo, CERT_LIMITS } from '../src/decode/x509.js';
import { absurdRsaCert } from './adversarial/certs.js';
import { defined, FIXTURES } from './helpers/run.js';
import { u16 } from './helpers/build.js';

/**
 * The decode layer's application parsers (TLS, HTTP, X.509, DNS answers) in the smoltcp shape:
 * one valid message with every field checked, then every prefix (never throws, never claims
 * more than it has), each run at a non-zero offset inside a larger buffer whose other bytes
 * change (a parser that reads outside [off, end) gives a different answer).
 */

/** Runs fn over `bytes` placed at offset 11 of buffers with different bytes around it; all results must agree, and are returned. */
function inBuffers<T>(bytes: Buffer, fn: (b: Buffer, off: number, end: number) => T): T {
  let first: T | undefined;
  for (const fill of [0x00, 0xff, 0x16, 0x03]) {
    const b = Buffer.concat([Buffer.alloc(11, fill), bytes, Buffer.alloc(40, fill)]);
    const r = fn(b, 11, 11 + bytes.length);
    if (first === undefined) first = r;
    else expect(r, `fill 0x${fill.toString(16)}`).toEqual(first);
  }
  return first as T;
}

/** Every prefix of `bytes` through fn, in buffers with different surroundings (inBuffers). */
function everyPrefix<T>(bytes: Buffer, fn: (b: Buffer, off: number, end: number) => T): T[] {
  const out: T[] = [];
  for (let n = 0; n <= bytes.length; n++) out.push(inBuffers(bytes.subarray(0, n), fn));
  return out;
}

/** The first TCP connection of a fixture: each direction's payload in sequence order (retransmissions dropped). */
async function tcpStreams(name: string): Promise<[Buffer, Buffer]> {
  const decoder = new PacketDecoder();
  const pkt = new DecodedPacket();
  const parts: Buffer[][] = [[], []];
  const next = [-1, -1];
  let server = -1;
  const src = await openCapture(join(FIXTURES, name));
  try {
    await forEachRecord(src, (rec) => {
      decoder.decode(rec, pkt);
      if (pkt.l4 !== L4.Tcp) return;
      if (server < 0 && (pkt.tcpFlags & 0x12) === 0x02) server = pkt.dstPort;
      if (server < 0 || pkt.payloadLen === 0 || (pkt.srcPort !== server && pkt.dstPort !== server)) return;
      const dir = pkt.srcPort === server ? 1 : 0;
      if (next[dir] >= 0 && pkt.seq !== next[dir]) return;
      parts[dir].push(Buffer.from(rec.data.subarray(pkt.payloadOff, pkt.payloadOff + pkt.payloadLen)));
      next[dir] = (pkt.seq + pkt.payloadLen) >>> 0;
    });
  } finally {
    src.close();
  }
  return [Buffer.concat(parts[0]), Buffer.concat(parts[1])];
}

/** A direction's TLS records: [type, body]; handshake bodies joined and split into [type, message]. */
function tlsMessages(stream: Buffer): { records: [number, Buffer][]; handshakes: [number, Buffer][] } {
  const records: [number, Buffer][] = [];
  let off = 0;
  for (;;) {
    const len = tlsRecordAt(stream, off, stream.length);
    if (len < 0) break;
    records.push([stream[off], stream.subarray(off + 5, off + 5 + len)]);
    off += 5 + len;
  }
  const hs = Buffer.concat(records.filter(([t]) => t === 22).map(([, b]) => b));
  const handshakes: [number, Buffer][] = [];
  for (let o = 0; ;) {
    const len = tlsHandshakeAt(hs, o, hs.length);
    if (len < 0) break;
    handshakes.push([hs[o], hs.subarray(o + 4, o + 4 + len)]);
    o += 4 + len;
  }
  return { records, handshakes };
}

describe('TLS on real handshakes (fixtures/tls-*.pcap)', () => {
  it('ClientHello: SNI and offered versions; ServerHello: the version; Certificate: the chain through X.509', async () => {
    const [c, s] = await tcpStreams('tls-name-mismatch.pcap');
    expect(looksLikeTls(c, 0, c.length)).toBe(true);
    const client = tlsMessages(c);
    const server = tlsMessages(s);
    const hello = defined(client.handshakes.find(([t]) => t === 1))[1];
    expect(inBuffers(hello, (b, o, e) => parseClientHello(b, o, e))).toEqual({ sni: 'www.example.test', offered: [0x0303] });
    const sh = defined(server.handshakes.find(([t]) => t === 2))[1];
    expect(inBuffers(sh, (b, o, e) => parseServerHello(b, o, e))).toBe(0x0303);
    const certMsg = defined(server.handshakes.find(([t]) => t === 11))[1];
    const ders = inBuffers(certMsg, (b, o, e) => tlsCertificates(b, o, e).map(([d, de]) => [d - o, de - o]));
    expect(ders.length).toBeGreaterThan(0);
    const leaf = inBuffers(certMsg.subarray(ders[0][0], ders[0][1]), (b, o, e) => {
      const i = certInfo(b, o, e);
      return i && { subject: i.subject, issuer: i.issuer, names: i.names, selfSigned: i.selfSigned };
    });
    expect(leaf).toEqual({ subject: 'other.example.test', issuer: 'pcapdiag Test CA', names: ['other.example.test'], selfSigned: false });
    // the client's alert after ChangeCipherSpec is encrypted: not 2 bytes in the clear
    expect(client.records.some(([t]) => t === 20)).toBe(true);
    const alert = defined(client.records.find(([t]) => t === 21))[1];
    expect(inBuffers(alert, (b, o, e) => tlsAlert(b, o, e))).toBe(-1);
  });
  it('a TLS 1.3 ClientHello offers several versions (GREASE left out); a plain alert is (level, description)', async () => {
    const [c13] = await tcpStreams('tls-aborted.pcap');
    const hello = defined(tlsMessages(c13).handshakes.find(([t]) => t === 1))[1];
    expect(inBuffers(hello, (b, o, e) => parseClientHello(b, o, e))).toEqual({ sni: 'www.example.test', offered: [0x0304, 0x0303, 0x0302, 0x0301] });
    const grease = Buffer.concat([u16(0x0303), Buffer.alloc(32), Buffer.from([0]), u16(2), u16(0x1301), Buffer.from([1, 0]), u16(11), u16(43), u16(7), Buffer.from([6]), u16(0x2a2a), u16(0x0304), u16(0x0303)]);
    expect(inBuffers(grease, (b, o, e) => parseClientHello(b, o, e))).toEqual({ sni: '', offered: [0x0304, 0x0303] });
    const [, s] = await tcpStreams('tls-version.pcap');
    const alert = defined(tlsMessages(s).records.find(([t]) => t === 21))[1];
    expect(inBuffers(alert, (b, o, e) => tlsAlert(b, o, e))).toBe((2 << 8) | 70);
  });
  it('a self-signed certificate is seen as one', async () => {
    const [, s] = await tcpStreams('tls-self-signed.pcap');
    const certMsg = defined(tlsMessages(s).handshakes.find(([t]) => t === 11))[1];
    const [[d, de]] = tlsCertificates(certMsg, 0, certMsg.length);
    expect(certInfo(certMsg, d, de)?.selfSigned).toBe(true);
  });
  it('absurd keys are not used to check a signature; the time for checks is bounded; each presentation is counted (#22)', () => {
    const seen: string[] = [];
    const checks = new CertChecks((code, detail) => seen.push(`${code} ${detail}`));
    const absurd = absurdRsaCert(0x7a11, 'absurd.example', 3072, 3070);
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) expect(certInfo(absurd, 0, absurd.length, checks, 5 + i)).toMatchObject({ selfSigned: false, unchecked: 'an RSA public exponent of 3070 bits (over 64)' });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(checks.spentMs).toBe(0);
    expect(seen).toEqual([5, 6, 7].map((f) => `tls_certificate_unchecked frame ${f}: an RSA public exponent of 3070 bits (over 64); whether it is self-signed was not checked`));
    // an ordinary key is checked (this signature is not valid), unless the time allowed is spent
    const plain = absurdRsaCert(0x7a12, 'plain.example', 2048, 17);
    expect(certInfo(plain, 0, plain.length, checks, 9)).toMatchObject({ selfSigned: false, unchecked: '' });
    expect(seen).toHaveLength(3);
    const spent = new CertChecks((code, detail) => seen.push(`${code} ${detail}`));
    spent.spentMs = CERT_LIMITS.checkMs;
    const other = absurdRsaCert(0x7a13, 'plain.example', 2048, 17);
    expect(certInfo(other, 0, other.length, spent, 11)?.unchecked).toBe('the 2 s allowed for checking signatures were spent');
    expect(seen[3]).toMatch(/^tls_certificate_unchecked frame 11: the 2 s allowed/);
    // not kept: an analysis with time left checks it
    expect(certInfo(other, 0, other.length, new CertChecks(), 11)?.unchecked).toBe('');
  });
  it('every prefix of every handshake message: no throw, the same answer whatever surrounds it', async () => {
    const [c, s] = await tcpStreams('tls-expired.pcap');
    const hello = defined(tlsMessages(c).handshakes.find(([t]) => t === 1))[1];
    const full = parseClientHello(hello, 0, hello.length);
    const hellos = everyPrefix(hello, (b, o, e) => parseClientHello(b, o, e));
    // cut before the extensions: unreadable; cut inside them: fewer of them, never more
    expect(hellos[10]).toBeNull();
    expect(hellos[hello.length]).toEqual(full);
    for (const h of hellos) if (h !== null && h.sni !== '') expect(defined(full).sni.startsWith(h.sni)).toBe(true);
    const server = tlsMessages(s);
    const sh = defined(server.handshakes.find(([t]) => t === 2))[1];
    expect(everyPrefix(sh, (b, o, e) => parseServerHello(b, o, e)).every((v) => v === 0 || v === 0x0303)).toBe(true);
    const certMsg = defined(server.handshakes.find(([t]) => t === 11))[1];
    const counts = everyPrefix(certMsg, (b, o, e) => tlsCertificates(b, o, e).length);
    expect(counts[certMsg.length]).toBeGreaterThan(0);
    expect(counts.every((n, i) => i === 0 || n >= counts[i - 1])).toBe(true);
    // the record and handshake framing: a prefix is NEED_MORE, never a record
    for (let n = 0; n < s.length && n < 600; n++) {
      const r = inBuffers(s.subarray(0, n), (b, o, e) => tlsRecordAt(b, o, e));
      expect(r === TLS_NEED_MORE || r >= 0, `prefix ${n}`).toBe(true);
      if (r >= 0) expect(5 + r).toBeLessThanOrEqual(n);
    }
  });
  it('record headers that are not TLS', () => {
    expect(tlsRecordAt(Buffer.from([0x16, 2, 0, 0, 1, 0]), 0, 6)).toBe(TLS_NOT_TLS);
    expect(tlsRecordAt(Buffer.from([0x19, 3, 3, 0, 0]), 0, 5)).toBe(TLS_NOT_TLS);
    expect(tlsRecordAt(Buffer.from([0x17, 3, 3, 0, 2, 9]), 0, 6)).toBe(TLS_NEED_MORE);
    expect(looksLikeTls(Buffer.from('GET / HTTP/1.1'), 0, 14)).toBe(false);
  });
});

describe('HTTP/1.x heads', () => {
  const request = Buffer.from('GET /api/health?x=1 HTTP/1.1\r\nHost: a.test\r\n\r\n', 'latin1');
  const response = Buffer.from('HTTP/1.0 503 Service Unavailable\r\nserver: old\r\nContent-Length: 0\r\nSERVER:  nginx/1.22.1 \r\n\r\nbody', 'latin1');
  it('request line, status line and the last Server header', () => {
    expect(inBuffers(request, (b, o, e) => [looksLikeHttpRequest(b, o, e), looksLikeHttpResponse(b, o, e)])).toEqual([true, false]);
    expect(inBuffers(request, (b, o, e) => parseRequestLine(b, o, httpLineEnd(b, o, e)))).toEqual({ method: 'GET', path: '/api/health?x=1' });
    expect(inBuffers(response, (b, o, e) => [looksLikeHttpRequest(b, o, e), looksLikeHttpResponse(b, o, e)])).toEqual([false, true]);
    expect(
      inBuffers(response, (b, o, e) => {
        const line = httpLineEnd(b, o, e);
        return [parseStatusLine(b, o, line), serverHeader(b, line + 2, httpHeadEnd(b, o, e))];
      }),
    ).toEqual([{ status: 503, reason: 'Service Unavailable' }, 'nginx/1.22.1']);
    expect(parseStatusLine(Buffer.from('HTTP/1.1 200'), 0, 12)).toEqual({ status: 200, reason: '' });
    expect(parseRequestLine(Buffer.from('GET /x HTTP/2.0'), 0, 15)).toBeNull();
  });
  it('every prefix: the line and head ends are found only once all of them is there', () => {
    const lines = everyPrefix(response, (b, o, e) => [httpLineEnd(b, o, e) - o, httpHeadEnd(b, o, e) - o]);
    const lineAt = response.indexOf('\r\n');
    const headAt = response.indexOf('\r\n\r\n');
    lines.forEach(([l, h], n) => {
      expect(l, `prefix ${n}`).toBe(n >= lineAt + 2 ? lineAt : -1 - 11);
      expect(h, `prefix ${n}`).toBe(n >= headAt + 4 ? headAt : -1 - 11);
    });
  });
});

describe('DNS answers (decode/dns.ts)', () => {
  const name = (...labels: string[]) => Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  const rr = (type: number, rdata: Buffer) => Buffer.concat([Buffer.from([0xc0, 12]), u16(type), u16(1), Buffer.alloc(4), u16(rdata.length), rdata]);
  const msg = Buffer.concat([
    Buffer.from([0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 4, 0, 0, 0, 0]),
    name('www', 'example', 'test'),
    u16(1),
    u16(1),
    rr(5, Buffer.concat([Buffer.from([3]), Buffer.from('cdn'), Buffer.from([0xc0, 12])])),
    rr(1, Buffer.from([192, 0, 2, 7])),
    rr(28, Buffer.from('20010db8000000000000000000000001', 'hex')),
    rr(16, Buffer.from([3, 0x61, 0x62, 0x63])),
  ]);
  const answers = (b: Buffer, o: number, e: number) => {
    const h = new DnsHeader();
    if (!parseDnsHeader(new DataView(b.buffer, b.byteOffset, b.byteLength), b, o, e, h)) return null;
    return readAnswers(b, o, e, h, 4);
  };
  it('CNAME, A, AAAA and a type by name, at any offset', () => {
    expect(inBuffers(msg, answers)).toEqual(['CNAME cdn.www.example.test.', 'A 192.0.2.7', 'AAAA 2001:db8::1', 'TXT']);
  });
  it('every prefix: no throw, and the answers of a prefix are the first answers of the whole', () => {
    const full = defined(answers(msg, 0, msg.length));
    for (const a of everyPrefix(msg, answers)) if (a !== null) expect(full.slice(0, a.length)).toEqual(a);
    expect(answers(msg, 0, msg.length - 1)).toEqual(full.slice(0, 3));
  });
});
