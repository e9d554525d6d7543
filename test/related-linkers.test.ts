import { describe, expect, it } from 'vitest';
import { Relater, type Linker } from '../src/related/relate.js';
import { Emitter } from '../src/report/emit.js';
import { LINKERS } from '../src/related/index.js';
import { proxyLeg } from '../src/related/proxy-leg.js';
import { natLeg } from '../src/related/nat-leg.js';
import { otherFamily } from '../src/related/other-family.js';
import { hostPairKey, sameHost } from '../src/related/same-host.js';
import { endpointOfCode, endsOf, familyOf, isnOf, portNumber, portPart, setClientMac } from '../src/related/ends.js';
import { ipv4Word } from '../src/related/address-map.js';
import { hostEnd } from '../src/flow/addr.js';
import { formatEndpoint } from '../src/flow/addr.js';
import { cli, ndjsonLines, readFixture } from './helpers/run.js';
import { ipv4TcpFromMac } from './helpers/build.js';
import { hostOf } from '../src/flow/addr.js';
import { CAUSE } from '../src/verdict/facts.js';
import type { FlowRecord } from '../src/verdict/types.js';

// Records built as the verdict layer builds them (the fields the linkers read), related by the
// real stage: links made where the issue says, none for unrelated flows, and state that stays
// bounded under a flood.

let nextId = 1;

function tcp(client: string, server: string, verdict: FlowRecord['verdict'], t: number, o: { duration?: number; isn?: number | null; status?: number; by?: FlowRecord['by'] } = {}): FlowRecord {
  const id = nextId++;
  const isn = o.isn === undefined ? id * 7919 : o.isn;
  const r: FlowRecord = {
    type: 'flow',
    id,
    key: `tcp ${client} ${server} isn ${isn === null ? '-' : isn} #${id}`,
    proto: 'tcp',
    client,
    server,
    verdict,
    by: o.by ?? 'server',
    start: '',
    t,
    duration: o.duration ?? 0.01,
    summary: '',
    evidence: [],
    check: '',
    frame: 0,
    firstFrame: id,
    packets: 3,
  };
  if (o.status !== undefined) r.http = { request: 'GET /', status: o.status };
  return r;
}

function ping(client: string, server: string, verdict: 'ping-ok' | 'ping-no-reply', t: number): FlowRecord {
  const r = tcp(client, server, verdict, t, { duration: 1 });
  r.proto = 'icmp';
  r.key = `icmp ${client} ${server} id 1 #${r.id}`;
  return r;
}

function dns(query: string, answers: string[], t: number): FlowRecord {
  const r = tcp('10.0.1.10:40000', '10.0.2.53:53', 'dns-ok', t);
  r.proto = 'dns';
  r.key = '';
  r.query = query;
  r.rcode = 'NOERROR';
  r.answers = answers;
  return r;
}

/** Relates each batch in turn with fresh linkers; returns the records. */
function run(make: () => Linker, ...batches: FlowRecord[][]): FlowRecord[] {
  const rel = new Relater([make()]);
  for (const b of batches) rel.relate(b);
  return batches.flat();
}

const ids = (r: FlowRecord) => (r.related ?? []).map((x) => `${x.kind}:${x.id}`);

describe('ends', () => {
  it('reads hosts, ports, families and ISNs without regexes', () => {
    expect(hostOf('10.0.2.20:80')).toBe('10.0.2.20');
    expect(hostOf('[fd00:2::20]:80')).toBe('fd00:2::20');
    expect(hostOf('fd00:2::20')).toBe('fd00:2::20');
    expect(portPart('[fd00:2::20]:443')).toBe('443');
    expect(portPart('10.0.2.20')).toBe('');
    expect(familyOf('[fd00::1]:1')).toBe(6);
    expect(familyOf('fd00::1')).toBe(6);
    expect(familyOf('10.0.0.1:1')).toBe(4);
    expect(isnOf('tcp 10.0.1.10:1 10.0.2.20:80 isn 12345 #13')).toBe('12345');
    expect(isnOf('tcp 10.0.1.10:1 10.0.2.20:80 isn - #13')).toBe('');
    expect(isnOf('')).toBe('');
  });
});

