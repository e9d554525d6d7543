import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { analyzeSource, DEFAULT_OPTIONS, type Report } from '../src/analyze.js';
import { bufferSource, ethernet, FLAGS, ipv4, Ng, pcap, tcpFrame, u16, u32, udp, type Rec } from './helpers/build.js';
import { analyzeFile, SHARED_PCAPS, withShared } from './helpers/run.js';

/** A refused connection (SYN, then RST+ACK) as inner frames, each wrapped by `wrap`. */
function refusedInside(wrap: (inner: Buffer) => Buffer): Promise<Report> {
  const syn = tcpFrame('c2s', { sport: 40000, dport: 443, seq: 1000, flags: FLAGS.SYN });
  const rst = tcpFrame('s2c', { sport: 443, dport: 40000, seq: 0, ack: 1001, flags: FLAGS.RST | FLAGS.ACK });
  const recs: Rec[] = [syn, rst].map((f, i) => ({ sec: 1700000000, frac: i * 100, data: wrap(f) }));
  return analyzeSource(bufferSource(pcap(recs)), DEFAULT_OPTIONS);
}

const OUTER_A = '192.0.2.1';
const OUTER_B = '192.0.2.2';
const outerEth = (type: number, payload: Buffer) => ethernet('02:00:00:00:00:02', '02:00:00:00:00:01', type, payload);
const ip = (proto: number, payload: Buffer) => outerEth(0x0800, ipv4({ src: OUTER_A, dst: OUTER_B, proto }, payload));
const strip = (frame: Buffer) => frame.subarray(14); // the IP packet of an Ethernet frame

describe('tunnels are decapsulated and named in the evidence', () => {
  const cases: [string, (inner: Buffer) => Buffer, string][] = [
    ['VXLAN', (f) => ip(17, udp(50000, 4789, Buffer.concat([Buffer.from([0x08, 0, 0, 0]), u32(42 << 8), f]))), `VXLAN VNI 42 between ${OUTER_A} and ${OUTER_B}`],
    ['GENEVE with an option', (f) => ip(17, udp(50000, 6081, Buffer.concat([Buffer.from([0x01, 0]), u16(0x6558), u32(7 << 8), Buffer.alloc(4), f]))), `GENEVE VNI 7 between ${OUTER_A} and ${OUTER_B}`],
    ['GRE with a key, carrying IP', (f) => ip(47, Buffer.concat([Buffer.from([0x20, 0]), u16(0x0800), u32(99), strip(f)])), `GRE key 99 between ${OUTER_A} and ${OUTER_B}`],
    ['ERSPAN type II', (f) => ip(47, Buffer.concat([Buffer.from([0x10, 0]), u16(0x88be), u32(1), Buffer.from([0x10, 0, 0x00, 0x05]), Buffer.alloc(4), f])), `ERSPAN type II session 5 between ${OUTER_A} and ${OUTER_B}`],
    ['ERSPAN type III', (f) => ip(47, Buffer.concat([Buffer.from([0x10, 0]), u16(0x22eb), u32(1), Buffer.from([0x20, 0, 0x00, 0x09]), Buffer.alloc(8), f])), `ERSPAN type III session 9 between ${OUTER_A} and ${OUTER_B}`],
    ['IP in IP', (f) => ip(4, strip(f)), `IP in IP between ${OUTER_A} and ${OUTER_B}`],
    ['MPLS, two labels', (f) => outerEth(0x8847, Buffer.concat([u32((100 << 12) | 64), u32((200 << 12) | 0x100 | 64), strip(f)])), 'MPLS label 100'],
    ['PPPoE session', (f) => outerEth(0x8864, Buffer.concat([Buffer.from([0x11, 0]), u16(0x1234), u16(strip(f).length + 2), u16(0x0021), strip(f)])), 'PPPoE session 4660'],
  ];
  for (const [name, wrap, note] of cases) {
    it(name, async () => {
      const r = await refusedInside(wrap);
      expect(r.records.map((x) => `${x.client} → ${x.server} ${x.verdict}`)).toEqual(['10.0.1.10:40000 → 10.0.2.20:443 refused']);
      expect(r.records[0].evidence).toContain(`carried in ${note}`);
      expect(r.summary.tcpConversations).toBe(1);
    });
  }
  it('a damaged tunnel header leaves the carrier as it is, with an anomaly', async () => {
    const r = await refusedInside((f) => ip(17, udp(50000, 4789, Buffer.concat([Buffer.from([0x08, 0, 0, 0]), u32(42 << 8), f.subarray(0, 10)]))));
    expect(r.records).toEqual([]);
    expect(r.anomalies.map((a) => a.code)).toContain('tunnel_header_damaged');
  });
  it('tunnels nested deeper than four are damage, not a loop', async () => {
    const r = await refusedInside((f) => {
      let p = strip(f);
      for (let i = 0; i < 10; i++) p = ipv4({ src: OUTER_A, dst: OUTER_B, proto: 4 }, p);
      return outerEth(0x0800, p);
    });
    expect(r.anomalies.map((a) => a.code)).toContain('tunnel_too_deep');
  });
  it.skipIf(!withShared('real GENEVE traffic from the corpus'))('real GENEVE traffic (tcpdump test capture): the inner ping and SSH connection, named', async () => {
    const r = await analyzeFile(join(SHARED_PCAPS, 'tcpdump__tests__geneve.pcap'));
    expect(r.records.map((x) => `${x.server} ${x.verdict}`)).toEqual(['30.0.0.2 ping-ok', '30.0.0.1:22 ok']);
    expect(r.records[0].evidence).toContain('carried in GENEVE VNI 10 between 20.0.0.1 and 20.0.0.2');
    expect(r.records[1].evidence).toContain('carried in GENEVE VNI 11 between 20.0.0.2 and 20.0.0.1');
  });
});

