import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
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
  const path = (names: string[]) => names.map((n) => join(FIXTURES, 'vantage-path', `${n}.pcap`));
  const vantageCases: [string, string[], string, string][] = [
    ['three captures: SYNs dropped behind the router, a column per capture', path(['client', 'router', 'server']), '10.0.2.20:92', 'vantage-path-drop-far'],
    ['three captures: a RST forged behind the router, drawn from the middle', path(['client', 'router', 'server']), '10.0.2.20:93', 'vantage-path-forged-far'],
    ['three captures: SNAT on fw, each capture naming the flow its own way', path(['client', 'router', 'server']), '10.0.2.20:95', 'vantage-path-snat-far'],
    ['two captures: SYN-ACKs lost on the way back', path(['client', 'server']), '10.0.2.20:89', 'vantage-path-2-return'],
  ];
  for (const [what, files, selector, snap] of vantageCases) {
    it.skipIf(!existsSync(files[0]))(what, async () => {
      const text = await explain([...files, selector]);
      await expect(text.split(FIXTURES).join('fixtures')).toMatchFileSnapshot(`snapshots/explain-${snap}.txt`);
    });
  }
  it.skipIf(!existsSync(path(['client'])[0]))('captures correlated: each packet at every point, missing ones marked, the same with --vantages', async () => {
    const files = path(['client', 'router', 'server']);
    const text = await explain([...files, '10.0.2.20:92']);
    // the SYNs: seen at the client and the router, ✗ at the server, lost between the two
    expect(text).toMatch(/SYN .*#17 TTL 64 +#17 TTL 63 +✗ +lost between \[2\] and \[3\]/);
    expect(text).toContain('via ' + join(FIXTURES, 'vantage-path', 'router.pcap') + ', applied');
    expect(await explain(['--vantages', ...files, '10.0.2.20:92'])).toBe(text);
    // --separate: one capture's ladder, as before
    const separate = await explain(['--separate', ...files, '10.0.2.20:92']);
    expect(separate).not.toContain('seen along the path');
    expect(separate).toContain('client                      middle                      server\n');
  });
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
  it("warns as the analysis does of its capture's damage: a ladder cut short says why", () => {
    // the first 700 bytes of tcp-ok.pcap: its 8th record is cut short
    const cut = cli(['explain', '-', '1'], readFixture('tcp-ok.pcap').subarray(0, 700));
    expect(cut.code).toBe(0);
    expect(cut.stderr).toMatch(/^pcapdiag: warning: damaged capture: capture ends mid-record after frame 7/m);
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
    // vantage points (correlated records and ids, as the analysis gives them)
    ...(existsSync(join(FIXTURES, 'vantage-path'))
      ? ([
          ['three vantage points', ['client', 'router', 'server'].map((n) => join(FIXTURES, 'vantage-path', `${n}.pcap`))],
          ['two vantage points, the server first', ['server', 'client'].map((n) => join(FIXTURES, 'vantage', `${n}.pcap`))],
        ] as [string, string[]][])
      : []),
  ];
  for (const [what, args] of runs) {
    it(
      what,
      async () => {
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
        // the whole fixtures folder: an explain run per record (57 s at a load average of 10)
      },
      240_000,
    );
  }
});
