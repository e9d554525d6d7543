import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { analyzeFile, FIXTURES, fixtureFiles, hasCommand } from './helpers/run.js';

/** tshark is the decoding oracle: packet and TCP-conversation counts must agree. */
const haveTshark = hasCommand('tshark');
if (!haveTshark && process.env.CI) throw new Error('tshark is required in CI (scripts/test-all.sh installs it)');

function tshark(args: string[]): string {
  return execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

export function tsharkCounts(path: string): { packets: number; tcpConversations: number } {
  const packets = tshark(['-n', '-r', path, '-T', 'fields', '-e', 'frame.number'])
    .split('\n')
    .filter((l) => l.trim() !== '').length;
  const conv = tshark(['-n', '-r', path, '-q', '-z', 'conv,tcp'])
    .split('\n')
    .filter((l) => l.includes('<->')).length;
  return { packets, tcpConversations: conv };
}

describe.skipIf(!haveTshark)('counts agree with tshark on every fixture', () => {
  for (const f of fixtureFiles()) {
    it(f, async () => {
      const path = join(FIXTURES, f);
      const r = await analyzeFile(path);
      const t = tsharkCounts(path);
      expect({ packets: r.input.packets, tcpConversations: r.summary.tcpConversations }).toEqual(t);
    });
  }
});

describe.skipIf(!haveTshark)('wrong transport checksums agree with tshark on every fixture', () => {
  // tshark also checks the TCP/UDP header quoted inside an ICMP error (always "wrong": the quote is
  // partial); pcapdiag checks each packet's own checksum only, so ICMP errors count by their own.
  // TCP segments that carry data are not checked.
  const filter = '(((tcp.checksum.status==0 && tcp.len==0) || udp.checksum.status==0) && !icmp && !icmpv6) || icmp.checksum.status==0 || icmpv6.checksum.status==0';
  for (const f of fixtureFiles()) {
    it(f, async () => {
      const path = join(FIXTURES, f);
      const r = await analyzeFile(path);
      const bad = tshark(['-n', '-r', path, '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-Y', filter])
        .split('\n')
        .filter((l) => l.trim() !== '').length;
      expect(r.stats.badTransportChecksums).toBe(bad);
    });
  }
});
