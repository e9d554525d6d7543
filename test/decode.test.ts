import { describe, expect, it } from 'vitest';
import { PacketDecoder } from '../src/decode/decode.js';
import { DecodedPacket, DecodeStatus, L4 } from '../src/decode/packet.js';
import { CaptureRecord } from '../src/capture/record.js';
import { readDnsName, parseDnsHeader, DnsHeader } from '../src/decode/dns.js';
import { formatIpv6 } from '../src/flow/addr.js';
import { ethernet, FLAGS, ip4, ipv4, ipv6, tcp, u16, u32, udp } from './helpers/build.js';
import { Ipv6Upper, walkIpv6Extensions } from '../src/decode/ip.js';

const decoder = new PacketDecoder();

/** Decodes `frame` at a non-zero offset inside a larger buffer (catches offset bugs). */
function decode(frame: Buffer, linkType = 1, pad = 7): DecodedPacket {
  const buf = Buffer.concat([Buffer.alloc(pad, 0xee), frame, Buffer.alloc(5, 0xee)]);
  const rec = new CaptureRecord();
  rec.data = buf;
  rec.off = pad;
  rec.end = pad + frame.length;
  rec.linkType = linkType;
  const pkt = new DecodedPacket();
  decoder.decode(rec, pkt);
  return pkt;
}

const syn = ipv4({ src: '10.0.1.10', dst: '10.0.2.20', proto: 6, ttl: 61, id: 0x1234 }, tcp({ sport: 40000, dport: 443, seq: 0xfffffff0, ack: 0, flags: FLAGS.SYN, win: 29200 }));

describe('Ethernet / IPv4 / TCP', () => {
  it('reads every field', () => {
    const p = decode(ethernet('00:01:d7:2a:10:01', '52:54:00:12:34:56', 0x0800, syn));
    expect(p.status).toBe(DecodeStatus.Ok);
    expect([p.ipVersion, p.ttl, p.ipProto, p.ipId, p.src[0], p.dst[0]]).toEqual([4, 61, 6, 0x1234, ip4('10.0.1.10').readUInt32BE(), ip4('10.0.2.20').readUInt32BE()]);
    expect([p.l4, p.srcPort, p.dstPort, p.seq, p.tcpFlags, p.window, p.payloadLen]).toEqual([L4.Tcp, 40000, 443, 0xfffffff0, FLAGS.SYN, 29200, 0]);
    expect(p.srcMac).toBe(0x525400123456);
    expect(p.dstMac).toBe(0x0001d72a1001);
    expect(p.badChecksum & 1).toBe(0);
  });
  it('trims Ethernet padding by the IP total length', () => {
    const p = decode(ethernet('00:01:d7:2a:10:01', '52:54:00:12:34:56', 0x0800, Buffer.concat([syn, Buffer.alloc(6)])));
    expect(p.payloadLen).toBe(0);
    expect(p.payloadWireLen).toBe(0);
  });
  it('every prefix decodes without throwing and is never Ok past the end', () => {
    const f = ethernet('00:01:d7:2a:10:01', '52:54:00:12:34:56', 0x0800, syn);
    for (let n = 0; n < f.length; n++) {
      const p = decode(f.subarray(0, n));
      expect(p.l4 === L4.Tcp && p.status === DecodeStatus.Ok, `prefix ${n}`).toBe(false);
    }
  });
  it('802.1Q and QinQ tags; too many tags is malformed', () => {
    const tag = (tpid: number, vid: number) => Buffer.concat([u16(tpid), u16(vid)]);
    const macs = Buffer.from('0001d72a1001525400123456', 'hex');
    // each tag is a TPID then a VLAN id; the ethertype after the last tag is IPv4
    const stack = (n: number) => Buffer.concat([macs, ...Array.from({ length: n }, (_, i) => tag(i === 0 ? 0x88a8 : 0x8100, 100 + i)), u16(0x0800), syn]);
    const frame = stack(2);
    const p = decode(frame);
    expect([p.vlanDepth, p.outerVlan, p.l4, p.dstPort]).toEqual([2, 100, L4.Tcp, 443]);
    expect(decode(stack(8)).l4).toBe(L4.Tcp);
    expect(decode(stack(12)).status).toBe(DecodeStatus.Malformed);
  });
  it('IHL < 5 and TCP data offset < 5 are malformed, not crashes', () => {
    const bad = Buffer.from(syn);
    bad[0] = 0x44;
    expect(decode(bad, 101).status).toBe(DecodeStatus.Malformed);
    const badTcp = ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 6 }, tcp({ sport: 1, dport: 2, flags: 2, dataOffset: 3 }));
    const p = decode(badTcp, 101);
    expect(p.status).toBe(DecodeStatus.Malformed);
    expect(p.anomaly).toBe('bad_tcp_header_length');
  });
  it('a non-first fragment is never decoded as TCP', () => {
    const frag = ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 6, fragOffset: 3 }, tcp({ sport: 1, dport: 2, flags: 2 }));
    const p = decode(frag, 101);
    expect(p.fragment).toBe(1);
    expect(p.l4).toBe(L4.None);
  });
  it('flags a wrong IPv4 header checksum but keeps the packet', () => {
    const bad = Buffer.from(syn);
    bad[10] ^= 0xff;
    const p = decode(bad, 101);
    expect(p.badChecksum & 1).toBe(1);
    expect(p.l4).toBe(L4.Tcp);
  });
});

