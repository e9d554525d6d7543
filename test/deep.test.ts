import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { analyzeFile, defined, FIXTURES, readFixture } from './helpers/run.js';
import { bufferSource, FLAGS, pcap, tcpFrame, type Rec } from './helpers/build.js';
import { analyzeSource, DEFAULT_OPTIONS } from '../src/analyze.js';
import type { FlowRecord } from '../src/verdict/types.js';
import { DnsNames } from '../src/verdict/names.js';
import { STORY } from '../src/verdict/facts.js';
import { hostOf, portOf } from '../src/flow/addr.js';

// What each diagnosis past the handshake says, on the captures make-deep-fixtures.sh records from
// real stacks. golden.test.ts checks verdict and by for every record; this checks the facts named.
const records = async (file: string) => (await analyzeFile(join(FIXTURES, file))).records;
const one = async (file: string, verdict: string): Promise<FlowRecord> => {
  const r = (await records(file)).filter((x) => x.verdict === verdict);
  expect(r).toHaveLength(1);
  return r[0];
};
const text = (r: FlowRecord) => [r.summary, ...r.evidence, r.check].join('\n');

describe('TLS', () => {
  it('self-signed: unknown_ca (48) from the client, the certificate named self-signed, SNI and version', async () => {
    const r = await one('tls-self-signed.pcap', 'tls-alert');
    expect(r.tls).toEqual({ sni: 'www.example.test', version: 'TLS 1.2', alert: 'unknown_ca (48)' });
    expect(text(r)).toContain('certificate problems: self-signed');
    expect(text(r)).toContain('openssl s_client -connect 10.0.2.20:4431 -servername www.example.test');
  });
  it('expired: certificate_expired (45), with the date it expired', async () => {
    const r = await one('tls-expired.pcap', 'tls-alert');
    expect(r.tls?.alert).toBe('certificate_expired (45)');
    expect(text(r)).toContain('expired on 2025-01-01');
    expect(text(r)).not.toContain('self-signed');
  });
  it('name mismatch: an encrypted alert right after the handshake, the certificate issued for another name', async () => {
    const r = await one('tls-name-mismatch.pcap', 'tls-alert');
    expect(r.by).toBe('client');
    expect(text(r)).toContain('issued for other.example.test, not www.example.test');
    expect(text(r)).toContain('encrypted');
  });
  it('a server name with a NUL byte (damaged or hostile ClientHello) is a name mismatch, not a crash', async () => {
    const b = readFixture('tls-name-mismatch.pcap');
    const at = b.indexOf('www.example.test');
    expect(at).toBeGreaterThan(0);
    b[at + 3] = 0; // www\0example.test: same length, so every length field still holds
    const r = (await analyzeSource(bufferSource(b, 1 << 16), DEFAULT_OPTIONS)).records.filter((x) => x.verdict === 'tls-alert');
    expect(r).toHaveLength(1);
    expect(text(r[0])).toContain('issued for other.example.test, not www\0example.test');
  });
  it('not yet valid: the same capture, its clock set 30 days before the certificate starts', async () => {
    const b = readFixture('tls-self-signed.pcap');
    expect(b.readUInt32LE(0)).toBe(0xa1b2c3d4); // classic pcap, little-endian, µs
    for (let at = 24; at + 16 <= b.length; at += 16 + b.readUInt32LE(at + 8)) {
      b.writeUInt32LE(b.readUInt32LE(at) - 30 * 86400, at); // each record's seconds
    }
    const r = (await analyzeSource(bufferSource(b, 1 << 16), DEFAULT_OPTIONS)).records.filter((x) => x.verdict === 'tls-alert');
    expect(r).toHaveLength(1);
    expect(text(r[0])).toMatch(/certificate problems: self-signed; not valid until \d{4}-\d\d-\d\d/);
    expect(text(r[0])).not.toContain('expired');
  });
  it('version mismatch: protocol_version (70) from the server, the versions offered named', async () => {
    const r = await one('tls-version.pcap', 'tls-alert');
    expect(r.tls?.alert).toBe('protocol_version (70)');
    expect(text(r)).toContain('offering TLS 1.2');
  });
  it('aborted: the server closes after the ClientHello with no ServerHello and no alert', async () => {
    const r = await one('tls-aborted.pcap', 'tls-aborted');
    expect(r.summary).toContain('after the ClientHello for www.example.test');
    expect(r.tls?.alert).toBeUndefined();
  });
  it('the F5 story: a delayed reset, with the SNI in the evidence', async () => {
    const r = await one('tls-delayed-reset.pcap', 'delayed-reset');
    expect(r.evidence.some((e) => e.includes('ClientHello') && e.includes('www.example.test'))).toBe(true);
  });
});

