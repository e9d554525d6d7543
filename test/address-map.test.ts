import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AddressMap } from '../src/related/address-map.js';
import { formatIpv4, hostOf } from '../src/flow/addr.js';

// AddressMap against a Map by the address's text, over random sets and gets of address texts cut
// from longer texts: IPv4 ones as formatIpv4 writes them (few, so that they are set and looked up
// again), and texts that only look like them (leading zeros, numbers over 255, three or five
// parts, IPv6), which must not be taken for the address they resemble.

interface Box {
  v: number;
}

// octets mostly 0 or 1: the same addresses, and lookalikes of them, come up again and again
const octet = fc.oneof(fc.constantFrom(0, 1), fc.constantFrom(0, 1), fc.integer({ min: 0, max: 255 }));
const ipv4 = fc.tuple(octet, octet, octet, octet).map(([a, b, c, d]) => formatIpv4(((a << 24) | (b << 16) | (c << 8) | d) >>> 0));
const lookalike = fc.oneof(
  fc.tuple(octet, octet, octet, octet).map(([a, b, c, d]) => `0${a}.${b}.${c}.${d}`),
  fc.tuple(octet, octet, octet).map(([a, b, c]) => `${a}.${b}.${c}`),
  fc.tuple(octet, octet, octet, octet, octet).map((p) => p.join('.')),
  // 0.0.0.256 read as if it were an address would be 0.0.1.0
  fc.tuple(octet, octet, octet, fc.oneof(fc.constantFrom(256, 257), fc.integer({ min: 256, max: 1100 }))).map((p) => p.join('.')),
  fc.tuple(octet, octet, octet, octet).map((p) => `${p.join('.')}.`),
  fc.constantFrom('', '.', '1..2.3', 'fd00::1', '::ffff:1.2.3.4', '1.2.3.4 ', 'A 1.2.3.4', '255.255.255.255', '0.0.0.0'),
  fc.string({ maxLength: 8 }),
);
const address = fc.oneof(ipv4, ipv4, lookalike);
/** An address inside a longer text, as in a DNS answer (`A 10.0.2.5`) or an endpoint (`10.0.2.5:443`). */
const placed = fc.record({ before: fc.constantFrom('', 'A ', 'AAAA ', '['), address, after: fc.constantFrom('', ':443', ']:80', ' ') });

type Op = { set: boolean; at: { before: string; address: string; after: string }; v: number };

function check(ops: Op[]): void {
  const m = new AddressMap<Box>();
  const ref = new Map<string, Box>();
  for (const o of ops) {
    const text = o.at.before + o.at.address + o.at.after;
    const from = o.at.before.length;
    const to = from + o.at.address.length;
    if (o.set) {
      const b = { v: o.v };
      m.set(text, from, to, b);
      ref.set(o.at.address, b);
    } else expect(m.get(text, from, to)).toBe(ref.get(o.at.address));
    expect(m.size).toBe(ref.size);
  }
  for (const [k, v] of ref) expect(m.get(k, 0, k.length)).toBe(v);
}

describe('AddressMap', () => {
  it('answers as a Map by the address text does, IPv4 addresses and texts that only resemble them', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ set: fc.boolean(), at: placed, v: fc.integer() }), { maxLength: 300, size: 'max' }), (ops) => check(ops)),
      { numRuns: 300 },
    );
  });

  it('keeps an address and its lookalikes apart', () => {
    const m = new AddressMap<Box>();
    const texts = ['10.0.2.5', '010.0.2.5', '10.0.2.05', '10.0.2.5.', '10.0.2', '10.0.2.261', '10.0.3.5', '255.255.255.255', '0.0.0.0'];
    const boxes = texts.map((_, v) => ({ v }));
    texts.forEach((t, i) => m.set(`A ${t}`, 2, t.length + 2, boxes[i]));
    expect(m.size).toBe(texts.length);
    texts.forEach((t, i) => expect(m.get(`${t}:443`, 0, t.length)).toBe(boxes[i]));
  });

  it("finds an endpoint's host as a lookup of hostOf's text does", () => {
    const m = new AddressMap<Box>();
    const hosts = ['10.0.2.5', '10.0.2.50', 'fd00::5', 'fd00::50', '::ffff:10.0.2.5'];
    const boxes = hosts.map((_, v) => ({ v }));
    hosts.forEach((h, i) => m.set(h, 0, h.length, boxes[i]));
    const endpoints = ['10.0.2.5:443', '10.0.2.5', '10.0.2.50:80', '10.0.2.6:443', '[fd00::5]:53', 'fd00::5', '[fd00::50]:443', '[fd00::6]:53', '[::ffff:10.0.2.5]:80', '10.0.2.5:'];
    for (const e of endpoints) expect(m.getHost(e), e).toBe(m.get(hostOf(e), 0, hostOf(e).length));
    // and finds them: the comparison above is not of two misses
    expect(m.getHost('10.0.2.5:443')).toBe(boxes[0]);
    expect(m.getHost('[fd00::50]:443')).toBe(boxes[3]);
    expect(m.getHost('fd00::5')).toBe(boxes[2]);
  });
});
