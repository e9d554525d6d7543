import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CaptureRecord } from '../src/capture/record.js';
import { Anomalies } from '../src/capture/damage.js';
import { DecodedPacket, L4 } from '../src/decode/packet.js';
import { PacketDecoder } from '../src/decode/decode.js';
import { FRAG_MAX_DATAGRAMS, FRAG_TIMEOUT_NS, FragmentReassembler } from '../src/flow/fragments.js';
import { ethernet, ipv4, ipv6, udp, u16, u32, pcap, bufferSource } from './helpers/build.js';
import { analyzeFile, FIXTURES, hasCommand } from './helpers/run.js';
import { analyzeSource, DEFAULT_OPTIONS } from '../src/analyze.js';

const C_MAC = '52:54:00:12:34:56';
const S_MAC = '00:01:d7:2a:10:01';

/** A UDP datagram from 10.0.2.55:53 to 10.0.1.10:40000 with `n` payload bytes (a counting pattern). */
function datagram(n: number): Buffer {
  const payload = Buffer.alloc(n);
  for (let i = 0; i < n; i++) payload[i] = i & 0xff;
  return udp(53, 40000, payload);
}

/** IPv4 fragments of `dg` (the UDP header and payload) in pieces of `size` bytes, as Ethernet frames. */
function frags4(dg: Buffer, size: number, id = 7): { off: number; frame: Buffer }[] {
  const out: { off: number; frame: Buffer }[] = [];
  for (let off = 0; off < dg.length; off += size) {
    const part = dg.subarray(off, Math.min(dg.length, off + size));
    const ip = ipv4({ src: '10.0.2.55', dst: '10.0.1.10', proto: 17, id, fragOffset: off / 8, moreFragments: off + size < dg.length }, part);
    out.push({ off, frame: ethernet(C_MAC, S_MAC, 0x0800, ip) });
  }
  return out;
}

const v6 = (last: number) => Buffer.from([0xfd, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]);

/** IPv6 fragments of `dg`: a fragment header (next header UDP) after the fixed header. */
function frags6(dg: Buffer, size: number, id = 0xcafe): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < dg.length; off += size) {
    const part = dg.subarray(off, Math.min(dg.length, off + size));
    const fh = Buffer.concat([Buffer.from([17, 0]), u16(off | (off + size < dg.length ? 1 : 0)), u32(id)]);
    out.push(ethernet(C_MAC, S_MAC, 0x86dd, ipv6(v6(0x55), v6(0x10), 44, Buffer.concat([fh, part]))));
  }
  return out;
}

/** Feeds frames (each at t = its index in seconds unless given) to one reassembler; returns what it handed back. */
class Harness {
  readonly anomalies = new Anomalies();
  readonly r = new FragmentReassembler(this.anomalies);
  private readonly dec = new PacketDecoder();
  private readonly pkt = new DecodedPacket();
  private readonly whole = new DecodedPacket();
  private frame = 0;

  /** Returns the decoded reassembled packet's UDP payload, or null. */
  feed(data: Buffer, t = this.frame * 1e9): Buffer | null {
    const rec = new CaptureRecord();
    rec.frame = ++this.frame;
    rec.linkType = 1;
    rec.data = data;
    rec.off = 0;
    rec.end = data.length;
    this.dec.decode(rec, this.pkt);
    expect(this.pkt.fragmented).toBe(1);
    expect(FragmentReassembler.takes(this.pkt)).toBe(true);
    if (t >= this.r.nextExpiry) this.r.expire(t);
    const out = this.r.add(this.pkt, rec, t);
    if (out === null) return null;
    this.dec.decode(out, this.whole);
    expect(this.whole.fragmented).toBe(0);
    expect(this.whole.l4).toBe(L4.Udp);
    expect(this.whole.badChecksum).toBe(0);
    return Buffer.from(out.data.subarray(this.whole.payloadOff, this.whole.payloadOff + this.whole.payloadLen));
  }
}

