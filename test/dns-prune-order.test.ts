import { describe, expect, it } from 'vitest';
import { CaptureRecord } from '../src/capture/record.js';
import { PacketDecoder } from '../src/decode/decode.js';
import { DecodedPacket } from '../src/decode/packet.js';
import { DnsTable, seriesHash } from '../src/flow/dns.js';
import { CLIENT_MAC, ethernet, GW_MAC, ipv4, u16, udp } from './helpers/build.js';

// What DnsTable prunes in order of time while times never go backwards, and by walking all of it
// once one did: the retry numbering (DnsTxn.attempt) and the sibling lookups (resolved names and
// failures waiting). Both ways must give what a full walk at every sweep gives.

const decoder = new PacketDecoder();

/** A query, or its response (`rcode`, one A record when `answered`); `opcode` 4 a NOTIFY, 5 an UPDATE. */
function query(id: number, qname: string, qtype: number, client: string, server: string, response?: { rcode: number; answered: boolean }, opcode = 0): Buffer {
  const labels = qname.split('.').filter((x) => x !== '');
  const name = Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]), Buffer.from([0])]);
  const port = 30000 + (id % 30000);
  if (response === undefined) {
    const msg = Buffer.concat([u16(id), u16((opcode << 11) | 0x0100), u16(1), u16(0), u16(0), u16(0), name, u16(qtype), u16(1)]);
    return ethernet(GW_MAC, CLIENT_MAC, 0x0800, ipv4({ src: client, dst: server, proto: 17 }, udp(port, 53, msg)));
  }
  const an = response.answered ? Buffer.concat([Buffer.from([0xc0, 12]), u16(1), u16(1), Buffer.alloc(4), u16(4), Buffer.from([10, 0, 2, 20])]) : Buffer.alloc(0);
  const msg = Buffer.concat([u16(id), u16(0x8180 | (opcode << 11) | response.rcode), u16(1), u16(response.answered ? 1 : 0), u16(0), u16(0), name, u16(qtype), u16(1), an]);
  return ethernet(CLIENT_MAC, GW_MAC, 0x0800, ipv4({ src: server, dst: client, proto: 17 }, udp(53, port, msg)));
}

/** Feeds one frame to `table` at capture time `t` (ns); the decoded packet. */
function feed(table: DnsTable, frame: Buffer, n: number, t: number): DecodedPacket {
  const rec = new CaptureRecord();
  rec.data = frame;
  rec.off = 0;
  rec.end = rec.capLen = frame.length;
  rec.linkType = 1;
  rec.frame = n;
  const pkt = new DecodedPacket();
  decoder.decode(rec, pkt);
  table.observe(pkt, 'udp', decoder.dv, rec.data, pkt.payloadOff, pkt.payloadOff + pkt.payloadLen, n, 0, 0, t);
  return pkt;
}

interface Q {
  client: string;
  server: string;
  qname: string;
  qtype: number;
  /** Capture time, ns. */
  t: number;
}

/** Each query's attempt as DnsTable numbers it, with a prune (udp idle `idle`) before every query at `sweepEvery` ns. */
function numbered(qs: Q[], idle: number, sweepEvery: number): { attempts: number[]; table: DnsTable } {
  const table = new DnsTable();
  const attempts: number[] = [];
  let nextSweep = sweepEvery;
  qs.forEach((q, i) => {
    if (q.t >= nextSweep) {
      table.pruneAttempts(q.t, idle);
      nextSweep = q.t + sweepEvery;
    }
    const pkt = feed(table, query(i + 1, q.qname, q.qtype, q.client, q.server), i + 1, q.t);
    const txn = table.findLatest(pkt.ipVersion, 'udp', pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort, i + 1);
    attempts.push(txn?.attempt ?? -1);
  });
  return { attempts, table };
}

/** The same numbering by the rule itself: a plain map of series, pruned by a walk of all of them. */
function reference(qs: Q[], idle: number, sweepEvery: number): number[] {
  const series = new Map<string, { n: number; lastT: number }>();
  const out: number[] = [];
  let nextSweep = sweepEvery;
  for (const q of qs) {
    if (q.t >= nextSweep) {
      for (const [k, s] of series) if (s.lastT <= q.t - idle) series.delete(k);
      nextSweep = q.t + sweepEvery;
    }
    const k = `${q.client} ${q.server} ${q.qname} ${q.qtype}`;
    const s = series.get(k);
    if (s === undefined) series.set(k, { n: 1, lastT: q.t });
    else {
      s.n++;
      s.lastT = q.t;
    }
    out.push(series.get(k)?.n ?? 0);
  }
  return out;
}