describe('proxy-leg', () => {
  it('links a 502 to the refused upstream connection made while it was open, both ways, and points its summary at the upstream', () => {
    const front = tcp('10.0.1.10:40000', '10.0.2.20:8180', 'http-error', 1, { duration: 0.01, status: 502 });
    const back = tcp('10.0.2.20:50000', '10.0.3.30:8080', 'refused', 1.003, { duration: 0.0001 });
    run(proxyLeg, [front, back]);
    expect(ids(front)).toEqual([`proxy-leg:${back.id}`]);
    expect(ids(back)).toEqual([`proxy-leg:${front.id}`]);
    expect(front[CAUSE]).toEqual({ kind: 'upstream', id: back.id, proxy: '10.0.2.20:8180', upstream: '10.0.3.30:8080', verdict: 'refused' });
    expect(back[CAUSE]).toBeUndefined();
  });

  it('links a front leg decided after its back leg (a timeout judged first)', () => {
    const back = tcp('10.0.2.20:50001', '10.0.3.30:8082', 'timeout', 0.01, { duration: 1 });
    const front = tcp('10.0.1.10:40001', '10.0.2.20:8181', 'http-error', 0, { duration: 5, status: 504 });
    run(proxyLeg, [back], [front]);
    expect(ids(front)).toEqual([`proxy-leg:${back.id}`]);
    expect(front[CAUSE]?.kind).toBe('upstream');
    // the back leg was handed on in an earlier batch: one way only
    expect(back.related).toBeUndefined();
  });

  it('does not link unrelated flows', () => {
    // a 404, a 200, a back leg from another host, a back leg after the front leg ended, the front leg's own server
    const f404 = tcp('10.0.1.10:40002', '10.0.2.20:8180', 'http-error', 1, { duration: 1, status: 404 });
    const ok = tcp('10.0.1.10:40003', '10.0.2.20:8180', 'ok', 1, { duration: 1 });
    const f502 = tcp('10.0.1.10:40004', '10.0.2.20:8180', 'http-error', 1, { duration: 0.5, status: 502 });
    const otherHost = tcp('10.0.2.21:50000', '10.0.3.30:8080', 'refused', 1.1);
    const late = tcp('10.0.2.20:50002', '10.0.3.30:8080', 'refused', 1.6);
    const clientRst = tcp('10.0.1.10:40005', '10.0.2.20:8180', 'mid-stream-reset', 1, { duration: 1, by: 'client' });
    run(proxyLeg, [f404, ok, f502, clientRst, otherHost, late]);
    for (const r of [f404, ok, f502, otherHost, late, clientRst]) expect(r.related).toBeUndefined();
  });
});

