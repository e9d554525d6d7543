import { describe, expect, it } from 'vitest';
import { estimateOffset, matchPackets, pairFlows } from '../src/vantage/match.js';
import type { PacketSummary } from '../src/vantage/packets.js';

const SYN = 0x02;
const ACK = 0x10;
const RST = 0x04;

let frame = 0;
/** A packet as PacketLog would log it. */
function pkt(o: Partial<PacketSummary> & { t: number }): PacketSummary {
  return { frame: ++frame, proto: 6, src: '10.0.1.10:40000', dst: '10.0.2.20:80', flags: ACK, seq: 1000, ack: 2000, len: 0, ipId: 0, ttl: 64, hash: 0, ...o };
}

/** The same packet seen downstream: `dt` ns later on the other clock, one hop further, optionally NATed. */
function seenAt(p: PacketSummary, dt: number, o: Partial<PacketSummary> = {}): PacketSummary {
  return { ...p, frame: ++frame, t: p.t + dt, ttl: p.ttl - 1, ...o };
}

describe('pairFlows', () => {
  it('pairs a flow with its copy behind a NAT (addresses differ, sequence numbers do not)', () => {
    const a = [pkt({ t: 0, flags: SYN, seq: 111, ack: 0, ipId: 5 }), pkt({ t: 100, flags: SYN | ACK, seq: 999, ack: 112, src: '10.0.2.20:80', dst: '10.0.1.10:40000', ttl: 63 })];
    const other = [pkt({ t: 0, flags: SYN, seq: 555, ack: 0 })];
    const natted = [seenAt(a[0], 50, { src: '10.0.2.1:61000' }), { ...a[1], frame: ++frame, t: 60, ttl: 64, dst: '10.0.2.1:61000' }];
    expect(pairFlows([a], [other, natted])).toEqual([1]);
  });

  it('gives each flow of B to one flow of A at most, and leaves unshared flows unpaired', () => {
    const syn = pkt({ t: 0, flags: SYN, seq: 7, ack: 0 });
    const dup = { ...syn, frame: ++frame };
    const lonely = pkt({ t: 0, flags: SYN, seq: 8, ack: 0 });
    expect(pairFlows([[syn], [dup], [lonely]], [[seenAt(syn, 10)]])).toEqual([0, -1, -1]);
  });
});

describe('matchPackets', () => {
  it('tells retransmitted SYNs apart by IP ID: the first was lost, the second arrived', () => {
    const s1 = pkt({ t: 0, flags: SYN, seq: 1, ack: 0, ipId: 100 });
    const s2 = pkt({ t: 1e9, flags: SYN, seq: 1, ack: 0, ipId: 101 });
    const far = [seenAt(s2, 40_000)];
    const pairs = matchPackets([s1, s2], far, (t) => t, 2e9);
    expect(pairs.map((p) => p.a)).toEqual([s2]);
  });

  it('tells copies with no IP ID (SYN-ACK retransmissions, ID 0) apart by time once the offset is known', () => {
    const offset = 5e9; // B's clock 5 s ahead
    const sa = [0, 1e9, 3e9].map((t) => pkt({ t, flags: SYN | ACK, seq: 9, ack: 2, ipId: 0, src: '10.0.2.20:80', dst: '10.0.1.10:40000' }));
    // only the last reached the other capture, 30 µs later, stamped on the clock 5 s ahead
    const far = [seenAt(sa[2], offset + 30_000)];
    const pairs = matchPackets(sa, far, (t) => t - offset, 0.5e9);
    expect(pairs).toHaveLength(1);
    expect(pairs[0].a).toBe(sa[2]);
    // with the wrong offset the copy is too far from every original: no match rather than a wrong one
    expect(matchPackets(sa, far, (t) => t, 0.5e9)).toHaveLength(0);
  });

  it('does not match a forged RST to anything the server sent', () => {
    const rst = pkt({ t: 10, flags: RST | ACK, seq: 0, ack: 112, src: '10.0.2.20:80', dst: '10.0.1.10:40000' });
    const serverSide = [pkt({ t: 5, flags: SYN, seq: 111, ack: 0, ttl: 63 })];
    expect(matchPackets([rst], serverSide, (t) => t, 2e9)).toHaveLength(0);
  });

  it('matches UDP by payload hash and length (a DNS id and question are in the hashed bytes), through a NAT', () => {
    const q = pkt({ t: 0, proto: 17, flags: 0, seq: 0, ack: 0, len: 45, hash: 0xdeadbeef, src: '10.0.1.10:5353', dst: '10.0.2.53:53' });
    const other = pkt({ t: 0, proto: 17, flags: 0, seq: 0, ack: 0, len: 45, hash: 0xdeadbeee });
    const natted = seenAt(q, 100, { src: '10.0.2.1:1024' });
    expect(matchPackets([q], [other, natted], (t) => t, 1e9).map((p) => p.b)).toEqual([natted]);
  });
});

describe('estimateOffset', () => {
  it('both ways: the one-way delays cancel, the offset comes out exact', () => {
    const offset = 1.25e9;
    const transit = 80_000;
    const deltaNs = 3e6; // B's first packet 3 ms after A's (absolute)
    // A is next to the client: client packets pass A first (higher TTL there), server packets pass B first
    const up = pkt({ t: 10e6, ttl: 64 });
    const upB = { ...up, t: up.t + transit + offset - deltaNs, ttl: 63 };
    const down = pkt({ t: 20e6, ttl: 63, src: '10.0.2.20:80', dst: '10.0.1.10:40000' });
    const downB = { ...down, t: down.t - transit + offset - deltaNs, ttl: 64 };
    const c = estimateOffset(
      [
        { a: up, b: upB },
        { a: down, b: downB },
      ],
      deltaNs,
    );
    expect(c.method).toBe('both-ways');
    expect(c.offsetNs).toBeCloseTo(offset, 3);
    expect(c.transitNs).toBeCloseTo(transit, 3);
  });

  it('one way only: the estimate includes the transit (said as such)', () => {
    const up = pkt({ t: 0, ttl: 64 });
    const c = estimateOffset([{ a: up, b: { ...up, t: 2e9 + 5000, ttl: 63 } }], 0);
    expect(c.method).toBe('one-way');
    expect(c.offsetNs).toBe(2e9 + 5000);
  });

  it('same TTL on both sides (one segment, or a NAT that does not decrement it): the median difference', () => {
    const ps = [0, 1, 2].map((i) => pkt({ t: i * 1e6 }));
    const c = estimateOffset(
      ps.map((a, i) => ({ a, b: { ...a, t: a.t + [100, 300, 200][i] } })),
      0,
    );
    expect(c.method).toBe('same-hop');
    expect(c.offsetNs).toBe(200);
  });

  it('nothing matched: says so', () => {
    expect(estimateOffset([], 0).method).toBe('none');
  });
});