/** `n` queries a few clients repeat now and then, `step` ns apart on average (a deterministic generator). */
function queries(n: number, step: number, backwards: boolean): Q[] {
  let x = 12345;
  const rnd = (m: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % m;
  };
  const qs: Q[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += rnd(2 * step);
    // a time stamped up to 40 steps back now and then (tcpdump -i any, a clock step)
    const at = backwards && rnd(25) === 0 ? Math.max(0, t - rnd(40 * step)) : t;
    qs.push({ client: `10.0.1.${1 + rnd(4)}`, server: `10.0.2.${53 + rnd(2)}`, qname: `n${rnd(30)}.example.test`, qtype: rnd(3) === 0 ? 28 : 1, t: at });
  }
  return qs;
}

describe('DNS retry numbering kept in order of last query', () => {
  const idle = 5e9;
  const sweep = 1e9;

  it('query times in order: pruned from the front, numbered as a full walk numbers them', () => {
    const qs = queries(3000, 2e8, false);
    const { attempts, table } = numbered(qs, idle, sweep);
    expect(attempts).toEqual(reference(qs, idle, sweep));
    // the map stayed in order, and repeats past the idle time began new series
    expect((table as unknown as { attemptsInOrder: boolean }).attemptsInOrder).toBe(true);
    expect(attempts.filter((a) => a === 1).length).toBeGreaterThan(240);
    expect(Math.max(...attempts)).toBeGreaterThan(3);
  });

  it('a query time that goes backwards: walked whole from then on, numbered the same', () => {
    const qs = queries(3000, 2e8, true);
    const { attempts, table } = numbered(qs, idle, sweep);
    expect(attempts).toEqual(reference(qs, idle, sweep));
    expect((table as unknown as { attemptsInOrder: boolean }).attemptsInOrder).toBe(false);
    // and the same queries in order number as the in-order path does
    const sorted = [...qs].sort((a, b) => a.t - b.t);
    expect(numbered(sorted, idle, sweep).attempts).toEqual(reference(sorted, idle, sweep));
  });

  it('back in order once every series was forgotten', () => {
    const qs: Q[] = [
      { client: '10.0.1.1', server: '10.0.2.53', qname: 'a.example.test', qtype: 1, t: 2e9 },
      { client: '10.0.1.1', server: '10.0.2.53', qname: 'a.example.test', qtype: 1, t: 1e9 },
      { client: '10.0.1.1', server: '10.0.2.53', qname: 'b.example.test', qtype: 1, t: 20e9 },
      { client: '10.0.1.1', server: '10.0.2.53', qname: 'b.example.test', qtype: 1, t: 21e9 },
    ];
    const { attempts, table } = numbered(qs, idle, sweep);
    expect(attempts).toEqual([1, 2, 1, 2]);
    expect((table as unknown as { attemptsInOrder: boolean }).attemptsInOrder).toBe(true);
  });

  it('a series queried twice at one time is forgotten once: its pair stays with the other series', () => {
    // a is in the order twice with one time; were it dropped twice, the pair's count of series
    // would reach 0 with b still remembered, and b's next query would begin a new series
    const q = (qname: string, t: number): Q => ({ client: '10.0.1.1', server: '10.0.2.53', qname, qtype: 1, t });
    const qs = [q('a.example.test', 1e9), q('a.example.test', 1e9), q('c.example.test', 1e9), q('b.example.test', 3e9), q('b.example.test', 7e9), q('b.example.test', 8e9)];
    const { attempts } = numbered(qs, idle, sweep);
    expect(attempts).toEqual(reference(qs, idle, sweep));
    expect(attempts).toEqual([1, 2, 1, 1, 2, 3]);
  });

  it('two series whose hashes clash are still two, each numbered and forgotten on its own', () => {
    // two names of one client and server (the table's first pair: number 1) with one hash
    const seen = new Map<number, string>();
    let clash: [string, string] | null = null;
    for (let i = 0; clash === null; i++) {
      const name = `h${i}.example.test.`;
      const h = seriesHash(1, 16, name);
      const other = seen.get(h);
      if (other !== undefined) clash = [other, name];
      else seen.set(h, name);
    }
    const [a, b] = clash;
    const q = (qname: string, t: number): Q => ({ client: '10.0.1.1', server: '10.0.2.53', qname, qtype: 1, t });
    // b waits behind a; a is forgotten (at 6 s) while b goes on, and begins anew (7 s) while b is
    // still remembered; both forgotten (20 s), b first this time
    const qs = [q(a, 0), q(b, 1e9), q(b, 4e9), q(b, 6e9), q(a, 7e9), q(b, 8e9), q(b, 20e9), q(a, 20e9)];
    const { attempts, table } = numbered(qs, idle, sweep);
    expect(attempts).toEqual(reference(qs, idle, sweep));
    expect(attempts).toEqual([1, 1, 2, 3, 1, 4, 1, 1]);
    // all forgotten at 20 s, their pair with them: the last two began under a new pair
    expect((table as unknown as { clashes: Map<string, unknown> }).clashes.size).toBe(0);
    // b took the other map (a held the hash), and numbered its retry there
    const first = numbered(qs.slice(0, 3), idle, sweep);
    expect(first.attempts).toEqual([1, 1, 2]);
    expect((first.table as unknown as { clashes: Map<string, unknown> }).clashes.size).toBe(1);
  });
});

