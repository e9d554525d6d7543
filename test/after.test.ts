import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { analyzeFile, FIXTURES, hasCommand } from './helpers/run.js';
import type { FlowRecord } from '../src/verdict/types.js';

// What happens after the handshake, on the captures make-after-fixtures.sh records from real
// stacks. golden.test.ts checks verdict and by for every record; this checks the facts named.
const report = (file: string) => analyzeFile(join(FIXTURES, file));
const text = (r: FlowRecord) => [r.summary, ...r.evidence, r.check].join('\n');
const facts = (r: FlowRecord, kind: string) => (r.facts ?? []).filter((f) => f.kind === kind);

describe('no answer', () => {
  it('an application that reads the request and never answers: by server, the ACK and the wait named', async () => {
    const [r] = (await report('tcp-no-response.pcap')).records;
    expect([r.verdict, r.by]).toEqual(['no-response', 'server']);
    expect(text(r)).toMatch(/acknowledged the request but sent nothing back for 7\.\d+ s/);
    expect(text(r)).toContain("the server's stack acknowledged it");
    expect(text(r)).toMatch(/until the client gave up and closed \(FIN #\d+\)/);
    expect(r.responseMs).toBeUndefined();
  });

  it('a listen backlog overflowing: the accepted requests ACKed and never answered, the rest of the SYNs dropped', async () => {
    const recs = (await report('tcp-backlog-overflow.pcap')).records;
    const noResp = recs.filter((r) => r.verdict === 'no-response');
    expect(noResp.length).toBeGreaterThanOrEqual(1);
    for (const r of noResp) expect(r.by).toBe('server');
    expect(recs.filter((r) => r.verdict === 'timeout').length + noResp.length).toBe(6);
  });

  it('a slow answer (3 s) stays ok, with responseMs and ttfbMs near 3000', async () => {
    const [r] = (await report('tcp-slow-response.pcap')).records;
    expect(r.verdict).toBe('ok');
    expect(r.responseMs).toBeGreaterThan(2900);
    expect(r.responseMs).toBeLessThan(3500);
    expect(r.ttfbMs).toBe(r.responseMs);
    expect(text(r)).toMatch(/first answer 3\.\d+ s after the request/);
  });
});

describe('data lost in the path', () => {
  it('PMTU black hole seen from the client: the gap before the tail, only small segments arrived', async () => {
    const [r] = (await report('tcp-pmtu-download.pcap')).records;
    expect([r.verdict, r.by]).toEqual(['data-stall', 'middlebox']);
    expect(r.summary).toContain('PMTU black hole');
    const [hole] = facts(r, 'hole') as Extract<NonNullable<FlowRecord['facts']>[number], { kind: 'hole' }>[];
    expect(hole.side).toBe('server');
    expect(hole.bytes).toBe(9 * 1448); // every full-size segment of the download
    expect(hole.waitedNs).toBeGreaterThan(5e9);
    expect(facts(r, 'pmtu-receiver')).toHaveLength(1);
  });

  it('the same download seen from the server: the full-size segment retransmitted, never acknowledged', async () => {
    const [r] = (await report('tcp-pmtu-download-server.pcap')).records;
    expect([r.verdict, r.by]).toEqual(['data-stall', 'middlebox']);
    expect(text(r)).toMatch(/the server's segment at seq 1 \(1448 bytes, DF set\) was retransmitted \d+×/);
    expect(facts(r, 'rto-backoff')).toHaveLength(1);
  });

  it('losses in the network are repaired gaps (ok), not capture drops', async () => {
    const rep = await report('tcp-network-loss.pcap');
    const [r] = rep.records;
    expect(r.verdict).toBe('ok');
    expect(text(r)).toMatch(/\d+ gaps? in the server's data lost before the capture point and filled by a retransmission/);
    expect(rep.stats.captureMissedBytes).toBe(0);
  });

  it('frames deleted from the capture are bytes the client ACKed that the capture never saw: counted, with a warning', async () => {
    const rep = await report('tcp-capture-drops.pcap');
    expect(rep.records[0].verdict).toBe('ok');
    expect(rep.stats.captureMissedConnections).toBe(1);
    expect(rep.stats.captureMissedBytes).toBeGreaterThan(0);
    expect(rep.warnings.join('\n')).toContain('the capture missed packets');
    expect(text(rep.records[0])).toContain('the capture dropped packets, not the network');
  });

  it.skipIf(!hasCommand('tshark'))('tshark agrees: an ACKed segment that was not captured in the capture-drops fixtures, none in the network-loss one', () => {
    const lost = (file: string) =>
      execFileSync('tshark', ['-r', join(FIXTURES, file), '-Y', 'tcp.analysis.ack_lost_segment', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l !== '').length;
    expect(lost('tcp-capture-drops.pcap')).toBeGreaterThan(0);
    expect(lost('tcp-mss-clamp.pcap')).toBeGreaterThan(0);
    expect(lost('tcp-network-loss.pcap')).toBe(0);
  });
});

describe('MSS', () => {
  it('a router that clamps the MSS in SYNs: the server never sends more than the clamp, though the client offered 1460', async () => {
    const rep = await report('tcp-mss-clamp.pcap');
    const [r] = rep.records;
    expect(r.verdict).toBe('ok');
    const [clamp] = facts(r, 'mss-clamp');
    expect(clamp).toMatchObject({ kind: 'mss-clamp', side: 'server', receiver: 'client', offered: 1460, maxSeg: 988 });
    // tcpdump itself dropped part of this burst (tshark says so too): counted as capture drops
    expect(rep.stats.captureMissedBytes).toBeGreaterThan(0);
  });

  it('explain shows each SYN options on its ladder line and the options as a fact', async () => {
    const { runInProcess } = await import('./helpers/in-process.js');
    const out = await runInProcess(['explain', '--no-color', join(FIXTURES, 'tcp-pmtu-download.pcap'), '1']);
    expect(out.stdout).toMatch(/SYN .*MSS 1460, wscale \d+, SACK, TS/);
    expect(out.stdout).toContain('SYN options (client / server): MSS 1460 / 1460');
  });
});
