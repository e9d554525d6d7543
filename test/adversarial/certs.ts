/**
 * TLS connections whose servers present "self-signed" RSA certificates with absurd keys, built
 * byte by byte (DER by hand): each certificate has its own serial number (so no cache of a
 * certificate helps) and a public exponent almost as long as its modulus (3,070 of 3,072 bits,
 * which OpenSSL accepts: it only caps the exponent at 64 bits above 3,072-bit moduli), so one
 * signature check costs a private-key-sized modular exponentiation. The signature is not a real
 * one (checking it costs the same). Used by the adversarial suite and, with a larger count, to
 * measure the time before and after (see COVERAGE.md).
 */
import { randomBytes } from 'node:crypto';
import { pcap, tcpFrame, FLAGS, type Rec } from '../helpers/build.js';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 255);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...body: Buffer[]) => {
  const b = Buffer.concat(body);
  return Buffer.concat([Buffer.from([tag]), len(b.length), b]);
};
const seq = (...b: Buffer[]) => tlv(0x30, ...b);
/** A positive INTEGER from big-endian magnitude bytes. */
const int = (mag: Buffer) => tlv(0x02, mag[0] & 0x80 ? Buffer.concat([Buffer.from([0]), mag]) : mag);
const oid = (hex: string) => tlv(0x06, Buffer.from(hex, 'hex'));
const NULL = Buffer.from([0x05, 0x00]);
const RSA_ENCRYPTION = oid('2a864886f70d010101');
const SHA256_WITH_RSA = oid('2a864886f70d01010b');
const CN = oid('550403');

function name(cn: string): Buffer {
  return seq(tlv(0x31, seq(CN, tlv(0x0c, Buffer.from(cn)))));
}

/**
 * One DER certificate, issuer = subject = `cn`, an RSA key of `modBits` bits whose exponent has
 * `expBits` bits (both odd, the exponent below the modulus), serial `serial`.
 */
export function absurdRsaCert(serial: number, cn = 'absurd.example', modBits = 3072, expBits = 3070): Buffer {
  const n = randomBytes(modBits / 8);
  n[0] |= 0x80;
  n[n.length - 1] |= 1;
  const e = Buffer.alloc(Math.ceil(expBits / 8));
  randomBytes(e.length).copy(e);
  e[0] = (e[0] & ((1 << (expBits % 8 || 8)) - 1)) | (1 << ((expBits % 8 || 8) - 1));
  e[e.length - 1] |= 1;
  const sig = randomBytes(modBits / 8);
  sig[0] = n[0] >> 1; // below the modulus, so OpenSSL does the whole exponentiation
  const spki = seq(seq(RSA_ENCRYPTION, NULL), tlv(0x03, Buffer.from([0]), seq(int(n), int(e))));
  const validity = seq(tlv(0x17, Buffer.from('250101000000Z')), tlv(0x17, Buffer.from('350101000000Z')));
  const serialBytes = Buffer.alloc(5, 1);
  serialBytes.writeUInt32BE(serial >>> 0, 1); // a leading 01: a minimal INTEGER whatever the serial
  const tbs = seq(tlv(0xa0, int(Buffer.from([2]))), int(serialBytes), seq(SHA256_WITH_RSA, NULL), name(cn), validity, name(cn), spki);
  return seq(tbs, seq(SHA256_WITH_RSA, NULL), tlv(0x03, Buffer.from([0]), sig));
}

const u24 = (v: number) => Buffer.from([(v >> 16) & 255, (v >> 8) & 255, v & 255]);
const u16 = (v: number) => Buffer.from([(v >> 8) & 255, v & 255]);
const record = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type, 3, 3]), u16(body.length), body]);
const handshake = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type]), u24(body.length), body]);

/** A TLS 1.2 ClientHello record naming `sni`. */
export function clientHello(sni: string): Buffer {
  const host = Buffer.from(sni);
  const list = Buffer.concat([Buffer.from([0]), u16(host.length), host]);
  const ext = Buffer.concat([u16(0), u16(list.length + 2), u16(list.length), list]);
  const body = Buffer.concat([u16(0x0303), Buffer.alloc(32, 7), Buffer.from([0]), u16(2), u16(0x002f), Buffer.from([1, 0]), u16(ext.length), ext]);
  return record(22, handshake(1, body));
}

/** ServerHello and Certificate in one record: what a TLS 1.2 server sends after the ClientHello. */
export function serverHelloAndCert(der: Buffer): Buffer {
  const hello = handshake(2, Buffer.concat([u16(0x0303), Buffer.alloc(32, 9), Buffer.from([0]), u16(0x002f), Buffer.from([0])]));
  const list = Buffer.concat([u24(der.length), der]);
  const cert = handshake(11, Buffer.concat([u24(list.length), list]));
  return record(22, Buffer.concat([hello, cert]));
}

/**
 * `n` TLS connections from distinct client ports, each answered with its own certificate from
 * `cert(i)` (default: an absurd RSA key), then closed by the client's RST.
 */
export function tlsCertFlood(n: number, cert: (i: number) => Buffer = (i) => absurdRsaCert(i)): Buffer {
  const recs: Rec[] = [];
  const hello = clientHello('absurd.example');
  for (let i = 0; i < n; i++) {
    const sport = 20000 + (i % 40000);
    const client = `10.0.${1 + Math.floor(i / 40000)}.10`;
    const sec = 1_764_000_000 + Math.floor(i / 100);
    let us = (i % 100) * 10_000;
    const at = (dir: 'c2s' | 's2c', o: Parameters<typeof tcpFrame>[1], payload?: Buffer) => recs.push({ sec, frac: (us += 100), data: tcpFrame(dir, o, payload, client) });
    const c = 1000 + i;
    const s = 900_000 + i;
    const sh = serverHelloAndCert(cert(i));
    at('c2s', { sport, dport: 443, seq: c, flags: FLAGS.SYN });
    at('s2c', { sport: 443, dport: sport, seq: s, ack: c + 1, flags: FLAGS.SYN | FLAGS.ACK });
    at('c2s', { sport, dport: 443, seq: c + 1, ack: s + 1, flags: FLAGS.ACK });
    at('c2s', { sport, dport: 443, seq: c + 1, ack: s + 1, flags: FLAGS.ACK | FLAGS.PSH }, hello);
    at('s2c', { sport: 443, dport: sport, seq: s + 1, ack: c + 1 + hello.length, flags: FLAGS.ACK | FLAGS.PSH }, sh);
    at('c2s', { sport, dport: 443, seq: c + 1 + hello.length, ack: s + 1 + sh.length, flags: FLAGS.RST | FLAGS.ACK });
  }
  return pcap(recs);
}
