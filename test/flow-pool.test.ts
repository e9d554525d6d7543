import { describe, expect, it, vi } from 'vitest';
import { CaptureRecord } from '../src/capture/record.js';
import { PacketDecoder } from '../src/decode/decode.js';
import { DecodedPacket } from '../src/decode/packet.js';
import { DecidingPacket, Endpoint, IcmpHit, TcpFlow, TcpTable, UNSEEN_ENDPOINT, UNSEEN_FP, UNSEEN_RST, UNSEEN_SEQ, UNSEEN_XCHG } from '../src/flow/tcp.js';
import { SeqTracker } from '../src/flow/seq.js';
import { EP } from '../src/flow/conn-state.js';
import { Exchange } from '../src/flow/exchange.js';
import { HandshakeFp } from '../src/flow/server-profile.js';
import { flowHash } from '../src/flow/addr.js';
import { DnsTable, DnsTxn } from '../src/flow/dns.js';
import { CaptureReader, READ_END, READ_RECORD } from '../src/capture/reader.js';
import { FreeList } from '../src/flow/chained-table.js';
import { Analyzer, CaptureRun, DEFAULT_OPTIONS } from '../src/analyze.js';
import { Emitter } from '../src/report/emit.js';
import { EMIT_CHUNK, FLOOD_CHUNK } from '../src/lifecycle.js';
import { bufferSource, CLIENT_MAC, decodeFrame, ethernet, FLAGS, GW_MAC, ipv4, pcap, tcp, tcpFrame, udp, type Rec } from './helpers/build.js';
import { analyzeFile, FIXTURES, fixtureFiles, readFixture } from './helpers/run.js';
import { join } from 'node:path';

const decoder = new PacketDecoder();
/** Each decoded packet's frame: the bytes its offsets index. */
const frames = new WeakMap<DecodedPacket, Buffer>();