describe('other link types', () => {
  it('Linux SLL and SLL2 (address length clamped)', () => {
    const sll = Buffer.concat([u16(4), u16(1), u16(6), Buffer.from('525400123456', 'hex'), Buffer.alloc(2), u16(0x0800), syn]);
    const p1 = decode(sll, 113);
    expect([p1.l4, p1.srcMac]).toEqual([L4.Tcp, 0x525400123456]);
    const sll2 = Buffer.concat([u16(0x0800), u16(0), Buffer.from([0, 0, 0, 2]), u16(1), Buffer.from([4, 6]), Buffer.from('525400123456', 'hex'), Buffer.alloc(2), syn]);
    const p2 = decode(sll2, 276);
    expect([p2.l4, p2.srcMac, p2.dstPort]).toEqual([L4.Tcp, 0x525400123456, 443]);
    sll2[11] = 200;
    const p3 = decode(sll2, 276);
    expect(p3.anomaly).toBe('sll_address_too_long');
    expect(p3.l4).toBe(L4.Tcp);
  });
  it('BSD null (either byte order), OpenBSD loop, raw IP', () => {
    expect(decode(Buffer.concat([Buffer.from([2, 0, 0, 0]), syn]), 0).l4).toBe(L4.Tcp);
    expect(decode(Buffer.concat([Buffer.from([0, 0, 0, 2]), syn]), 108).l4).toBe(L4.Tcp);
    expect(decode(syn, 101).l4).toBe(L4.Tcp);
    expect(decode(syn, 228).l4).toBe(L4.Tcp);
  });
});

