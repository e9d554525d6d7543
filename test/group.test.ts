import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { causeOf, Grouper, GROUP_BOUNDS, type ProblemGroup } from '../src/report/groups.js';
import { hostOf, portOf } from '../src/flow/addr.js';
import { groupHeadline } from '../src/render/sentences.js';
import { STORY, type Fact } from '../src/verdict/facts.js';
import { HEALTHY, type By, type FlowRecord, type VerdictId } from '../src/verdict/types.js';
import { cli, FIXTURES, jsonDoc, ndjsonLines, ROOT } from './helpers/run.js';
import { analyzeSource, DEFAULT_OPTIONS } from '../src/analyze.js';
import { openCapture } from '../src/capture/source.js';

// Groups of problems alike (src/report/groups.ts): the same verdict, by and cause, and the same
// server or a set of servers one client reached on one port or one host; bounded memory; the
// text, JSON, ndjson and live outputs of them; on haproxy-pool.pcap (make-group-fixtures.sh).

let nextId = 1;
/** A described TCP record as the verdict layer builds it (only what grouping reads). */
function rec(client: string, server: string, o: { verdict?: VerdictId; by?: By; t?: number; mac?: string; facts?: Fact[]; story?: FlowRecord[typeof STORY] } = {}): FlowRecord {
  const t = o.t ?? 0;
  const sec = 10 + Math.floor(t);
  const start = `2026-12-03T12:00:${String(sec).padStart(2, '0')}.${String(Math.round((t % 1) * 1e9)).padStart(9, '0')}Z`;
  const verdict = o.verdict ?? 'refused';
  const r: FlowRecord = {
    type: 'flow',
    id: nextId++,
    key: '',
    proto: 'tcp',
    client,
    server,
    verdict,
    by: o.by ?? 'server',
    start,
    t,
    duration: 0,
    summary: '',
    evidence: [],
    check: '',
    frame: 1,
    firstFrame: 1,
    packets: 2,
    facts: o.facts ?? [],
  };
  if (o.mac !== undefined) r.mac = o.mac;
  r[STORY] = o.story ?? { kind: 'refused', host: server.split(':')[0] };
  return r;
}

function group(records: FlowRecord[]): { g: Grouper; counts: number[] } {
  const g = new Grouper();
  return { g, counts: records.map((r) => g.add(r)) };
}

