/**
 * SYN floods faster than any timeout (#22): 600,000 SYNs in 0.6 s of capture time are all in
 * flight at once, then all final at once (at the end, or at one sweep). The peak memory is a
 * benchmark figure (bench/flood.mjs --rate 1000000); what is tested here is what bounds it: the
 * default --max-flows caps the flows held, and records are built and emitted a chunk at a time,
 * in the same order as one batch would give them.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { analyzeSource, DEFAULT_OPTIONS } from '../../src/analyze.js';
import { Emitter } from '../../src/report/emit.js';
import { FLOOD_CHUNK } from '../../src/lifecycle.js';
import type { FlowRecord } from '../../src/verdict/types.js';
import { bufferSource, pcap, tcpFrame, FLAGS, type Rec } from '../helpers/build.js';

/**
 * `n` SYNs from distinct clients, `perSec` a second, then (when `tailSec`) one more packet that
 * much later. `isn`, when given, is the ISN of SYN `i` (else i × 7919).
 */
function flood(n: number, perSec: number, tailSec = 0, isn: (i: number) => number = (i) => i * 7919): Buffer {
  const recs: Rec[] = [];
  for (let i = 0; i < n; i++) {
    const us = Math.floor((i * 1e6) / perSec);
    const client = `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    recs.push({ sec: 1_700_000_000 + Math.floor(us / 1e6), frac: us % 1e6, data: tcpFrame('c2s', { sport: 1024 + (i % 60000), dport: 80, seq: isn(i), flags: FLAGS.SYN }, undefined, client) });
  }
  if (tailSec > 0) recs.push({ sec: 1_700_000_000 + tailSec, frac: 0, data: tcpFrame('c2s', { sport: 9, dport: 9, seq: 1, flags: FLAGS.SYN }, undefined, '12.0.0.1') });
  return pcap(recs);
}

describe('SYN floods faster than the timeouts', () => {
  const sizes: number[] = [];
  afterEach(() => vi.restoreAllMocks());
  const spyEmit = () => {
    sizes.length = 0;
    const proto = Emitter.prototype as unknown as { emit: (this: Emitter, batch: FlowRecord[]) => void };
    const emit = proto.emit;
    vi.spyOn(Emitter.prototype, 'emit').mockImplementation(function (this: Emitter, batch: FlowRecord[]) {
      sizes.push(batch.length);
      emit.call(this, batch);
    });
  };

  it('the default --max-flows bounds the flows held (a flood of 2 KB flows stays under 1 GiB)', () => {
    expect(DEFAULT_OPTIONS.maxFlows).toBeLessThanOrEqual(250_000);
  });

  it('20,000 SYNs in 20 ms, all open at the end: reported a chunk at a time, in time order, every one', async () => {
    spyEmit();
    const seen: FlowRecord[] = [];
    const r = await analyzeSource(bufferSource(flood(20_000, 1e6)), DEFAULT_OPTIONS, { keep: 'none', onFlow: (x) => seen.push(x) });
    expect(r.summary.verdicts['capture-ended']).toBe(20_000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(FLOOD_CHUNK);
    expect(sizes.filter((n) => n > 0).length).toBeGreaterThanOrEqual(Math.ceil(20_000 / FLOOD_CHUNK));
    expect(seen.map((x) => x.id)).toEqual(seen.map((_, i) => i + 1));
    expect(seen.map((x) => x.firstFrame)).toEqual(seen.map((_, i) => i + 1));
  });

  it('the same flood, then a packet 10 s later: one sweep times them all out, a chunk at a time, and the table is emptied', async () => {
    spyEmit();
    const seen: FlowRecord[] = [];
    const r = await analyzeSource(bufferSource(flood(20_000, 1e6, 10)), DEFAULT_OPTIONS, { keep: 'none', onFlow: (x) => seen.push(x) });
    expect(r.summary.verdicts.timeout).toBe(20_000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(FLOOD_CHUNK);
    expect(seen.slice(0, 20_000).map((x) => x.firstFrame)).toEqual(seen.slice(0, 20_000).map((_, i) => i + 1));
  });

  it('--max-flows 5,000 under a 20,000-SYN flood: at 1 M/s 5,000 held and reported, 15,000 counted; at 500/s every one reported', async () => {
    for (const rate of [1e6, 500]) {
      const r = await analyzeSource(bufferSource(flood(20_000, rate)), { ...DEFAULT_OPTIONS, maxFlows: 5000 }, { keep: 'none', onFlow: null });
      const reported = Object.values(r.summary.verdicts).reduce((a, b) => a + b, 0);
      if (rate === 1e6) {
        expect(reported).toBe(5000);
        expect(r.stats.flowsNotTracked).toBe(15_000);
      } else {
        // 500/s: each times out after 3 s, so about 2,000 are open at once, under the cap
        expect(reported).toBe(20_000);
        expect(r.stats.flowsNotTracked).toBe(0);
        // the timeouts' tombstones (kept --tcp-idle) made room for new flows
        expect(r.anomalies.find((a) => a.code === 'tcp_tombstone_evicted')?.count).toBeGreaterThan(10_000);
      }
    }
  });

  it('NAT legs on either side of a chunk cut are linked both ways, up to a held chunk apart; further apart, one way', async () => {
    // SYN i has ISN i × 7919 but for pairs with one ISN from two clients (an SNAT's two legs, as
    // nat-leg pairs them): each FLOOD_CHUNK cut's last and first record, one pair across the first
    // cut as far apart as the records held reach (the first chunk's first record: a chunk is held
    // whole), and one pair two cuts apart
    const pairs: [number, number][] = [1, 2, 3, 4].map((k) => [k * FLOOD_CHUNK - 1, k * FLOOD_CHUNK]);
    pairs.push([0, FLOOD_CHUNK + 10]);
    const far: [number, number] = [FLOOD_CHUNK - 10, 2 * FLOOD_CHUNK + 10];
    const isn = (i: number) => {
      for (const [a, b] of [...pairs, far]) if (i === a || i === b) return 1_000_000 + a;
      return i * 7919;
    };
    const seen: FlowRecord[] = [];
    await analyzeSource(bufferSource(flood(5000, 1e6, 0, isn)), DEFAULT_OPTIONS, { keep: 'none', onFlow: (x) => seen.push(x) });
    expect(seen).toHaveLength(5000);
    const links = (i: number) => (seen[i].related ?? []).filter((x) => x.kind === 'nat-leg').map((x) => x.id);
    for (const [a, b] of pairs) {
      expect(links(a), `#${a + 1}`).toEqual([b + 1]);
      expect(links(b), `#${b + 1}`).toEqual([a + 1]);
    }
    // the earlier was handed on with the chunk held before the later one's chunk was related
    expect(links(far[0])).toEqual([]);
    expect(links(far[1])).toEqual([far[0] + 1]);
  });
});
