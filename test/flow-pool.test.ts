import { describe, expect, it } from 'vitest';
import { CaptureRecord } from '../src/capture/record.js';
import { PacketDecoder } from '../src/decode/decode.js';
import { DecodedPacket } from '../src/decode/packet.js';
import { IcmpHit, TcpFlow, TcpTable } from '../src/flow/tcp.js';
import { flowHash } from '../src/flow/addr.js';
import { DnsTable, DnsTxn } from '../src/flow/dns.js';
import { CaptureReader, READ_RECORD } from '../src/capture/reader.js';
import { FLAGS, tcpFrame } from './helpers/build.js';
import { readFixture } from './helpers/run.js';

const decoder = new PacketDecoder();
/** Each decoded packet's frame: the bytes its offsets index. */
const frames = new WeakMap<DecodedPacket, Buffer>();

/** A decoded copy of one frame (each call its own DecodedPacket, so earlier ones stay valid). */
function decoded(frame: Buffer): DecodedPacket {
  const rec = new CaptureRecord();
  rec.data = frame;
  rec.off = 0;
  rec.end = frame.length;
  rec.capLen = frame.length;
  rec.linkType = 1;
  const pkt = new DecodedPacket();
  decoder.decode(rec, pkt);
  frames.set(pkt, frame);
  return pkt;
}

const c2s = (o: Parameters<typeof tcpFrame>[1], payload?: Buffer) => decoded(tcpFrame('c2s', o, payload));
const s2c = (o: Parameters<typeof tcpFrame>[1], payload?: Buffer) => decoded(tcpFrame('s2c', o, payload));

/** A flow that saw a bit of everything: handshake, data both ways, a retransmission, a zero window, an ICMP error, FINs and a RST. */
function busyFlow(): TcpFlow {
  const syn = c2s({ sport: 40000, dport: 443, seq: 3_000_000_000, flags: FLAGS.SYN });
  const f = new TcpFlow(syn, 1, 1700000000, 0, 5e9, 12345, true, true);
  const t0 = 5e9;
  const packets: [number, DecodedPacket][] = [
    [0, syn],
    [1, c2s({ sport: 40000, dport: 443, seq: 3_000_000_000, flags: FLAGS.SYN })],
    [1, s2c({ sport: 443, dport: 40000, seq: 77, ack: 3_000_000_001, flags: FLAGS.SYN | FLAGS.ACK }, undefined)],
    [0, c2s({ sport: 40000, dport: 443, seq: 3_000_000_001, ack: 78, flags: FLAGS.ACK })],
    [0, c2s({ sport: 40000, dport: 443, seq: 3_000_000_001, ack: 78, flags: FLAGS.ACK | FLAGS.PSH }, Buffer.from('GET / HTTP/1.1\r\n\r\n'))],
    [1, s2c({ sport: 443, dport: 40000, seq: 78, ack: 3_000_000_019, flags: FLAGS.ACK, win: 0 }, Buffer.alloc(100, 1))],
    [1, s2c({ sport: 443, dport: 40000, seq: 78, ack: 3_000_000_019, flags: FLAGS.ACK }, Buffer.alloc(100, 1))],
    [0, c2s({ sport: 40000, dport: 443, seq: 3_000_000_019, ack: 178, flags: FLAGS.FIN | FLAGS.ACK })],
    [1, s2c({ sport: 443, dport: 40000, seq: 178, ack: 3_000_000_020, flags: FLAGS.FIN | FLAGS.ACK })],
    [0, c2s({ sport: 40000, dport: 443, seq: 3_000_000_020, ack: 179, flags: FLAGS.RST })],
  ];
  packets.forEach(([dir, p], i) => {
    if (dir === 0 && (p.tcpFlags & (FLAGS.SYN | FLAGS.ACK)) === FLAGS.SYN) f.noteSyn(i + 1, t0 + i * 1e8);
    f.observe(p, frames.get(p) ?? Buffer.alloc(0), dir, i + 1, t0 + i * 1e8);
  });
  f.icmp = new IcmpHit(syn, 20, t0 + 2e9);
  f.icmpCount = 1;
  f.sawPmtuIcmp = true;
  f.appDone = true;
  f.firstOfConversation = true;
  f.dnsStream = [];
  f.profileKey = 'fd00::1';
  return f;
}