describe('nat-leg', () => {
  it('links the legs before and after an SNAT by ISN, with the translation, and marks the later one as the same connection', () => {
    const pre = tcp('10.0.1.10:47208', '10.0.2.20:81', 'refused', 1, { isn: 99 });
    const post = tcp('10.0.2.1:47208', '10.0.2.20:81', 'refused', 1.00004, { isn: 99 });
    run(natLeg, [pre, post]);
    expect(ids(pre)).toEqual([`nat-leg:${post.id}`]);
    expect(ids(post)).toEqual([`nat-leg:${pre.id}`]);
    expect(pre.related?.[0].why).toBe('the same connection after the SNAT: 10.0.1.10:47208 is 10.0.2.1:47208 there');
    expect(post[CAUSE]).toEqual({ kind: 'nat-leg', id: pre.id, side: 'client', before: '10.0.1.10:47208', after: '10.0.2.1:47208', same: true });
    expect(pre[CAUSE]).toBeUndefined();
  });

  it('links legs in two batches both ways when the first is held (a flood emitted in chunks), one way when it was handed on', () => {
    const pre = tcp('10.0.1.10:47300', '10.0.2.20:81', 'refused', 1, { isn: 77 });
    const post = tcp('10.0.2.1:47300', '10.0.2.20:81', 'refused', 1.00004, { isn: 77 });
    const rel = new Relater([natLeg()]);
    rel.relate([pre]);
    rel.relate([post], [pre]);
    expect(ids(pre)).toEqual([`nat-leg:${post.id}`]);
    expect(ids(post)).toEqual([`nat-leg:${pre.id}`]);
    const a = tcp('10.0.1.10:47301', '10.0.2.20:81', 'refused', 2, { isn: 78 });
    const b = tcp('10.0.2.1:47301', '10.0.2.20:81', 'refused', 2.00004, { isn: 78 });
    const once = new Relater([natLeg()]);
    once.relate([a]);
    once.relate([b]);
    expect(a.related).toBeUndefined();
    expect(ids(b)).toEqual([`nat-leg:${a.id}`]);
  });

  it('the emitter holds a chunk until the next batch is related, then hands both on in order', () => {
    // what each record says when it is handed on (ndjson writes it then)
    const handed: string[] = [];
    const e = new Emitter({ keep: 'none', onFlow: (r) => handed.push(`#${r.id} ${ids(r).join(',')}`), onFlowProblemsOnly: false, filter: null, firstId: 1, file: undefined });
    const pre = tcp('10.0.1.10:47302', '10.0.2.20:81', 'refused', 1, { isn: 79 });
    const other = tcp('10.0.1.11:47303', '10.0.2.20:81', 'refused', 1.00001, { isn: 80 });
    const post = tcp('10.0.2.1:47302', '10.0.2.20:81', 'refused', 1.00004, { isn: 79 });
    e.emit([pre, other], true);
    expect(handed).toEqual([]);
    e.emit([post]);
    expect(handed).toEqual(['#1 nat-leg:3', '#2 ', '#3 nat-leg:1']);
  });

  it('links a port-rewriting NAT by ISN, and a DNAT', () => {
    const pre = tcp('10.0.1.10:1000', '10.0.2.20:80', 'ok', 1, { isn: 5 });
    const post = tcp('10.0.2.1:61000', '10.0.2.20:80', 'ok', 1.001, { isn: 5 });
    const dpre = tcp('10.0.1.10:1001', '192.0.2.1:443', 'ok', 2, { isn: 6 });
    const dpost = tcp('10.0.1.10:1001', '10.0.2.20:8443', 'ok', 2.001, { isn: 6 });
    run(natLeg, [pre, post, dpre, dpost]);
    expect(ids(post)).toEqual([`nat-leg:${pre.id}`]);
    expect(dpost[CAUSE]).toMatchObject({ side: 'server', before: '192.0.2.1:443', after: '10.0.2.20:8443' });
  });

  it('does not pair legs without ISNs (records only counted, SYNs not captured): ports alone pair strangers', () => {
    const a = tcp('10.0.1.10:2000', '10.0.2.20:80', 'ok', 1, { isn: null });
    const b = tcp('10.0.2.1:2000', '10.0.2.20:80', 'ok', 1.0001, { isn: null });
    const c = tcp('10.0.1.10:2001', '10.0.2.20:80', 'ok', 2);
    c.key = '';
    const d = tcp('10.0.2.1:2001', '10.0.2.20:80', 'ok', 2.0001);
    d.key = '';
    run(natLeg, [a, b, c, d]);
    for (const r of [a, b, c, d]) expect(r.related).toBeUndefined();
  });

  it('does not link different ISNs, the same 4-tuple, or legs seconds apart', () => {
    const a = tcp('10.0.1.10:3000', '10.0.2.20:80', 'ok', 1, { isn: 1 });
    const b = tcp('10.0.2.1:3000', '10.0.2.20:80', 'ok', 1.001, { isn: 2 });
    const c = tcp('10.0.1.10:3001', '10.0.2.20:80', 'ok', 1, { isn: 3 });
    const reuse = tcp('10.0.1.10:3001', '10.0.2.20:80', 'ok', 1.5, { isn: 3 });
    const e = tcp('10.0.1.10:3002', '10.0.2.20:80', 'ok', 1, { isn: 4 });
    const f = tcp('10.0.2.1:3002', '10.0.2.20:80', 'ok', 2.5, { isn: 4 });
    run(natLeg, [a, b, c, reuse, e, f]);
    for (const r of [a, b, c, reuse, e, f]) expect(r.related).toBeUndefined();
  });
});

