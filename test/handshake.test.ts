import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { analyzeSource, DEFAULT_OPTIONS, type AnalyzeOptions, type Report } from '../src/analyze.js';
import type { FlowRecord } from '../src/verdict/types.js';
import { bufferSource, CLIENT_MAC, ethernet, FLAGS, GW_MAC, ipv4, pcap, tcpFrame, udp, type Rec } from './helpers/build.js';
import { analyzeFile, SHARED_PCAPS, sharedPresent } from './helpers/run.js';

// Handshake-state defects of issue #22, each on built packets (so a plain clone tests it) and, where
// the issue names one, on the public capture that showed it (skipped, by name, without ../shared).

const BASE = 1700000000;
/** A capture from (seconds, frame) pairs; seconds may be negative (stamped before BASE). */
async function run(frames: [number, Buffer][], opts: Partial<AnalyzeOptions> = {}): Promise<Report> {
  const recs: Rec[] = frames.map(([t, data]) => {
    const us = Math.round(t * 1e6);
    return { sec: BASE + Math.floor(us / 1e6), frac: us - Math.floor(us / 1e6) * 1e6, data };
  });
  return analyzeSource(bufferSource(pcap(recs)), { ...DEFAULT_OPTIONS, ...opts });
}
const tcpRecs = (r: Report) => r.records.filter((x) => x.proto === 'tcp');
const verdicts = (r: Report) => tcpRecs(r).map((x) => `${x.verdict} ${x.by}`);
const text = (x: FlowRecord) => [x.summary, ...x.evidence, x.check].join(' | ');

