import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type SchemaObject } from 'ajv';
import { cli, FIXTURES, hasCommand, ROOT } from './helpers/run.js';
import type { Fact } from '../src/verdict/facts.js';
import type { FlowRecord } from '../src/verdict/types.js';
import type { VantageClock } from '../src/vantage/correlate.js';

/**
 * Two-sided correlation (--vantages) on captures recorded at once on the client, the server and
 * the router (fixtures/make-vantage-fixtures.sh): where each lost packet died, forged RSTs, the
 * SNAT, the clock offset; golden NDJSON per set (UPDATE_GOLDEN=1 rewrites them).
 */
const V = join(FIXTURES, 'vantage');
/** fixtures/make-vantage-path-fixtures.sh: a firewall between the router and the server, three captures along the path. */
const P = join(FIXTURES, 'vantage-path');
const SETS: Record<string, string[]> = {
  'client+server': ['client.pcap', 'server.pcap'],
  'client+server-skewed': ['client.pcap', 'server-skewed.pcap'],
  'client+router': ['client.pcap', 'router.pcap'],
  'client+router+server': ['client.pcap', 'router.pcap', 'server.pcap'],
  'path-client+router+server': ['../vantage-path/client.pcap', '../vantage-path/router.pcap', '../vantage-path/server.pcap'],
  'path-client+server': ['../vantage-path/client.pcap', '../vantage-path/server.pcap'],
};

type Line = Omit<Partial<FlowRecord>, 'type'> & { type: string; input?: { vantages?: VantageClock[] } };

function run(files: string[], extra: string[] = []): { lines: Line[]; text: string; code: number } {
  const r = cli(['-f', 'ndjson', '-q', ...extra, ...files.map((f) => (f.startsWith('/') ? f : join(V, f)))]);
  // paths as in the repository, whatever the checkout
  const text = r.stdout.split(`${FIXTURES}/`).join('fixtures/');
  return {
    lines: text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line),
    text,
    code: r.code,
  };
}

const flows = (lines: Line[]) => lines.filter((l) => l.type === 'flow') as unknown as FlowRecord[];
const byPort = (lines: Line[], port: number) => {
  const r = flows(lines).find((x) => x.server.endsWith(`:${port}`));
  if (r === undefined) throw new Error(`no record for port ${port}`);
  return r;
};
const factsOf = <K extends Fact['kind']>(r: FlowRecord, kind: K) => (r.facts ?? []).filter((f): f is Extract<Fact, { kind: K }> => f.kind === kind);

