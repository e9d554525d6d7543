import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeFile, defined, FIXTURES, fixtureFiles, ROOT } from './helpers/run.js';
import type { FlowRecord } from '../src/verdict/types.js';
import { DnsNames } from '../src/verdict/names.js';
import { gatewayOf, STORY, type Fact } from '../src/verdict/facts.js';
import { FACT_KINDS, factText, Labels } from '../src/render/sentences.js';

// Evidence as data: every evidence line is a fact, the sentences are written from the facts (and
// only from what JSON output carries), and names from the capture's DNS go on address fields.

/** A record as JSON output has it: no symbol-keyed story, only what a report or HTML page would read. */
const asJson = (r: FlowRecord): FlowRecord => JSON.parse(JSON.stringify(r)) as FlowRecord;

describe('facts', () => {
  const files = fixtureFiles();

  it.each(files)('%s: one fact per evidence line, and the JSON facts write the same lines', async (file) => {
    const records = (await analyzeFile(join(FIXTURES, file))).records;
    expect(records.length).toBeGreaterThan(0);
    // replay the names the way the analyzer learns them: a record is written with the names of
    // the lookups before it
    const names = new DnsNames();
    for (const live of records) {
      const r = asJson(live);
      expect(r.facts, `record #${r.id}`).toBeDefined();
      expect(defined(r.facts).map((f) => f.kind)).toHaveLength(r.evidence.length);
      const L = new Labels(names.known);
      expect(
        defined(r.facts).map((f) => factText(f, L)),
        `record #${r.id} ${r.verdict}`,
      ).toEqual(r.evidence);
      names.learn(r);
    }
  });

  it('no address, name or MAC is baked into another field: the facts carry no names', async () => {
    const all = (await analyzeFile(join(FIXTURES, 'names.pcap'))).records;
    for (const r of all) expect(JSON.stringify(r.facts)).not.toContain('(www.example.test)');
    // the facts are plain data: a copy through JSON is the same
    for (const r of all) expect(asJson(r).facts).toEqual(r.facts);
  });

  it('every fact kind the renderer writes is in the JSON Schema, and no other', () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as { definitions: Record<string, { enum?: string[] }> };
    expect([...defined(schema.definitions.factKind.enum)].sort()).toEqual([...FACT_KINDS].sort());
  });

  it('gatewayOf gives what the "gateway …" evidence line names', async () => {
    let seen = 0;
    for (const file of ['icmp-port-unreachable-router.pcap', 'tcp-reset-by-router.pcap', 'names.pcap', 'tcp-timeout.pcap', 'dns.pcap']) {
      for (const r of (await analyzeFile(join(FIXTURES, file))).records) {
        const line = r.evidence.find((e) => e.startsWith('gateway '));
        expect(gatewayOf(r), `${file} #${r.id}`).toBe(line?.slice('gateway '.length));
        if (line !== undefined) seen++;
      }
    }
    expect(seen).toBeGreaterThan(0);
  });
});

