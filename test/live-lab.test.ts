import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectations, FIXTURES, isFlow, last, type NdjsonLine } from './helpers/run.js';

const isRoot = process.getuid?.() === 0;

/**
 * The scenarios fixtures/live-e2e.sh runs, each as (saved fixture, server, and verdict when the
 * fixture holds several flows to that server): the live run must report the flows the saved
 * captures are expected to have.
 */
const SCENARIOS: [string, string, string?][] = [
  ['tcp-ok.pcap', '10.0.2.20:80'],
  ['tcp-refused.pcap', '10.0.2.20:81'],
  ['tcp-timeout.pcap', '10.0.2.20:82'],
  ['tcp-reset-by-router.pcap', '10.0.2.20:83'],
  ['icmp-port-unreachable-router.pcap', '10.0.2.20:86'],
  ['icmp-admin-prohibited-host.pcap', '10.0.2.20:88'],
  ['tcp-closed-by-remote.pcap', '10.0.2.20:8080'],
  ['tcp-delayed-reset.pcap', '10.0.2.20:443'],
  ['dns.pcap', '10.0.2.53:53', 'dns-nxdomain'],
  ['udp-port-unreachable.pcap', '10.0.2.20:9999'],
  ['http-errors.pcap', '10.0.2.20:8092'],
  ['tcp-zero-window.pcap', '10.0.2.20:8094'],
  ['ping.pcap', '10.0.2.20'],
  ['arp-no-reply.pcap', '10.0.1.99'],
];

describe('live end to end: tcpdump -U -w - | pcapdiag - in the fixtures lab', () => {
  it.skipIf(!isRoot)(
    "reports the saved fixtures' verdicts, each while the capture is still running",
    () => {
      const out = join(mkdtempSync(join(tmpdir(), 'pcapdiag-lab-')), 'live.out');
      const r = spawnSync('bash', [join(FIXTURES, 'live-e2e.sh'), out], { encoding: 'utf8', timeout: 180_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('pcapdiag stderr: pcapdiag: internal error');
      const lines = readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const sp = l.indexOf(' ');
          return { ms: Number(l.slice(0, sp)), text: l.slice(sp + 1) };
        });
      const stoppedAt = lines.find((l) => l.text === 'CAPTURE-STOPPED')?.ms;
      if (stoppedAt === undefined) throw new Error('live-e2e.sh wrote no CAPTURE-STOPPED line');
      const records = lines.filter((l) => l.text.startsWith('{')).map((l) => ({ ms: l.ms, r: JSON.parse(l.text) as NdjsonLine }));
      const flows = records.flatMap(({ ms, r }) => (isFlow(r) ? [{ ms, r }] : []));
      expect(last(records).r.type).toBe('summary');

      const exp = expectations();
      const want = SCENARIOS.flatMap(([file, server, verdict]) => (exp.get(file) ?? []).filter((e) => e.server === server && (verdict === undefined || e.verdict === verdict)).map((e) => `${e.proto} ${e.server} ${e.verdict} by ${e.by}`));
      const got = flows.map((x) => `${x.r.proto} ${x.r.server} ${x.r.verdict} by ${x.r.by}`);
      expect(got.sort()).toEqual(want.sort());
      // every verdict came while tcpdump was still capturing, not at the end of input
      for (const f of flows) expect(f.ms, `${f.r.verdict} ${f.r.server}`).toBeLessThan(stoppedAt);
    },
    200_000,
  );
});
