import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workersFor } from '../src/cli/parallel.js';
import { BIN, FIXTURES } from './helpers/run.js';

/** The built CLI with PCAPDIAG_WORKERS set: 0 reads the captures one after the other in one thread. */
function run(workers: number, args: string[]): { code: number; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', PCAPDIAG_WORKERS: String(workers) }, timeout: 120_000 });
  return { code: r.status ?? -1, out: `${r.stdout}\n--- stderr ---\n${r.stderr}` };
}

describe('captures analysed on worker threads give the output of one thread, byte for byte', () => {
  const some = ['dns.pcap', 'ipv6.pcap', 'tcp-reset-by-router.pcap', 'tls-expired.pcap', 'ping.pcap', 'rotated-time'].map((f) => join(FIXTURES, f));
  // records that name other records (related ids, "#N" in their sentences), none in the first capture
  const related = ['tcp-ok.pcap', 'related-proxy.pcap', 'related-happy-eyeballs.pcap', 'related-nat.pcap', 'related-ping-dropped.pcap', 'related-port-closed.pcap', 'dns-lame-servfail.pcap'].map((f) => join(FIXTURES, f));
  const cases: [string, string[]][] = [
    // --separate: the whole folder would otherwise be read as vantage points of one network, in one thread
    ['text, every fixture', ['--separate', FIXTURES]],
    ...['text', 'ndjson'].map((f): [string, string[]] => [`${f}, records naming records of their own capture`, ['-f', f, ...related]]),
    ['ndjson', ['-f', 'ndjson', ...some]],
    ['json with a gate', ['-f', 'json', '--fail-on', 'problem', ...some]],
    ['junit with a filter', ['-f', 'junit', ...some, 'port 53']],
    ...['ndjson', 'json', 'junit', 'text'].map((f): [string, string[]] => [`${f}, an unreadable capture among them`, ['-f', f, join(FIXTURES, 'dns.pcap'), join(FIXTURES, 'no-such.pcap'), join(FIXTURES, 'tcp-ok.pcap')]]),
  ];
  for (const [what, args] of cases)
    it(what, () => {
      const one = run(0, args);
      const many = run(2, args);
      expect(many.code).toBe(one.code);
      expect(many.out).toBe(one.out);
    });

  it("a later capture's records name the others by their ids in the run", () => {
    const records = run(2, ['-f', 'ndjson', ...related])
      .out.split('\n')
      .filter((l) => l.startsWith('{"type":"flow"'))
      .map((l) => JSON.parse(l) as { id: number; summary: string; check: string; related?: { id: number }[] });
    const ids = new Set(records.map((r) => r.id));
    const named = records.flatMap((r) => [...(r.related ?? []).map((x) => x.id), ...[...`${r.summary} ${r.check}`.matchAll(/\(#(\d+)\)|, #(\d+)\)/g)].map((m) => Number(m[1] ?? m[2]))]);
    expect(named.length).toBeGreaterThan(10);
    for (const id of named) expect(ids.has(id), `#${id}`).toBe(true);
    // the proxy's 502 names its refused upstream connection, the record after it
    const bad = records.find((r) => r.summary.includes('HTTP 502'));
    expect(bad?.summary).toContain(`refused (#${(bad?.id ?? 0) + 1})`);
  });
});

describe('workersFor', () => {
  const two = [[join(FIXTURES, 'dns.pcap')], [join(FIXTURES, 'tcp-ok.pcap')]];
  it('PCAPDIAG_WORKERS sets the number (auto: one per core), up to the captures; unset, one thread', () => {
    expect(workersFor(two, false, '2', true)).toBe(2);
    expect(workersFor(two, false, '8', true)).toBe(2);
    expect(workersFor(two, false, 'auto', true)).toBeGreaterThanOrEqual(1);
    expect(workersFor(two, false, '0', true)).toBe(0);
    expect(workersFor(two, false, 'x', true)).toBe(0);
    expect(workersFor(two, false, undefined, true)).toBe(0);
  });
  it('none for one capture, standard input or --follow, or without the compiled worker (TypeScript sources)', () => {
    expect(workersFor([[join(FIXTURES, 'dns.pcap')]], false, '4', true)).toBe(0);
    expect(workersFor([['-'], [join(FIXTURES, 'dns.pcap')]], false, '4', true)).toBe(0);
    expect(workersFor(two, true, '4', true)).toBe(0);
    expect(workersFor(two, false, '2', false)).toBe(0);
  });
});