describe('IP fragment reassembly (flow/fragments.ts)', () => {
  const dg = datagram(3000);
  const want = dg.subarray(8);

  it('IPv4 in order: the last fragment hands back the whole datagram', () => {
    const h = new Harness();
    const fs = frags4(dg, 1480);
    expect(fs.length).toBe(3);
    expect(h.feed(fs[0].frame)).toBeNull();
    expect(h.feed(fs[1].frame)).toBeNull();
    expect(h.feed(fs[2].frame)?.equals(want)).toBe(true);
    expect(h.r.counts).toEqual({ fragments: 3, reassembled: 1, incomplete: 0 });
    expect(h.r.pending).toBe(0);
  });

  it('IPv4 out of order (last first, first last)', () => {
    const h = new Harness();
    const fs = frags4(dg, 1480);
    expect(h.feed(fs[2].frame)).toBeNull();
    expect(h.feed(fs[1].frame)).toBeNull();
    expect(h.feed(fs[0].frame)?.equals(want)).toBe(true);
  });

  it('an exact duplicate is absorbed; two datagrams with other ids stay apart', () => {
    const h = new Harness();
    const a = frags4(dg, 1480, 1);
    const b = frags4(dg, 1480, 2);
    expect(h.feed(a[0].frame)).toBeNull();
    expect(h.feed(b[0].frame)).toBeNull();
    expect(h.feed(a[0].frame)).toBeNull();
    expect(h.feed(a[1].frame)).toBeNull();
    expect(h.feed(b[1].frame)).toBeNull();
    expect(h.feed(b[2].frame)?.equals(want)).toBe(true);
    expect(h.feed(a[2].frame)?.equals(want)).toBe(true);
    expect(h.r.counts.reassembled).toBe(2);
  });

  it('RFC 5722: an overlapping fragment voids the datagram, and its later fragments are absorbed', () => {
    const h = new Harness();
    const fs = frags4(dg, 1480);
    // a fragment at offset 1400 (overlaps the first's 0..1480) with more data
    const overlap = ethernet(C_MAC, S_MAC, 0x0800, ipv4({ src: '10.0.2.55', dst: '10.0.1.10', proto: 17, id: 7, fragOffset: 1400 / 8, moreFragments: true }, dg.subarray(1400, 1400 + 160)));
    expect(h.feed(fs[0].frame)).toBeNull();
    expect(h.feed(overlap)).toBeNull();
    expect(h.feed(fs[1].frame)).toBeNull();
    expect(h.feed(fs[2].frame)).toBeNull();
    expect(h.anomalies.list().map((a) => a.code)).toContain('ip_fragment_overlap');
    h.r.finish();
    expect(h.r.counts).toEqual({ fragments: 4, reassembled: 0, incomplete: 1 });
  });

  it('a missing fragment: the datagram times out after 30 s of capture time and says which one', () => {
    const h = new Harness();
    const fs = frags4(dg, 1480);
    expect(h.feed(fs[0].frame, 0)).toBeNull();
    expect(h.feed(fs[2].frame, 1e6)).toBeNull();
    const g = h.r.lastDatagram;
    expect(g?.missing()).toEqual({ runs: [[2, 2]], of: 3, frames: [1, 2] });
    expect(h.r.nextExpiry).toBe(FRAG_TIMEOUT_NS);
    // the missing one arrives after the timeout: too late, it starts a datagram of its own
    expect(h.feed(fs[1].frame, FRAG_TIMEOUT_NS + 1)).toBeNull();
    expect(h.r.counts.incomplete).toBe(1);
    expect(g?.failure).toBe('missing');
    expect(h.r.pending).toBe(1);
  });

  it('the last fragment missing: "of at least"', () => {
    const h = new Harness();
    const fs = frags4(dg, 1480);
    h.feed(fs[0].frame);
    h.feed(fs[1].frame);
    expect(h.r.lastDatagram?.missing()).toEqual({ runs: [[3, 3]], of: null, frames: [1, 2] });
  });

  it('bounds: past FRAG_MAX_DATAGRAMS open datagrams the oldest is given up', () => {
    const h = new Harness();
    for (let id = 0; id <= FRAG_MAX_DATAGRAMS; id++) h.feed(frags4(dg, 1480, id)[0].frame, 0);
    expect(h.r.pending).toBe(FRAG_MAX_DATAGRAMS);
    expect(h.r.counts.incomplete).toBe(1);
    expect(h.anomalies.list().map((a) => a.code)).toContain('ip_fragments_evicted');
  });

  it('a datagram over 65535 bytes is refused (ping of death)', () => {
    const h = new Harness();
    const ip = ipv4({ src: '10.0.2.55', dst: '10.0.1.10', proto: 17, id: 9, fragOffset: 65528 / 8, moreFragments: false }, Buffer.alloc(100));
    expect(h.feed(ethernet(C_MAC, S_MAC, 0x0800, ip))).toBeNull();
    expect(h.anomalies.list().map((a) => a.code)).toContain('ip_fragment_too_big');
  });

  it('IPv6: fragment headers, in and out of order', () => {
    const h = new Harness();
    const fs = frags6(dg, 1448);
    expect(fs.length).toBe(3);
    expect(h.feed(fs[1])).toBeNull();
    expect(h.feed(fs[0])).toBeNull();
    expect(h.feed(fs[2])?.equals(want)).toBe(true);
    const h2 = new Harness();
    h2.feed(fs[0]);
    h2.feed(fs[2]);
    expect(h2.r.lastDatagram?.missing()).toEqual({ runs: [[2, 2]], of: 3, frames: [1, 2] });
  });

  it('a capture: a DNS answer in three fragments is read whole; the decoder still stops at later fragments', async () => {
    // an answer with 40 A records (16 bytes each) after the question, cut into 3 fragments
    const q = Buffer.from([3, ...Buffer.from('big'), 4, ...Buffer.from('test'), 0, 0, 1, 0, 1]);
    const rr = Buffer.concat(Array.from({ length: 40 }, (_, i) => Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 9, i])));
    const hdr = (qr: number, an: number) => Buffer.concat([u16(0x1234), u16(qr ? 0x8180 : 0x0100), u16(1), u16(an), u16(0), u16(0)]);
    const query = ethernet(S_MAC, C_MAC, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.55', proto: 17 }, udp(40000, 53, Buffer.concat([hdr(0, 0), q]))));
    const answer = udp(53, 40000, Buffer.concat([hdr(1, 40), q, rr]));
    const fs = frags4(answer, 256);
    const recs = [query, ...fs.map((f) => f.frame)].map((data, i) => ({ sec: 1000, frac: i * 1000, data }));
    const rep = await analyzeSource(bufferSource(pcap(recs)), DEFAULT_OPTIONS);
    expect(rep.records.map((r) => r.verdict)).toEqual(['dns-ok']);
    expect(rep.records[0].answers?.length).toBeGreaterThan(0);
    expect(rep.stats).toMatchObject({ ipFragments: fs.length, reassembledDatagrams: 1, incompleteDatagrams: 0 });
  });
});