describe('grouping problems alike', () => {
  it('the same verdict, by, cause and server: one group, with every client, the span and the ids', () => {
    const rs = [rec('10.0.1.10:5000', '10.0.2.20:81', { t: 0 }), rec('10.0.1.11:5001', '10.0.2.20:81', { t: 1 }), rec('10.0.1.12:5002', '10.0.2.20:81', { t: 9 })];
    const { g, counts } = group(rs);
    expect(counts).toEqual([1, 2, 3]);
    const [only, ...rest] = g.groups();
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ id: rs[0].id, verdict: 'refused', by: 'server', count: 3, servers: ['10.0.2.20:81'], clients: ['10.0.1.10', '10.0.1.11', '10.0.1.12'], ids: rs.map((r) => r.id) });
    expect(only.first).toBe(rs[0].start);
    expect(only.last).toBe(rs[2].start);
    for (const r of rs) expect(r.group).toBe(rs[0].id);
    expect(groupHeadline(only)).toBe('refused ×3: 10.0.2.20:81 from 10.0.1.10–12, 12:00:10.000–12:00:19.000');
  });

  it("one client's pool on one port is one group (a server set); another client's attempt to it is not", () => {
    const pool = [21, 22, 23, 24, 21, 22].map((h, i) => rec(`10.0.2.1:${4000 + i}`, `10.0.2.${h}:8080`, { t: i * 2 }));
    const other = rec('10.0.1.10:6000', '10.0.2.30:8080', { t: 1 });
    const { g } = group([...pool, other]);
    const gs = g.groups();
    expect(gs.map((x) => x.count)).toEqual([6, 1]);
    expect(gs[0].servers).toEqual(['10.0.2.21:8080', '10.0.2.22:8080', '10.0.2.23:8080', '10.0.2.24:8080']);
    expect(groupHeadline(gs[0])).toBe('refused ×6: 10.0.2.21–24:8080 from 10.0.2.1, 12:00:10–12:00:20');
    expect(other.group).toBe(other.id);
  });

  it("one client's scan of one host's ports is one group", () => {
    const scan = [20, 21, 22, 23, 80, 443].map((p, i) => rec('10.0.1.10:5555', `10.0.2.20:${p}`, { t: i * 0.01 }));
    const gs = group(scan).g.groups();
    expect(gs).toHaveLength(1);
    expect(groupHeadline(gs[0])).toBe('refused ×6: 10.0.2.20:20–23, 80, 443 from 10.0.1.10, 12:00:10.000–12:00:10.050');
  });

  it('a different verdict, by or cause is a different group', () => {
    const base = rec('10.0.1.10:1', '10.0.2.20:83');
    const middlebox = (mac: string) => rec('10.0.1.10:2', '10.0.2.20:83', { by: 'middlebox', mac, facts: [{ kind: 'attribution', reason: 'ttl-differs', ttl: 64, hops: 0, ipVersion: 4, min: 63, max: 63, whose: 'other-connections' }] });
    const f5a = middlebox('00:01:d7:2a:10:01');
    const f5b = middlebox('00:01:d7:2a:10:01');
    const other = middlebox('00:00:0c:2a:20:01');
    const timeout = rec('10.0.1.10:3', '10.0.2.20:83', { verdict: 'timeout', by: 'unknown', story: { kind: 'timeout', host: '10.0.2.20', port: 83, syns: 3 } });
    const s503 = (status: number) => rec('10.0.1.10:4', '10.0.2.20:83', { verdict: 'http-error', story: { kind: 'http-error', path: '/', status, responseT: 0 } });
    const a = s503(503);
    const b = s503(503);
    const c = s503(404);
    const { g } = group([base, f5a, f5b, other, timeout, a, b, c]);
    expect(g.groups().map((x) => x.ids)).toEqual([[base.id], [f5a.id, f5b.id], [other.id], [timeout.id], [a.id, b.id], [c.id]]);
    expect(causeOf(f5a)).toBe('refused ttl-differs 00:01:d7:2a:10:01');
    expect(causeOf(a)).toBe('http-error 503');
  });

  it('healthy records join no group; a failed check series gets its checker and interval', () => {
    const ok = rec('10.0.1.10:1', '10.0.2.20:80', { verdict: 'ok' });
    const series: Fact = { kind: 'probe-series', intervalNs: 2e9, jitterPct: 20 };
    const checks = [0, 2, 4].map((t, i) => rec('10.0.2.1:7000', '10.0.2.21:9080', { t, facts: i === 2 ? [series] : [] }));
    const { g, counts } = group([ok, ...checks]);
    expect(counts[0]).toBe(0);
    expect(ok.group).toBeUndefined();
    expect(g.groups()[0].checks).toEqual({ from: '10.0.2.1', intervalMs: 2000 });
    expect(groupHeadline(g.groups()[0])).toBe("refused ×3: 10.0.2.21:9080 from 10.0.2.1's health checks (every 2.00 s), 12:00:10.000–12:00:14.000");
  });

  it('failed attempts of a host whose health checks of that port succeed elsewhere are its health checks', () => {
    const healthy = rec('10.0.2.1:7000', '10.0.2.20:9080', { verdict: 'health-check', by: 'client', facts: [{ kind: 'probe-series', intervalNs: 1.5e9, jitterPct: 20 }] });
    const dead = [rec('10.0.2.1:7001', '10.0.2.22:9080'), rec('10.0.2.1:7002', '10.0.2.22:9080')];
    const data = [rec('10.0.2.1:7003', '10.0.2.25:9080', { verdict: 'mid-stream-reset', by: 'client' }), rec('10.0.2.1:7004', '10.0.2.25:9080', { verdict: 'mid-stream-reset', by: 'client' })];
    const { g } = group([healthy, ...dead, ...data]);
    const [refused, reset] = g.groups();
    expect(refused.checks).toEqual({ from: '10.0.2.1', intervalMs: 1500 });
    // a connection that carried data is no check, whoever made it
    expect(reset.checks).toBeUndefined();
  });

  it('memory stays bounded: groups, listed servers and clients, ids', () => {
    const g = new Grouper();
    // a SYN flood: 5,000 sources to one server, then 3,000 servers from one client each
    for (let i = 0; i < 5000; i++) g.add(rec(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:1`, '10.0.2.20:80', { verdict: 'timeout', by: 'unknown', story: { kind: 'timeout', host: '10.0.2.20', port: 80, syns: 1 } }));
    for (let i = 0; i < 3000; i++) g.add(rec(`172.16.${(i >> 8) & 255}.${i & 255}:1`, `192.168.${(i >> 8) & 255}.${i & 255}:${1000 + i}`));
    const gs = g.groups();
    expect(gs).toHaveLength(GROUP_BOUNDS.groups + 1);
    const flood = gs[0];
    expect(flood.count).toBe(5000);
    expect(flood.ids).toHaveLength(GROUP_BOUNDS.ids);
    expect(flood.clients).toHaveLength(GROUP_BOUNDS.listed);
    expect(flood.moreClients).toBe(true);
    expect(groupHeadline(flood)).toMatch(/^timeout ×5000: 10\.0\.2\.20:80 from 64\+ clients, /);
    const overflow = gs[gs.length - 1];
    expect(overflow).toMatchObject({ verdict: 'refused', overflow: true, count: 3000 - (GROUP_BOUNDS.groups - 1), servers: [], clients: [] });
    expect(groupHeadline(overflow)).toMatch(/^refused ×2001 more, to further servers \(past the first 1000 groups/);
    expect(gs.reduce((n, x) => n + x.count, 0)).toBe(8000);
    // past the groups, problems of causes never seen (middleboxes' MACs) add no lookup tables
    const tables = () => (g as unknown as { bySig: Map<string, unknown> }).bySig.size;
    const before = tables();
    expect(before).toBeLessThanOrEqual(GROUP_BOUNDS.groups);
    for (let i = 0; i < 2000; i++) g.add(rec('10.0.1.10:1', '10.0.2.20:80', { by: 'middlebox', mac: `00:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}` }));
    expect(tables()).toBe(before);
  });
});

describe('the file of a group', () => {
  it("is its records' file, when the report keeps only problems and hands no record on (text)", async () => {
    // the emitter sets a record's file only where it is read: a problem's group names it
    const src = await openCapture(join(FIXTURES, 'tcp-refused.pcap'));
    try {
      const report = await analyzeSource(src, DEFAULT_OPTIONS, { keep: { problemsPerGroup: 3 }, file: 'tcp-refused.pcap' });
      expect(report.groups.length).toBeGreaterThan(0);
      for (const g of report.groups) expect(g.file).toBe('tcp-refused.pcap');
    } finally {
      src.close();
    }
  });
});

describe('the pool and scan tables are bounded too', () => {
  it('one client refused by 70,000 hosts on one port: one group, and no more keys than GROUP_BOUNDS.poolKeys', () => {
    const g = new Grouper();
    const n = GROUP_BOUNDS.poolKeys + 4464;
    for (let i = 0; i < n; i++) g.add(rec('10.0.1.10:1', `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:80`));
    const gs = g.groups();
    expect(gs).toHaveLength(1);
    expect(gs[0].count).toBe(n);
    const tables = (g as unknown as { bySig: Map<string, { byClientPort: Map<string, unknown>; byClientHost: Map<string, unknown> }> }).bySig;
    let keys = 0;
    for (const t of tables.values()) keys += t.byClientPort.size + t.byClientHost.size;
    expect(keys).toBe(GROUP_BOUNDS.poolKeys);
  });
});

// ---- the grouping as it was written before issue #20's flood pass, kept as the oracle ----------

/** causeOf as it was: an array of parts, a Set of reasons, spread, sorted, filtered and joined. */
function causeOfArrays(r: FlowRecord): string {
  const parts: string[] = [];
  const s = r[STORY];
  const middle = r.by === 'middlebox';
  if (s !== undefined) {
    parts.push(s.kind);
    if (s.kind === 'icmp-answer' || s.kind === 'dns-icmp' || s.kind === 'ping-icmp') {
      parts.push(s.icmp);
      if (middle) parts.push(s.from);
    } else if (s.kind === 'ping-ttl-exceeded') parts.push(s.from);
    else if (s.kind === 'http-error') parts.push(String(s.status));
    else if (s.kind === 'tls-alert') parts.push(s.side, String(s.desc));
    else if (s.kind === 'data-stall') parts.push(s.side, s.view, s.pmtu ? 'pmtu' : '');
    else if (s.kind === 'zero-window') parts.push(s.side);
    else if (s.kind === 'no-response') parts.push(s.acked ? 'acked' : 'not-acked');
    else if (s.kind === 'handshake-incomplete') parts.push(s.clientRst ? 'client-rst' : '');
    else if (s.kind === 'syn-too-soon') parts.push(s.clientRst === true ? 'client-rst' : '');
    else if (s.kind === 'one-sided') parts.push(s.missing);
    else if (s.kind === 'bad-syn-ack') parts.push(s.challenge === true ? 'challenge' : '');
    else if (s.kind === 'path-forged' || s.kind === 'path-dropped') parts.push(s.what);
  }
  if (r.facts !== undefined) {
    const reasons = new Set<string>();
    for (const f of r.facts) if (f.kind === 'attribution') reasons.add(f.reason);
    parts.push(...[...reasons].sort());
  }
  if (middle && r.mac !== undefined) parts.push(r.mac);
  return parts.filter((p) => p !== '').join(' ');
}

/** The group each record joined (its group's id) as the Grouper found it with keys of the signature, client and server joined in one string. */
function groupIdsByJoinedKeys(records: readonly FlowRecord[]): number[] {
  type B = { id: number; client: string | null; clients: string[]; servers: string[] };
  const byKey = new Map<string, B>();
  const groups: B[] = [];
  return records.map((r) => {
    const sig = `${r.verdict}|${r.by}|${r.proto}|${causeOfArrays(r)}`;
    const client = hostOf(r.client);
    const port = portOf(r.server);
    const sHost = hostOf(r.server);
    let b = byKey.get(`s|${sig}|${r.server}`);
    if (b === undefined) {
      const pool = byKey.get(`p|${sig}|${client}|${port}`);
      if (pool !== undefined && pool.client === client) b = pool;
    }
    if (b === undefined && port >= 0) {
      const scan = byKey.get(`h|${sig}|${client}|${sHost}`);
      if (scan !== undefined && scan.client === client) b = scan;
    }
    if (b === undefined) {
      b = { id: r.id, client, clients: [], servers: [] };
      groups.push(b);
    }
    if (!b.clients.includes(client)) {
      if (b.clients.length > 0) b.client = null;
      b.clients.push(client);
    }
    if (!b.servers.includes(r.server)) {
      b.servers.push(r.server);
      byKey.set(`s|${sig}|${r.server}`, b);
    }
    if (b.client === client) {
      if (!byKey.has(`p|${sig}|${client}|${port}`)) byKey.set(`p|${sig}|${client}|${port}`, b);
      if (port >= 0 && !byKey.has(`h|${sig}|${client}|${sHost}`)) byKey.set(`h|${sig}|${client}|${sHost}`, b);
    }
    return b.id;
  });
}

describe('grouping without a string made of every key gives what the joined keys gave', () => {
  const reason = fc.constantFrom('initial-ttl-via-router', 'ttl-differs', 'faster-than-rtt', 'ttl-matches', 'icmp-not-from-server');
  const story = fc.oneof(
    fc.record({ kind: fc.constant('refused' as const), host: fc.constant('h') }),
    fc.record({ kind: fc.constant('icmp-answer' as const), proto: fc.constant('tcp' as const), from: fc.constantFrom('10.9.9.1', '10.9.9.2'), icmp: fc.constantFrom('port unreachable', 'admin prohibited') }),
    fc.record({ kind: fc.constant('tls-alert' as const), side: fc.constantFrom('client' as const, 'server' as const), desc: fc.constantFrom(40, 42), certProblems: fc.constant([]), host: fc.constant('h'), port: fc.constant(443) }),
    fc.record({
      kind: fc.constant('data-stall' as const),
      side: fc.constantFrom('client' as const, 'server' as const),
      count: fc.constant(1),
      len: fc.constant(1),
      pmtu: fc.boolean(),
      host: fc.constant('h'),
      port: fc.constant(1),
      view: fc.constantFrom('sender' as const, 'receiver' as const),
      bytes: fc.constant(1),
    }),
    fc.record({ kind: fc.constant('handshake-incomplete' as const), clientRst: fc.boolean() }),
    fc.record({ kind: fc.constant('no-response' as const), acked: fc.boolean(), waitedNs: fc.constant(1), host: fc.constant('h'), port: fc.constant(1) }),
    fc.record({ kind: fc.constant('http-error' as const), path: fc.constant('/'), status: fc.constantFrom(502, 503), responseT: fc.constant(0) }),
  );
  const record = fc.record({
    client: fc.constantFrom('10.0.1.10:40000', '10.0.1.10:40001', '10.0.1.11:40000', '[fd00::10]:40000', '10.0.1.12'),
    server: fc.constantFrom('10.0.2.20:80', '10.0.2.20:443', '10.0.2.21:80', '[fd00::20]:80', '10.0.2.22'),
    verdict: fc.constantFrom<VerdictId>('refused', 'timeout'),
    by: fc.constantFrom<By>('server', 'middlebox', 'unknown'),
    mac: fc.option(fc.constantFrom('00:01:d7:2a:10:01', '00:00:0c:07:ac:01'), { nil: undefined }),
    reasons: fc.array(reason, { maxLength: 3 }),
    story: fc.option(story, { nil: undefined }),
  });

  it('causeOf, and the group of every record', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 60 }), (rs) => {
        const records = rs.map((x) => {
          const r = rec(x.client, x.server, { verdict: x.verdict, by: x.by, mac: x.mac, facts: x.reasons.map((reason) => ({ kind: 'attribution', reason, from: '' }) as unknown as Fact) });
          r[STORY] = x.story as FlowRecord[typeof STORY];
          return r;
        });
        for (const r of records) expect(causeOf(r)).toBe(causeOfArrays(r));
        const g = new Grouper();
        for (const r of records) g.add(r);
        expect(records.map((r) => r.group)).toEqual(groupIdsByJoinedKeys(records));
      }),
      { numRuns: 2000 },
    );
  });
});

// ---- end to end, on a real capture ------------------------------------------------------------

const POOL = join(FIXTURES, 'haproxy-pool.pcap');

describe('haproxy-pool.pcap: a half-dead pool and its health checks, grouped', () => {
  it('json: every record, and every problem in exactly one group of the groups listed', () => {
    const r = cli(['-f', 'json', POOL]);
    expect(r.code).toBe(0);
    const doc = jsonDoc(r.stdout) as ReturnType<typeof jsonDoc> & { groups: ProblemGroup[] };
    const ajv = new Ajv({ strict: false, allErrors: true });
    const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as object;
    expect(ajv.validate(schema, doc), JSON.stringify(ajv.errors)).toBe(true);
    const problems = doc.records.filter((x) => !HEALTHY.has(x.verdict));
    expect(problems).toHaveLength(53);
    expect(doc.records.filter((x) => x.verdict === 'health-check')).toHaveLength(29);
    const ids = doc.groups.flatMap((g) => g.ids);
    expect(ids.sort((a, b) => a - b)).toEqual(problems.map((p) => p.id).sort((a, b) => a - b));
    for (const p of problems) expect(doc.groups.find((g) => g.ids.includes(p.id))?.id).toBe(p.group);
    for (const h of doc.records.filter((x) => HEALTHY.has(x.verdict))) expect(h.group).toBeUndefined();
    const [pool, port80, resets] = doc.groups;
    expect(pool).toMatchObject({ verdict: 'refused', by: 'server', count: 43, servers: ['10.0.2.21:9080', '10.0.2.22:9080', '10.0.2.23:9080', '10.0.2.24:9080'], clients: ['10.0.2.1'], checks: { from: '10.0.2.1' } });
    expect(pool.checks?.intervalMs).toBeGreaterThan(1900);
    expect(pool.checks?.intervalMs).toBeLessThan(2100);
    expect(port80).toMatchObject({ verdict: 'refused', count: 8, servers: ['10.0.2.23:80'] });
    expect(resets).toMatchObject({ verdict: 'mid-stream-reset', count: 2 });
    expect(resets.checks).toBeUndefined();
    expect(doc.groups).toHaveLength(3);
    // failed checks after the series showed name themselves; the first of each series cannot
    const pool21 = problems.filter((p) => p.server === '10.0.2.21:9080');
    expect(pool21[0].facts?.some((f) => f.kind === 'probe-series')).toBe(false);
    expect(pool21[pool21.length - 1].facts?.some((f) => f.kind === 'probe-series')).toBe(true);
    expect(pool21[pool21.length - 1].check).toMatch(/^10\.0\.2\.1's health checks find nothing listening on 10\.0\.2\.21:9080: start the service there/);
  });

  it('text: one headline per group of problems alike, and --limit per group', () => {
    const r = cli([POOL, '--limit', '2']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const head = lines.findIndex((l) => l.startsWith("  refused ×43: 10.0.2.21–24:9080 from 10.0.2.1's health checks (every 2.00 s), "));
    expect(head).toBeGreaterThan(0);
    const block = lines.slice(
      head + 1,
      lines.findIndex((l, i) => i > head && l.startsWith('  refused ×8')),
    );
    expect(block.filter((l) => /^ {2}#\d+ {2}TCP/.test(l))).toHaveLength(2);
    expect(block[block.length - 1]).toBe('  … 41 more refused like these (use --limit, or --format ndjson for all)');
    expect(r.stdout).toContain("  refused ×8: 10.0.2.23:80 from 10.0.2.1's health checks (every 1.50 s), ");
    expect(r.stdout).toContain('\nrefused (51)\n');
    // the same groups with a larger limit: every record shown
    const all = cli([POOL, '--limit', '100']).stdout;
    expect(all.match(/^ {2}#\d+ {2}TCP/gm)).toHaveLength(53);
    expect(all).not.toContain('more refused like');
  });

  it('ndjson: every problem names its group; one group line per group before the summary', () => {
    const lines = ndjsonLines(cli(['-f', 'ndjson', POOL]).stdout) as unknown as { type: string; id?: number; group?: number; verdict?: string; count?: number }[];
    const types = lines.map((l) => l.type);
    expect(types.slice(-4)).toEqual(['group', 'group', 'group', 'summary']);
    const groups = lines.filter((l) => l.type === 'group');
    for (const l of lines.filter((x) => x.type === 'flow' && !HEALTHY.has(x.verdict as VerdictId))) expect(groups.map((g) => g.id)).toContain(l.group);
    expect(groups.map((g) => g.count)).toEqual([43, 8, 2]);
  });

  it('live text: the first --limit of each group as decided, one line for the rest, headlines in the summary', () => {
    const r = cli(['-', '--limit', '1'], readFileSync(POOL));
    expect(r.code).toBe(0);
    const shown = r.stdout.match(/^\d\d:\d\d:\d\d\.\d{3} {2}\S+ {2}#\d+ {2}TCP/gm) ?? [];
    expect(shown).toHaveLength(3);
    expect(r.stdout.match(/further refused like #\d+ are counted, not printed \(--limit 1\)/g)).toHaveLength(2);
    expect(r.stdout).toContain('53 problems, shown above as they were decided');
    expect(r.stdout).toMatch(/^ {2}refused ×43: 10\.0\.2\.21–24:9080 from 10\.0\.2\.1's health checks \(every 2\.00 s\), /m);
  });
});