describe.skipIf(!existsSync(V))('two captures of one connection (--vantages)', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const report = JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as SchemaObject & { $id: string };
  ajv.addSchema(report);
  const validateLine = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'ndjson-line.schema.json'), 'utf8')) as SchemaObject);

  for (const [name, files] of Object.entries(SETS)) {
    it(`${name}: golden records, valid against the schema, the same with and without --vantages`, () => {
      const forced = run(files, ['--vantages']);
      expect(forced.code).toBe(0);
      for (const l of forced.lines) expect(validateLine(l), JSON.stringify(validateLine.errors)).toBe(true);
      // overlapping captures that share flows are correlated without being asked
      expect(run(files).text).toBe(forced.text);
      const golden = join(ROOT, 'test', 'golden', 'vantage', `${name}.ndjson`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(golden, forced.text);
      expect(forced.text).toBe(readFileSync(golden, 'utf8'));
    });
  }

  it('says where each lost packet died, and proves the box in the path', () => {
    const { lines } = run(SETS['client+server']);
    const client = 'fixtures/vantage/client.pcap';
    const server = 'fixtures/vantage/server.pcap';
    // one record per flow: 5 TCP + 1 DNS, each seen from both sides (or not at all by the server)
    expect(flows(lines)).toHaveLength(7);
    for (const r of flows(lines)) expect(r.vantages?.map((v) => v.file)).toEqual([client, server]);

    // firewall DROP between: the SYNs left the client, the server never saw them
    const drop = byPort(lines, 82);
    expect([drop.verdict, drop.by]).toEqual(['timeout', 'middlebox']);
    expect(factsOf(drop, 'path-lost')).toEqual([{ kind: 'path-lost', what: 'SYN', frames: [15, 16], count: 2, dir: 'to-server', from: '10.0.1.10', to: '10.0.2.20', fromFile: client, toFile: server }]);
    expect(drop.evidence).toContain(`2 SYNs #15 #16 left 10.0.1.10 (${client}) and never reached 10.0.2.20 (${server}): dropped between them`);
    expect(drop.vantages?.[1].packets).toBe(0);

    // RST forged by the router on the SYN
    const forged = byPort(lines, 83);
    expect([forged.verdict, forged.by]).toEqual(['refused', 'middlebox']);
    expect(factsOf(forged, 'path-forged').map((f) => [f.what, f.frames, f.dir])).toEqual([['RST', [18], 'to-client']]);
    expect(forged.evidence).toContain(`the RST the client received (#18 in ${client}) was never sent by 10.0.2.20 (${server} saw none): forged in the path`);

    // RST forged mid-stream: the server saw the handshake, not the data, and sent no RST
    const mid = byPort(lines, 91);
    expect(mid.by).toBe('middlebox');
    expect(factsOf(mid, 'path-forged').map((f) => [f.what, f.frames])).toEqual([['RST', [25]]]);
    expect(factsOf(mid, 'path-lost').map((f) => [f.what, f.dir])).toContainEqual(['data segment', 'to-server']);
    expect(mid.vantages?.[1].verdict).toBe('closed-by-remote');

    // broken return path: the server's SYN-ACKs left and never arrived
    const ret = byPort(lines, 89);
    expect([ret.verdict, ret.by]).toEqual(['timeout', 'middlebox']);
    const lost = factsOf(ret, 'path-lost');
    expect(lost.map((f) => [f.what, f.count, f.dir, f.fromFile, f.toFile])).toEqual([['SYN-ACK', 4, 'to-client', server, client]]);
    expect(ret.summary).toContain('return path');
    expect(ret.vantages?.map((v) => v.verdict)).toEqual(['timeout', 'handshake-incomplete']);

    // SNAT on the router: the translation, and nothing lost
    const nat = byPort(lines, 90);
    expect(nat.verdict).toBe('ok');
    expect(factsOf(nat, 'path-nat')).toEqual([{ kind: 'path-nat', side: 'client', before: '10.0.1.10:47208', after: '10.0.2.1:47208', beforeFile: client, afterFile: server }]);
    expect(factsOf(nat, 'path-intact')[0].packets).toBe(10);

    // healthy: every packet on both sides
    const ok = byPort(lines, 80);
    expect([ok.verdict, ok.by]).toEqual(['ok', 'server']);
    expect(factsOf(ok, 'path-intact')[0].packets).toBe(10);
    const dns = flows(lines).find((r) => r.proto === 'dns');
    expect(dns?.facts?.some((f) => f.kind === 'path-intact' && f.packets === 2)).toBe(true);
  });

  it.skipIf(!existsSync(P))('three captures along the path: the segment each packet died in, where a NAT is, a chain of clocks', () => {
    const { lines } = run(SETS['path-client+router+server']);
    const [client, router, server] = ['client', 'router', 'server'].map((n) => `fixtures/vantage-path/${n}.pcap`);
    expect(flows(lines)).toHaveLength(10);
    const lost = (port: number) => factsOf(byPort(lines, port), 'path-lost');
    const forged = (port: number) => factsOf(byPort(lines, port), 'path-forged');
    // the router's FORWARD DROP: the SYNs never reached the router's capture
    expect(lost(82).map((f) => [f.what, f.count, f.fromFile, f.passed, f.missed, f.between])).toEqual([['SYN', 2, client, undefined, [router], [client, router]]]);
    expect(byPort(lines, 82).evidence).toContain(`2 SYNs #15 #16 left 10.0.1.10 (${client}) and never reached ${router} nor 10.0.2.20 (${server}): dropped between ${client} and ${router}`);
    // fw's DROP behind the router: they passed the router's capture and never reached the server
    expect(lost(92).map((f) => [f.what, f.passed, f.missed, f.between])).toEqual([['SYN', [{ file: router, frames: [17, 18] }], undefined, [router, server]]]);
    expect(byPort(lines, 92).evidence).toContain(`2 SYNs #17 #18 left 10.0.1.10 (${client}), passed ${router} (#17 #18) and never reached 10.0.2.20 (${server}): dropped between ${router} and ${server}`);
    for (const port of [82, 92]) expect([byPort(lines, port).verdict, byPort(lines, port).by]).toEqual(['timeout', 'middlebox']);
    expect(byPort(lines, 92).summary).toContain(`dropped in the path between ${router} and ${server}`);
    // RSTs forged by the router (between the client's and the router's captures) and by fw (behind the router's)
    expect(forged(83).map((f) => [f.what, f.frames, f.missed, f.between])).toEqual([['RST', [20], [router], [router, client]]]);
    expect(forged(93).map((f) => [f.what, f.frames, f.passed, f.between])).toEqual([['RST', [22], [{ file: router, frames: [21] }], [server, router]]]);
    expect(byPort(lines, 93).evidence).toContain(`the RST the client received (#22 in ${client}) was never sent by 10.0.2.20 (${server} saw none; it first appears in ${router} (#21)): forged between ${server} and ${router}`);
    for (const port of [83, 93]) expect([byPort(lines, port).verdict, byPort(lines, port).by]).toEqual(['refused', 'middlebox']);
    // SYN-ACKs lost on the way back: after the router's capture (the router's DROP), before it (fw's)
    expect(lost(89).map((f) => [f.what, f.dir, f.fromFile, f.between])).toEqual([['SYN-ACK', 'to-client', server, [router, client]]]);
    expect(lost(94).map((f) => [f.what, f.dir, f.fromFile, f.missed, f.between])).toEqual([['SYN-ACK', 'to-client', server, [router], [server, router]]]);
    for (const port of [89, 94]) expect(byPort(lines, port).by).toBe('middlebox');
    // SNAT on the router, then on fw: each stated between the neighbouring captures where the address changes
    expect(factsOf(byPort(lines, 90), 'path-nat')).toEqual([{ kind: 'path-nat', side: 'client', before: '10.0.1.10:56886', after: '10.0.3.1:56886', beforeFile: client, afterFile: router }]);
    expect(factsOf(byPort(lines, 95), 'path-nat')).toEqual([{ kind: 'path-nat', side: 'client', before: '10.0.1.10:37802', after: '10.0.2.1:37802', beforeFile: router, afterFile: server }]);
    for (const port of [80, 90, 95]) expect(factsOf(byPort(lines, port), 'path-intact')[0].files).toEqual([client, router, server]);
    for (const r of flows(lines)) expect(r.vantages?.map((v) => v.file)).toEqual([client, router, server]);
    // the server's clock is placed through the router's (the best-matched neighbour)
    const clocks = lines.find((l) => l.type === 'summary')?.input?.vantages;
    expect(clocks?.map((c) => [c.name, c.via])).toEqual([
      [client, undefined],
      [router, undefined],
      [server, router],
    ]);
  });

  it.skipIf(!existsSync(P))('two of the three captures cannot tell on which side of the router a packet died; three can', () => {
    const two = run(SETS['path-client+server']).lines;
    const three = run(SETS['path-client+router+server']).lines;
    for (const port of [82, 92]) {
      expect(factsOf(byPort(two, port), 'path-lost').map((f) => f.between)).toEqual([undefined]);
      expect(byPort(two, port).evidence.join('\n')).toContain('dropped between them');
    }
    expect(factsOf(byPort(three, 82), 'path-lost')[0].between).not.toEqual(factsOf(byPort(three, 92), 'path-lost')[0].between);
    // the same verdicts either way: the third capture says where, not what
    const strip = (lines: Line[]) => flows(lines).map((r) => [r.server, r.verdict, r.by]);
    expect(strip(three)).toEqual(strip(two));
  });

  it('estimates the clock offset: ~0 in the lab, 1.25 s after editcap -t 1.25', () => {
    const clock = (set: string) => {
      const s = run(SETS[set]).lines.find((l) => l.type === 'summary');
      return s?.input?.vantages?.[1];
    };
    const same = clock('client+server');
    const skewed = clock('client+server-skewed');
    expect(same?.method).toBe('both-ways');
    expect(Math.abs(same?.clockOffsetMs ?? NaN)).toBeLessThan(0.05);
    expect(skewed?.method).toBe('both-ways');
    expect(Math.abs((skewed?.clockOffsetMs ?? NaN) - 1250)).toBeLessThan(0.05);
    // the verdicts do not depend on the clocks
    const strip = (lines: Line[]) => flows(lines).map((r) => [r.verdict, r.by, r.summary]);
    expect(strip(run(SETS['client+server-skewed']).lines)).toEqual(strip(run(SETS['client+server']).lines));
  });

  it('--separate: each capture on its own, as without correlation', () => {
    const sep = run(SETS['client+server'], ['--separate']);
    expect(flows(sep.lines).some((r) => r.vantages !== undefined)).toBe(false);
    expect(flows(sep.lines)).toHaveLength(12);
    const alone = run(['client.pcap']);
    expect(flows(sep.lines).slice(0, 7)).toEqual(flows(alone.lines));
  });

  it('a capture and a filtered copy of it are one vantage point: reported separately', () => {
    const a = cli(['-f', 'ndjson', '-q', join(FIXTURES, 'ci-run.pcap'), join(FIXTURES, 'ci-run-lost.pcap')]).stdout;
    expect(a).toBe(cli(['-f', 'ndjson', '-q', '--separate', join(FIXTURES, 'ci-run.pcap'), join(FIXTURES, 'ci-run-lost.pcap')]).stdout);
  });

  it.skipIf(!hasCommand('editcap'))('captures that overlap in time but share no flow are reported separately, as before', () => {
    // tcp-ok.pcap moved into the time of client.pcap: same network, other connections
    const start = (f: string) => {
      const s = JSON.parse(cli(['-f', 'json', '-q', '--separate', f]).stdout) as { files: { input: { first: string } }[] };
      return Date.parse(s.files[0].input.first) / 1000;
    };
    const moved = join(mkdtempSync(join(tmpdir(), 'pcapdiag-vantage-')), 'moved.pcap');
    const shift = start(join(V, 'client.pcap')) - start(join(FIXTURES, 'tcp-ok.pcap')) + 1;
    expect(spawnSync('editcap', ['-F', 'pcap', '-t', String(shift), join(FIXTURES, 'tcp-ok.pcap'), moved]).status).toBe(0);
    const auto = cli(['-f', 'ndjson', '-q', join(V, 'client.pcap'), moved]).stdout;
    expect(auto).toBe(cli(['-f', 'ndjson', '-q', '--separate', join(V, 'client.pcap'), moved]).stdout);
    expect(auto).not.toContain('"vantages"');
    // forced, they are still compared: the client's flows are then judged against a capture that saw none of them
    expect(cli(['-f', 'ndjson', '-q', '--vantages', join(V, 'client.pcap'), moved]).stdout).not.toContain('"vantages"');
  });

  it.skipIf(!hasCommand('editcap'))('records that name other records name them by their ids in the run, in every vantage part', () => {
    // the proxy capture and a copy 3 ms later, after a capture with nothing to correlate: the
    // records are numbered anew in time order, and the 502 names its refused upstream leg
    const shifted = join(mkdtempSync(join(tmpdir(), 'pcapdiag-vantage-')), 'shifted.pcap');
    expect(spawnSync('editcap', ['-F', 'pcap', '-t', '0.003', join(FIXTURES, 'related-proxy.pcap'), shifted]).status).toBe(0);
    const files = [join(FIXTURES, 'tcp-ok.pcap'), join(FIXTURES, 'related-proxy.pcap'), shifted];
    const { lines } = run(files, ['--vantages']);
    const records = lines.filter((l) => l.type === 'flow');
    const ids = new Set(records.map((r) => r.id));
    const bad = records.find((r) => r.summary?.includes('HTTP 502'));
    const upstream = records.find((r) => r.verdict === 'refused' && r.server === '10.0.3.30:8080');
    if (bad === undefined || upstream === undefined) throw new Error('no 502 or no refused upstream');
    expect(bad.summary).toContain(`refused (#${upstream.id})`);
    expect(bad.check).toContain(`(#${upstream.id})`);
    expect(bad.related?.map((x) => x.id)).toEqual([upstream.id]);
    expect(upstream.related?.map((x) => x.id)).toEqual([bad.id]);
    expect(bad.vantages?.map((v) => v.saw)).toEqual([bad.summary, bad.summary]);
    for (const r of records) for (const x of r.related ?? []) expect(ids.has(x.id), `#${r.id} names #${x.id}`).toBe(true);
    // a filter that leaves the upstream leg out: the 502 names no record
    const filtered = cli(['-f', 'ndjson', '-q', '--vantages', ...files, 'port 8180'])
      .stdout.trim()
      .split('\n');
    const front = filtered.map((l) => JSON.parse(l) as Line).find((l) => l.summary?.includes('HTTP 502'));
    expect(front?.vantages).toHaveLength(2);
    expect(front?.summary).not.toContain('(#');
    expect(front?.related).toBeUndefined();
  });

  it('contradicting flags and standard input are usage errors (exit 2)', () => {
    expect(cli(['--vantages', '--separate', join(V, 'client.pcap'), join(V, 'server.pcap')]).code).toBe(2);
    expect(cli(['--vantages', '--sequence', join(V, 'client.pcap'), join(V, 'server.pcap')]).code).toBe(2);
    expect(cli(['--vantages', '-', join(V, 'server.pcap')], readFileSync(join(V, 'client.pcap'))).code).toBe(2);
  });
});

