import { describe, expect, it } from 'vitest';
import { analyzeSource, DEFAULT_OPTIONS } from '../src/analyze.js';
import { bufferSource, FLAGS, pcap, tcpFrame, type Rec } from './helpers/build.js';

/**
 * A keep-alive HTTP/1.1 connection whose first request is answered and whose second one (`second`)
 * is acknowledged by the server's stack and never answered; the capture goes on 10 s.
 */
function keepAlive(second: Buffer): Buffer {
  const c = 40000;
  const s = 80;
  const req1 = Buffer.from('GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
  const resp1 = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  let cs = 1000;
  let ss = 5000;
  const frames: [number, Buffer][] = [];
  const at = (t: number, b: Buffer) => frames.push([t, b]);
  at(0, tcpFrame('c2s', { sport: c, dport: s, seq: cs, flags: FLAGS.SYN }));
  at(0.001, tcpFrame('s2c', { sport: s, dport: c, seq: ss, ack: cs + 1, flags: FLAGS.SYN | FLAGS.ACK }));
  cs++;
  ss++;
  at(0.002, tcpFrame('c2s', { sport: c, dport: s, seq: cs, ack: ss, flags: FLAGS.ACK }));
  at(0.003, tcpFrame('c2s', { sport: c, dport: s, seq: cs, ack: ss, flags: FLAGS.ACK | FLAGS.PSH }, req1));
  cs += req1.length;
  at(0.004, tcpFrame('s2c', { sport: s, dport: c, seq: ss, ack: cs, flags: FLAGS.ACK | FLAGS.PSH }, resp1));
  ss += resp1.length;
  at(0.005, tcpFrame('c2s', { sport: c, dport: s, seq: cs, ack: ss, flags: FLAGS.ACK }));
  at(1, tcpFrame('c2s', { sport: c, dport: s, seq: cs, ack: ss, flags: FLAGS.ACK | FLAGS.PSH }, second));
  cs += second.length;
  at(1.04, tcpFrame('s2c', { sport: s, dport: c, seq: ss, ack: cs, flags: FLAGS.ACK }));
  // keep-alive probes 10 s later: the connection is still open, nothing answered
  at(11, tcpFrame('c2s', { sport: c, dport: s, seq: cs - 1, ack: ss, flags: FLAGS.ACK }));
  at(11.001, tcpFrame('s2c', { sport: s, dport: c, seq: ss, ack: cs, flags: FLAGS.ACK }));
  const recs: Rec[] = frames.map(([t, data]) => ({ sec: 1000 + Math.floor(t), frac: Math.round((t % 1) * 1e6), data }));
  return pcap(recs);
}

describe('no-response on a later turn of a connection', () => {
  it('a second HTTP/1.1 request acknowledged and never answered is no-response by server', async () => {
    const rep = await analyzeSource(bufferSource(keepAlive(Buffer.from('GET /b HTTP/1.1\r\nHost: x\r\n\r\n'))), DEFAULT_OPTIONS);
    expect(rep.records.map((r) => [r.verdict, r.by])).toEqual([['no-response', 'server']]);
    expect(rep.records[0].evidence.join('\n')).toMatch(/request: 28 bytes from #7 \+1.00 s/);
  });

  it('later bytes that are not an HTTP request (a TLS alert, a window update) need no answer: ok', async () => {
    const rep = await analyzeSource(bufferSource(keepAlive(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x1a, ...Buffer.alloc(26)]))), DEFAULT_OPTIONS);
    expect(rep.records.map((r) => r.verdict)).toEqual(['ok']);
  });
});
