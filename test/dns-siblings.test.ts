import { describe, expect, it } from 'vitest';
import { analyzeSource, DEFAULT_OPTIONS, type AnalyzeOptions, type Report } from '../src/analyze.js';
import { defined } from './helpers/run.js';
import { DNS_RULES } from '../src/verdict/dns-rules.js';
import { HEALTHY, type FlowRecord } from '../src/verdict/types.js';
import { authorityHasNs, DnsHeader, parseDnsHeader } from '../src/decode/dns.js';
import { Relater } from '../src/related/relate.js';
import { dnsUpstreamLinker } from '../src/related/dns-upstream.js';
import { bufferSource, CLIENT_MAC, ethernet, GW_MAC, ipv4, pcap, u16, udp, type Rec } from './helpers/build.js';

// The DNS rules that need more than one message: failures a sibling lookup makes benign (search
// lists, the other address family), referrals, retried queries, UPDATE and NOTIFY, and the link
// from a resolver's SERVFAIL to its own failed upstream queries.

const A = 1;
const NS = 2;
const AAAA = 28;
const SOA = 6;

function name(n: string): Buffer {
  const parts: Buffer[] = [];
  for (const l of n.split('.').filter((x) => x !== '')) parts.push(Buffer.from([Buffer.byteLength(l)]), Buffer.from(l));
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

interface Msg {
  id: number;
  qname: string;
  qtype?: number;
  response?: boolean;
  rcode?: number;
  opcode?: number;
  rd?: boolean;
  aa?: boolean;
  ra?: boolean;
  /** A records to answer with (a, or the AAAA type when qtype is AAAA). */
  answers?: number;
  /** NS records in the authority section (a referral when no answer and no AA). */
  authorityNs?: string[];
}

function dns(m: Msg): Buffer {
  const qtype = m.qtype ?? A;
  const flags = (m.response === true ? 0x8000 : 0) | ((m.opcode ?? 0) << 11) | (m.aa === true ? 0x400 : 0) | (m.rd !== false ? 0x100 : 0) | (m.ra === true ? 0x80 : 0) | (m.rcode ?? 0);
  const an = m.answers ?? 0;
  const ns = m.authorityNs ?? [];
  const parts = [u16(m.id), u16(flags), u16(1), u16(an), u16(ns.length), u16(0), name(m.qname), u16(qtype), u16(1)];
  for (let i = 0; i < an; i++) {
    const rdata = qtype === AAAA ? Buffer.alloc(16, 1) : Buffer.from([10, 0, 2, 20 + i]);
    parts.push(Buffer.from([0xc0, 12]), u16(qtype === AAAA ? AAAA : A), u16(1), Buffer.alloc(4), u16(rdata.length), rdata);
  }
  for (const n of ns) {
    const rdata = name(n);
    parts.push(Buffer.from([0xc0, 12]), u16(NS), u16(1), Buffer.alloc(4), u16(rdata.length), rdata);
  }
  return Buffer.concat(parts);
}

const CLIENT = '10.0.1.10';
const SERVER = '10.0.2.53';

/** A query from `client`:`port` to `server`, or its response. */
function frame(m: Msg, port: number, client = CLIENT, server = SERVER): Buffer {
  const payload = dns(m);
  return m.response === true
    ? ethernet(CLIENT_MAC, GW_MAC, 0x0800, ipv4({ src: server, dst: client, proto: 17 }, udp(53, port, payload)))
    : ethernet(GW_MAC, CLIENT_MAC, 0x0800, ipv4({ src: client, dst: server, proto: 17 }, udp(port, 53, payload)));
}

/** A query at `t` and its response `after` seconds later. */
function lookup(t: number, m: Msg, port: number, after = 0.001, client = CLIENT, server = SERVER): [number, Buffer][] {
  return [
    [t, frame(m, port, client, server)],
    [t + after, frame({ ...m, response: true }, port, client, server)],
  ];
}

async function run(frames: [number, Buffer][], opts: Partial<AnalyzeOptions> = {}): Promise<Report> {
  const recs: Rec[] = frames.sort((x, y) => x[0] - y[0]).map(([t, data]) => ({ sec: 1700000000 + Math.floor(t), frac: Math.round((t % 1) * 1e6), data }));
  return analyzeSource(bufferSource(pcap(recs)), { ...DEFAULT_OPTIONS, ...opts });
}

const byQuery = (r: Report) => r.records.filter((x) => x.proto === 'dns').map((x) => `${x.query ?? ''} ${x.qtype ?? ''} ${x.verdict}`);

describe('DNS failures a sibling lookup makes benign', () => {
  it('a search-list expansion that failed, then the stem resolved: dns-search-miss, healthy', async () => {
    const r = await run([
      ...lookup(0, { id: 1, qname: 'www.example.test.corp.local', rcode: 3 }, 40001),
      ...lookup(0.001, { id: 2, qname: 'www.example.test.corp.local', qtype: AAAA, rcode: 3 }, 40001),
      ...lookup(0.01, { id: 3, qname: 'www.example.test', answers: 1 }, 40002),
      ...lookup(0.011, { id: 4, qname: 'www.example.test', qtype: AAAA, answers: 1 }, 40002),
    ]);
    expect(byQuery(r).sort()).toEqual(['www.example.test. A dns-ok', 'www.example.test. AAAA dns-ok', 'www.example.test.corp.local. A dns-search-miss', 'www.example.test.corp.local. AAAA dns-search-miss']);
    expect(r.summary.problems).toBe(0);
    const miss = r.records.find((x) => x.verdict === 'dns-search-miss');
    expect(miss?.evidence.join('\n')).toContain('then www.example.test. A resolved (#6');
    expect(miss?.check).toBe('');
  });

  it('the name as given failed, then its expansion resolved (ndots reached): dns-search-miss', async () => {
    const r = await run([...lookup(0, { id: 1, qname: 'db.prod', rcode: 3 }, 40001), ...lookup(0.3, { id: 2, qname: 'db.prod.corp.local', answers: 1 }, 40002)]);
    expect(byQuery(r)).toEqual(['db.prod. A dns-search-miss', 'db.prod.corp.local. A dns-ok']);
  });

  it('a stem answered after the wait, another client, or a failed stem: the NXDOMAIN stays a problem', async () => {
    const late = await run([...lookup(0, { id: 1, qname: 'www.example.test.corp.local', rcode: 3 }, 40001), ...lookup(2.5, { id: 2, qname: 'www.example.test', answers: 1 }, 40002)]);
    expect(byQuery(late)).toContain('www.example.test.corp.local. A dns-nxdomain');
    const other = await run([...lookup(0, { id: 1, qname: 'www.example.test.corp.local', rcode: 3 }, 40001), ...lookup(0.1, { id: 2, qname: 'www.example.test', answers: 1 }, 40002, 0.001, '10.0.1.11')]);
    expect(byQuery(other)).toContain('www.example.test.corp.local. A dns-nxdomain');
    const none = await run([...lookup(0, { id: 1, qname: 'nope.example.test.corp.local', rcode: 3 }, 40001), ...lookup(0.1, { id: 2, qname: 'nope.example.test', rcode: 3 }, 40002)]);
    expect(byQuery(none)).toEqual(['nope.example.test.corp.local. A dns-nxdomain', 'nope.example.test. A dns-nxdomain']);
    expect(none.summary.problems).toBe(2);
  });

  it('no AAAA when the A of the same name resolved (either order): dns-other-family; both empty: dns-nodata', async () => {
    const after = await run([...lookup(0, { id: 1, qname: 'v4only.example.test', qtype: AAAA }, 40001), ...lookup(0.002, { id: 2, qname: 'v4only.example.test', answers: 1 }, 40001)]);
    expect(byQuery(after).sort()).toEqual(['v4only.example.test. A dns-ok', 'v4only.example.test. AAAA dns-other-family']);
    const before = await run([...lookup(0, { id: 2, qname: 'V4ONLY.example.test', answers: 1 }, 40001), ...lookup(0.5, { id: 1, qname: 'v4only.example.test', qtype: AAAA }, 40001)]);
    expect(byQuery(before)).toContain('v4only.example.test. AAAA dns-other-family');
    const both = await run([...lookup(0, { id: 1, qname: 'empty.example.test', qtype: AAAA }, 40001), ...lookup(0.002, { id: 2, qname: 'empty.example.test' }, 40001)]);
    expect(byQuery(both).sort()).toEqual(['empty.example.test. A dns-nodata', 'empty.example.test. AAAA dns-nodata']);
  });

  it('the failure waits for its sibling across sweeps (capture time), and no longer than the wait', async () => {
    const miss = lookup(0, { id: 1, qname: 'www.example.test.corp.local', rcode: 3 }, 40001);
    // sweeps run at 1.2 s and 1.5 s of capture time (other lookups): the failure is not decided
    // there, so the stem answered at 1.8 s still makes it benign
    const within = await run([...miss, ...lookup(1.2, { id: 7, qname: 'a.test', answers: 1 }, 40007), ...lookup(1.5, { id: 8, qname: 'b.test', answers: 1 }, 40008), ...lookup(1.8, { id: 2, qname: 'www.example.test', answers: 1 }, 40002)]);
    expect(byQuery(within)).toContain('www.example.test.corp.local. A dns-search-miss');
    // decided at the first sweep after its wait (2.6 s), before a stem answered at 3 s
    const past = await run([...miss, ...lookup(2.6, { id: 7, qname: 'a.test', answers: 1 }, 40007), ...lookup(3, { id: 2, qname: 'www.example.test', answers: 1 }, 40002)]);
    expect(byQuery(past)).toContain('www.example.test.corp.local. A dns-nxdomain');
  });

  it('a sibling answered more than the wait away is none, though no sweep ran in between', async () => {
    // each pair: the first lookup at 0 s, the second asked at 1.9 s. Answered 0.4 s later, the two
    // answers are 2.299 s apart and no packet came between, so no sweep had forgotten the first
    // one's entry when the second was read: the failure stays a problem. Answered 0.1 s later
    // (1.999 s apart), it is benign, as before.
    const cases: [Msg, number, Msg, number, string, string][] = [
      // the failure first: its stem, or the other family, answered after it
      [{ id: 1, qname: 'www.example.test.corp.local', rcode: 3 }, 40001, { id: 2, qname: 'www.example.test', answers: 1 }, 40002, 'www.example.test.corp.local. A dns-nxdomain', 'dns-search-miss'],
      [{ id: 1, qname: 'v4only.example.test', qtype: AAAA }, 40001, { id: 2, qname: 'v4only.example.test', answers: 1 }, 40001, 'v4only.example.test. AAAA dns-nodata', 'dns-other-family'],
      // the name as given failed, its expansion answered
      [{ id: 1, qname: 'db.prod', rcode: 3 }, 40001, { id: 2, qname: 'db.prod.corp.local', answers: 1 }, 40002, 'db.prod. A dns-nxdomain', 'dns-search-miss'],
      // the other way round: the answer first, the failure after it
      [{ id: 2, qname: 'v4only.example.test', answers: 1 }, 40001, { id: 1, qname: 'v4only.example.test', qtype: AAAA }, 40001, 'v4only.example.test. AAAA dns-nodata', 'dns-other-family'],
      [{ id: 2, qname: 'www.example.test', answers: 1 }, 40002, { id: 1, qname: 'www.example.test.corp.local', rcode: 3 }, 40001, 'www.example.test.corp.local. A dns-nxdomain', 'dns-search-miss'],
    ];
    for (const [first, firstPort, second, secondPort, far, benign] of cases) {
      const asked = (after: number) => run([...lookup(0, first, firstPort), ...lookup(1.9, second, secondPort, after)]);
      expect(byQuery(await asked(0.4)), far).toContain(far);
      expect(byQuery(await asked(0.1)), far).toContain(far.replace(/\S+$/, benign));
    }
  });

  it("a sibling is matched by its own type's answer, not by the name's latest answer of any type", async () => {
    const HTTPS = 65;
    const TXT = 16;
    // the A 3.5 s before the AAAA without data; an HTTPS answer for the name 1.9 s after the A
    const https = await run([
      ...lookup(0, { id: 1, qname: 'v4only.example.test', answers: 1 }, 40001),
      ...lookup(1.9, { id: 2, qname: 'v4only.example.test', qtype: HTTPS, answers: 1 }, 40002),
      ...lookup(3.5, { id: 3, qname: 'v4only.example.test', qtype: AAAA }, 40003),
    ]);
    expect(byQuery(https)).toContain('v4only.example.test. AAAA dns-nodata');
    const txt = await run([
      ...lookup(0, { id: 1, qname: 'www.example.test', answers: 1 }, 40001),
      ...lookup(1.9, { id: 2, qname: 'www.example.test', qtype: TXT, answers: 1 }, 40002),
      ...lookup(3.5, { id: 3, qname: 'www.example.test.corp.local', rcode: 3 }, 40003),
    ]);
    expect(byQuery(txt)).toContain('www.example.test.corp.local. A dns-nxdomain');
    // the A asked again at 1.9 s: that answer is the sibling, and the evidence cites it
    const again = await run([
      ...lookup(0, { id: 1, qname: 'v4only.example.test', answers: 1 }, 40001),
      ...lookup(1.9, { id: 2, qname: 'v4only.example.test', answers: 1 }, 40002),
      ...lookup(3.5, { id: 3, qname: 'v4only.example.test', qtype: AAAA }, 40003),
    ]);
    expect(byQuery(again)).toContain('v4only.example.test. AAAA dns-other-family');
    const benign = again.records.find((x) => x.verdict === 'dns-other-family');
    expect(benign?.evidence.join('\n')).toContain('v4only.example.test. A resolved (#4, 1.60 s earlier)');
  });
});

describe('referrals', () => {
  it('no answer, no AA, NS in authority: dns-referral without RD, dns-no-recursion with it; with AA it is no data', async () => {
    const r = await run([
      ...lookup(0, { id: 1, qname: 'www.lame.test', rd: false, authorityNs: ['ns.lame.test'] }, 40001),
      ...lookup(0.1, { id: 2, qname: 'www.lame.test', rd: true, authorityNs: ['ns.lame.test'] }, 40002),
      ...lookup(0.2, { id: 3, qname: 'mail.lame.test', rd: false, aa: true, authorityNs: ['ns.lame.test'] }, 40003),
    ]);
    expect(byQuery(r)).toEqual(['www.lame.test. A dns-referral', 'www.lame.test. A dns-no-recursion', 'mail.lame.test. A dns-nodata']);
    expect(HEALTHY.has('dns-referral')).toBe(true);
    expect(HEALTHY.has('dns-no-recursion')).toBe(false);
    expect(r.records[1].evidence.join('\n')).toContain('does not offer it (no RA)');
  });

  it('authorityHasNs reads by declared lengths and never past the end', () => {
    const msg = dns({ id: 1, qname: 'www.lame.test', response: true, authorityNs: ['ns.lame.test'] });
    const h = new DnsHeader();
    const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    expect(parseDnsHeader(dv, msg, 0, msg.length, h)).toBe(true);
    expect(authorityHasNs(msg, 0, msg.length, h)).toBe(true);
    for (let end = 0; end < msg.length; end++) expect(authorityHasNs(msg, 0, end, h)).toBe(false);
  });
});

describe('retried queries', () => {
  it('a query the client asked again is dns-no-response even when the capture ends soon after', async () => {
    const q = (t: number, id: number, port: number): [number, Buffer] => [t, frame({ id, qname: 'www.example.test' }, port)];
    const r = await run([q(0, 1, 40001), q(1, 2, 40002), q(2, 3, 40003)]);
    expect(byQuery(r)).toEqual(['www.example.test. A dns-no-response', 'www.example.test. A dns-no-response', 'www.example.test. A capture-ended']);
    expect(r.records[0].evidence.join('\n')).toContain('the client asked again (#2, 1.00 s later)');
    expect(r.records[0].check).toContain('before the client gave up and asked again 1.00 s later');
  });

  it("a series forgotten while its query still waits is not another name's (its object is reused only after)", async () => {
    // --udp-idle 1 s forgets www's series at the sweep of 2.2 s while its query waits for --dns-timeout;
    // the series made for new.example.test at 3.3 s (retried at 3.6 s) must not be taken for it
    const q = (t: number, id: number, port: number, qname: string): [number, Buffer] => [t, frame({ id, qname }, port)];
    const r = await run([q(0, 1, 40001, 'www.example.test'), q(2.2, 2, 40002, 'other.example.test'), q(3.3, 3, 40003, 'new.example.test'), q(3.6, 4, 40004, 'new.example.test'), q(9, 5, 40005, 'last.example.test')], { udpIdleMs: 1000 });
    const www = defined(r.records.find((x) => x.query === 'www.example.test.'));
    expect(www.verdict).toBe('dns-no-response');
    expect(www.evidence.join('\n')).not.toContain('asked again');
    const first = defined(r.records.find((x) => x.query === 'new.example.test.' && x.attempt === 1));
    expect(first.evidence.join('\n')).toContain('the client asked again (#4, 300.0 ms later)');
  });

  it('a series asked twice at one time is reused once, not for two new series', async () => {
    // www's two queries share a timestamp; at the sweep of 3.2 s their transactions are forgotten
    // (--dns-timeout 0.5 s after they were reported) and then the series (--udp-idle 3 s): its
    // object is reused by one of the new series of 3.5 s only
    const ask = (t: number, id: number, port: number, qname: string) => lookup(t, { id, qname }, port, 0.01);
    const r = await run(
      [
        ...ask(0, 1, 40001, 'www.example.test'),
        ...ask(0, 2, 40002, 'www.example.test'),
        ...['x', 'y', 'z'].flatMap((n, i) => ask(1.2 + i, 3 + i, 40003 + i, `${n}.example.test`)),
        ...['a2', 'b2', 'c2'].flatMap((n, i) => ask(3.5, 6 + i, 40006 + i, `${n}.example.test`)),
        ...ask(3.8, 9, 40009, 'a2.example.test'),
      ],
      { udpIdleMs: 3000, dnsTimeoutMs: 500 },
    );
    expect(['a2', 'b2', 'c2'].map((n) => r.records.filter((x) => x.query === `${n}.example.test.`).map((x) => x.attempt))).toEqual([[1, 2], [1], [1]]);
  });

  it('a retry to another server or of another name is not one', async () => {
    const r = await run([
      [0, frame({ id: 1, qname: 'www.example.test' }, 40001)],
      [1, frame({ id: 2, qname: 'www.example.test' }, 40002, CLIENT, '10.0.2.54')],
      [1.5, frame({ id: 3, qname: 'other.example.test' }, 40003)],
    ]);
    expect(r.records.map((x) => x.verdict)).toEqual(['capture-ended', 'capture-ended', 'capture-ended']);
  });
});

describe('UPDATE and NOTIFY', () => {
  it('get records with their own verdicts and words', async () => {
    const r = await run([
      ...lookup(0, { id: 1, qname: 'example.test', qtype: SOA, opcode: 5, rcode: 5, rd: false }, 40001),
      ...lookup(0.1, { id: 2, qname: 'example.test', qtype: SOA, opcode: 5, rcode: 9, rd: false }, 40002),
      ...lookup(0.2, { id: 3, qname: 'example.test', qtype: SOA, opcode: 5, rcode: 7, rd: false }, 40003),
      ...lookup(0.3, { id: 4, qname: 'example.test', qtype: SOA, opcode: 5, rd: false }, 40004),
      ...lookup(0.4, { id: 5, qname: 'example.test', qtype: SOA, opcode: 4, rcode: 9, rd: false, aa: true }, 40005),
      ...lookup(0.5, { id: 6, qname: 'example.test', qtype: SOA, opcode: 4, rd: false, aa: true }, 40006),
    ]);
    expect(r.records.map((x) => `${x.opcode ?? ''} ${x.verdict} ${x.rcode ?? ''}`)).toEqual([
      'UPDATE dns-update-refused REFUSED',
      'UPDATE dns-update-refused NOTAUTH',
      'UPDATE dns-update-error YXRRSET',
      'UPDATE dns-update-ok NOERROR',
      'NOTIFY dns-notify-error NOTAUTH',
      'NOTIFY dns-notify-ok NOERROR',
    ]);
    expect(r.records[0].summary).toBe('10.0.2.53 refused the dynamic update of zone example.test. (REFUSED)');
    expect(r.records[0].evidence[0]).toMatch(/^update #1 of zone example\.test\. id 0x0001/);
    expect(r.records[2].check).toContain('A prerequisite of the update failed (YXRRSET)');
    expect(r.summary.problems).toBe(4);
  });

  it('an unanswered update says update, not lookup', async () => {
    const r = await run([
      [0, frame({ id: 1, qname: 'example.test', qtype: SOA, opcode: 5, rd: false }, 40001)],
      [6, frame({ id: 9, qname: 'x.test' }, 40009)],
    ]);
    expect(r.records[0].verdict).toBe('dns-no-response');
    expect(r.records[0].summary).toBe('no answer from 10.0.2.53 to update of zone example.test.');
  });

  it('the rule table puts the opcodes first and the sibling rules before the rcodes', () => {
    const order = DNS_RULES.map((x) => x.verdict);
    expect(order.indexOf('dns-update-refused')).toBeLessThan(order.indexOf('dns-refused'));
    expect(order.indexOf('dns-search-miss')).toBeLessThan(order.indexOf('dns-nxdomain'));
    expect(order.indexOf('dns-referral')).toBeLessThan(order.indexOf('dns-nodata'));
    expect(order[order.length - 1]).toBe('dns-ok');
  });
});

describe('dns-upstream linker', () => {
  let nextId = 1;
  const rec = (o: Partial<FlowRecord> & Pick<FlowRecord, 'client' | 'server' | 'verdict' | 't'>): FlowRecord => ({
    type: 'flow',
    id: nextId++,
    key: '',
    proto: 'dns',
    by: 'server',
    start: '',
    duration: 0,
    summary: '',
    evidence: [],
    check: '',
    frame: 0,
    firstFrame: 0,
    packets: 2,
    query: 'www.lame.test.',
    qtype: 'A',
    ...o,
  });

  it('ties the SERVFAIL to the resolver upstream failures while the client waited, both ways in a batch', () => {
    const rel = new Relater([dnsUpstreamLinker()]);
    const servfail = rec({ client: '10.0.1.10:5000', server: '10.0.2.55:53', verdict: 'dns-servfail', t: 1, duration: 0.5 });
    const refused = rec({ client: '10.0.2.55:6000', server: '10.0.3.54:53', verdict: 'dns-refused', t: 1.1, rcode: 'REFUSED' });
    const parent = rec({ client: '10.0.2.55:6001', server: '10.0.3.53:53', verdict: 'dns-refused', t: 1.05, query: 'lame.test.' });
    const otherName = rec({ client: '10.0.2.55:6002', server: '10.0.3.54:53', verdict: 'dns-refused', t: 1.2, query: 'www.other.test.' });
    const tooLate = rec({ client: '10.0.2.55:6003', server: '10.0.3.54:53', verdict: 'dns-refused', t: 2 });
    rel.relate([servfail, parent, refused, otherName, tooLate]);
    expect(servfail.related?.map((x) => x.id)).toEqual([parent.id, refused.id]);
    expect(servfail.related?.[1].why).toContain('was answered REFUSED: 10.0.3.54 does not serve the zone it was delegated');
    expect(refused.related?.[0].why).toBe('this failure is why 10.0.2.55 answered SERVFAIL to 10.0.1.10 for www.lame.test. A');
    expect(otherName.related).toBeUndefined();
    expect(tooLate.related).toBeUndefined();
  });

  it('an upstream failure decided before the SERVFAIL (earlier batch) is found from the SERVFAIL; the resolver address is preferred', () => {
    const rel = new Relater([dnsUpstreamLinker()]);
    const own = rec({ client: '10.0.2.55:6000', server: '10.0.3.54:53', verdict: 'dns-no-response', t: 1.1 });
    const elsewhere = rec({ client: '10.0.9.9:6000', server: '10.0.3.54:53', verdict: 'dns-refused', t: 1.2 });
    rel.relate([own, elsewhere]);
    const servfail = rec({ client: '10.0.1.10:5000', server: '10.0.2.55:53', verdict: 'dns-servfail', t: 1, duration: 3 });
    rel.relate([servfail]);
    expect(servfail.related?.map((x) => x.id)).toEqual([own.id]);
    expect(servfail.related?.[0].why).toContain('got no answer');
  });
});