describe('IPv6', () => {
  const a = Buffer.from('fd000001000000000000000000000010', 'hex');
  const b = Buffer.from('fd000002000000000000000000000020', 'hex');
  it('walks extension headers to TCP', () => {
    const hop = Buffer.concat([Buffer.from([60, 0]), Buffer.alloc(6)]);
    const dst = Buffer.concat([Buffer.from([6, 0]), Buffer.alloc(6)]);
    const p = decode(ipv6(a, b, 0, Buffer.concat([hop, dst, tcp({ sport: 5, dport: 80, flags: 2 })])), 229);
    expect([p.ipVersion, p.ipProto, p.l4, p.dstPort, p.ttl]).toEqual([6, 6, L4.Tcp, 80, 64]);
    expect(formatIpv6(p.src)).toBe('fd00:1::10');
  });
  it('stops at a non-first fragment', () => {
    const frag = Buffer.concat([Buffer.from([6, 0]), u16(8 << 3), Buffer.alloc(4)]);
    const p = decode(ipv6(a, b, 44, Buffer.concat([frag, tcp({ sport: 5, dport: 80, flags: 2 })])), 229);
    expect(p.fragment).toBe(1);
    expect(p.l4).toBe(L4.None);
  });
  it('an endless chain of extension headers is malformed', () => {
    const ext = Buffer.concat([Buffer.from([60, 0]), Buffer.alloc(6)]);
    const p = decode(ipv6(a, b, 60, Buffer.concat(Array.from({ length: 40 }, () => ext))), 229);
    expect(p.status).toBe(DecodeStatus.Malformed);
  });
});

describe('ICMP errors quote the flow they answer', () => {
  it('IPv4 port unreachable quoting a UDP DNS query carries ports and DNS id', () => {
    const query = ipv4({ src: '10.0.1.10', dst: '10.0.2.53', proto: 17 }, udp(5353, 53, Buffer.concat([u16(0xbeef), Buffer.alloc(10)])));
    const icmp = Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), query.subarray(0, 20 + 8 + 4)]);
    const p = decode(ipv4({ src: '10.0.2.53', dst: '10.0.1.10', proto: 1 }, icmp), 101);
    expect([p.l4, p.icmpType, p.icmpCode, p.quoteVersion, p.quoteProto, p.quoteSrcPort, p.quoteDstPort, p.quoteDnsId]).toEqual([L4.Icmp4, 3, 3, 4, 17, 5353, 53, 0xbeef]);
  });
  it('a quote too short for ports is an anomaly, not a crash', () => {
    const icmp = Buffer.concat([Buffer.from([3, 1, 0, 0, 0, 0, 0, 0]), syn.subarray(0, 22)]);
    const p = decode(ipv4({ src: '10.0.1.1', dst: '10.0.1.10', proto: 1 }, icmp), 101);
    expect(p.quoteSrcPort).toBe(-1);
    expect(p.anomaly).toBe('icmp_quote_truncated');
  });
});

describe('DNS names', () => {
  const msg = (body: number[]) => Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...body]);
  it('reads a name and escapes odd bytes', () => {
    const m = msg([3, 0x77, 0x77, 0x77, 2, 0x1b, 0x5b, 0, 0, 1, 0, 1]);
    expect(readDnsName(m, 0, 12, m.length)).toBe('www.\\027[.');
    const h = new DnsHeader();
    expect(parseDnsHeader(new DataView(m.buffer, m.byteOffset, m.length), m, 0, m.length, h)).toBe(true);
    expect([h.id, h.qdcount, h.qtype]).toEqual([0x1234, 1, 1]);
  });
  it('pointer loops and forward pointers are rejected, so decoding terminates', () => {
    const self = msg([0xc0, 12]);
    expect(readDnsName(self, 0, 12, self.length)).toBeNull();
    const fwd = msg([0xc0, 14, 1, 0x61, 0]);
    expect(readDnsName(fwd, 0, 12, fwd.length)).toBeNull();
    const back = msg([1, 0x61, 0, 1, 0x62, 0xc0, 12]);
    expect(readDnsName(back, 0, 15, back.length)).toBe('b.a.');
  });
  it('two names of one length and one hash (FNV-1a) are told apart by the cache of recent names', () => {
    const enc = (n: string) =>
      msg([
        ...n
          .split('.')
          .filter((l) => l !== '')
          .flatMap((l) => [l.length, ...Buffer.from(l)]),
        0,
      ]);
    for (const [a, b] of [
      ['ogki.rbaa.', 'zdgo.ocaa.'],
      ['hcsy.rdaa.', 'lyso.jhaa.'],
    ]) {
      expect(readDnsName(enc(a), 0, 12, enc(a).length)).toBe(a);
      expect(readDnsName(enc(b), 0, 12, enc(b).length)).toBe(b);
      expect(readDnsName(enc(a), 0, 12, enc(a).length)).toBe(a);
    }
  });
  it('names read again come back right, however the cache of recent names is shared (property)', async () => {
    const fc = (await import('fast-check')).default;
    // short labels from a small alphabet: many names, many of the same length, slots shared
    const label = fc.stringMatching(/^[a-c]{1,3}$/);
    fc.assert(
      fc.property(fc.array(fc.array(label, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 300 }), (names) => {
        for (let pass = 0; pass < 2; pass++) {
          for (const labels of names) {
            const m = msg([...labels.flatMap((l) => [l.length, ...Buffer.from(l)]), 0]);
            if (readDnsName(m, 0, 12, m.length) !== labels.join('.') + '.') return false;
          }
        }
        return true;
      }),
      { numRuns: 200 },
    );
  });
});