/** tshark reassembles IP fragments by default: the DNS answers it decodes are the ones pcapdiag decodes. */
const haveTshark = hasCommand('tshark');
describe.skipIf(!haveTshark)('fragment reassembly agrees with tshark', () => {
  for (const f of ['dns-fragmented.pcap', 'dns-fragment-lost.pcap']) {
    it(f, async () => {
      const path = join(FIXTURES, f);
      const out = execFileSync('tshark', ['-n', '-r', path, '-Y', 'dns.flags.response == 1', '-T', 'fields', '-e', 'frame.number', '-e', 'dns.count.answers'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const theirs = out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => l.split('\t').map(Number));
      const r = await analyzeFile(path);
      const ours: number[][] = [];
      for (const rec of r.records) for (const x of rec.facts ?? []) if (x.kind === 'dns-response') ours.push([x.frame, x.answerCount]);
      expect(ours.sort((a, b) => a[0] - b[0])).toEqual(theirs);
      // every fragment tshark sees, and one reassembled datagram per DNS answer it decodes
      const frags = execFileSync('tshark', ['-n', '-r', path, '-Y', 'ip.flags.mf == 1 || ip.frag_offset > 0 || ipv6.fraghdr', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect(r.stats.ipFragments).toBe(frags.split('\n').filter((l) => l.trim() !== '').length);
      expect(r.stats.reassembledDatagrams).toBe(theirs.length);
    });
  }
});