describe('other-family', () => {
  const names = () => dns('www.example.test.', ['A 10.0.2.20', 'AAAA fd00:2::20'], 0);

  it('links a dropped IPv6 attempt to the IPv4 fallback to the same name and port, once', () => {
    const v6 = tcp('[fd00:1::10]:38162', '[fd00:2::20]:80', 'timeout', 0.01);
    const v4 = tcp('10.0.1.10:36376', '10.0.2.20:80', 'ok', 0.21);
    const again = tcp('10.0.1.10:36377', '10.0.2.20:80', 'ok', 2);
    run(otherFamily, [names()], [v4, again], [v6]);
    expect(ids(v6)).toEqual([`other-family:${v4.id}`]);
    expect(v6[CAUSE]).toEqual({ kind: 'other-family', id: v4.id, name: 'www.example.test', family: 6, other: '10.0.2.20:80' });
    // in one batch (numbered in order, as the emitter does): both ways, and a later connection is not a fallback
    const n2 = names();
    const w6 = tcp('[fd00:1::10]:1', '[fd00:2::20]:80', 'timeout', 10);
    const w4 = tcp('10.0.1.10:2', '10.0.2.20:80', 'ok', 10.3);
    const w4b = tcp('10.0.1.10:3', '10.0.2.20:80', 'ok', 11);
    run(otherFamily, [n2, w6, w4, w4b]);
    expect(ids(w6)).toEqual([`other-family:${w4.id}`]);
    expect(ids(w4)).toEqual([`other-family:${w6.id}`]);
    expect(w4b.related).toBeUndefined();
  });

  it('does not link without the names, another port, the same family, a success before the failure, or a late one', () => {
    const unnamed = [tcp('[fd00:1::10]:1', '[fd00:9::1]:80', 'timeout', 0), tcp('10.0.1.10:1', '10.0.9.1:80', 'ok', 0.2)];
    const port = [tcp('[fd00:1::10]:2', '[fd00:2::20]:443', 'timeout', 1), tcp('10.0.1.10:2', '10.0.2.20:80', 'ok', 1.2)];
    const fam = [tcp('10.0.1.10:3', '10.0.2.20:8080', 'timeout', 2), tcp('10.0.1.10:4', '10.0.2.20:8080', 'ok', 2.2)];
    const before = [tcp('10.0.1.10:5', '10.0.2.20:81', 'ok', 3), tcp('[fd00:1::10]:5', '[fd00:2::20]:81', 'timeout', 3.2)];
    const late = [tcp('[fd00:1::10]:6', '[fd00:2::20]:82', 'timeout', 4), tcp('10.0.1.10:6', '10.0.2.20:82', 'ok', 9.5)];
    const all = run(otherFamily, [names()], [...unnamed, ...port, ...fam, ...before, ...late]);
    for (const r of all) expect(r.related).toBeUndefined();
  });

  it("does not link one client's failure to another client's success: clients seen sending from different MACs", () => {
    const pair = (t: number, macs: [number, number] | null) => {
      const failed = tcp(`[fd00:1::10]:${t}`, '[fd00:2::20]:80', 'timeout', t);
      const worked = tcp(`10.0.1.${macs === null ? 10 : 11}:${t}`, '10.0.2.20:80', 'ok', t + 0.2);
      if (macs !== null) {
        setClientMac(failed, macs[0]);
        setClientMac(worked, macs[1]);
      }
      return [failed, worked];
    };
    const other = pair(0, [0x525400000001, 0x525400000002]);
    const same = pair(10, [0x525400000001, 0x525400000001]);
    const unknown = pair(20, null);
    run(otherFamily, [names()], other, same, unknown);
    expect(ids(other[0])).toEqual([]);
    expect(ids(other[1])).toEqual([]);
    // one MAC (the host, or the router all clients are behind), or none shown: the time decides, as before
    expect(ids(same[0])).toEqual([`other-family:${same[1].id}`]);
    expect(ids(unknown[0])).toEqual([`other-family:${unknown[1].id}`]);
  });

  it("on a capture: the same fallback from another host's MAC is not linked (the client's MAC reaches the linker)", () => {
    const capture = readFixture('related-happy-eyeballs.pcap');
    const linked = (pcap: Buffer) => {
      const r = cli(['-f', 'ndjson', '-'], pcap);
      expect(r.code).toBe(0);
      return ndjsonLines(r.stdout).filter((l) => (l.related ?? []).some((x) => x.kind === 'other-family')).length;
    };
    expect(linked(capture)).toBe(1); // the broken IPv6 attempt, linked to its IPv4 fallback (decided before it)
    // the IPv4 connection's packets from the client sent from another MAC: another host
    const moved = ipv4TcpFromMac(capture, '10.0.1.10', 0x525400abcdef);
    expect(moved.changed).toBeGreaterThan(3);
    expect(linked(moved.capture)).toBe(0);
    // the same packets routed (TTL 63): that MAC is a router's, not the client's, and the time decides as before
    expect(linked(ipv4TcpFromMac(capture, '10.0.1.10', 0x525400abcdef, 63).capture)).toBe(1);
  });
});