describe('memory under attack', () => {
  const synFlood = (n: number): Rec[] => Array.from({ length: n }, (_, i) => ({ sec: 1700000000, frac: i, data: tcpFrame('c2s', { sport: 10000 + i, dport: 80, seq: i, flags: FLAGS.SYN }) }));
  it('--max-flows caps state: new flows beyond it are counted, not analysed, with a warning', async () => {
    const r = await analyzeSource(bufferSource(pcap(synFlood(50))), { ...DEFAULT_OPTIONS, maxFlows: 10 });
    expect(r.input.packets).toBe(50);
    expect(r.records).toHaveLength(10);
    expect(r.stats.flowsNotTracked).toBe(40);
    expect(r.warnings.join('\n')).toContain('flow table full (--max-flows 10): 40 new flows were not tracked');
  });
  it('the text report keeps only what it shows of each verdict, but counts them all', async () => {
    const r = await analyzeSource(bufferSource(pcap(synFlood(30))), DEFAULT_OPTIONS, { keep: { problemsPerGroup: 5 } });
    expect(r.records).toHaveLength(5);
    expect(r.summary.verdicts['capture-ended']).toBe(30);
  });
});

describe('PPP and Cisco HDLC link types', () => {
  const inner = (f: Buffer) => f.subarray(14);
  const cases: [string, number, (ip: Buffer) => Buffer][] = [
    ['PPP with address and control', 9, (ip) => Buffer.concat([Buffer.from([0xff, 0x03, 0x00, 0x21]), ip])],
    ['PPP, protocol field compressed', 9, (ip) => Buffer.concat([Buffer.from([0x21]), ip])],
    ['PPP in HDLC framing', 50, (ip) => Buffer.concat([Buffer.from([0xff, 0x03, 0x00, 0x21]), ip])],
    ['PPPoE without Ethernet', 51, (ip) => Buffer.concat([Buffer.from([0x11, 0, 0x12, 0x34]), u16(ip.length + 2), u16(0x0021), ip])],
    ['Cisco HDLC', 104, (ip) => Buffer.concat([Buffer.from([0x0f, 0x00]), u16(0x0800), ip])],
  ];
  for (const [name, linkType, wrap] of cases) {
    it(name, async () => {
      const syn = tcpFrame('c2s', { sport: 40000, dport: 443, seq: 1000, flags: FLAGS.SYN });
      const rst = tcpFrame('s2c', { sport: 443, dport: 40000, seq: 0, ack: 1001, flags: FLAGS.RST | FLAGS.ACK });
      const recs: Rec[] = [syn, rst].map((f, i) => ({ sec: 1700000000, frac: i * 100, data: wrap(inner(f)) }));
      const r = await analyzeSource(bufferSource(pcap(recs, { linkType })), DEFAULT_OPTIONS);
      expect(r.records.map((x) => x.verdict)).toEqual(['refused']);
    });
  }
});

describe('pcapng with several interfaces of different link types', () => {
  it('analyses each interface by its own link type; an unsupported one is counted and named, never analysed', async () => {
    const ng = new Ng(true);
    const syn = tcpFrame('c2s', { sport: 40000, dport: 443, seq: 1000, flags: FLAGS.SYN });
    const rst = tcpFrame('s2c', { sport: 443, dport: 40000, seq: 0, ack: 1001, flags: FLAGS.RST | FLAGS.ACK });
    const synB = tcpFrame('c2s', { sport: 40001, dport: 80, seq: 5, flags: FLAGS.SYN });
    const rstB = tcpFrame('s2c', { sport: 80, dport: 40001, seq: 0, ack: 6, flags: FLAGS.RST | FLAGS.ACK });
    const us = (n: number) => BigInt(1700000000) * 1000000n + BigInt(n);
    const file = Buffer.concat([
      ng.shb(),
      ng.idb(1),
      ng.idb(101),
      ng.idb(105),
      ng.epb(0, us(0), syn),
      ng.epb(1, us(10), synB.subarray(14)),
      ng.epb(2, us(20), Buffer.alloc(30)),
      ng.epb(0, us(100), rst),
      ng.epb(1, us(110), rstB.subarray(14)),
    ]);
    const r = await analyzeSource(bufferSource(file), DEFAULT_OPTIONS);
    expect(r.records.map((x) => `${x.server} ${x.verdict}`).sort()).toEqual(['10.0.2.20:443 refused', '10.0.2.20:80 refused']);
    expect(r.input.linkTypes.map((l) => `${l.linkType}:${l.packets}`)).toEqual(['1:2', '101:2', '105:1']);
    expect(r.stats.unsupportedLinkPackets).toBe(1);
    expect(r.warnings).toContain('1 packet with unsupported link type 105 (IEEE 802.11) counted but not analysed');
  });
});