describe('checksum', () => {
  it("the 32-bit-word sum equals RFC 1071's 16-bit fold, at any offset and length", async () => {
    const fc = (await import('fast-check')).default;
    const { onesSum } = await import('../src/decode/checksum.js');
    const naive = (b: Uint8Array, off: number, end: number, sum: number) => {
      let s = sum;
      for (let i = off; i < end; i += 2) s += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return s;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0x3ffff }), (arr, a, b, sum) => {
        const buf = Buffer.from(arr);
        const off = arr.length === 0 ? 0 : a % arr.length;
        const end = off + (arr.length === 0 ? 0 : b % (arr.length - off + 1));
        const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
        expect(onesSum(dv, buf, off, end, sum)).toBe(naive(buf, off, end, sum));
      }),
      { numRuns: 2000 },
    );
    // every alignment and the edge sums: a nonzero sum ≡ 0 folds to 0xffff, never 0
    const big = Buffer.alloc(256 + 8);
    for (const fill of [0x00, 0xff, 0x5a]) {
      big.fill(fill);
      const dv = new DataView(big.buffer, big.byteOffset, big.byteLength);
      for (let off = 0; off < 8; off++)
        for (const len of [31, 32, 33, 64, 255]) {
          for (const sum of [0, 1, 0xfffe]) expect(onesSum(dv, big, off, off + len, sum)).toBe(naive(big, off, off + len, sum));
        }
    }
  });
});