describe('HTTP', () => {
  it('404 and 503 are http-error with method, path, status and Server; 200 is ok', async () => {
    const all = await records('http-errors.pcap');
    expect(all.map((r) => [r.verdict, r.http?.request, r.http?.status, r.http?.server])).toEqual([
      ['ok', 'GET /index.html', 200, 'SimpleHTTP/0.6 Python/3.11.7'],
      ['http-error', 'GET /missing.html', 404, 'SimpleHTTP/0.6 Python/3.11.7'],
      ['http-error', 'GET /api/health', 503, 'nginx/1.22.1'],
    ]);
  });
});

describe('ARP, ping, TTL', () => {
  it('arp-no-reply: three who-has for 10.0.1.99, no answer', async () => {
    const r = await one('arp-no-reply.pcap', 'arp-no-reply');
    expect(r.client).toBe('10.0.1.10');
    expect(r.evidence[0]).toContain('sent 3×');
  });
  it('IPv6 neighbour discovery: three solicitations for fd00:1::99, no advertisement', async () => {
    const r = await one('nd-no-reply.pcap', 'arp-no-reply');
    expect(r.client).toBe('fd00:1::10');
    expect(r.evidence[0]).toMatch(/^neighbour solicitation for fd00:1::99 .* sent 3×/);
  });
  it('IPv6 neighbour discovery: two advertisements for fd00:5::5 from different MACs', async () => {
    const r = await one('nd-conflict.pcap', 'arp-conflict');
    expect(r.summary).toBe('two machines claim fd00:5::5: 00:0c:29:05:00:05 and 00:50:56:05:00:05');
    expect(r.evidence.filter((e) => e.startsWith('neighbour advertisement'))).toHaveLength(2);
  });
  it('arp-conflict: both MACs named, with their vendors', async () => {
    const r = await one('arp-conflict.pcap', 'arp-conflict');
    expect(r.summary).toContain('00:0c:29:05:00:05');
    expect(r.summary).toContain('00:50:56:05:00:05');
    expect(r.evidence.join('\n')).toContain('VMware');
  });
  it('ping-ok with its RTTs; ping-no-reply with what it tried', async () => {
    const ok = await one('ping.pcap', 'ping-ok');
    expect(ok.echo?.sent).toBe(3);
    expect(ok.echo?.answered).toBe(3);
    expect(ok.echo?.rttMinMs).toBeGreaterThan(0);
    const lost = await one('ping.pcap', 'ping-no-reply');
    expect(lost.server).toBe('10.0.2.54');
    expect(lost.echo).toEqual({ sent: 3, answered: 0 });
  });
  it('ttl-exceeded names the router, and the loop once the same routers repeat', async () => {
    const all = (await records('ttl-exceeded.pcap')).filter((r) => r.verdict === 'ttl-exceeded');
    expect(all[0].summary).toContain('10.0.1.1 dropped the ping to 10.0.2.20');
    expect(all[0].evidence.join('\n')).not.toContain('routing loop');
    const loop = all.filter((r) => r.evidence.some((e) => e.startsWith('routing loop')));
    // every probe to 10.0.7.1 (TTL 1 to 6): the loop detector has seen all of them (the routers
    // repeating) before the first record is decided; the ping to 10.0.2.20 is no loop
    expect(loop.length).toBe(6);
    expect(loop.every((r) => r.server.startsWith('10.0.7.1'))).toBe(true);
    expect(loop[5].evidence.join('\n')).toContain('10.0.1.1 at TTL 1, 3, 5; 10.0.2.20 at TTL 2, 4, 6');
  });
});