/** A decoded copy of one frame (each call its own DecodedPacket, so earlier ones stay valid). */
function decoded(frame: Buffer): DecodedPacket {
  const pkt = decodeFrame(frame);
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

describe("a TCP flow's parts made at their first write", () => {
  it('a SYN never answered makes none of the server side, the turns, the RST or the fingerprint', () => {
    const syn = c2s({ sport: 40001, dport: 443, seq: 5, flags: FLAGS.SYN });
    const f = new TcpFlow(syn, 1, 1700000000, 0, 1e9, 1, true, true);
    for (let i = 0; i < 3; i++) f.observe(syn, frames.get(syn) ?? Buffer.alloc(0), 0, i + 1, 1e9 * (i + 1));
    expect(f.synCount).toBe(3);
    expect(f.c).not.toBe(UNSEEN_ENDPOINT);
    expect(f.c.packets).toBe(3);
    expect(f.s).toBe(UNSEEN_ENDPOINT);
    expect(f.seq(0)).not.toBe(UNSEEN_SEQ);
    expect(f.seq(0).started).toBe(true);
    expect(f.seq(1)).toBe(UNSEEN_SEQ);
    expect(f.xchg).toBe(UNSEEN_XCHG);
    expect(f.rst).toBe(UNSEEN_RST);
    expect(f.fp).toBe(UNSEEN_FP);
  });

  it('each is made by the packet that first writes it', () => {
    const f = busyFlow();
    expect(f.seq(1)).not.toBe(UNSEEN_SEQ);
    expect(f.seq(1).segments).toBeGreaterThan(0);
    expect(f.xchg.turns).toBe(1);
    expect(f.rst.frame).toBe(10);
    expect(f.fp.ttl).toBeGreaterThan(0);
    // midstream, one direction: the client's ACKs, SACKs and data, with no packet of the server,
    // make the client's side only (an ACK writes nothing to a side not started)
    const m = new TcpFlow(c2s({ sport: 40002, dport: 443, seq: 100, ack: 900, flags: FLAGS.ACK }), 1, 1700000000, 0, 1e9, 2, true, false);
    const sackOpt = Buffer.from([1, 1, 5, 10, 0, 0, 3, 0x84, 0, 0, 3, 0xe8]); // NOP NOP SACK [900, 1000)
    const onlyClient = [
      c2s({ sport: 40002, dport: 443, seq: 100, ack: 900, flags: FLAGS.ACK }),
      c2s({ sport: 40002, dport: 443, seq: 100, ack: 900, flags: FLAGS.ACK | FLAGS.PSH }, Buffer.from('GET / HTTP/1.1\r\n\r\n')),
      c2s({ sport: 40002, dport: 443, seq: 118, ack: 950, flags: FLAGS.ACK, options: sackOpt }),
    ];
    onlyClient.forEach((p, i) => m.observe(p, frames.get(p) ?? Buffer.alloc(0), 0, i + 1, 1e9 * (i + 1)));
    expect(m.seq(0).segments).toBeGreaterThan(0);
    expect(m.seq(1)).toBe(UNSEEN_SEQ);
    expect(UNSEEN_SEQ).toStrictEqual(new SeqTracker());
  });

  it('the shared placeholders are never written, by any fixture', async () => {
    for (const name of fixtureFiles()) await analyzeFile(join(FIXTURES, name));
    expect(UNSEEN_SEQ).toStrictEqual(new SeqTracker());
    expect(UNSEEN_XCHG).toStrictEqual(new Exchange());
    expect(UNSEEN_RST).toStrictEqual(new DecidingPacket());
    expect(UNSEEN_FP).toStrictEqual(new HandshakeFp());
    expect(UNSEEN_ENDPOINT).toStrictEqual(new Endpoint());
  });

  it('a SYN-ACK captured before its SYN: the SYN it adopts makes the client side', () => {
    const synAck = s2c({ sport: 443, dport: 40003, seq: 77, ack: 501, flags: FLAGS.SYN | FLAGS.ACK });
    const syn = c2s({ sport: 40003, dport: 443, seq: 500, flags: FLAGS.SYN });
    const f = new TcpFlow(synAck, 1, 1700000000, 0, 1e9, 3, false, false);
    f.observe(synAck, frames.get(synAck) ?? Buffer.alloc(0), 1, 1, 1e9);
    expect(f.c).toBe(UNSEEN_ENDPOINT);
    expect(f.adoptsSyn(syn, 1e9 + 1000)).toBe(true);
    expect(f.c).not.toBe(UNSEEN_ENDPOINT);
    // both sides stepped as if the SYN had come first
    expect([f.c.state, f.s.state]).toEqual([EP.ESTABLISHED, EP.ESTABLISHED]);
    expect(UNSEEN_ENDPOINT).toStrictEqual(new Endpoint());
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

describe('FreeList: as many spares as the owner holds live, at least its max', () => {
  it('without an owner keeps at most max', () => {
    const l = new FreeList<number>(2);
    for (let i = 0; i < 5; i++) l.give(i);
    expect(l.size).toBe(2);
    expect([l.take(), l.take(), l.take()]).toEqual([1, 0, undefined]);
  });

  it('keeps up to the live count when that is more, and trim lets go of what is beyond it', () => {
    let live = 10;
    const l = new FreeList<number>(2, () => live);
    for (let i = 0; i < 15; i++) l.give(i);
    expect(l.size).toBe(10);
    live = 4;
    l.trim();
    expect(l.size).toBe(4);
    expect(l.take()).toBe(3);
    live = 0;
    l.trim();
    expect(l.size).toBe(2);
    expect([l.take(), l.take(), l.take()]).toEqual([1, 0, undefined]);
    for (let i = 0; i < 5; i++) l.give(i);
    expect(l.size).toBe(2);
  });
});

describe('a flood reuses its reported flows', () => {
  const FLOOD = 40000;
  /** One frame from the FLOOD-th source; 5,000 a capture second, then one at 60 s (the sweep that reports every flow left). */
  const at = (i: number, ip: Buffer): Rec => ({ sec: 1700000000 + (i < FLOOD ? Math.floor(i / 5000) : 60), frac: i < FLOOD ? (i % 5000) * 200 : 0, data: ethernet(GW_MAC, CLIENT_MAC, 0x0800, ip) });
  const source = (i: number) => `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  /**
   * Runs FLOOD + 1 frames and the end of the capture; answers the most spares `spares()` showed
   * during the flood, the records, the most records emitted at once and the analyser at the end.
   */
  function run(frame: (i: number) => Buffer, spares: (a: Analyzer) => number, last = true) {
    const recs: Rec[] = [];
    for (let i = 0; i <= (last ? FLOOD : FLOOD - 1); i++) recs.push(at(i, frame(i)));
    let records = 0;
    let batch = 0;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with its own `this`
    const emit = Emitter.prototype.emit;
    const spy = vi.spyOn(Emitter.prototype, 'emit').mockImplementation(function (this: Emitter, b) {
      batch = Math.max(batch, b.length);
      emit.call(this, b);
    });
    const a = new Analyzer(DEFAULT_OPTIONS, 'none', () => records++);
    const reader = new CaptureReader();
    const rec = new CaptureRecord();
    const src = bufferSource(pcap(recs));
    let most = 0;
    for (let st = reader.next(rec); st !== READ_END; st = reader.next(rec)) {
      if (st === READ_RECORD) {
        a.onRecord(rec);
        if (a.packets <= FLOOD) most = Math.max(most, spares(a));
      } else {
        const [off, len] = reader.writable();
        reader.commit(src.read(reader.buf, off, len) as number);
      }
    }
    a.finish(reader, 'flood');
    spy.mockRestore();
    return { most, records, batch, a };
  }

  // each flow reported about 5 s after its packet: a sweep reports 5,000 while some 25,000 are live
  it("SYNs: keeps a sweep's worth (more than 4,096) while the flood goes on, and lets them go after", () => {
    const syn = (i: number) => ipv4({ src: source(i), dst: '10.0.2.20', proto: 6 }, tcp({ sport: 40000, dport: 443, seq: i, flags: FLAGS.SYN }));
    const { most, records, batch, a } = run(syn, (a) => a.flows.spareTcpFlows);
    expect(records).toBe(FLOOD + 1);
    // 25,000 flows timed out at 60 s, emitted a chunk at a time (#22)
    expect(batch).toBe(FLOOD_CHUNK);
    expect(most).toBeGreaterThanOrEqual(4999);
    // one flow live, the rest reported at 60 s: the spares beyond 4,096 let go at that sweep
    expect(a.flows.tcp.size).toBe(1);
    expect(a.flows.spareTcpFlows).toBe(4096);
  });

  // a query for a.example, type A
  const question = Buffer.from([1, 0x61, 7, ...Buffer.from('example'), 0, 0, 1, 0, 1]);
  const query = (i: number) => ipv4({ src: source(i), dst: '10.0.2.53', proto: 17 }, udp(40000, 53, Buffer.concat([Buffer.from([i >> 8, i & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), question])));

  it('DNS queries never answered: the same', () => {
    const { most, records, batch, a } = run(query, (a) => a.flows.dns.spareTxns);
    expect(records).toBe(FLOOD + 1);
    expect(batch).toBe(EMIT_CHUNK);
    expect(most).toBeGreaterThanOrEqual(4999);
    expect(a.flows.dns.size).toBe(1);
    expect(a.flows.dns.spareTxns).toBe(4096);
  });

  it('a sweep with fewer than EMIT_CHUNK flows of each kind emits them in one batch, sorted together', () => {
    // SYNs and queries in turn: a sweep decides ~2,500 of each, more than EMIT_CHUNK together
    const syn = (i: number) => ipv4({ src: source(i), dst: '10.0.2.20', proto: 6 }, tcp({ sport: 40000, dport: 443, seq: i, flags: FLAGS.SYN }));
    const { records, batch } = run(
      (i) => (i % 2 === 0 ? syn(i) : query(i)),
      () => 0,
    );
    expect(records).toBe(FLOOD + 1);
    expect(batch).toBeGreaterThan(EMIT_CHUNK);
  });

  it('DNS queries still waiting when the capture ends are emitted a chunk at a time too', () => {
    const { records, batch } = run(query, (a) => a.flows.dns.spareTxns, false);
    expect(records).toBe(FLOOD);
    expect(batch).toBe(EMIT_CHUNK);
  });

  /**
   * Reads the flood, without its last frame, through a CaptureRun whose output says it is busy
   * whenever asked; answers the records emitted by the time of each wait at the end of the
   * capture, and whether a record came while one was pending.
   */
  async function paced(frame: (i: number) => Buffer) {
    const recs: Rec[] = [];
    for (let i = 0; i < FLOOD; i++) recs.push(at(i, frame(i)));
    let records = 0;
    let pending = false;
    let emittedWhilePending = false;
    let reading = true;
    const atWaits: number[] = [];
    const run = new CaptureRun(DEFAULT_OPTIONS, {
      keep: 'none',
      onFlow: () => {
        records++;
        if (pending) emittedWhilePending = true;
      },
      outputBusy: () => {
        if (!reading) atWaits.push(records);
        pending = true;
        return new Promise<void>((r) =>
          setTimeout(() => {
            pending = false;
            r();
          }, 1),
        );
      },
    });
    await run.read(bufferSource(pcap(recs)));
    const before = records;
    reading = false;
    await run.finish('flood');
    return { before, after: records, atWaits, emittedWhilePending };
  }

  it.each([
    ['SYNs', true, (i: number) => ipv4({ src: source(i), dst: '10.0.2.20', proto: 6 }, tcp({ sport: 40000, dport: 443, seq: i, flags: FLAGS.SYN }))],
    ['DNS queries', false, (i: number) => query(i)],
  ])('%s left at the end: the run waits for a busy output between their chunks', async (_, isTcp, frame) => {
    const { before, after, atWaits, emittedWhilePending } = await paced(frame);
    expect(after).toBe(FLOOD);
    // some 25,000 flows were live at the end: six full lookups' chunks (EMIT_CHUNK) or some 25 of
    // TCP records (FLOOD_CHUNK), each followed by a wait
    expect(after - before).toBeGreaterThan(6 * EMIT_CHUNK);
    const full = Math.floor((after - before) / EMIT_CHUNK);
    // a TCP chunk (FLOOD_CHUNK records) is held whole until the next batch is related
    // (Emitter.emit): the wait after each chunk comes once the chunk before it is handed on, the
    // last chunk's too (full or not); the lookups' chunks are handed on whole at once
    const chunks = Math.ceil((after - before) / FLOOD_CHUNK);
    if (isTcp) expect(atWaits).toEqual(Array.from({ length: chunks }, (_, k) => before + k * FLOOD_CHUNK));
    else expect(atWaits).toEqual(Array.from({ length: full }, (_, k) => before + (k + 1) * EMIT_CHUNK));
    expect(emittedWhilePending).toBe(false);
  });
});
