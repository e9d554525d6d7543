import { describe, expect, it } from 'vitest';
import { SEG, SeqTracker, seqAdd, seqGt, seqLt } from '../src/flow/seq.js';
import { readTcpOptions, TcpOptions, onlyTimestamps } from '../src/decode/tcp-options.js';
import { analyzeSource, DEFAULT_OPTIONS, type AnalyzeOptions, type Report } from '../src/analyze.js';
import { bufferSource, FLAGS, pcap, tcp, tcpFrame, type Rec } from './helpers/build.js';
import { parseExpectations, checkExpectations } from '../src/ci/expect.js';
import { UsageError } from '../src/errors.js';

/** A capture from (seconds, frame) pairs. */
async function run(frames: [number, Buffer][], opts: Partial<AnalyzeOptions> = {}): Promise<Report> {
  const recs: Rec[] = frames.map(([t, data]) => ({ sec: 1700000000 + Math.floor(t), frac: Math.round((t % 1) * 1e6), data }));
  return analyzeSource(bufferSource(pcap(recs)), { ...DEFAULT_OPTIONS, ...opts });
}

const mssOpt = (mss: number) => Buffer.from([2, 4, mss >> 8, mss & 255, 4, 2, 1, 3, 3, 7]);
const sackOpt = (...blocks: [number, number][]) => {
  const b = Buffer.alloc(2 + 8 * blocks.length);
  b[0] = 5;
  b[1] = b.length;
  blocks.forEach(([l, r], i) => {
    b.writeUInt32BE(l >>> 0, 2 + 8 * i);
    b.writeUInt32BE(r >>> 0, 6 + 8 * i);
  });
  return Buffer.concat([Buffer.from([1, 1]), b]);
};

describe('sequence helpers', () => {
  it('compare across the 32-bit wrap', () => {
    expect(seqLt(0xfffffff0, 0x10)).toBe(true);
    expect(seqGt(0x10, 0xfffffff0)).toBe(true);
    expect(seqAdd(0xffffffff, 2)).toBe(1);
  });
});

describe('SeqTracker', () => {
  it('follows new data across the wrap without holes or retransmissions', () => {
    const s = new SeqTracker();
    s.syn(0xfffff000);
    let seq = 0xfffff001;
    for (let i = 0; i < 5; i++) {
      expect(s.data(seq, 1448, false, i + 1, i)).toBe(SEG.New);
      seq = seqAdd(seq, 1448);
    }
    expect(s.maxEnd).toBe(seq);
    expect(s.holes + s.retrans + s.unseenBytes).toBe(0);
    s.ack(seq, 500, true, 9);
    expect(s.unseenBytes).toBe(0);
  });

  it('a gap filled later by a retransmission was lost before the capture point', () => {
    const s = new SeqTracker();
    s.syn(100);
    s.data(101, 100, false, 1, 0);
    s.data(301, 100, false, 2, 1); // 201..301 skipped
    expect(s.holes).toBe(1);
    expect(s.firstHole()).toEqual({ seq: 201, bytes: 100, t: 1, frame: 2 });
    expect(s.data(201, 100, false, 3, 2)).toBe(SEG.FilledHole);
    expect(s.holes).toBe(0);
    expect(s.holesFilled).toBe(1);
    expect(s.retrans).toBe(0);
  });

  it('a partial retransmission fills part of a gap and splits it', () => {
    const s = new SeqTracker();
    s.syn(0);
    s.data(1, 100, false, 1, 0);
    s.data(1001, 100, false, 2, 1); // gap 101..1001
    s.data(401, 200, false, 3, 2); // fills 401..601 in the middle
    expect(s.holes).toBe(2);
    expect(s.holeBytes()).toBe(700);
    s.data(51, 400, false, 4, 3); // 51..451: retransmits 51..101 and fills 101..401
    expect(s.holes).toBe(1);
    expect(s.firstHole()?.seq).toBe(601);
  });

  it('bytes ACKed past what was seen, or inside a gap, were missed by the capture', () => {
    const s = new SeqTracker();
    s.syn(0);
    s.data(1, 1000, false, 1, 0);
    s.data(2001, 1000, false, 2, 1); // 1001..2001 not captured
    s.ack(3001, 100, true, 3); // the receiver got it all
    expect(s.unseenBytes).toBe(1000);
    expect(s.unseenFrame).toBe(3);
    expect(s.holes).toBe(0);
    s.ack(4001, 100, true, 4); // and 1000 bytes more the capture never saw
    expect(s.unseenBytes).toBe(2000);
    expect(s.unseenEvents).toBe(2);
  });

  it('SACK blocks above a gap are what arrived; a SACK past the highest seen counts as missed', () => {
    const s = new SeqTracker();
    s.syn(0xfffffff0);
    s.data(0xfffffff1, 100, false, 1, 0);
    const end = seqAdd(0xfffffff1, 100);
    s.data(seqAdd(end, 100), 100, false, 2, 1); // gap of 100 across nothing in particular
    s.ack(end, 1000, true, 3);
    s.sack(seqAdd(end, 100), seqAdd(end, 200), 3, 2);
    expect(s.unseenBytes).toBe(0);
    expect(s.holes).toBe(1);
    s.ack(end, 1000, true, 4);
    expect(s.dupAcks).toBe(1);
    s.sack(seqAdd(end, 100), seqAdd(end, 300), 4, 3); // 100 bytes past what was seen
    expect(s.unseenBytes).toBe(100);
  });

  it('repeats of one segment record their spacing (RTO backoff)', () => {
    const s = new SeqTracker();
    s.syn(0);
    s.data(1, 1448, false, 1, 0);
    for (const [i, t] of [0.2, 0.6, 1.4, 3.0].entries()) expect(s.data(1, 1448, false, i + 2, t * 1e9)).toBe(SEG.Retransmission);
    expect(s.retrans).toBe(4);
    expect(s.rtxCount).toBe(4);
    expect(s.rtxFirstGapNs).toBeCloseTo(0.4e9);
    expect(s.rtxLastGapNs).toBeCloseTo(1.6e9);
  });

  it('keeps at most MAX_HOLES holes, merging the newest', () => {
    const s = new SeqTracker();
    s.syn(0);
    for (let i = 0; i < 20; i++) s.data(1 + i * 200, 100, false, i + 1, i);
    expect(s.holes).toBe(8);
    expect(s.holesMerged).toBe(true);
  });
});