describe('DNS sibling lookups pruned in order of time', () => {
  /** A lookup (query, then its response 1 ms later) at `at` seconds, or a sweep at `at` seconds. */
  type Step = { at: number; name: string; ok: boolean; client?: string } | { at: number; sweep: true };

  /** Each lookup of 10.0.1.1, in order, with the Sibling reason its failure was given (0 none). */
  function siblings(steps: Step[]): { reasons: string[]; table: DnsTable } {
    const table = new DnsTable();
    const reasons: string[] = [];
    const mine: [string, number][] = [];
    steps.forEach((s, i) => {
      const t = s.at * 1e9;
      if ('sweep' in s) {
        table.pruneSiblings(t);
        return;
      }
      const client = s.client ?? '10.0.1.1';
      const id = i + 1;
      feed(table, query(id, s.name, 1, client, '10.0.2.53'), 2 * id, t);
      feed(table, query(id, s.name, 1, client, '10.0.2.53', { rcode: s.ok ? 0 : 3, answered: s.ok }), 2 * id + 1, t + 1e6);
      if (client === '10.0.1.1') mine.push([s.name, id]);
    });
    const server = Uint32Array.of(0x0a000235, 0, 0, 0);
    const me = Uint32Array.of(0x0a000101, 0, 0, 0);
    for (const [name, id] of mine) {
      const txn = table.findLatest(4, 'udp', me, 30000 + id, server, 53, id);
      reasons.push(`${txn?.qname ?? name} ${txn?.sibling ?? -1}`);
    }
    return { reasons, table };
  }

  // a failure waits 2 s for its stem, a resolved name is remembered 2 s: a sweep at 2.5 s forgets
  // what is older than 0.5 s, and keeps a name resolved again since (b, at 1 s)
  const steps: Step[] = [
    { at: 0, name: 'www.example.test.corp.local', ok: false },
    { at: 0.2, name: 'b.example.test', ok: true },
    { at: 0.3, name: 'a.example.test', ok: true },
    { at: 1, name: 'db.example.test.corp.local', ok: false },
    { at: 1, name: 'b.example.test', ok: true },
    { at: 1.5, sweep: true },
    { at: 2.45, name: 'c.example.test', ok: true },
    { at: 2.5, sweep: true },
    { at: 2.6, name: 'www.example.test', ok: true },
    { at: 2.7, name: 'db.example.test', ok: true },
    { at: 2.8, name: 'a.example.test.corp.local', ok: false },
    { at: 2.9, name: 'b.example.test.corp.local', ok: false },
    { at: 3, name: 'c.example.test.corp.local', ok: false },
  ];
  const expected = [
    // forgotten at 2.5 s before its stem resolved
    'www.example.test.corp.local. 0',
    'b.example.test. 0',
    'a.example.test. 0',
    // still waiting at 2.7 s
    'db.example.test.corp.local. 1',
    'b.example.test. 0',
    'c.example.test. 0',
    'www.example.test. 0',
    'db.example.test. 0',
    // a.example.test. forgotten at 2.5 s; b.example.test. kept (resolved again at 1 s); c.example.test. fresh
    'a.example.test.corp.local. 0',
    'b.example.test.corp.local. 1',
    'c.example.test.corp.local. 1',
  ];

  it('times in order: taken from the front', () => {
    const { reasons, table } = siblings(steps);
    expect(reasons).toEqual(expected);
    const t = (table as unknown as { siblings: { resolvedInOrder: boolean; pendingInOrder: boolean } }).siblings;
    expect([t.resolvedInOrder, t.pendingInOrder]).toEqual([true, true]);
  });

  it('a response time that goes backwards (another client): walked whole, the same lookups made benign', () => {
    const back: Step[] = [
      ...steps.slice(0, 5),
      { at: 1.2, name: 'x.example.test', ok: true, client: '10.0.1.2' },
      { at: 0.9, name: 'y.example.test', ok: true, client: '10.0.1.2' },
      { at: 0.8, name: 'z.example.test', ok: false, client: '10.0.1.2' },
      ...steps.slice(5),
    ];
    const { reasons, table } = siblings(back);
    expect(reasons).toEqual(expected);
    const t = (table as unknown as { siblings: { resolvedInOrder: boolean; pendingInOrder: boolean } }).siblings;
    expect([t.resolvedInOrder, t.pendingInOrder]).toEqual([false, false]);
  });
});

