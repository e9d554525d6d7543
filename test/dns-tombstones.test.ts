import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DecodedPacket } from '../src/decode/packet.js';
import { FlowBudget } from '../src/flow/chained-table.js';
import { DnsTombstones, type RetiredLookup } from '../src/flow/dns-tombstones.js';
import { FlowEndpoints } from '../src/flow/endpoints.js';
import { CLIENT_MAC, ethernet, GW_MAC, ipv4, pcap, u16, udp, type Rec } from './helpers/build.js';
import { runInProcess } from './helpers/in-process.js';
import { ndjsonLines } from './helpers/run.js';

const ip = (a: number, b: number, c: number, d: number) => Uint32Array.of(((a << 24) | (b << 16) | (c << 8) | d) >>> 0, 0, 0, 0);
const CLIENT = ip(10, 0, 1, 10);
const RESOLVER = ip(10, 0, 2, 53);

/** An answered lookup from CLIENT:cPort to RESOLVER:53, reported, as DnsTable hands it over. */
class Lookup extends FlowEndpoints implements RetiredLookup {
  transport = 'udp' as const;
  constructor(
    cPort: number,
    readonly id: number,
    readonly inserted: number,
    readonly lastT: number,
  ) {
    super();
    const p = new DecodedPacket();
    p.ipVersion = 4;
    p.src.set(CLIENT);
    p.srcPort = cPort;
    p.dst.set(RESOLVER);
    p.dstPort = 53;
    this.setEndpointsOf(p, true);
  }
  /** Not DnsTable's hash: any will do, as long as a key's entries share it (a few share one here). */
  get hash(): number {
    return this.cPort % 7;
  }
}

const latest = (t: DnsTombstones, cPort: number, id: number) => t.latest(4, 'udp', CLIENT, cPort, RESOLVER, 53, id, cPort % 7);

describe('DnsTombstones: reported lookups kept to absorb late duplicates', () => {
  it('finds the newest entry of a key and counts them, through growth', () => {
    const budget = new FlowBudget(Infinity);
    const t = new DnsTombstones(budget);
    // 3000 lookups (the table grows from 1024 slots, its buckets double), on 7 hashes
    for (let p = 1; p <= 3000; p++) t.add(new Lookup(p, p & 0xffff, p, p * 1e6));
    // port 7 twice more with id 7: the newest is the largest `inserted`, whatever the order they came in
    t.add(new Lookup(7, 7, 9000, 5e6));
    t.add(new Lookup(7, 7, 8000, 6e6));
    expect(t.size).toBe(3002);
    expect(budget.used).toBe(3002);
    expect(latest(t, 7, 7)).toBe(9000);
    expect(t.count(4, 'udp', CLIENT, 7, RESOLVER, 53, 7, 0, 64)).toBe(3);
    expect(t.count(4, 'udp', CLIENT, 7, RESOLVER, 53, 7, 0, 2)).toBe(2);
    expect(latest(t, 8, 7)).toBe(-1); // another port
    expect(latest(t, 7, 8)).toBe(-1); // another id
    expect(t.latest(4, 'tcp', CLIENT, 7, RESOLVER, 53, 7, 0)).toBe(-1); // another transport
    expect(latest(t, 2999, 2999)).toBe(2999);
  });

  it('forgets each entry at the first sweep its last message is keepNs old, in any order of adding', () => {
    const budget = new FlowBudget(Infinity);
    const t = new DnsTombstones(budget);
    // last messages at 1..2000 ms, added in a scrambled order
    const ports = Array.from({ length: 2000 }, (_, i) => i + 1).sort((a, b) => ((a * 7919) % 2003) - ((b * 7919) % 2003));
    for (const p of ports) t.add(new Lookup(p, p, p, p * 1e6));
    t.expire(5e9 + 1000e6 - 1, 5e9); // the ones at 1..999 ms are due
    expect(t.size).toBe(1001);
    expect(budget.used).toBe(1001);
    expect(latest(t, 999, 999)).toBe(-1);
    expect(latest(t, 1000, 1000)).toBe(1000);
    t.expire(5e9 + 1500e6, 5e9);
    expect(t.size).toBe(500);
    expect(latest(t, 1500, 1500)).toBe(-1);
    expect(latest(t, 1501, 1501)).toBe(1501);
    // freed slots are reused
    for (let p = 1; p <= 1500; p++) t.add(new Lookup(p, p, 10_000 + p, 9e9));
    expect(t.size).toBe(2000);
    expect(latest(t, 3, 3)).toBe(10_003);
    t.expire(Infinity, 5e9);
    expect(t.size).toBe(0);
    expect(budget.used).toBe(0);
  });
});