/**
 * Through a box that rewrites sequence numbers (src/vantage/fallback.ts): iptables SYNPROXY on the
 * router in front of nginx (fixtures/make-synproxy-fixtures.sh), tcpdump on the client and the
 * server at once. No packet has the same seq/ack in both; the flows are still paired, the delta
 * per direction stated, and the refusal behind the proxy put on the server, proven.
 */
const SP = join(FIXTURES, 'vantage-synproxy');
describe.skipIf(!existsSync(SP))('two captures through a SYN proxy that rewrites sequence numbers', () => {
  const files = [join(SP, 'client.pcap'), join(SP, 'server.pcap')];
  const runSp = (extra: string[] = []) => {
    const r = cli(['-f', 'ndjson', '-q', ...extra, ...files]);
    const text = r.stdout.split(`${FIXTURES}/`).join('fixtures/');
    return {
      code: r.code,
      text,
      lines: text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Line),
    };
  };

  it('golden records, valid against the schema, the same with and without --vantages', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addSchema(JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as SchemaObject);
    const validateLine = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'ndjson-line.schema.json'), 'utf8')) as SchemaObject);
    const forced = runSp(['--vantages']);
    expect(forced.code).toBe(0);
    for (const l of forced.lines) expect(validateLine(l), JSON.stringify(validateLine.errors)).toBe(true);
    expect(runSp().text).toBe(forced.text);
    const golden = join(ROOT, 'test', 'golden', 'vantage', 'synproxy.ndjson');
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, forced.text);
    expect(forced.text).toBe(readFileSync(golden, 'utf8'));
  });

  it.skipIf(!hasCommand('tshark'))('tshark: the server side numbers the server packets differently, the client packets alike', () => {
    // raw sequence numbers of each connection's server packets (SYN-ACK and after), per capture
    const seqs = (f: string) => {
      const r = spawnSync('tshark', ['-r', f, '-o', 'tcp.relative_sequence_numbers:FALSE', '-Y', 'tcp.srcport==8088', '-T', 'fields', '-e', 'tcp.dstport', '-e', 'tcp.seq'], { encoding: 'utf8' });
      const m = new Map<string, Set<string>>();
      for (const line of r.stdout.trim().split('\n')) {
        const [port, seq] = line.split('\t');
        if (!m.has(port)) m.set(port, new Set());
        m.get(port)?.add(seq);
      }
      return m;
    };
    const c = seqs(files[0]);
    const s = seqs(files[1]);
    expect(c.size).toBe(4);
    for (const [port, set] of c) for (const seq of set) expect(s.get(port)?.has(seq)).toBe(false);
  });

  it('pairs every connection, states the delta, and proves who refused', () => {
    const { lines } = runSp();
    const client = 'fixtures/vantage-synproxy/client.pcap';
    const server = 'fixtures/vantage-synproxy/server.pcap';
    const fs = flows(lines);
    expect(fs).toHaveLength(5);
    const vantage = lines.find((l) => l.type === 'summary')?.input?.vantages?.[1];
    expect(vantage?.sharedFlows).toBe(5);
    expect(vantage?.method).toBe('both-ways');
    for (const r of fs) {
      expect(r.vantages?.map((v) => v.file)).toEqual([client, server]);
      const seq = factsOf(r, 'path-seq');
      expect(seq).toHaveLength(1);
      // SYNPROXY keeps the client's ISN and moves the server's: its SYN cookie for the server's ISN
      expect(seq[0].toServer).toBe(0);
      expect(seq[0].proxy?.earlierNs).toBeGreaterThan(0);
      expect(seq[0].nearFile).toBe(client);
    }
    const healthy = fs.filter((r) => r.server.endsWith(':8088'));
    expect(healthy.map((r) => r.verdict)).toEqual(['ok', 'ok', 'ok', 'ok']);
    for (const r of healthy) {
      const f = factsOf(r, 'path-seq')[0];
      // the proxy's window update after its handshake (TTL 64, not the forwarded 63) is its own, not forged
      expect(f.proxy?.nearFrames).toHaveLength(1);
      expect(factsOf(r, 'path-forged')).toEqual([]);
      expect(f.segments).toBe(2);
      expect(f.toClient).toBeGreaterThan(0);
      expect(r.evidence).toContain(
        `the box between ${client} and ${server} rewrites TCP sequence numbers: client→server seq unchanged, server→client seq +${f.toClient} (mod 2^32); ${f.packets} packets matched by payload and timing (2 data segments); it answered the client's handshake itself: the SYN-ACK #${f.proxy?.synAck} (${client}) came ${((f.proxy?.earlierNs ?? 0) / 1e6).toFixed(3)} ms before the server saw any SYN (#${f.proxy?.syn} in ${server}): a SYN proxy (its own handshake packets, with no copy on the other side: #${f.proxy?.nearFrames[0]} in ${client})`,
      );
    }
    // refused behind the proxy: the client saw a handshake, then a reset; the server refused the proxy's SYN
    const refused = byPort(lines, 8089);
    expect([refused.verdict, refused.by]).toEqual(['closed-by-remote', 'server']);
    expect(refused.vantages?.map((v) => v.verdict)).toEqual(['closed-by-remote', 'refused']);
    expect(refused.summary).toContain('refused the connection; a SYN proxy in the path had already completed the handshake');
    // the SYN-ACK the client got and its ACK were the proxy's handshake, not lost or forged packets
    const proxy = factsOf(refused, 'path-seq')[0].proxy;
    expect(proxy?.nearFrames).toEqual([proxy?.synAck, (proxy?.synAck ?? 0) + 1]);
    expect(factsOf(refused, 'path-forged')).toEqual([]);
    expect(factsOf(refused, 'path-lost')).toEqual([]);
    expect(refused.check).toContain("answered the proxy's SYN with a RST");
    expect(factsOf(refused, 'path-seq')[0].toClient).toBeUndefined();
  });

  it.skipIf(!hasCommand('editcap'))('three captures: the rewrite is stated once, between the two neighbours it is between', () => {
    // a third point behind the server's: server.pcap moved by 2 s (same packets, same TTLs, its own clock)
    const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-synproxy-'));
    const moved = join(dir, 'server-moved.pcap');
    expect(spawnSync('editcap', ['-F', 'pcap', '-t', '2', files[1], moved]).status).toBe(0);
    const r = cli(['-f', 'ndjson', '-q', ...files, moved]);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
    const fs = flows(lines);
    expect(fs).toHaveLength(5);
    const clocks = lines.find((l) => l.type === 'summary')?.input?.vantages ?? [];
    expect(clocks.map((c) => c.sharedFlows)).toEqual([0, 5, 5]);
    expect(Math.abs((clocks[2]?.clockOffsetMs ?? 0) - 2000)).toBeLessThan(0.05);
    for (const x of fs) {
      expect(x.vantages?.map((v) => v.file)).toEqual([files[0], files[1], moved]);
      const seq = factsOf(x, 'path-seq');
      expect(seq.map((f) => [f.nearFile, f.farFile])).toEqual([[files[0], files[1]]]);
      expect(seq[0].proxy).toBeDefined();
      expect(factsOf(x, 'path-lost')).toEqual([]);
      expect(factsOf(x, 'path-forged')).toEqual([]);
      expect(factsOf(x, 'path-intact')).toEqual([]);
    }
    const refused = byPort(lines, 8089);
    expect([refused.verdict, refused.by]).toEqual(['closed-by-remote', 'server']);
    expect(refused.summary).toContain(`a SYN proxy in the path between ${files[0]} and ${files[1]} had already completed the handshake`);
    expect(refused.check).toContain(`Proven by the captures (the proxy is between ${files[0]} and ${files[1]}): `);
  });
});