describe('DNS retry numbering after an answer', () => {
  const idle = 5e9;
  const sweep = 1e9;
  /** A query (id = its index + 1), or the response to query `of` (an index), A records or none. */
  type Ev = (Q & { kind: 'q' }) | { kind: 'a'; of: number; rcode: number; answered: boolean; t: number };

  /** Each query's attempt as DnsTable numbers it; an answered transaction is forgotten at once (its Series object reused). */
  function numberedWithAnswers(evs: Ev[]): number[] {
    const table = new DnsTable();
    const out: number[] = [];
    const qs = new Map<number, Q>();
    let nextSweep = sweep;
    evs.forEach((e, i) => {
      if (e.t >= nextSweep) {
        table.pruneAttempts(e.t, idle);
        nextSweep = e.t + sweep;
      }
      if (e.kind === 'q') {
        qs.set(i, e);
        const pkt = feed(table, query(i + 1, e.qname, e.qtype, e.client, e.server), i + 1, e.t);
        out.push(table.findLatest(pkt.ipVersion, 'udp', pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort, i + 1)?.attempt ?? -1);
        return;
      }
      const q = qs.get(e.of);
      if (q === undefined) throw new Error(`event ${i}: no query ${e.of}`);
      const pkt = feed(table, query(e.of + 1, q.qname, q.qtype, q.client, q.server, { rcode: e.rcode, answered: e.answered }), i + 1, e.t);
      const txn = table.findLatest(pkt.ipVersion, 'udp', pkt.dst, pkt.dstPort, pkt.src, pkt.srcPort, e.of + 1);
      if (txn !== null) table.forget(txn);
    });
    return out;
  }

  /** The rule itself: a plain map of series, pruned by a walk; an answer with records (NOERROR) to its latest query ends a series. */
  function referenceWithAnswers(evs: Ev[]): number[] {
    const series = new Map<string, { n: number; lastT: number }>();
    const of = new Map<number, [string, { n: number; lastT: number }, number]>();
    const out: number[] = [];
    let nextSweep = sweep;
    evs.forEach((e, i) => {
      if (e.t >= nextSweep) {
        for (const [k, s] of series) if (s.lastT <= e.t - idle) series.delete(k);
        nextSweep = e.t + sweep;
      }
      if (e.kind === 'q') {
        const k = `${e.client} ${e.server} ${e.qname} ${e.qtype}`;
        let s = series.get(k);
        if (s === undefined) series.set(k, (s = { n: 1, lastT: e.t }));
        else {
          s.n++;
          s.lastT = e.t;
        }
        of.set(i, [k, s, s.n]);
        out.push(s.n);
        return;
      }
      const [k, s, n] = of.get(e.of) ?? ['', null, 0];
      if (e.rcode === 0 && e.answered && series.get(k) === s && s?.n === n) series.delete(k);
    });
    return out;
  }

  it('a lookup answered with records ends its series; a failure, no answer or a later retry does not', () => {
    const q = (qname: string, t: number): Ev => ({ kind: 'q', client: '10.0.1.1', server: '10.0.2.53', qname, qtype: 1, t: t * 1e9 });
    const a = (of: number, t: number, rcode = 0, answered = rcode === 0): Ev => ({ kind: 'a', of, rcode, answered, t: t * 1e9 });
    const evs: Ev[] = [
      q('ok.example.test', 0),
      a(0, 0.01),
      q('ok.example.test', 1), // answered: the second is a new lookup
      q('lost.example.test', 1),
      q('lost.example.test', 2), // unanswered: a retry
      q('fail.example.test', 2),
      a(5, 2.01, 2),
      q('fail.example.test', 3), // SERVFAIL: a retry
      q('empty.example.test', 3),
      a(8, 3.01, 0, false),
      q('empty.example.test', 3.5), // no records: a retry
      q('slow.example.test', 4),
      q('slow.example.test', 4.5),
      a(11, 4.6),
      q('slow.example.test', 4.7), // the first answered after its retry: still one series
      a(14, 4.8),
      q('slow.example.test', 4.9), // its latest query answered: a new lookup
      q('same.example.test', 6),
      q('same.example.test', 6),
      a(17, 6.01),
      q('same.example.test', 7), // the first of two at one time answered: the second is retried
    ];
    const attempts = numberedWithAnswers(evs);
    expect(attempts).toEqual(referenceWithAnswers(evs));
    expect(attempts).toEqual([1, 1, 1, 2, 1, 2, 1, 2, 1, 2, 3, 1, 1, 2, 3]);
  });

  it('a NOTIFY or UPDATE answered NOERROR ends its series (it has no records); one unanswered is retried', () => {
    for (const opcode of [4, 5]) {
      const table = new DnsTable();
      const attempts: number[] = [];
      const send = (id: number, t: number, answer: boolean) => {
        const pkt = feed(table, query(id, 'example.test', 6, '10.0.2.53', '10.0.2.54', undefined, opcode), 2 * id, t * 1e9);
        attempts.push(table.findLatest(pkt.ipVersion, 'udp', pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort, id)?.attempt ?? -1);
        if (answer) feed(table, query(id, 'example.test', 6, '10.0.2.53', '10.0.2.54', { rcode: 0, answered: false }, opcode), 2 * id + 1, t * 1e9 + 1e6);
      };
      send(1, 0, true);
      send(2, 30, false);
      send(3, 31, true);
      send(4, 40, true);
      expect(attempts, `opcode ${opcode}`).toEqual([1, 1, 2, 1]);
    }
  });

  it('many lookups, answered or not, in and out of order: numbered as the rule numbers them', () => {
    for (const backwards of [false, true]) {
      let x = 777;
      const rnd = (m: number) => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return (x >>> 8) % m;
      };
      const evs: Ev[] = [];
      const waiting: number[] = [];
      for (const q of queries(3000, 2e8, backwards)) {
        evs.push({ kind: 'q', ...q });
        waiting.push(evs.length - 1);
        // now and then a response to one of the queries waiting: most with records, some failing
        while (waiting.length > 0 && rnd(3) !== 0) {
          const of = waiting.splice(rnd(waiting.length), 1)[0];
          const r = rnd(10);
          evs.push({ kind: 'a', of, rcode: r < 7 ? 0 : r < 9 ? 3 : 2, answered: r < 6, t: q.t });
        }
      }
      const attempts = numberedWithAnswers(evs);
      expect(attempts, backwards ? 'out of order' : 'in order').toEqual(referenceWithAnswers(evs));
      expect(attempts.filter((n) => n > 1).length).toBeGreaterThan(100);
    }
  });
});