// ---- in a run ---------------------------------------------------------------------------------

const NAME = Buffer.from([3, 0x77, 0x77, 0x77, 7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 4, 0x74, 0x65, 0x73, 0x74, 0]);

/** A query from 10.0.1.10:port for www.example.test A, its IP datagram. */
function queryIp(port: number, id: number): Buffer {
  const msg = Buffer.concat([u16(id), u16(0x0100), u16(1), u16(0), u16(0), u16(0), NAME, u16(1), u16(1)]);
  return ipv4({ src: '10.0.1.10', dst: '10.0.2.53', proto: 17 }, udp(port, 53, msg));
}

function query(port: number, id: number): Buffer {
  return ethernet(GW_MAC, CLIENT_MAC, 0x0800, queryIp(port, id));
}

/** Its answer: one A record. */
function answer(port: number, id: number): Buffer {
  const an = Buffer.concat([Buffer.from([0xc0, 12]), u16(1), u16(1), Buffer.alloc(4), u16(4), Buffer.from([10, 0, 2, 20])]);
  const msg = Buffer.concat([u16(id), u16(0x8180), u16(1), u16(1), u16(0), u16(0), NAME, u16(1), u16(1), an]);
  return ethernet(CLIENT_MAC, GW_MAC, 0x0800, ipv4({ src: '10.0.2.53', dst: '10.0.1.10', proto: 17 }, udp(53, port, msg)));
}

/** The resolver's port unreachable quoting the query (checksum left 0: only counted). */
function unreachable(port: number, id: number): Buffer {
  const icmp = Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), queryIp(port, id)]);
  return ethernet(CLIENT_MAC, GW_MAC, 0x0800, ipv4({ src: '10.0.2.53', dst: '10.0.1.10', proto: 1 }, icmp));
}

describe('a reported lookup let go: its late duplicates are still absorbed, then not', () => {
  it('a duplicate 3 s after the answer and an ICMP error quoting the query are its own; a response 7.5 s after is new', async () => {
    const at = (s: number, data: Buffer): Rec => ({ sec: 1_763_780_000 + Math.floor(s), frac: Math.round((s % 1) * 1e6), data });
    const recs: Rec[] = [at(0, query(40000, 0x1234)), at(0.01, answer(40000, 0x1234)), at(3, answer(40000, 0x1234)), at(3.5, unreachable(40000, 0x1234)), at(7.5, answer(40000, 0x1234))];
    // other lookups every half second to 10 s, so that sweeps run
    for (let i = 1; i <= 20; i++) recs.push(at(i / 2 + 0.2, query(41000 + i, i)), at(i / 2 + 0.21, answer(41000 + i, i)));
    recs.sort((a, b) => a.sec - b.sec || a.frac - b.frac);
    const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-dns-retired-'));
    const file = join(dir, 'late.pcap');
    writeFileSync(file, pcap(recs));
    const { stdout } = await runInProcess(['-f', 'ndjson', file]);
    const lines = ndjsonLines(stdout);
    const mine = lines.filter((l) => l.type === 'flow' && l.client === '10.0.1.10:40000');
    // the lookup (its duplicate at 3 s absorbed), and at 7.5 s, past --dns-timeout after its last
    // message, a response no longer its own
    expect(mine.map((l) => [l.verdict, Math.round((l.t ?? -1) * 10) / 10])).toEqual([
      ['dns-ok', 0],
      [expect.any(String), 7.5],
    ]);
    const summary = lines.find((l) => l.type === 'summary');
    expect(summary?.stats?.icmpErrorsUnmatched).toBe(0);
  });
});
