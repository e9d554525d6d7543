import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { FIXTURES } from './helpers/run.js';
import { explainMain } from '../src/explain.js';

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
    ['names from the capture\'s DNS in the heading and sentences', 'names.pcap', '10.0.2.20:81'],
  ];
  for (const [what, file, selector] of cases) {
    it(what, async () => {
      const text = await explainMain([join(FIXTURES, file), selector, '--no-color'], false);
      await expect(text.replace(FIXTURES, 'fixtures')).toMatchFileSnapshot(`snapshots/explain-${file.replace('.pcap', '')}.txt`);
    });
  }
  it('names the selector that matches nothing, as a usage error', async () => {
    await expect(explainMain([join(FIXTURES, 'tcp-ok.pcap'), '99'], false)).rejects.toThrow(/no flow matches '99'/);
  });
  it('refuses stdin: the capture is read twice', async () => {
    await expect(explainMain(['-', '1'], false)).rejects.toThrow(/give a file, not stdin/);
  });
});
