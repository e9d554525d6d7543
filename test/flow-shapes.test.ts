/**
 * Flow objects keep one hidden class when the capture's clock passes 2^31 ns (2.15 s): their time
 * fields are doubles from the first object on (NS_PLACEHOLDER, flow/endpoints.ts); so are those of
 * the parts a TCP flow keeps as long as it lives (its sides, sequence spaces and turns). With small
 * integer placeholders the first time past 2^31 ns changed the class of every TCP flow and DNS
 * lookup, and every one still live was converted when next touched (a SYN flood's 43,000 at once).
 * V8's own test for it is %HaveSameMap (test/helpers/v8.ts).
 */
import { describe, expect, it } from 'vitest';
import { TcpFlow } from '../src/flow/tcp.js';
import { DnsTxn } from '../src/flow/dns.js';
import { SeqTracker } from '../src/flow/seq.js';
import { Exchange } from '../src/flow/exchange.js';
import { decodeFrame, FLAGS, tcpFrame } from './helpers/build.js';
import { haveSameMap as sameMap } from './helpers/v8.js';

const synFrame = tcpFrame('c2s', { sport: 40000, dport: 443, seq: 1, flags: FLAGS.SYN });
const synAckFrame = tcpFrame('s2c', { sport: 443, dport: 40000, seq: 9, ack: 2, flags: FLAGS.SYN | FLAGS.ACK });
const syn = decodeFrame(synFrame);
const synAck = decodeFrame(synAckFrame);

/** A flow of a SYN at capture time `t` (ns), answered 1 ms later, as the tracker writes one. */
function flowAt(t: number): TcpFlow {
  const f = new TcpFlow(syn, 1, 1_700_000_000, 0, t, 1, true, true);
  f.noteSyn(1, t);
  f.observe(syn, synFrame, 0, 1, t);
  f.observe(synAck, synAckFrame, 1, 2, t + 1e6);
  return f;
}

/** The fields of `o` that hold a time or a duration in ns: its numbers named …T or …Ns. */
const timeFields = (o: object) => Object.keys(o).filter((k) => /[a-z](T|Ns)$/.test(k) && typeof (o as Record<string, unknown>)[k] === 'number');

describe('flow objects past 2^31 ns of capture time', () => {
  it('a TCP flow, its sides and a DNS lookup keep the hidden class they had before', () => {
    const early = flowAt(1e9);
    const earlyTxn = new DnsTxn(syn, 'udp', true, 1, 1);
    earlyTxn.queryT = earlyTxn.firstT = earlyTxn.lastT = 1e9;
    earlyTxn.respT = 1e9 + 1e6;
    const late = flowAt(3e9);
    const lateTxn = new DnsTxn(syn, 'udp', true, 2, 2);
    lateTxn.queryT = lateTxn.firstT = lateTxn.lastT = 3e9;
    lateTxn.respT = 3e9 + 1e6;
    expect(late.firstT).toBe(3e9);
    expect(sameMap(early, late)).toBe(true);
    expect(sameMap(early.c, late.c)).toBe(true);
    expect(sameMap(early.s, late.s)).toBe(true);
    expect(sameMap(earlyTxn, lateTxn)).toBe(true);
  });

  it.each([
    ['TcpFlow', () => flowAt(1e9) as object],
    ['Endpoint', () => flowAt(1e9).c as object],
    ['DnsTxn', () => new DnsTxn(syn, 'udp', true, 1, 1) as object],
    ['SeqTracker', () => new SeqTracker() as object],
    ['Exchange', () => new Exchange() as object],
  ])('every time field of a %s, set past 2^31 ns, keeps its hidden class', (_, make) => {
    const fields = timeFields(make());
    expect(fields.length).toBeGreaterThan(2);
    for (const k of fields) {
      const a = make() as Record<string, number>;
      const b = make() as Record<string, number>;
      a[k] = 1e9;
      b[k] = 3e9;
      expect(sameMap(a, b), k).toBe(true);
    }
  });
});
