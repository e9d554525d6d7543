import { describe, expect, it } from 'vitest';
import { analyzeSource, DEFAULT_OPTIONS, type AnalyzeOptions, type Report } from '../src/analyze.js';
import { TCP_RULES } from '../src/verdict/tcp-rules.js';
import { bufferSource, ethernet, FLAGS, GW_MAC, CLIENT_MAC, ip4 as ipv4Bytes, ipv4, ipv6, pcap, tcp, tcpFrame, u16, udp, type Rec } from './helpers/build.js';

/** A capture from (seconds, frame) pairs. */
async function run(frames: [number, Buffer][], opts: Partial<AnalyzeOptions> = {}): Promise<Report> {
  const recs: Rec[] = frames.map(([t, data]) => ({ sec: 1700000000 + Math.floor(t), frac: Math.round((t % 1) * 1e6), data }));
  return analyzeSource(bufferSource(pcap(recs)), { ...DEFAULT_OPTIONS, ...opts });
}
const verdicts = (r: Report) => r.records.map((x) => `${x.proto} ${x.server} ${x.verdict} ${x.by}`);

const ISN = 1000;
const SISN = 5000;
const handshake = (sport = 40000, dport = 80, t = 0): [number, Buffer][] => [
  [t, tcpFrame('c2s', { sport, dport, seq: ISN, flags: FLAGS.SYN })],
  [t + 0.001, tcpFrame('s2c', { sport: dport, dport: sport, seq: SISN, ack: ISN + 1, flags: FLAGS.SYN | FLAGS.ACK })],
  [t + 0.002, tcpFrame('c2s', { sport, dport, seq: ISN + 1, ack: SISN + 1, flags: FLAGS.ACK })],
];
const clientData = (t: number, n = 10): [number, Buffer] => [t, tcpFrame('c2s', { sport: 40000, dport: 80, seq: ISN + 1, ack: SISN + 1, flags: FLAGS.ACK | FLAGS.PSH }, Buffer.alloc(n, 0x41))];
const serverRst = (t: number, ttl = 63): [number, Buffer] => [t, tcpFrame('s2c', { sport: 80, dport: 40000, seq: SISN + 1, ack: ISN + 11, flags: FLAGS.RST | FLAGS.ACK, ttl })];
const later = (t: number): [number, Buffer] => [t, ethernet(GW_MAC, CLIENT_MAC, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.99', proto: 17 }, udp(1, 9, Buffer.alloc(1))))];

describe('TCP rule table', () => {
  it('ends with a catch-all ok rule; one-sided captures, then midstream, come first', () => {
    expect(TCP_RULES[TCP_RULES.length - 1].verdict).toBe('ok');
    expect(TCP_RULES.slice(0, 2).map((r) => r.verdict)).toEqual(['one-sided', 'midstream']);
  });

  it('SYN retransmissions with the same ISN are one attempt; a new ISN on the same ports is another', async () => {
    const syn = (t: number, seq: number): [number, Buffer] => [t, tcpFrame('c2s', { sport: 40000, dport: 80, seq, flags: FLAGS.SYN })];
    const r = await run([syn(0, ISN), syn(1, ISN), syn(3, ISN), syn(10, 777), later(20)]);
    expect(verdicts(r)).toEqual(['tcp 10.0.2.20:80 timeout unknown', 'tcp 10.0.2.20:80 timeout unknown']);
    expect(r.records[0].evidence[0]).toContain('SYN sent 3×');
    expect(r.summary.tcpConversations).toBe(1);
  });

  it('an IPv6 packet whose address words equal an IPv4 flow (0a00:10a:: and 10.0.1.10) is not part of it', async () => {
    const v6 = (ip4: string) => Buffer.concat([ipv4Bytes(ip4), Buffer.alloc(12)]); // the IPv4 address as the first 32 bits
    const synAck6 = ethernet(CLIENT_MAC, GW_MAC, 0x86dd, ipv6(v6('10.0.2.20'), v6('10.0.1.10'), 6, tcp({ sport: 80, dport: 40000, seq: SISN, ack: ISN + 1, flags: FLAGS.SYN | FLAGS.ACK })));
    const r = await run([[0, tcpFrame('c2s', { sport: 40000, dport: 80, seq: ISN, flags: FLAGS.SYN })], [0.001, synAck6], later(10)]);
    expect(verdicts(r)).toContain('tcp 10.0.2.20:80 timeout unknown');
    expect(verdicts(r)).not.toContain('tcp 10.0.2.20:80 ok server');
  });

  it('timeout needs --syn-timeout without an answer; otherwise capture-ended', async () => {
    const f: [number, Buffer][] = [[0, tcpFrame('c2s', { sport: 40000, dport: 80, seq: ISN, flags: FLAGS.SYN })], later(2.5)];
    expect(verdicts(await run(f))).toEqual(['tcp 10.0.2.20:80 capture-ended unknown']);
    expect(verdicts(await run(f, { synTimeoutMs: 2000 }))).toEqual(['tcp 10.0.2.20:80 timeout unknown']);
  });

  it("RST answering the SYN is refused; its TTL against the server's other connections says who sent it", async () => {
    // the server answered a SYN-ACK in 1 ms on another port; the RST comes `after` seconds after its SYN
    const refusal = (ttl: number, after = 0.001): [number, Buffer][] => [
      ...handshake(40001, 80),
      [0.1, tcpFrame('c2s', { sport: 40000, dport: 81, seq: ISN, flags: FLAGS.SYN })],
      [0.1 + after, tcpFrame('s2c', { sport: 81, dport: 40000, seq: 0, ack: ISN + 1, flags: FLAGS.RST | FLAGS.ACK, ttl })],
    ];
    const byServer = await run(refusal(63));
    expect(verdicts(byServer)[1]).toBe('tcp 10.0.2.20:81 refused server');
    const forged = await run(refusal(60));
    expect(verdicts(forged)[1]).toBe('tcp 10.0.2.20:81 refused middlebox');
    expect(forged.records[1].evidence.join(' ')).toMatch(/TTL 60 .* differs from the server's packets in other connections \(TTL 63\)/);
    const tooFast = await run(refusal(63, 0.0001));
    expect(verdicts(tooFast)[1]).toBe('tcp 10.0.2.20:81 refused middlebox');
    expect(tooFast.records[1].evidence.join(' ')).toContain('faster than the 1.0 ms round trip to the server');
  });

  it('on a path under 1 ms, a RST faster than half the round trip is jitter, not a box in the path', async () => {
    // handshake in 0.2 ms on port 80, then a RST 0.05 ms after its SYN on port 81, with the server's TTL
    const fast = await run([
      [0, tcpFrame('c2s', { sport: 40001, dport: 80, seq: ISN, flags: FLAGS.SYN })],
      [0.0002, tcpFrame('s2c', { sport: 80, dport: 40001, seq: 9, ack: ISN + 1, flags: FLAGS.SYN | FLAGS.ACK })],
      [0.0003, tcpFrame('c2s', { sport: 40001, dport: 80, seq: ISN + 1, ack: 10, flags: FLAGS.ACK })],
      [0.1, tcpFrame('c2s', { sport: 40000, dport: 81, seq: ISN, flags: FLAGS.SYN })],
      [0.10005, tcpFrame('s2c', { sport: 81, dport: 40000, seq: 0, ack: ISN + 1, flags: FLAGS.RST | FLAGS.ACK })],
    ]);
    expect(verdicts(fast)).toContain('tcp 10.0.2.20:81 refused server');
  });

  it('server RST soon after the client spoke, no data back: closed-by-remote; 1 s or more of silence: delayed-reset', async () => {
    expect(verdicts(await run([...handshake(), clientData(0.01), serverRst(0.5)]))).toEqual(['tcp 10.0.2.20:80 closed-by-remote server']);
    expect(verdicts(await run([...handshake(), clientData(0.01), serverRst(2.0)]))).toEqual(['tcp 10.0.2.20:80 delayed-reset server']);
    const viaBox = await run([...handshake(), clientData(0.01), serverRst(2.0, 64)]);
    expect(verdicts(viaBox)).toEqual(['tcp 10.0.2.20:80 delayed-reset middlebox']);
  });

  it('server FIN with no data is closed-by-remote; RST after data is mid-stream-reset; RST after the FINs is ok', async () => {
    const sFin: [number, Buffer] = [0.01, tcpFrame('s2c', { sport: 80, dport: 40000, seq: SISN + 1, ack: ISN + 1, flags: FLAGS.FIN | FLAGS.ACK })];
    expect(verdicts(await run([...handshake(), sFin]))).toEqual(['tcp 10.0.2.20:80 closed-by-remote server']);
    const sData: [number, Buffer] = [0.02, tcpFrame('s2c', { sport: 80, dport: 40000, seq: SISN + 1, ack: ISN + 11, flags: FLAGS.ACK | FLAGS.PSH }, Buffer.alloc(100))];
    expect(verdicts(await run([...handshake(), clientData(0.01), sData, serverRst(0.5)]))).toEqual(['tcp 10.0.2.20:80 mid-stream-reset server']);
    const cFin: [number, Buffer] = [0.03, tcpFrame('c2s', { sport: 40000, dport: 80, seq: ISN + 11, ack: SISN + 101, flags: FLAGS.FIN | FLAGS.ACK })];
    expect(verdicts(await run([...handshake(), clientData(0.01), sData, cFin, serverRst(0.04)]))).toEqual(['tcp 10.0.2.20:80 ok server']);
  });

  it('client RST answering the SYN-ACK is handshake-incomplete by the client; a silent client too, once the capture goes on', async () => {
    const [syn, synAck] = handshake();
    const cRst: [number, Buffer] = [0.01, tcpFrame('c2s', { sport: 40000, dport: 80, seq: ISN + 1, flags: FLAGS.RST })];
    expect(verdicts(await run([syn, synAck, cRst]))).toEqual(['tcp 10.0.2.20:80 handshake-incomplete client']);
    expect(verdicts(await run([syn, synAck, later(5)]))).toEqual(['tcp 10.0.2.20:80 handshake-incomplete unknown']);
    expect(verdicts(await run([syn, synAck, later(0.5)]))).toEqual(['tcp 10.0.2.20:80 capture-ended unknown']);
  });

  it('a flow without its SYN is midstream, with roles guessed from the ports', async () => {
    const r = await run([[0, tcpFrame('s2c', { sport: 80, dport: 40000, seq: 1, ack: 1, flags: FLAGS.ACK | FLAGS.PSH }, Buffer.alloc(5))]]);
    expect(verdicts(r)).toEqual(['tcp 10.0.2.20:80 midstream unknown']);
  });
});

describe('DNS transactions', () => {
  const dnsMsg = (id: number, response: boolean, rcode = 0, ancount = 0) =>
    Buffer.concat([u16(id), u16((response ? 0x8180 : 0x0100) | rcode), u16(1), u16(ancount), u16(0), u16(0), Buffer.from([3, 0x77, 0x77, 0x77, 4, 0x74, 0x65, 0x73, 0x74, 0]), u16(1), u16(1)]);
  const q = (t: number, id: number, sport = 5000): [number, Buffer] => [t, ethernet(GW_MAC, CLIENT_MAC, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.53', proto: 17 }, udp(sport, 53, dnsMsg(id, false))))];
  const a = (t: number, id: number, rcode: number, sport = 5000): [number, Buffer] => [t, ethernet(CLIENT_MAC, GW_MAC, 0x0800, ipv4({ src: '10.0.2.53', dst: '10.0.1.10', proto: 17, ttl: 63 }, udp(53, sport, dnsMsg(id, true, rcode))))];

  it('every retry is its own record; the answer goes to the latest one', async () => {
    const r = await run([q(0, 7), q(5.5, 7), a(5.6, 7, 3), later(12)]);
    expect(r.records.map((x) => [x.verdict, x.attempt])).toEqual([
      ['dns-no-response', 1],
      ['dns-nxdomain', 2],
    ]);
    expect(r.records[1]).toMatchObject({ query: 'www.test.', qtype: 'A', rcode: 'NXDOMAIN' });
  });

  it('rcodes map to verdicts, and NOERROR with no answer is nodata', async () => {
    const r = await run([q(0, 1, 5001), a(0.01, 1, 2, 5001), q(0.1, 2, 5002), a(0.11, 2, 5, 5002), q(0.2, 3, 5003), a(0.21, 3, 0, 5003), q(0.3, 4, 5004), a(0.31, 4, 4, 5004)]);
    expect(r.records.map((x) => x.verdict)).toEqual(['dns-servfail', 'dns-refused', 'dns-nodata', 'dns-error']);
    expect(r.records[3].rcode).toBe('NOTIMP');
  });
});