const ISN = 1000;
const SISN = 5000;
const C = (t: number, o: { seq: number; ack?: number; flags: number }, data?: Buffer): [number, Buffer] => [t, tcpFrame('c2s', { sport: 40000, dport: 80, ...o }, data)];
const S = (t: number, o: { seq: number; ack?: number; flags: number }, data?: Buffer): [number, Buffer] => [t, tcpFrame('s2c', { sport: 80, dport: 40000, ...o }, data)];
const syn = (t: number, seq = ISN) => C(t, { seq, flags: FLAGS.SYN });
const synAck = (t: number, ack = ISN + 1) => S(t, { seq: SISN, ack, flags: FLAGS.SYN | FLAGS.ACK });
const finalAck = (t: number, ack = SISN + 1) => C(t, { seq: ISN + 1, ack, flags: FLAGS.ACK });
const request = (t: number) => C(t, { seq: ISN + 1, ack: SISN + 1, flags: FLAGS.ACK | FLAGS.PSH }, Buffer.from('GET / HTTP/1.1\r\n\r\n'));
/** The server's answer to the request (a request with none is no-response). */
const answer = (t: number) => S(t, { seq: SISN + 1, ack: ISN + 19, flags: FLAGS.ACK | FLAGS.PSH }, Buffer.from('HTTP/1.1 200 OK\r\n\r\n'));
/** A packet of another conversation: it only moves the capture's clock. */
const later = (t: number): [number, Buffer] => [t, ethernet(GW_MAC, CLIENT_MAC, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.99', proto: 17 }, udp(1, 9, Buffer.alloc(1))))];

/** Every `t`, `times` and `…Ns` value of every fact of every record is >= 0. */
function negativeTimes(r: Report): string[] {
  const bad: string[] = [];
  for (const rec of r.records)
    for (const f of rec.facts ?? [])
      for (const [k, v] of Object.entries(f)) {
        if (k !== 't' && k !== 'times' && !k.endsWith('Ns')) continue;
        const vs = Array.isArray(v) ? (v as unknown[]) : [v];
        if (vs.some((x) => typeof x === 'number' && x < 0)) bad.push(`${rec.key} ${f.kind}.${k}=${JSON.stringify(v)}`);
      }
  return bad;
}

describe('handshake: packets stamped before the capture began, or before their flow went on', () => {
  it('a SYN-ACK stamped before the capture\'s first packet is still the SYN\'s answer (not "unanswered")', async () => {
    // bug-1450-04/-05: the SYN-ACK's timestamp is 668 million seconds early
    const r = await run([syn(0), synAck(-5000), finalAck(0.002), request(0.003), answer(0.004), later(10)]);
    expect(verdicts(r)).toEqual(['ok server']);
    expect(negativeTimes(r)).toEqual([]);
  });

  it('a whole handshake stamped before the first packet is one ok, with no negative time', async () => {
    const r = await run([later(100), syn(40), synAck(40.001), finalAck(40.002), request(40.003), answer(40.004), later(110)]);
    expect(verdicts(r)).toEqual(['ok server']);
    expect(negativeTimes(r)).toEqual([]);
  });
});

describe('handshake: a SYN-ACK written before its SYN (tcpdump -i any)', () => {
  it('is matched to the SYN that follows: one ok, history S then h', async () => {
    const r = await run([synAck(0.0001), syn(0.0002), finalAck(0.0003), request(0.0004), answer(0.0005), later(10)]);
    expect(verdicts(r)).toEqual(['ok server']);
    expect(tcpRecs(r)[0].history?.startsWith('Sh')).toBe(true);
    expect(tcpRecs(r)[0].key).toContain(`isn ${ISN}`);
    expect(negativeTimes(r)).toEqual([]);
  });

  it('even when the SYN is stamped a little earlier than the SYN-ACK written before it', async () => {
    const r = await run([later(0), synAck(0.0125), syn(0.0124), finalAck(0.025), request(0.03), answer(0.031), later(10)]);
    expect(verdicts(r)).toEqual(['ok server']);
  });

  it('not when the SYN-ACK acknowledges another ISN, nor when the SYN comes more than 1 s later', async () => {
    const wrongIsn = await run([synAck(0, ISN + 100), syn(0.001), later(10)]);
    expect(verdicts(wrongIsn)).toContain('one-sided unknown');
    const tooLate = await run([synAck(0), syn(1.5), later(10)]);
    expect(verdicts(tooLate)).toContain('one-sided unknown');
  });
});

describe('handshake: the final ACK', () => {
  it('must acknowledge the SYN-ACK (ISN+1): an ACK of something else completes nothing', async () => {
    const r = await run([syn(0), synAck(0.001), finalAck(0.002, 1), later(10)]);
    expect(verdicts(r)).toEqual(['handshake-incomplete unknown']);
  });

  it('after the client answered the SYN-ACK with a RST, a later ACK completes nothing (urgent11, modbus p502)', async () => {
    const r = await run([syn(0), synAck(0.012), C(0.0121, { seq: ISN + 1, flags: FLAGS.RST }), C(15.7, { seq: ISN, ack: ISN + 1, flags: FLAGS.ACK }, Buffer.alloc(100, 1)), later(30)]);
    expect(verdicts(r)).toEqual(['handshake-incomplete client']);
    expect(text(tcpRecs(r)[0])).toMatch(/RST #3 from the client 0\.100 ms after the SYN-ACK/);
  });

  it('an injected RST+ACK that does not acknowledge the SYN, before the SYN-ACK, ends nothing (rst-inject-rae)', async () => {
    const r = await run([syn(0), S(0.23, { seq: 0, ack: ISN, flags: FLAGS.RST | FLAGS.ACK }), synAck(1.26), finalAck(1.27), request(1.28), S(2.85, { seq: SISN + 1, ack: ISN + 19, flags: FLAGS.RST | FLAGS.ACK }), later(10)]);
    expect(tcpRecs(r)).toHaveLength(1);
    expect(tcpRecs(r)[0].verdict).not.toBe('capture-ended');
    expect(text(tcpRecs(r)[0])).toContain('#6');
    expect(negativeTimes(r)).toEqual([]);
  });
});

describe('handshake: a challenge ACK (the server answers the SYN with a plain ACK)', () => {
  /** SYN, the server's ACK of an older connection, the client's RFC 9293 RST, the SYN again at `retryT`. */
  const challenged = (retryT: number): [number, Buffer][] => [
    syn(0),
    S(0.018, { seq: 777, ack: 123456, flags: FLAGS.ACK }),
    C(0.0182, { seq: 123456, flags: FLAGS.RST }),
    syn(retryT),
    synAck(retryT + 0.018),
    finalAck(retryT + 0.0182),
    request(retryT + 0.0183),
  ];

  it('is an answer, not "unanswered"; the client RST answering it is not the answer to the later SYN-ACK (tls-subjectaltname :60064)', async () => {
    const r = await run([...challenged(3.06), later(20)]);
    expect(verdicts(r)).toEqual(['ok server']);
    const t = text(tcpRecs(r)[0]);
    expect(t).toContain('plain ACK #2');
    expect(t).toContain('RST #3');
    expect(t).not.toMatch(/closed with RST/);
    expect(negativeTimes(r)).toEqual([]);
  });

  it('with no SYN-ACK after it, is bad-syn-ack that says so (syn-then-ack-then-rst)', async () => {
    const r = await run([syn(0), S(0.0003, { seq: 0, ack: 0, flags: FLAGS.ACK }), C(0.0004, { seq: 0, flags: FLAGS.RST })]);
    expect(verdicts(r)).toEqual(['bad-syn-ack unknown']);
    expect(tcpRecs(r)[0].summary).toContain('answered the SYN with a plain ACK');
    expect(text(tcpRecs(r)[0])).not.toContain('unanswered');
  });

  it('the same attempt answered 13 s later is reported once, not twice (tls-subjectaltname :59622)', async () => {
    const ticks = Array.from({ length: 12 }, (_, i) => later(i + 1)); // other traffic: sweeps run
    const r = await run([...challenged(13.1).slice(0, 3), ...ticks, ...challenged(13.1).slice(3), later(40)]);
    const keys = tcpRecs(r).map((x) => x.key.replace(/ #\d+$/, ''));
    expect(keys).toHaveLength(1);
    expect(new Set(keys).size).toBe(1);
  });
});

describe('handshake: the same attempt is never reported twice', () => {
  it('a SYN with the ISN of an attempt reported and closed 15 s earlier is a late retransmission', async () => {
    const ticks = Array.from({ length: 14 }, (_, i) => later(i + 1)); // other traffic: sweeps run
    const r = await run([syn(0), S(0.001, { seq: 0, ack: ISN + 1, flags: FLAGS.RST | FLAGS.ACK }), ...ticks, syn(15), later(40)]);
    expect(verdicts(r)).toEqual(['refused server']);
  });
});

describe("handshake: a closed connection's stragglers", () => {
  const closedAt1 = (): [number, Buffer][] => [
    syn(0),
    synAck(0.001),
    finalAck(0.002),
    request(0.003),
    S(0.0035, { seq: SISN + 1, ack: ISN + 19, flags: FLAGS.ACK | FLAGS.PSH }, Buffer.from('HTTP/1.1 200 OK\r\n\r\n')),
    S(0.004, { seq: SISN + 20, ack: ISN + 19, flags: FLAGS.ACK | FLAGS.FIN }),
    C(0.005, { seq: ISN + 19, ack: SISN + 21, flags: FLAGS.ACK | FLAGS.FIN }),
    S(0.006, { seq: SISN + 21, ack: ISN + 20, flags: FLAGS.ACK }),
    // other traffic goes on, so the connection is reported and becomes a tombstone
    ...Array.from({ length: 16 }, (_, i) => later(i + 1)),
  ];

  it('a RST in its sequence window 16 s after the close is absorbed, not a midstream record (Teredo #50)', async () => {
    const r = await run([...closedAt1(), S(16.5, { seq: SISN + 21, ack: ISN + 20, flags: FLAGS.RST | FLAGS.ACK }), later(40)]);
    expect(verdicts(r)).toEqual(['ok server']);
  });

  it('past its first 10 s, such a tombstone does not count against --max-flows', async () => {
    const hs = (sport: number, t: number): [number, Buffer][] => [
      [t, tcpFrame('c2s', { sport, dport: 80, seq: ISN, flags: FLAGS.SYN })],
      [t + 0.001, tcpFrame('s2c', { sport: 80, dport: sport, seq: SISN, ack: ISN + 1, flags: FLAGS.SYN | FLAGS.ACK })],
      [t + 0.002, tcpFrame('c2s', { sport, dport: 80, seq: ISN + 1, ack: SISN + 1, flags: FLAGS.ACK })],
    ];
    // the closed connection's tombstone, the UDP flow of `later` and two new connections: 3 may be tracked at once
    const r = await run([...closedAt1(), ...hs(40001, 17), ...hs(40002, 17.1), later(18)], { maxFlows: 3 });
    expect(verdicts(r)).toEqual(['ok server', 'ok server', 'ok server']);
    expect(r.stats.flowsNotTracked).toBe(0);
  });

  it('a packet far outside that window 16 s later is a new (midstream) connection', async () => {
    const r = await run([...closedAt1(), S(16.5, { seq: SISN + 50_000_000, ack: 9, flags: FLAGS.ACK }, Buffer.alloc(10)), later(40)]);
    expect(verdicts(r)).toEqual(['ok server', 'midstream unknown']);
  });
});

describe('handshake: --syn-timeout counts from the first SYN (README "When a verdict is decided")', () => {
  const ends = async (frames: [number, Buffer][], end: number) => verdicts(await run([...frames, later(end)]));
  it('SYNs at 0 s and 1 s: timeout when the capture ends at 3.5 s and at exactly 3 s, capture-ended at 2.999 s', async () => {
    expect(await ends([syn(0), syn(1)], 3.5)).toEqual(['timeout unknown']);
    expect(await ends([syn(0), syn(1)], 3)).toEqual(['timeout unknown']);
    expect(await ends([syn(0), syn(1)], 2.999)).toEqual(['capture-ended unknown']);
  });

  it('one SYN: the same boundaries', async () => {
    expect(await ends([syn(0)], 3)).toEqual(['timeout unknown']);
    expect(await ends([syn(0)], 2.999)).toEqual(['capture-ended unknown']);
  });

  it('the text says "after the first SYN"', async () => {
    const r = await run([syn(0), syn(1), later(2.5)]);
    expect(text(tcpRecs(r)[0])).toContain('the capture ended 2.50 s after the first SYN');
  });
});

describe('handshake: a bare RST from the client', () => {
  it('after its SYN is not a sign it saw a SYN-ACK: the client gave up, not one-sided (syn-then-rst)', async () => {
    const r = await run([syn(0), C(0.0003, { seq: ISN, flags: FLAGS.RST })]);
    expect(verdicts(r)).toEqual(['capture-ended client']);
    const t = text(tcpRecs(r)[0]);
    expect(t).not.toContain('SYN-ACK');
    expect(t).toContain('the client reset its own attempt');
  });

  it('after --syn-timeout of trying is a timeout, with the RST in the evidence', async () => {
    const r = await run([syn(0), syn(1), syn(3), C(3.5, { seq: ISN + 1, flags: FLAGS.RST }), later(20)]);
    expect(verdicts(r)).toEqual(['timeout unknown']);
    expect(text(tcpRecs(r)[0])).toMatch(/RST #4 from the client 500\.0 ms after the SYN/);
  });
});

// ---- the public captures the issue names ------------------------------------------------------

const CASES: { file: string; key: string; verdict: string; absent?: string }[] = [
  { file: 'suricata-verify__tests__bug-1450-04__tls_DER-incomplete-header.pcap', key: '127.0.0.1:50802', verdict: 'ok' },
  { file: 'suricata-verify__tests__bug-1450-05__tls_DER-incomplete-content.pcap', key: '127.0.0.1:50802', verdict: 'ok' },
  { file: 'zeek__testing__btest__Traces__tcp__handshake-reorder.pcap', key: '141.142.228.5:59856', verdict: 'ok' },
  { file: 'zeek__testing__btest__Traces__ipv6-http-atomic-frag.pcap', key: '[2001:db8:1::2]:36951', verdict: 'ok' },
  { file: 'suricata-verify__tests__issue-3341-tcphdr-01__urgent11_cve_2019_12260.pcap', key: 'isn 1000000', verdict: 'handshake-incomplete' },
  { file: 'zeek__testing__btest__Traces__modbus__modbus-and-non-modbus-p502.pcap', key: '198.74.56.135:60293', verdict: 'handshake-incomplete' },
  { file: 'suricata-verify__tests__tls__tls-subjectaltname__input.pcap', key: '192.168.100.206:60064', verdict: 'http-error' },
  { file: 'suricata-verify__tests__tls__tls-subjectaltname__input.pcap', key: '192.168.100.206:59622', verdict: 'bad-syn-ack' },
  { file: 'zeek__testing__btest__Traces__tcp__syn-then-rst.pcap', key: '1.1.1.1:13131', verdict: 'capture-ended', absent: 'SYN-ACK' },
  { file: 'zeek__testing__btest__Traces__tcp__syn-then-ack-then-rst.pcap', key: '1.1.1.1:13131', verdict: 'bad-syn-ack', absent: 'unanswered' },
  { file: 'zeek__testing__btest__Traces__tcp__rst-inject-rae.pcap', key: '1.2.0.2:2527', verdict: 'delayed-reset' },
];

describe.skipIf(!sharedPresent)(`handshake on the public captures named in #22 (needs ${SHARED_PCAPS})`, () => {
  for (const c of CASES) {
    it(`${c.file} ${c.key}: one ${c.verdict} record`, async () => {
      const r = await analyzeFile(join(SHARED_PCAPS, c.file));
      const mine = tcpRecs(r).filter((x) => x.key.includes(c.key));
      expect(mine.map((x) => x.verdict)).toEqual([c.verdict]);
      if (c.absent !== undefined) expect(text(mine[0])).not.toContain(c.absent);
      expect(negativeTimes(r)).toEqual([]);
    });
  }

  it('Teredo.pcap: the RSTs 16-18 s after their connections closed (#50, #51, #78) are no midstream records', async () => {
    const r = await analyzeFile(join(SHARED_PCAPS, 'zeek__testing__btest__Traces__tunnels__Teredo.pcap'));
    expect(tcpRecs(r).map((x) => x.firstFrame)).not.toEqual(expect.arrayContaining([50]));
    for (const frame of [50, 51, 78]) expect(tcpRecs(r).some((x) => x.firstFrame === frame)).toBe(false);
    expect(tcpRecs(r).filter((x) => x.verdict === 'midstream')).toHaveLength(2);
  });
});
if (!sharedPresent) console.log(`handshake.test.ts: skipped the public-capture cases: ${SHARED_PCAPS} is absent`);