describe('TCP options', () => {
  it('reads MSS, window scale, SACK permitted and SACK blocks from a built header', () => {
    const h = tcp({ sport: 1, dport: 2, flags: FLAGS.SYN, options: mssOpt(1460) });
    const o = new TcpOptions();
    expect(readTcpOptions(h, 0, h.length, o)).toBe(true);
    expect([o.mss, o.wscale, o.sackOk, o.sackBlocks]).toEqual([1460, 7, true, 0]);
    const a = tcp({ sport: 1, dport: 2, flags: FLAGS.ACK, options: sackOpt([10, 20], [0xfffffff0, 5]) });
    readTcpOptions(a, 0, a.length, o);
    expect(o.sackBlocks).toBe(2);
    expect([...o.sack.subarray(0, 4)]).toEqual([10, 20, 0xfffffff0, 5]);
    expect(onlyTimestamps(a, 0, a.length)).toBe(false);
  });

  it('stops at a length that runs past the header, never reading beyond it', () => {
    const h = tcp({ sport: 1, dport: 2, flags: FLAGS.ACK, options: Buffer.from([2, 40, 5, 0]) });
    const o = new TcpOptions();
    expect(readTcpOptions(h, 0, h.length, o)).toBe(false);
    expect(o.mss).toBe(-1);
  });
});

const C = (o: Partial<Parameters<typeof tcpFrame>[1]> & { flags: number }, payload?: Buffer) => tcpFrame('c2s', { sport: 40000, dport: 80, ...o }, payload);
const S = (o: Partial<Parameters<typeof tcpFrame>[1]> & { flags: number }, payload?: Buffer) => tcpFrame('s2c', { sport: 80, dport: 40000, ...o }, payload);
const CI = 1000;
const SI = 5000;
const hs = (): [number, Buffer][] => [
  [0, C({ sport: 40000, dport: 80, seq: CI, flags: FLAGS.SYN, options: mssOpt(1460) })],
  [0.001, S({ sport: 80, dport: 40000, seq: SI, ack: CI + 1, flags: FLAGS.SYN | FLAGS.ACK, options: mssOpt(1460) })],
  [0.002, C({ sport: 40000, dport: 80, seq: CI + 1, ack: SI + 1, flags: FLAGS.ACK })],
];
const req = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');

