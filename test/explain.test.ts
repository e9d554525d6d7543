import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cli, FIXTURES, fixtureFiles, readFixture } from './helpers/run.js';
import { runInProcess } from './helpers/in-process.js';
import { endpointsText } from '../src/verdict/names.js';
import type { FlowRecord } from '../src/verdict/types.js';

/** `pcapdiag explain ARGS`, in process, without colour. */
async function explain(args: string[]): Promise<string> {
  return (await runInProcess(['explain', ...args])).stdout;
}

// `pcapdiag explain`: the ladder, verdict, reasoning and next checks, compared with committed snapshots
// (test/snapshots/explain-*.txt; review a diff there like any other output change).
describe('explain', () => {
  const cases: [string, string, string][] = [
    ['refused by a router (middle column)', 'tcp-reset-by-router.pcap', '10.0.2.20:83'],
    ['ICMP admin prohibited from the router', 'icmp-admin-prohibited-router.pcap', '1'],
    ['TLS alert from the client, deciding packet marked', 'tls-self-signed.pcap', '#1'],
    ['ping to a host that drops ICMP', 'ping.pcap', '10.0.2.54'],
    ['ARP for a missing host', 'arp-no-reply.pcap', '1'],
    ['IPv6 neighbour discovery: two hosts advertise one address', 'nd-conflict.pcap', 'fd00:5::5'],
    ['a data stall: the same segment retransmitted, never acknowledged', 'tcp-data-stall.pcap', '10.0.2.20:8095'],
    ["names from the capture's DNS in the heading and sentences", 'names.pcap', '10.0.2.20:81'],
  ];
  for (const [what, file, selector] of cases) {
    it(what, async () => {
      const text = await explain([join(FIXTURES, file), selector]);
      await expect(text.replace(FIXTURES, 'fixtures')).toMatchFileSnapshot(`snapshots/explain-${file.replace('.pcap', '')}.txt`);
    });
  }
  it('names the selector that matches nothing, as a usage error', async () => {
    await expect(explain([join(FIXTURES, 'tcp-ok.pcap'), '99'])).rejects.toThrow(/no flow matches '99'/);
  });
  it("reads standard input once, keeping it for the flow's packets: the same text as from the file", () => {
    const file = cli(['explain', join(FIXTURES, 'tls-self-signed.pcap'), '1']);
    const pipe = cli(['explain', '-', '1'], readFixture('tls-self-signed.pcap'));
    expect(file.code).toBe(0);
    expect(pipe.code).toBe(0);
    expect(pipe.stdout).toBe(file.stdout);
    expect(pipe.stdout).toContain('◀ decides');
  });
  it('is listed by --help, with the options it shares with the analysis', () => {
    const top = cli(['--help']);
    expect(top.stdout).toMatch(/^\s+explain \[options\]/m);
    expect(top.stdout).toMatch(/^\s+analyze \[options\]/m);
    const own = cli(['explain', '--help']);
    expect(own.code).toBe(0);
    for (const flag of ['--syn-timeout', '--dns-timeout', '--tcp-idle', '--udp-idle', '--max-flows', '--no-color']) expect(own.stdout).toContain(flag);
    expect(own.stdout).not.toContain('--format');
  });
});

/** The flow records of `pcapdiag -f ndjson ARGS`. */
async function ndjsonRecords(args: string[]): Promise<FlowRecord[]> {
  const r = await runInProcess(['-f', 'ndjson', ...args]);
  expect(r.code).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as FlowRecord)
    .filter((x) => x.type === 'flow');
}

/** The arguments less the filter (the words after the last capture). */
function withoutFilter(args: string[]): string[] {
  const at = args.findIndex((a, i) => i > 0 && !a.startsWith('-') && !a.startsWith('/') && !/^\d/.test(a));
  return at < 0 ? args : args.slice(0, at);
}

// An id printed by `-f ndjson` names, in `explain` with the same captures, filter and options, that same flow.
describe('explain takes the id of the analysis with the same arguments', () => {
  const several = ['tcp-ok.pcap', 'dns.pcap', 'ipv6.pcap', 'tcp-refused.pcap'].map((f) => join(FIXTURES, f));
  const runs: [string, string[]][] = [
    ...fixtureFiles().flatMap((f): [string, string[]][] => [
      [f, [join(FIXTURES, f)]],
      [`${f} 'port 53'`, [join(FIXTURES, f), 'port 53']],
      [`${f} tcp`, [join(FIXTURES, f), 'tcp']],
    ]),
    ['several captures', several],
    ['several captures, udp', [...several, 'udp']],
    ['several captures, --syn-timeout 1s --dns-timeout 500ms', ['--syn-timeout', '1s', '--dns-timeout', '500ms', ...several]],
    ['the fixtures folder, host 10.0.2.20', [FIXTURES, 'host', '10.0.2.20']],
  ];
  for (const [what, args] of runs) {
    it(what, async () => {
      const records = await ndjsonRecords(args);
      // the same flow, whatever the filter: the filtered records are the unfiltered ones with those ids
      const unfiltered = new Map((await ndjsonRecords(withoutFilter(args))).map((r) => [r.id, r]));
      for (const r of records) {
        expect(unfiltered.get(r.id), `#${r.id} unfiltered`).toEqual(r);
        const text = await explain([...args, String(r.id)]);
        const [head, when] = text.split('\n');
        expect(head).toBe(`#${r.id}  ${r.proto.toUpperCase()}  ${endpointsText(r)}`);
        expect(when.startsWith(r.start.replace('T', ' ').replace(/\d{3}Z$/, ' UTC'))).toBe(true);
        expect(text).toContain(`verdict: ${r.verdict}, by ${r.by}`);
        expect(text).toContain(r.summary);
      }
    });
  }
});
