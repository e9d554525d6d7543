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
import { ndjsonLines, type NdjsonLine } from './helpers/run.js';

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

/** A query for www.example.test AAAA, and its answer without data (a lookup that waits for its sibling). */
function queryAaaa(port: number, id: number): Buffer {
  const msg = Buffer.concat([u16(id), u16(0x0100), u16(1), u16(0), u16(0), u16(0), NAME, u16(28), u16(1)]);
  return ethernet(GW_MAC, CLIENT_MAC, 0x0800, ipv4({ src: '10.0.1.10', dst: '10.0.2.53', proto: 17 }, udp(port, 53, msg)));
}
function noData(port: number, id: number): Buffer {
  const msg = Buffer.concat([u16(id), u16(0x8180), u16(1), u16(0), u16(0), u16(0), NAME, u16(28), u16(1)]);
  return ethernet(CLIENT_MAC, GW_MAC, 0x0800, ipv4({ src: '10.0.2.53', dst: '10.0.1.10', proto: 17 }, udp(53, port, msg)));
}

const at = (s: number, data: Buffer): Rec => ({ sec: 1_763_780_000 + Math.floor(s), frac: Math.round((s % 1) * 1e6), data });

/** The ndjson lines of `recs` (sorted by time), with other lookups every half second to `fillTo` s so that sweeps run. */
async function run(recs: Rec[], fillTo: number, args: string[] = []): Promise<NdjsonLine[]> {
  const all = [...recs];
  for (let i = 1; i <= fillTo * 2; i++) all.push(at(i / 2 + 0.2, query(41000 + i, i)), at(i / 2 + 0.21, answer(41000 + i, i)));
  all.sort((a, b) => a.sec - b.sec || a.frac - b.frac);
  const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-dns-retired-'));
  const file = join(dir, 'c.pcap');
  writeFileSync(file, pcap(all));
  return ndjsonLines((await runInProcess(['-f', 'ndjson', ...args, file])).stdout);
}

/** The records of client port 40000: verdict and time (0.1 s). */
const mine = (lines: NdjsonLine[]) => lines.filter((l) => l.type === 'flow' && l.client === '10.0.1.10:40000').map((l) => [l.verdict, Math.round((l.t ?? -1) * 10) / 10]);
const unmatchedIcmp = (lines: NdjsonLine[]) => lines.find((l) => l.type === 'summary')?.stats?.icmpErrorsUnmatched;

describe('a reported lookup let go: its late duplicates are still absorbed, then not', () => {
  it('a duplicate 3 s after the answer and an ICMP error quoting the query are its own; a response 7.5 s after is new', async () => {
    const lines = await run([at(0, query(40000, 0x1234)), at(0.01, answer(40000, 0x1234)), at(3, answer(40000, 0x1234)), at(3.5, unreachable(40000, 0x1234)), at(7.5, answer(40000, 0x1234))], 10);
    // the lookup (its duplicate at 3 s absorbed), and at 7.5 s, past --dns-timeout after its last
    // message, a response no longer its own
    expect(mine(lines)).toEqual([
      ['dns-ok', 0],
      [expect.any(String), 7.5],
    ]);
    expect(unmatchedIcmp(lines)).toBe(0);
  });

  it('one reported when --dns-timeout has passed (a quiet gap, a short timeout) is gone at that sweep', async () => {
    // nothing between the answer and 6 s: the sweep at 6 s reports it, 6 s after its last message
    const gap = await run(
      [
        at(0, query(40000, 0x1234)),
        at(0.01, answer(40000, 0x1234)),
        at(6, query(41100, 1)),
        at(6.01, answer(41100, 1)),
        at(6.5, answer(40000, 0x1234)),
        at(6.6, unreachable(40000, 0x1234)),
        at(7.2, query(41101, 2)),
        at(7.21, answer(41101, 2)),
      ],
      0,
    );
    expect(mine(gap)).toEqual([
      ['dns-ok', 0],
      [expect.any(String), 6.5],
    ]);
    expect(unmatchedIcmp(gap)).toBe(0); // the ICMP error matches the new record at 6.5 s's lookup, not a retired one
    const short = await run([at(0, query(40000, 0x1234)), at(0.01, answer(40000, 0x1234)), at(1.5, answer(40000, 0x1234))], 3, ['--dns-timeout', '500ms']);
    expect(mine(short)).toEqual([
      ['dns-ok', 0],
      [expect.any(String), 1.5],
    ]);
  });

  it('an ICMP error goes to the newest lookup of its key, retired or not', async () => {
    // an unanswered query, then a retry with the same port and id that is answered and retired: the
    // error is the retry's (nothing to add), the first stays unanswered
    const first = await run([at(0, query(40000, 0x1234)), at(0.5, query(40000, 0x1234)), at(0.51, answer(40000, 0x1234)), at(2, unreachable(40000, 0x1234))], 8);
    expect(mine(first)).toEqual([
      ['dns-ok', 0.5],
      ['dns-no-response', 0],
    ]);
    // answered and retired, then a newer query of the same key: the error is the newer one's
    const newer = await run([at(0, query(40000, 0x1234)), at(0.01, answer(40000, 0x1234)), at(1.5, query(40000, 0x1234)), at(2, unreachable(40000, 0x1234))], 8);
    expect(mine(newer)).toEqual([
      ['dns-ok', 0],
      ['icmp-port-unreachable', 1.5],
    ]);
  });

  it('a duplicate answer goes to a newer live lookup of the key before a retired one', async () => {
    // the A lookup is answered and retired; an AAAA lookup with the same port and id, answered
    // without data, waits for its sibling; a duplicate of that answer is the AAAA lookup's
    const lines = await run([at(0, query(40000, 0x1234)), at(0.01, answer(40000, 0x1234)), at(1.3, queryAaaa(40000, 0x1234)), at(1.31, noData(40000, 0x1234)), at(1.5, noData(40000, 0x1234))], 6);
    const aaaa = lines.find((l) => l.type === 'flow' && l.client === '10.0.1.10:40000' && l.qtype === 'AAAA');
    expect(aaaa?.facts?.some((f) => f.kind === 'dns-duplicates')).toBe(true);
  });

  it('a retired lookup still counts among identical queries outstanding', async () => {
    // answered and retired at 1 s, then 64 identical queries: with it, the 64th is one too many
    const recs = [at(0, query(40000, 0x1234)), at(0.01, answer(40000, 0x1234))];
    for (let i = 0; i < 64; i++) recs.push(at(1.5 + i / 1000, query(40000, 0x1234)));
    const lines = await run(recs, 3);
    expect(lines.find((l) => l.type === 'summary')?.anomalies).toMatchObject([{ code: 'dns_identical_queries', count: 1 }]);
  });
});