describe('after the handshake (built packets through the whole analysis)', () => {
  it('a request the server ACKs and never answers is no-response by server, once --response-timeout passes', async () => {
    const frames: [number, Buffer][] = [
      ...hs(),
      [0.01, C({ sport: 40000, dport: 80, seq: CI + 1, ack: SI + 1, flags: FLAGS.ACK | FLAGS.PSH }, req)],
      [0.011, S({ sport: 80, dport: 40000, seq: SI + 1, ack: CI + 1 + req.length, flags: FLAGS.ACK })],
      [7, C({ sport: 40000, dport: 80, seq: CI + 1 + req.length, ack: SI + 1, flags: FLAGS.ACK | FLAGS.FIN })],
    ];
    const r = await run(frames);
    expect(r.records.map((x) => `${x.verdict} ${x.by}`)).toEqual(['no-response server']);
    expect(r.records[0].evidence.join('\n')).toContain('until the client gave up and closed (FIN #6)');
    const longer = await run(frames, { responseTimeoutMs: 10_000 });
    expect(longer.records[0].verdict).toBe('ok');
  });

  it('without the server ACK it is by unknown; a server FIN instead is closed-by-remote', async () => {
    const r = await run([...hs(), [0.01, C({ seq: CI + 1, ack: SI + 1, flags: FLAGS.ACK | FLAGS.PSH }, req)], [6, C({ seq: CI + 1, ack: SI + 1, flags: FLAGS.ACK | FLAGS.PSH }, Buffer.alloc(0))]]);
    expect(r.records.map((x) => `${x.verdict} ${x.by}`)).toEqual(['no-response unknown']);
    const fin = await run([
      ...hs(),
      [0.01, C({ seq: CI + 1, ack: SI + 1, flags: FLAGS.ACK | FLAGS.PSH }, req)],
      [6, S({ seq: SI + 1, ack: CI + 1 + req.length, flags: FLAGS.ACK | FLAGS.FIN })],
      [6.001, C({ seq: CI + 1 + req.length, ack: SI + 2, flags: FLAGS.ACK | FLAGS.FIN })],
    ]);
    expect(fin.records[0].verdict).toBe('closed-by-remote');
  });

  it('an answered request gives responseMs and ttfbMs, and --expect bounds them', async () => {
    const r = await run([...hs(), [0.01, C({ seq: CI + 1, ack: SI + 1, flags: FLAGS.ACK | FLAGS.PSH }, req)], [0.26, S({ seq: SI + 1, ack: CI + 1 + req.length, flags: FLAGS.ACK | FLAGS.PSH }, Buffer.from('HTTP/1.1 200 OK\r\n\r\n'))]]);
    expect(r.records[0].verdict).toBe('ok');
    expect(r.records[0].responseMs).toBeCloseTo(250, 3);
    expect(r.records[0].ttfbMs).toBeCloseTo(250, 3);
    const rules = parseExpectations('tcp 10.0.2.20:80 ok ttfb<200ms\ntcp 10.0.2.20:80 ok response<=1s,ttfb<300ms\n', 'rules');
    expect(checkExpectations(rules, r.records).map((x) => x.ok)).toEqual([false, true]);
    expect(checkExpectations(rules, r.records)[0].message).toContain('got ok with ttfb 250 ms');
    expect(() => parseExpectations('tcp 10.0.2.20:80 ok ttfb<fast', 'rules')).toThrow(UsageError);
  });

  it('seen from the client, a download whose full-size segments never arrive is a data-stall, a PMTU black hole', async () => {
    const tail = Buffer.alloc(100, 0x78);
    const gap = 4 * 1448;
    const r = await run([
      ...hs(),
      [0.01, C({ seq: CI + 1, ack: SI + 1, flags: FLAGS.ACK | FLAGS.PSH }, req)],
      [0.02, S({ seq: SI + 1 + gap, ack: CI + 1 + req.length, flags: FLAGS.ACK | FLAGS.PSH | FLAGS.FIN }, tail)],
      [0.021, C({ seq: CI + 1 + req.length, ack: SI + 1, flags: FLAGS.ACK, options: sackOpt([SI + 1 + gap, SI + 1 + gap + 101]) })],
      [5, C({ seq: CI + 1 + req.length, ack: SI + 1, flags: FLAGS.ACK | FLAGS.FIN })],
    ]);
    expect(r.records.map((x) => `${x.verdict} ${x.by}`)).toEqual(['data-stall middlebox']);
    expect(r.records[0].summary).toContain('5792 bytes never arrived');
    expect(r.records[0].evidence.join('\n')).toContain('though the client offered MSS 1460');
  });

  it('bytes the client ACKs that the capture never saw are counted in the summary, not blamed on the network', async () => {
    const data = Buffer.alloc(1000, 0x78);
    const r = await run([
      ...hs(),
      [0.01, C({ seq: CI + 1, ack: SI + 1, flags: FLAGS.ACK | FLAGS.PSH }, req)],
      [0.02, S({ seq: SI + 1, ack: CI + 1 + req.length, flags: FLAGS.ACK }, data)],
      // the server's second 1000 bytes are not in the capture
      [0.03, S({ seq: SI + 2001, ack: CI + 1 + req.length, flags: FLAGS.ACK }, data)],
      [0.031, C({ seq: CI + 1 + req.length, ack: SI + 3001, flags: FLAGS.ACK })],
    ]);
    expect(r.records[0].verdict).toBe('ok');
    expect(r.stats.captureMissedBytes).toBe(1000);
    expect(r.stats.captureMissedConnections).toBe(1);
    expect(r.warnings.join('\n')).toContain('the capture missed packets: 1000 TCP bytes in 1 connection');
  });
});
