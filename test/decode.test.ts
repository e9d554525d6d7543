import { describe, expect, it } from 'vitest';
import { PacketDecoder } from '../src/decode/decode.js';
import { DecodedPacket, DecodeStatus, L4 } from '../src/decode/packet.js';
import { CaptureRecord } from '../src/capture/record.js';
import { readDnsName, parseDnsHeader, DnsHeader } from '../src/decode/dns.js';
import { formatIpv6 } from '../src/flow/addr.js';
import { ethernet, FLAGS, ip4, ipv4, ipv6, tcp, u16, udp } from './helpers/build.js';

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
});

describe('checksum', () => {
  it('the 32-bit-word sum equals RFC 1071\'s 16-bit fold, at any offset and length', async () => {
    const fc = (await import('fast-check')).default;
    const { onesSum } = await import('../src/decode/checksum.js');
    const naive = (b: Uint8Array, off: number, end: number, sum: number) => {
      let s = sum;
      for (let i = off; i < end; i += 2) s += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return s;
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1600 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0x3ffff }), (arr, a, b, sum) => {
      const buf = Buffer.from(arr);
      const off = arr.length === 0 ? 0 : a % arr.length;
      const end = off + (arr.length === 0 ? 0 : b % (arr.length - off + 1));
      const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      expect(onesSum(dv, buf, off, end, sum)).toBe(naive(buf, off, end, sum));
    }), { numRuns: 2000 });
    // every alignment and the edge sums: a nonzero sum ≡ 0 folds to 0xffff, never 0
    const big = Buffer.alloc(256 + 8);
    for (const fill of [0x00, 0xff, 0x5a]) {
      big.fill(fill);
      const dv = new DataView(big.buffer, big.byteOffset, big.byteLength);
      for (let off = 0; off < 8; off++) for (const len of [31, 32, 33, 64, 255]) {
        for (const sum of [0, 1, 0xfffe]) expect(onesSum(dv, big, off, off + len, sum)).toBe(naive(big, off, off + len, sum));
      }
    }
  });
});
