import { describe, expect, it } from 'vitest';
import { Analyzer, DEFAULT_OPTIONS, type AnalyzeOptions } from '../src/analyze.js';
import { CaptureReader, READ_NEED_MORE, READ_RECORD } from '../src/capture/reader.js';
import { CaptureRecord } from '../src/capture/record.js';
import type { FlowRecord } from '../src/verdict/types.js';
import { bufferSource, CLIENT_MAC, ethernet, FLAGS, GW_MAC, ipv4, pcap, tcpFrame, udp, type Rec } from './helpers/build.js';

/** Feeds (seconds, frame) pairs to an Analyzer; records which packet index each verdict arrived at. */
function feed(frames: [number, Buffer][], opts: Partial<AnalyzeOptions> = {}, probe?: (a: Analyzer, i: number) => void) {
  const recs: Rec[] = frames.map(([t, data]) => ({ sec: 1700000000 + Math.floor(t), frac: Math.round((t % 1) * 1e6), data }));
  const src = bufferSource(pcap(recs));
  const reader = new CaptureReader();
  const rec = new CaptureRecord();
  const seen: { at: number; r: FlowRecord }[] = [];
  let i = 0;
  const a = new Analyzer({ ...DEFAULT_OPTIONS, ...opts }, 'none', (r) => seen.push({ at: i, r }));
  for (;;) {
    const st = reader.next(rec);
    if (st === READ_RECORD) {
      a.onRecord(rec);
      i++;
      probe?.(a, i);
    } else if (st === READ_NEED_MORE) {
      const [off, len] = reader.writable();
      reader.commit(src.read(reader.buf, off, len) as number);
    } else break;
  }
  const report = a.finish(reader, 'test');
  return { seen, report, total: i };
}

const noise = (t: number): [number, Buffer] => [t, ethernet(GW_MAC, CLIENT_MAC, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.99', proto: 17 }, udp(1, 9, Buffer.alloc(1))))];
const syn = (t: number, sport: number, seq = 1000): [number, Buffer] => [t, tcpFrame('c2s', { sport, dport: 80, seq, flags: FLAGS.SYN })];

describe('verdicts are reported as soon as they are decided, by capture time', () => {
  it('an unanswered SYN is a timeout a little after --syn-timeout, long before the capture ends', () => {
    const frames = [syn(0, 40000), ...Array.from({ length: 60 }, (_, k) => noise(0.5 + k * 0.5))];
    const { seen, total } = feed(frames);
    expect(seen.map((x) => x.r.verdict)).toEqual(['timeout']);
    const reportedAt = frames[seen[0].at - 1][0];
    expect(reportedAt).toBeGreaterThanOrEqual(3);
    expect(reportedAt).toBeLessThanOrEqual(5);
    expect(seen[0].at).toBeLessThan(total);
  });

  it('a SYN retransmitted after its timeout was reported is absorbed, not reported again', () => {
    const frames = [syn(0, 40000), ...Array.from({ length: 20 }, (_, k) => noise(0.5 + k * 0.5)), syn(10.5, 40000), noise(20)];
    const { seen, report } = feed(frames);
    expect(seen.map((x) => x.r.verdict)).toEqual(['timeout']);
    expect(report.summary.tcpConnections).toBe(1);
  });

  it('a SYN flood from many ports keeps the flow table bounded by the idle timeout', () => {
    const frames: [number, Buffer][] = [];
    for (let k = 0; k < 3000; k++) frames.push(syn(k * 0.01, 1024 + k, k));
    let peak = 0;
    const { seen, report } = feed(frames, { synTimeoutMs: 1000, tcpIdleMs: 2000 }, (a) => (peak = Math.max(peak, a.flows.tcp.size)));
    expect(report.summary.tcpConnections).toBe(3000);
    expect(seen).toHaveLength(3000);
    // 100 new flows a second, each kept for about timeout + grace + idle (≈ 4-5 s): far fewer than 3000
    expect(peak).toBeLessThan(700);
  });
});