describe('same-host', () => {
  it('ties an unanswered ping to one working TCP connection to the host', () => {
    const p = ping('10.0.1.10', '10.0.2.20', 'ping-no-reply', 0);
    const t1 = tcp('10.0.1.10:5000', '10.0.2.20:80', 'ok', 2);
    const t2 = tcp('10.0.1.10:5001', '10.0.2.20:80', 'ok', 3);
    run(sameHost, [p, t1, t2]);
    expect(ids(p)).toEqual([`same-host:${t1.id}`]);
    expect(ids(t1)).toEqual([`same-host:${p.id}`]);
    expect(t2.related).toBeUndefined();
    expect(p[CAUSE]).toEqual({ kind: 'host-up', id: t1.id, via: '10.0.2.20:80' });
  });

  it('ties a refused or unanswered connection to a ping the host answers', () => {
    const p = ping('10.0.1.10', '10.0.2.20', 'ping-ok', 0);
    const refused = tcp('10.0.1.10:5002', '10.0.2.20:81', 'refused', 1.5);
    const timeout = tcp('10.0.1.10:5003', '10.0.2.20:82', 'timeout', 1.6);
    run(sameHost, [p], [refused, timeout]);
    expect(refused[CAUSE]).toEqual({ kind: 'host-answers-ping', id: p.id, host: '10.0.2.20' });
    expect(ids(timeout)).toEqual([`same-host:${p.id}`]);
  });

  it('does not tie another client, another host, matching stories, or a ping long before', () => {
    const all = run(
      sameHost,
      [
        ping('10.0.1.10', '10.0.2.20', 'ping-no-reply', 0),
        tcp('10.0.1.11:1', '10.0.2.20:80', 'ok', 1),
        tcp('10.0.1.10:1', '10.0.2.21:80', 'ok', 1),
        tcp('10.0.1.10:2', '10.0.2.20:81', 'refused', 1),
        ping('10.0.1.10', '10.0.2.22', 'ping-ok', 2),
        tcp('10.0.1.10:3', '10.0.2.22:80', 'ok', 3),
      ],
      [tcp('10.0.1.10:4', '10.0.2.20:80', 'ok', 500)],
    );
    for (const r of all) expect(r.related).toBeUndefined();
  });
});

describe('bounds', () => {
  it('every linker forgets under a flood of records: an early record is no longer linked after 200,000 others', () => {
    // a flood of distinct keys for each linker's memory (proxies, ISNs and ports, names, hosts)
    const flood: FlowRecord[] = [dns('www.example.test.', ['A 10.0.2.20', 'AAAA fd00:2::20'], 0)];
    flood.push(tcp('10.0.1.99:40000', '10.0.2.20:8180', 'http-error', 0, { duration: 100, status: 502 }));
    flood.push(ping('10.0.1.10', '10.0.2.20', 'ping-no-reply', 0));
    flood.push(tcp('[fd00:1::10]:1', '[fd00:2::20]:80', 'timeout', 0));
    flood.push(tcp('10.0.1.10:7777', '10.0.2.20:80', 'refused', 0, { isn: 424242 }));
    const head = flood.length;
    // past every cap: 4,096 proxies, 16,384 ISNs, host pairs and names
    for (let i = 0; i < 70_000; i++) {
      const a = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      flood.push(tcp(`${a}:${1024 + (i % 60000)}`, `10.200.${(i >> 8) & 255}.${i & 255}:8180`, 'http-error', 0.5, { duration: 100, status: 502 }));
      flood.push(tcp(`${a}:${10000 + i}`, `10.201.0.1:80`, 'refused', 0.5));
      if (i < 20_000) {
        flood.push(ping(a, '10.203.0.1', 'ping-no-reply', 0.5));
        flood.push(dns(`n${i}.test.`, [`A 10.202.${(i >> 8) & 255}.${i & 255}`], 0.5));
        flood.push(tcp(`${a}:1`, `10.202.${(i >> 8) & 255}.${i & 255}:80`, 'ok', 0.5));
      }
    }
    const late = [tcp('10.0.2.20:50000', '10.0.3.30:8080', 'refused', 1), tcp('10.0.1.10:5001', '10.0.2.20:80', 'ok', 1.1), tcp('10.0.2.1:7777', '10.0.2.20:80', 'refused', 0.0001, { isn: 424242 })];

    // the control: without the flood, each late record is linked to an early one
    const control = new Relater(LINKERS.map((m) => m()));
    const early = flood.slice(0, head);
    const lateCopies = late.map((r) => ({ ...r }));
    control.relate(early);
    control.relate(lateCopies);
    expect(lateCopies.map((r) => (r.related ?? []).map((x) => x.kind).join(' '))).toEqual(['proxy-leg', 'other-family same-host', 'nat-leg']);
    const rel = new Relater(LINKERS.map((m) => m()));
    rel.relate(flood);
    rel.relate(late);
    // the proxy, the ping's host pair, the NAT leg's ISN, the name's attempts were pushed out by newer keys
    for (const r of late) expect(r.related).toBeUndefined();
  }, 120_000);

  it('per-key lists stay capped: 10,000 failed front legs of one proxy give a back leg at most a handful of links', () => {
    const rel = new Relater([proxyLeg()]);
    const fronts: FlowRecord[] = [];
    for (let i = 0; i < 10_000; i++) fronts.push(tcp(`10.0.1.10:${1024 + i}`, '10.0.2.20:8180', 'http-error', i * 0.001, { duration: 1000, status: 503 }));
    rel.relate(fronts);
    const back = tcp('10.0.2.20:50000', '10.0.3.30:8080', 'refused', 11);
    rel.relate([back]);
    expect(back.related?.length).toBeLessThanOrEqual(16);
    expect(back.related?.length).toBeGreaterThan(0);
  });
});