describe('decoders read nothing past `end`', () => {
  const a6 = Buffer.from('fd000001000000000000000000000010', 'hex');
  const b6 = Buffer.from('fd000002000000000000000000000020', 'hex');
  const eth = (type: number, payload: Buffer) => ethernet('00:01:d7:2a:10:01', '52:54:00:12:34:56', type, payload);
  const ext = (next: number) => Buffer.concat([Buffer.from([next, 0]), Buffer.alloc(6)]);
  const dnsQuery = ipv4({ src: '10.0.1.10', dst: '10.0.2.53', proto: 17 }, udp(5353, 53, Buffer.concat([u16(0xbeef), Buffer.alloc(10)])));
  const inner = ipv4({ src: '10.9.0.1', dst: '10.9.0.2', proto: 6 }, tcp({ sport: 1234, dport: 80, flags: FLAGS.SYN }));
  const icmp = (type: number, code: number, rest: Buffer, body: Buffer) => Buffer.concat([Buffer.from([type, code, 0, 0]), rest, body]);
  const frames: [string, number, Buffer][] = [
    ['Ethernet IPv4 TCP', 1, eth(0x0800, syn)],
    ['QinQ IPv6 hop-by-hop, destination options, TCP', 1, eth(0x88a8, Buffer.concat([u16(100), u16(0x8100), u16(200), u16(0x86dd), ipv6(a6, b6, 0, Buffer.concat([ext(60), ext(6), tcp({ sport: 5, dport: 80, flags: 2 })]))]))],
    ['ICMP port unreachable quoting a DNS query', 101, ipv4({ src: '10.0.2.53', dst: '10.0.1.10', proto: 1 }, icmp(3, 3, Buffer.alloc(4), dnsQuery.subarray(0, 20 + 8 + 4)))],
    ['ICMP echo request', 101, ipv4({ src: '10.0.1.10', dst: '10.0.2.20', proto: 1 }, icmp(8, 0, Buffer.from([0, 7, 0, 9]), Buffer.alloc(16, 0x61)))],
    ['ICMPv6 unreachable quoting a first fragment of TCP', 229, ipv6(b6, a6, 58, icmp(1, 4, Buffer.alloc(4), ipv6(a6, b6, 44, Buffer.concat([Buffer.from([6, 0, 0, 1]), Buffer.alloc(4), tcp({ sport: 7, dport: 443, seq: 99, flags: 2 })]))))],
    ['ICMPv6 neighbour solicitation', 229, ipv6(a6, b6, 58, icmp(135, 0, Buffer.alloc(4), b6))],
    ['ARP request', 1, eth(0x0806, Buffer.concat([u16(1), u16(0x0800), Buffer.from([6, 4]), u16(1), Buffer.from('525400123456', 'hex'), ip4('10.0.1.10'), Buffer.alloc(6), ip4('10.0.1.1')]))],
    ['VXLAN', 101, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17 }, udp(40000, 4789, Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 42, 0]), eth(0x0800, inner)])))],
    ['GENEVE with an option word', 101, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17 }, udp(40000, 6081, Buffer.concat([Buffer.from([1, 0]), u16(0x0800), Buffer.from([0, 0, 7, 0]), Buffer.alloc(4), inner])))],
    ['GRE with a key', 101, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 47 }, Buffer.concat([Buffer.from([0x20, 0]), u16(0x0800), u32(77), inner]))],
    [
      'ERSPAN III with a platform subheader',
      101,
      ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 47 }, Buffer.concat([Buffer.from([0x10, 0]), u16(0x22eb), u32(1), Buffer.from([0x20, 0, 0, 5]), Buffer.alloc(6), Buffer.from([0, 1]), Buffer.alloc(8), eth(0x0800, inner)])),
    ],
    ['MPLS, two labels', 1, eth(0x8847, Buffer.concat([u32(16 << 12), u32((17 << 12) | 0x100), inner]))],
    ['PPPoE session', 1, eth(0x8864, Buffer.concat([Buffer.from([0x11, 0]), u16(3), u16(inner.length + 2), u16(0x0021), inner]))],
    ['IP in IP', 101, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 4 }, inner)],
    ['Linux SLL2', 276, Buffer.concat([u16(0x0800), u16(0), Buffer.from([0, 0, 0, 2]), u16(1), Buffer.from([4, 6]), Buffer.from('525400123456', 'hex'), Buffer.alloc(2), syn])],
  ];
  /** Every field of a decoded packet, typed arrays as plain arrays. */
  const fields = (p: DecodedPacket) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v instanceof Uint32Array ? [...v] : v]));
  /** Decodes `frame` at offset 9 of a buffer whose bytes after it are all `fill`. */
  const decodeIn = (frame: Buffer, linkType: number, fill: number) => {
    const buf = Buffer.concat([Buffer.alloc(9, 0x5a), frame, Buffer.alloc(64, fill)]);
    const rec = new CaptureRecord();
    rec.data = buf;
    rec.off = 9;
    rec.end = 9 + frame.length;
    rec.linkType = linkType;
    const pkt = new DecodedPacket();
    decoder.decode(rec, pkt);
    return fields(pkt);
  };
  for (const [name, linkType, frame] of frames) {
    it(`${name}: decodes in full, and every prefix the same whatever follows it`, () => {
      const full = decodeIn(frame, linkType, 0);
      expect(full.status, name).toBe(DecodeStatus.Ok);
      expect(full.l4, name).not.toBe(L4.None);
      for (let n = 0; n <= frame.length; n++) {
        const prefix = frame.subarray(0, n);
        const base = decodeIn(prefix, linkType, 0x00);
        for (const fill of [0xff, 0x45, 0x06]) expect(decodeIn(prefix, linkType, fill), `${name}, prefix ${n}, then 0x${fill.toString(16)}`).toEqual(base);
      }
    });
  }
  it('the quoted and inner packets come out right', () => {
    const v6q = decodeIn(frames[4][2], 229, 0);
    expect([v6q.quoteVersion, v6q.quoteProto, v6q.quoteSrcPort, v6q.quoteDstPort, v6q.quoteSeq, v6q.fragment, v6q.ipProto]).toEqual([6, 6, 7, 443, 99, 0, 58]);
    const ns = decodeIn(frames[5][2], 229, 0);
    expect(formatIpv6(Uint32Array.from(ns.ndTarget as number[]))).toBe('fd00:2::20');
    const echo = decodeIn(frames[3][2], 101, 0);
    expect([echo.icmpType, echo.icmpId, echo.icmpSeq]).toEqual([8, 7, 9]);
    for (const i of [7, 8, 9, 10, 11, 12, 13]) {
      const p = decodeIn(frames[i][2], frames[i][1], 0);
      expect([frames[i][0], p.l4, p.srcPort, p.dstPort, p.tunnel > 0]).toEqual([frames[i][0], L4.Tcp, 1234, 80, true]);
    }
  });
});