describe('TCP path problems', () => {
  it('PMTU black hole: full-size DF segments retransmitted, small ones acknowledged, no ICMP', async () => {
    const r = await one('tcp-mtu-black-hole.pcap', 'data-stall');
    expect(r.summary).toContain('PMTU black hole');
    expect(r.evidence.join('\n')).toMatch(/retransmitted [3-9]×/);
    expect(r.evidence.join('\n')).toContain('no ICMP fragmentation-needed');
  });
  it('data-stall without PMTU: small segments die too, so no black-hole claim', async () => {
    const r = await one('tcp-data-stall.pcap', 'data-stall');
    expect(r.summary).not.toContain('PMTU');
    expect(r.evidence.join('\n')).toMatch(/segment at seq 1 \(24 bytes, DF set\) was retransmitted [3-9]×/);
  });
  it('zero-window-stall: the server at window 0 for at least 5 s', async () => {
    const r = await one('tcp-zero-window.pcap', 'zero-window-stall');
    expect(r.summary).toMatch(/window stayed at zero for [5-9]\.\d\d s/);
  });
  it('bad-syn-ack: the SYN-ACK acknowledges the wrong number, the client resets it', async () => {
    const r = await one('tcp-bad-syn-ack.pcap', 'bad-syn-ack');
    expect(r.evidence.join('\n')).toContain('acknowledges 305419896');
  });
  it('health checks: every 1 s, labelled benign, not counted as problems', async () => {
    const rep = await analyzeFile(join(FIXTURES, 'tcp-health-check.pcap'));
    expect(rep.records.map((r) => r.verdict)).toEqual(Array(5).fill('health-check'));
    expect(rep.summary.problems).toBe(0);
    expect(rep.records[0].summary).toContain('every 1.00 s');
  });
  it('health checks from two hosts are two series, also when the records are only counted (text output)', async () => {
    // each host connects every 1 s and resets at once (ok, so only counted in text output), the second
    // 0.2 s after the first: one series mixing both would be unsteady
    const recs: Rec[] = [];
    const at = (t: number, data: Buffer) => recs.push({ sec: 1700000000 + Math.floor(t), frac: Math.round((t % 1) * 1e6), data });
    for (let i = 0; i < 5; i++) {
      for (const [client, offset] of [
        ['10.0.1.10', 0],
        ['10.0.1.11', 0.2],
      ] as const) {
        const t = i + offset;
        const sport = 30000 + i * 2 + (offset > 0 ? 1 : 0);
        at(t, tcpFrame('c2s', { sport, dport: 80, seq: 100, flags: FLAGS.SYN }, undefined, client));
        at(t + 0.001, tcpFrame('s2c', { sport: 80, dport: sport, seq: 500, ack: 101, flags: FLAGS.SYN | FLAGS.ACK }, undefined, client));
        at(t + 0.002, tcpFrame('c2s', { sport, dport: 80, seq: 101, ack: 501, flags: FLAGS.ACK }, undefined, client));
        at(t + 0.003, tcpFrame('c2s', { sport, dport: 80, seq: 101, ack: 501, flags: FLAGS.RST }, undefined, client));
      }
    }
    recs.sort((a, b) => a.sec - b.sec || a.frac - b.frac);
    for (const keep of ['all', { problemsPerGroup: 20 }] as const) {
      const rep = await analyzeSource(bufferSource(pcap(recs)), DEFAULT_OPTIONS, { keep });
      expect(rep.summary.verdicts).toEqual({ 'health-check': 10 });
    }
  });
  it('one-sided: the server direction is missing, said so instead of a timeout', async () => {
    const r = await one('one-sided.pcap', 'one-sided');
    expect(r.summary).toContain("only the client's side");
  });
  it('one-sided: the client direction is missing (tcpdump -Q in)', async () => {
    const r = await one('one-sided-server.pcap', 'one-sided');
    expect(r.summary).toContain("only the server's side");
    expect(r.evidence[0]).toMatch(/^SYN-ACK #\d+ from 10\.0\.2\.20:80 with no SYN before it, and nothing at all from the client/);
  });
});

describe('names and vantage', () => {
  it('addresses answered by DNS in the capture carry their names', async () => {
    const all = await records('names.pcap');
    const refused = defined(all.find((r) => r.verdict === 'refused'));
    expect(refused.serverName).toBe('www.example.test');
    // in the sentences too, but not inside a command meant to be pasted
    expect(refused.summary).toBe('10.0.2.20:81 (www.example.test) refused the connection: RST in answer to the SYN');
    expect(refused.check).toContain('Is anything listening on 10.0.2.20:81 (www.example.test)?');
    expect(all.find((r) => r.verdict === 'ok')?.summary).toBe('connected to 10.0.2.20:80 (www.example.test)');
    const dns = defined(all.find((r) => r.proto === 'dns'));
    expect(dns.serverName).toBeUndefined();
    expect(text(dns)).not.toContain('(www.example.test)');
  });
  it('endpoints split into address and port the way records write them', () => {
    expect([hostOf('10.0.2.20:81'), portOf('10.0.2.20:81')]).toEqual(['10.0.2.20', 81]);
    expect([hostOf('[fd00:2::20]:443'), portOf('[fd00:2::20]:443')]).toEqual(['fd00:2::20', 443]);
    // a ping's or ARP's ends have no port, an IPv6 one included
    expect([hostOf('fd00:1::99'), portOf('fd00:1::99')]).toEqual(['fd00:1::99', -1]);
    expect([hostOf('10.0.2.54'), portOf('10.0.2.54')]).toEqual(['10.0.2.54', -1]);
  });
  it('labels v4, bracketed and bare v6 address fields, and leaves commands in backticks alone', () => {
    const names = new DnsNames();
    const learn = (query: string, answers: string[]) => names.learn({ proto: 'dns', client: '10.0.0.1:5353', server: '10.0.0.53:53', query, rcode: 'NOERROR', answers, summary: '', evidence: [], check: '' } as unknown as FlowRecord);
    for (let i = 0; i < 20; i++) learn(`other${i}.test.`, [`A 10.9.0.${i}`]);
    learn('web.test.', ['A 10.1.2.5', 'AAAA fd00:1::5']);
    const r = {
      proto: 'tcp',
      client: '10.0.0.1:40000',
      server: '10.1.2.5:443',
      verdict: 'timeout',
      by: 'unknown',
      summary: '',
      evidence: [],
      check: '',
      facts: [
        { kind: 'server-side-only', frame: 3, server: '[fd00:1::5]:443', packets: 2 },
        { kind: 'attribution', reason: 'icmp-not-from-server', from: 'fd00:1::5' },
        { kind: 'attribution', reason: 'icmp-not-from-server', from: '10.1.2.50' },
      ],
      [STORY]: { kind: 'timeout', host: '10.1.2.5', port: 443, syns: 3 },
    } as unknown as FlowRecord;
    names.label(r);
    expect(r.serverName).toBe('web.test');
    expect(r.clientName).toBeUndefined();
    expect(r.summary).toBe('SYN to 10.1.2.5:443 (web.test) got no answer (3 SYNs)');
    expect(r.evidence).toEqual([
      'SYN-ACK #3 from [fd00:1::5]:443 (web.test) with no SYN before it, and nothing at all from the client (2 server packets)',
      'sent by fd00:1::5 (web.test), not by the server',
      'sent by 10.1.2.50, not by the server',
    ]);
    expect(r.check).toContain('dropping SYNs to 10.1.2.5:443 (web.test), or the host is down. Try `nc -zv 10.1.2.5 443` from the client and `traceroute -T -p 443 10.1.2.5`;');
  });
  it('vantage: near the clients on the client, near the servers on the server', async () => {
    expect((await analyzeFile(join(FIXTURES, 'names.pcap'))).input.vantage).toMatch(/^near the clients/);
    expect((await analyzeFile(join(FIXTURES, 'vantage-server.pcap'))).input.vantage).toMatch(/^near the servers/);
  });
});