describe('same-host keys', () => {
  it('one key a pair of hosts, whether they are written as endpoints or bare, and none shared', () => {
    const hosts = ['10.0.0.1', '10.0.0.2', '10.1.0.1', '11.0.0.1', '0.0.0.0', '255.255.255.255', '10.0.0.10', 'fd00::1', 'fd00::2', '::1'];
    const forms = (h: string) => (h.includes(':') ? [h, `[${h}]:443`, `[${h}]:80`] : [h, `${h}:443`, `${h}:80`]);
    const byKey = new Map<string, string>();
    for (const c of hosts)
      for (const s of hosts)
        for (const cf of forms(c))
          for (const sf of forms(s)) {
            const key = hostPairKey({ client: cf, server: sf });
            const pair = `${c} ${s}`;
            expect(byKey.get(key) ?? pair, `${cf} → ${sf}`).toBe(pair);
            byKey.set(key, pair);
          }
    expect(byKey.size).toBe(hosts.length * hosts.length);
    // two IPv4 hosts make a key of 4 characters, any other pair its text
    expect(hostPairKey({ client: '10.0.0.1:5000', server: '10.0.0.2:80' })).toHaveLength(4);
    expect(hostPairKey({ client: '[fd00::1]:5000', server: '10.0.0.2:80' })).toBe('fd00::1 10.0.0.2');
  });
});

describe('IPv4 endpoints kept as numbers', () => {
  it('give back the text they were read from, and only an IPv4 endpoint written as formatEndpoint writes it is one', () => {
    let seed = 9;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    // an endpoint's code, as the linkers get it (a new record each time)
    const codeOf = (text: string) => endsOf({ client: text, server: '' }).cCode;
    const words = [0, 1, 0xffffffff, 0x0a000001, 0x80000000, 0x7fffffff];
    for (let i = 0; i < 2000; i++) words.push(((rnd(65536) << 16) | rnd(65536)) >>> 0);
    for (const w of words)
      for (const port of [0, 1, 80, 65535, rnd(65536)]) {
        const text = formatEndpoint(4, Uint32Array.of(w, 0, 0, 0), port);
        const code = codeOf(text);
        expect(code, text).toBeGreaterThanOrEqual(0);
        expect(endpointOfCode(code)).toBe(text);
      }
    for (const text of ['10.0.0.1', '[fd00::1]:80', 'fd00::1', '10.0.0.01:80', '10.0.0.1:080', '10.0.0.1:65536', '10.0.0.1:', '256.0.0.1:80', '10.0.0:80', ':80']) expect(codeOf(text), text).toBe(-1);
  });

  it('endsOf reads the two ends of a record as the functions it stands for, each record anew', () => {
    const texts = ['10.0.0.1:80', '10.0.0.1', '[fd00::1]:443', 'fd00::1', '::1', '10.0.0.01:80', '10.0.0.1:080', '10.0.0.1:65536', '255.255.255.255:65535', '0.0.0.0:0', '[fd00::1]', 'x:1', ''];
    for (const client of texts)
      for (const server of texts) {
        // a new object each time, as records are: never the one read before
        const e = endsOf({ client, server });
        const want = (t: string) => {
          const w = ipv4Word(t, 0, hostEnd(t));
          const p = portNumber(t);
          return [w, p, w >= 0 && p >= 0 && p <= 65535 ? w * 65536 + p : -1];
        };
        expect([e.cWord, e.cPort, e.cCode], client).toEqual(want(client));
        expect([e.sWord, e.sPort, e.sCode], server).toEqual(want(server));
      }
  });
});