describe('walkIpv6Extensions', () => {
  const hop = (next: number, len8 = 0) => Buffer.concat([Buffer.from([next, len8]), Buffer.alloc(6 + 8 * len8)]);
  const walk = (bytes: Buffer, nh: number, pad = 5) => {
    const buf = Buffer.concat([Buffer.alloc(pad, 0xee), bytes, Buffer.alloc(16, 0xee)]);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const out = new Ipv6Upper();
    const r = walkIpv6Extensions(dv, buf, pad, pad + bytes.length, nh, out);
    return r < 0 ? r : [r - pad, out.proto, out.fragment];
  };
  it('returns the upper-layer offset, protocol and fragment bit in its result, not in module state', () => {
    const chain = Buffer.concat([hop(43, 1), hop(44), Buffer.from([17, 0]), u16(0), Buffer.alloc(4)]);
    expect(walk(chain, 0)).toEqual([32, 17, 0]);
    const later = Buffer.concat([hop(44), Buffer.from([6, 0]), u16(8 << 3), Buffer.alloc(4)]);
    expect(walk(later, 60)).toEqual([16, 6, 1]);
    // two walks with their own results do not disturb each other
    const a = new Ipv6Upper();
    const b = new Ipv6Upper();
    const buf = Buffer.concat([chain, later]);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    walkIpv6Extensions(dv, buf, 0, chain.length, 0, a);
    walkIpv6Extensions(dv, buf, chain.length, buf.length, 60, b);
    expect([a.proto, a.fragment, b.proto, b.fragment]).toEqual([17, 0, 6, 1]);
  });
  it('AH counts its length in 4-byte words', () => {
    expect(walk(Buffer.concat([Buffer.from([6, 4]), Buffer.alloc(22)]), 51)).toEqual([24, 6, 0]);
  });
  it('a header running past `end` is Truncated, at every cut; too many headers are Malformed', () => {
    const chain = Buffer.concat([hop(60, 2), hop(6)]);
    for (let n = 0; n < chain.length; n++) expect(walk(chain.subarray(0, n), 0), `cut at ${n}`).toBe(-DecodeStatus.Truncated);
    expect(walk(Buffer.concat(Array.from({ length: 17 }, () => hop(60))), 60)).toBe(-DecodeStatus.Malformed);
  });
});