describe('names label fields', () => {
  it('names.pcap: the refused connection as explain shows it, its name from the DNS answer on the server field', async () => {
    const all = (await analyzeFile(join(FIXTURES, 'names.pcap'))).records;
    const refused = defined(all.find((r) => r.verdict === 'refused'));
    const snapshot = readFileSync(join(ROOT, 'test', 'snapshots', 'explain-names.txt'), 'utf8');
    expect(snapshot).toContain(`  ${refused.summary}\n`);
    expect(snapshot).toContain(`  → ${refused.check}\n`);
    expect(refused.server).toBe('10.0.2.20:81');
    expect(refused.serverName).toBe('www.example.test');
    // the lookup that taught the name is written before it learns: its own answer is unnamed
    const dns = defined(all.find((r) => r.proto === 'dns' && r.answers?.includes('A 10.0.2.20')));
    const answers = defined(defined(dns.facts).find((f) => f.kind === 'dns-answers'));
    expect(factText(answers)).toBe(dns.evidence[defined(dns.facts).indexOf(answers)]);
    expect(dns.evidence.join('\n')).not.toContain('(www.example.test)');
  });

  it('text taken from packets (a DNS name, an SNI, an HTTP path, a certificate) is never labelled, though it looks like a known address', () => {
    const names = new DnsNames();
    names.learn({ proto: 'dns', query: 'web.test.', rcode: 'NOERROR', answers: ['A 10.1.2.5'] } as FlowRecord);
    const facts: Fact[] = [
      { kind: 'dns-query', frame: 1, query: '10.1.2.5.nip.io', qtype: 'A', id: 1, transport: 'udp', attempt: 1 },
      {
        kind: 'dns-answers',
        answers: [
          { type: 'CNAME', value: '10.1.2.5.example' },
          { type: 'A', value: '10.1.2.5' },
        ],
      },
      { kind: 'tls-client-hello', frame: 4, sni: '10.1.2.5', offered: ['TLS 1.2'] },
      { kind: 'tls-certificate', frame: 6, subject: 'CN=10.1.2.5', issuer: 'CN=ca 10.1.2.5', validFrom: '2026-01-01', validTo: '2027-01-01', names: ['10.1.2.5'], chain: 1 },
      { kind: 'http-request', frame: 8, method: 'GET', path: '/hosts/10.1.2.5' },
      { kind: 'http-response', frame: 9, status: 502, reason: 'Bad Gateway 10.1.2.5', server: 'proxy 10.1.2.5:80' },
      { kind: 'tunnel', tunnel: 'VXLAN VNI 10', between: ['10.1.2.5', '10.1.2.6'] },
    ];
    const r = {
      proto: 'tcp',
      client: '10.0.0.1:40000',
      server: '10.1.2.5:443',
      verdict: 'tls-aborted',
      by: 'server',
      summary: '',
      evidence: [],
      check: '',
      facts,
      [STORY]: { kind: 'tls-aborted', sni: '10.1.2.5', host: '10.1.2.5', port: 443 },
    } as unknown as FlowRecord;
    names.label(r);
    expect(r.evidence).toEqual([
      'query #1 10.1.2.5.nip.io A id 0x0001 over UDP',
      'answers: CNAME 10.1.2.5.example, A 10.1.2.5 (web.test)',
      'TLS ClientHello #4 for 10.1.2.5, offering TLS 1.2',
      'certificate #6: CN=10.1.2.5, issued by CN=ca 10.1.2.5, valid 2026-01-01 to 2027-01-01, names 10.1.2.5',
      'HTTP request #8: GET /hosts/10.1.2.5',
      'HTTP response #9: 502 Bad Gateway 10.1.2.5, Server: proxy 10.1.2.5:80',
      'carried in VXLAN VNI 10 between 10.1.2.5 (web.test) and 10.1.2.6',
    ]);
    // the server field is named; the SNI after "for" is not, nor anything in backticks
    expect(r.summary).toBe('10.1.2.5:443 (web.test) closed the connection after the ClientHello for 10.1.2.5, with no ServerHello and no alert');
    expect(r.check).toBe(
      "The TLS service did not answer the handshake: is it TLS on 10.1.2.5:443 (web.test) at all, does it have a certificate for 10.1.2.5 (SNI-based routing on a proxy or load balancer)? Try `openssl s_client -connect 10.1.2.5:443 -servername 10.1.2.5` and read the server's or proxy's TLS logs.",
    );
  });

  it('a record is written with the names known when it is labelled, not later ones', () => {
    const names = new DnsNames();
    const record = () =>
      ({
        proto: 'icmp',
        client: '10.0.0.1',
        server: '10.1.2.7',
        verdict: 'ping-no-reply',
        by: 'unknown',
        summary: '',
        evidence: [],
        check: '',
        facts: [{ kind: 'echo-no-reply', waitedNs: 2e9 }],
        [STORY]: { kind: 'ping-no-reply', target: '10.1.2.7', sent: 3 },
      }) as unknown as FlowRecord;
    const before = record();
    names.label(before);
    names.learn({ proto: 'dns', query: 'late.test', rcode: 'NOERROR', answers: ['A 10.1.2.7'] } as FlowRecord);
    const after = record();
    names.label(after);
    expect(before.summary).toBe('10.1.2.7 did not answer 3 echo requests');
    expect(after.summary).toBe('10.1.2.7 (late.test) did not answer 3 echo requests');
    expect(after.evidence).toEqual(['no reply and no ICMP error; the capture went on 2.00 s after the last request']);
  });

  it('names at most 65,536 addresses: past that, one already named still takes its latest name, a new one none', () => {
    const names = new DnsNames();
    const answer = (query: string, ...answers: string[]) => names.learn({ proto: 'dns', query, rcode: 'NOERROR', answers } as FlowRecord);
    for (let i = 0; i < 65536; i++) answer(`h${i}.test.`, `A 10.${i >> 8}.${i & 255}.1`);
    answer('renamed.test.', 'A 10.0.7.1', 'AAAA fd00::7', 'CNAME other.test.', 'A ');
    answer('v6.test.', 'AAAA fd00::8');
    expect([names.known.size, names.known.get('10.0.7.1'), names.known.get('fd00::7'), names.known.get('10.255.255.1')]).toEqual([65536, 'renamed.test', undefined, 'h65535.test']);
    const few = new DnsNames();
    few.learn({ proto: 'dns', query: 'v6.test.', rcode: 'NOERROR', answers: ['AAAA fd00::8', 'A 10.0.0.9', 'AAAA '] } as FlowRecord);
    expect([few.known.size, few.known.get('fd00::8'), few.known.get('10.0.0.9')]).toEqual([2, 'v6.test', 'v6.test']);
  });
});