describe('reused TCP flow objects', () => {
  it('the flow that saw everything really did (else the comparison below proves little)', () => {
    const f = busyFlow();
    expect(f.rstDir).toBe(0);
    expect(f.s.stall).not.toBeNull();
    expect(f.s.zero).not.toBeNull();
    expect(f.history).toBe('ShADdFafR');
    expect(f.synTimes.length).toBe(2);
  });

  it('a reused object is, field for field, the flow a new one would be', () => {
    const next = s2c({ sport: 8080, dport: 51000, seq: 9, ack: 10, flags: FLAGS.ACK }, undefined);
    const reused = busyFlow();
    reused.reuse(next, 99, 1700000100, 500, 7e9, 777, false, false);
    const fresh = new TcpFlow(next, 99, 1700000100, 500, 7e9, 777, false, false);
    expect(reused).toStrictEqual(fresh);
    expect(reused.clientText).toBe('10.0.1.10:51000');
    expect(reused.serverText).toBe('10.0.2.20:8080');
  });
});

describe('reused DNS transaction objects', () => {
  /** The DNS messages of a real capture, fed to a table as the analyzer feeds it. */
  function tableOf(fixture: string): DnsTable {
    const table = new DnsTable();
    const reader = new CaptureReader();
    const data = readFixture(fixture);
    const [off] = reader.writable();
    data.copy(reader.buf, off);
    reader.commit(data.length);
    reader.commit(0);
    const rec = new CaptureRecord();
    const pkt = new DecodedPacket();
    while (reader.next(rec) === READ_RECORD) {
      decoder.decode(rec, pkt);
      if (pkt.srcPort === 53 || pkt.dstPort === 53) table.observe(pkt, 'udp', decoder.dv, rec.data, pkt.payloadOff, pkt.payloadOff + pkt.payloadLen, rec.frame, rec.tsSec, rec.tsNsec, 1e9 * rec.frame);
    }
    return table;
  }

  it('a reused transaction is, field for field, the one a new object would be', () => {
    let answered: DnsTxn | null = null;
    tableOf('dns.pcap').each((d) => {
      if (d.answers.length > 0 && d.queryT >= 0) answered = d;
    });
    // assigned in the callback: TypeScript still types `answered` as null here
    const old = answered as DnsTxn | null;
    if (old === null) throw new Error('dns.pcap has no answered transaction');
    const held = old.answers; // a record may hold them
    const next = c2s({ sport: 5353, dport: 53, seq: 1, flags: FLAGS.SYN });
    old.reuse(next, 'tcp', false, 4242, 99);
    const fresh = new DnsTxn(next, 'tcp', false, 4242, 99);
    // every (re)use takes the next generation number: the one field that must differ
    expect(fresh.gen).toBe(old.gen + 1);
    fresh.gen = old.gen;
    expect(old).toStrictEqual(fresh);
    expect(held.length).toBeGreaterThan(0);
  });
});

describe('TcpTable.recentOf', () => {
  it('answers for the flow found or inserted last, either way, and forgets it once removed', () => {
    const table = new TcpTable();
    const syn = c2s({ sport: 40000, dport: 443, seq: 1, flags: FLAGS.SYN });
    const synAck = s2c({ sport: 443, dport: 40000, seq: 9, ack: 2, flags: FLAGS.SYN | FLAGS.ACK });
    const other = c2s({ sport: 40001, dport: 443, seq: 1, flags: FLAGS.SYN });
    const hash = flowHash(syn.src, syn.srcPort, syn.dst, syn.dstPort);
    expect(table.recentOf(syn)).toBeNull();
    const f = new TcpFlow(syn, 1, 0, 0, 0, hash, true, true);
    table.insert(f);
    expect(table.recentOf(syn)).toBe(f);
    expect(table.dir).toBe(0);
    expect(table.recentOf(synAck)).toBe(f);
    expect(table.dir).toBe(1);
    expect(table.recentOf(other)).toBeNull();
    table.remove(f);
    expect(table.recentOf(syn)).toBeNull();
    // found again through its bucket after a new insert: the recent one again
    const g = new TcpFlow(other, 2, 0, 0, 0, flowHash(other.src, other.srcPort, other.dst, other.dstPort), true, true);
    table.insert(f);
    table.insert(g);
    expect(table.recentOf(syn)).toBeNull();
    expect(table.find(synAck, hash)).toBe(f);
    expect(table.dir).toBe(1);
    expect(table.recentOf(syn)).toBe(f);
    expect(table.dir).toBe(0);
  });
});
