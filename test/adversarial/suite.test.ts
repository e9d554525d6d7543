/**
 * The standing adversarial suite (issue 22): small crafted inputs for every class of hostile input
 * tried, each run through the built CLI with its expected exit code, stderr line and output
 * checks (harness.ts adds the checks every run must pass). A case that names a defect failed
 * before its fix.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFixture } from '../helpers/run.js';
import { judge, run, type Case } from './harness.js';
import { dnsQuery, dnsShort } from './dns-msg.js';
import { tlsCertFlood } from './certs.js';
import { dnsTcpGap, dnsUdp, hostileCert, hostileHttp, multiGzip, Ng, pcap, refused, synFloodNg } from './inputs.js';

const ndjson = (s: string) =>
  s
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const flows = (s: string) => ndjson(s).filter((l) => l.type === 'flow');
const summaries = (s: string) => ndjson(s).filter((l) => l.type === 'summary');

const ng = new Ng();
/** A pcapng with one good EPB, then `bad`, then another good EPB, `bad` ending at byte `endAt` when given. */
function ngWith(bad: Buffer, endAt?: number): Buffer {
  const frame = readFixture('tcp-refused.pcap').subarray(24 + 16, 24 + 16 + 54);
  const head = Buffer.concat([ng.shb(), ng.idb(1), ng.epb(0, 1_000_000n, frame)]);
  const fill = endAt === undefined ? 64 : endAt - head.length - bad.length;
  return Buffer.concat([head, ng.block(0xbad, Buffer.alloc(fill - 12)), bad, ng.epb(0, 2_000_000n, frame)]);
}
/** A block of `len` bytes (both lengths agree) of `type`, body zero. */
function shortBlock(type: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(len, 4);
  b.writeUInt32LE(len, len - 4);
  return b;
}

export const CASES: Record<string, Case[]> = {
  'capture damage (pcapng lengths at the extremes)': [
    {
      name: 'a 12-byte EPB ending exactly at the reader’s 1 MiB buffer edge is skipped with bad_block_length',
      files: { 'edge.pcapng': ngWith(shortBlock(6, 12), 1 << 20) },
      args: (d) => ['-f', 'ndjson', join(d, 'edge.pcapng')],
      code: 0,
      stderr: /warning: .*EPB at byte \d+: length 12 is under the 32 bytes/,
      check: (r) => expect(summaries(r.stdout)[0]).toMatchObject({ input: { packets: 2 } }),
    },
    {
      name: '12-byte SPBs never give a negative captured length',
      files: { 'spb.pcapng': Buffer.concat([ng.shb(), ng.idb(1), shortBlock(3, 12), shortBlock(3, 12), shortBlock(3, 12)]) },
      args: (d) => ['-f', 'json', join(d, 'spb.pcapng')],
      code: 0,
      stderr: /SPB at byte \d+: length 12 is under the 16 bytes/,
    },
  ],
  'compressed input': [
    {
      name: 'a multi-member gzip (cat a.gz b.gz) is one capture, not a damaged one',
      files: { 'm.pcap.gz': multiGzip(readFixture('tcp-refused.pcap'), 3) },
      args: (d) => ['-f', 'ndjson', join(d, 'm.pcap.gz')],
      code: 0,
      stderr: null,
      check: (r) => {
        expect(flows(r.stdout).map((f) => f.verdict)).toEqual(['refused']);
        expect(summaries(r.stdout)[0].anomalies).toEqual([]);
      },
    },
    {
      name: 'a multi-member gzip whose last member is cut short is damaged',
      files: { 'm.pcap.gz': multiGzip(readFixture('tcp-refused.pcap'), 3).subarray(0, -6) },
      args: (d) => ['-f', 'ndjson', join(d, 'm.pcap.gz')],
      code: 0,
      stderr: /damaged capture: the compressed stream ends early/,
    },
  ],
  'DNS that cannot be read': [
    {
      name: 'a malformed DNS message is an anomaly and a warning, not silence',
      files: { 'd.pcap': pcap([{ sec: 1, frac: 0, data: dnsUdp(dnsShort(7)) }]) },
      args: (d) => ['-f', 'ndjson', join(d, 'd.pcap')],
      code: 0,
      stderr: /warning: 1 DNS message too short or malformed to read, not counted as lookups \(first: frame 1, 13 bytes over UDP\)/,
      check: (r) => expect(summaries(r.stdout)[0].anomalies).toEqual([{ code: 'dns_malformed', count: 1, first: 'frame 1, 13 bytes over UDP' }]),
    },
    {
      name: 'DNS over TCP after a gap: that direction stops, no message is made up from mid-message bytes',
      files: { 'g.pcap': dnsTcpGap() },
      args: (d) => ['-f', 'ndjson', join(d, 'g.pcap')],
      code: 0,
      stderr: /DNS-over-TCP stream with bytes missing from the capture: the rest of each was not read/,
      check: (r) => {
        const names = flows(r.stdout)
          .filter((f) => f.proto === 'dns')
          .map((f) => f.query);
        expect(names).toEqual(['real.example.']);
        expect(summaries(r.stdout)[0].anomalies).toMatchObject([{ code: 'dns_tcp_gap', count: 1 }]);
      },
    },
  ],
  'directories and several captures': [
    {
      name: 'a directory with links to itself (l1, l2, l3 -> .) is walked once',
      files: { 'd/a.pcap': refused(), 'd/l1': { symlink: '.' }, 'd/l2': { symlink: '.' }, 'd/l3': { symlink: '.' } },
      args: (d) => ['-f', 'ndjson', join(d, 'd')],
      code: 0,
      stderr: null,
      timeoutMs: 20_000,
      check: (r) => expect(flows(r.stdout)).toHaveLength(1),
    },
    {
      name: 'loop -> . beside one capture: analysed once',
      files: { 'd/a.pcap': refused(), 'd/loop': { symlink: '.' } },
      args: (d) => ['-f', 'ndjson', join(d, 'd')],
      code: 0,
      stderr: null,
      check: (r) => expect(summaries(r.stdout)).toHaveLength(1),
    },
    {
      name: 'ok.pcap and an empty directory: ok.pcap is analysed, the directory named, exit 3',
      files: { 'ok.pcap': refused(), 'empty/.keep': 'not a capture' },
      args: (d) => ['-f', 'ndjson', join(d, 'ok.pcap'), join(d, 'empty')],
      code: 3,
      stderr: /^pcapdiag: no captures in .*empty$/,
      check: (r) => expect(flows(r.stdout).map((f) => f.verdict)).toEqual(['refused']),
    },
    {
      name: 'an empty directory alone: exit 3, one line',
      files: { 'empty/.keep': 'x' },
      args: (d) => ['-f', 'json', join(d, 'empty')],
      code: 3,
      stderr: /^pcapdiag: no captures in /,
      check: (r) => expect(r.stdout).toBe(''),
    },
    ...[
      ['3 bytes', Buffer.from('abc'), /: not a capture file: only 3 bytes/],
      ['empty', Buffer.alloc(0), /: empty input/],
      ['a bad version', Buffer.concat([refused().subarray(0, 4), Buffer.from([9, 0, 9, 0]), refused().subarray(8)]), /: unsupported pcap version 9\.9/],
    ].flatMap(([what, bytes, line]) =>
      ['ndjson', 'json', 'text', 'junit'].map((fmt): Case => ({
        name: `ok.pcap then a capture that is ${String(what)}, -f ${fmt}: the error names the file, ok.pcap's verdict is printed`,
        files: { 'ok.pcap': refused(), 'n.pcap': bytes as Buffer },
        args: (d) => ['-f', fmt, join(d, 'ok.pcap'), join(d, 'n.pcap')],
        code: 3,
        stderr: new RegExp(`^pcapdiag: .*n\\.pcap${(line as RegExp).source}`),
        check: (r) => expect(r.stdout).toContain('refused'),
      })),
    ),
    {
      name: 'only unreadable captures, -f json: still a valid document, exit 3',
      files: { 'a.pcap': 'abc', 'b.pcap': '' },
      args: (d) => ['-f', 'json', join(d, 'a.pcap'), join(d, 'b.pcap')],
      code: 3,
      stderr: /a\.pcap: not a capture file/,
      check: (r) => expect(JSON.parse(r.stdout)).toMatchObject({ files: [], records: [] }),
    },
    {
      name: 'a directory member that fails with EIO on read is named, its neighbour analysed',
      files: { 'd/a.pcap': refused(), 'd/mem': { symlink: '/proc/self/mem' } },
      args: (d) => ['-f', 'ndjson', join(d, 'd')],
      code: 3,
      stderr: /cannot read .*mem: I\/O error/,
      check: (r) => expect(flows(r.stdout)).toHaveLength(1),
    },
  ],
  'pathological filters': [
    {
      name: 'a filter nested 4,000 parentheses deep: exit 2, one short line',
      files: { 'ok.pcap': refused() },
      args: (d) => [join(d, 'ok.pcap'), '('.repeat(4000) + 'tcp' + ')'.repeat(4000)],
      code: 2,
      stderr: /^pcapdiag: filter '\(+… \(8003 characters\)': nested more than 256 deep/,
      check: (r) => expect(r.stderr.length).toBeLessThan(400),
    },
    {
      name: 'a chain of 30,000 nots: exit 2',
      files: { 'ok.pcap': refused() },
      args: (d) => [join(d, 'ok.pcap'), 'not '.repeat(30_000) + 'tcp'],
      code: 2,
      stderr: /nested more than 256 deep/,
    },
    {
      name: 'a 20,000-term or chain given as separate words is evaluated without overflowing the stack',
      files: { 'ok.pcap': refused() },
      args: (d) => ['-f', 'ndjson', join(d, 'ok.pcap'), ...Array.from({ length: 20_000 }, (_, i) => (i === 0 ? ['port', '1'] : ['or', 'port', String(i + 1)])).flat(), 'or', 'tcp'],
      code: 0,
      stderr: null,
      check: (r) => expect(flows(r.stdout)).toHaveLength(1),
    },
    {
      name: '255 nested nots and parentheses are still a filter',
      files: { 'ok.pcap': refused() },
      args: (d) => ['-f', 'ndjson', join(d, 'ok.pcap'), 'not '.repeat(128) + '( '.repeat(127) + 'tcp' + ' )'.repeat(127)],
      code: 0,
      stderr: null,
      check: (r) => expect(flows(r.stdout)).toHaveLength(1),
    },
  ],
  'hostile option values': [
    ...(
      [
        ['--syn-timeout', '9'.repeat(400), /--syn-timeout: '9{30}… \(400 characters\)' is longer than 30 days/],
        ['--tcp-idle', '43201m', /--tcp-idle: '43201m' is longer than 30 days/],
        ['--max-flows', '9'.repeat(400), /--max-flows: '9{30}… \(400 characters\)' is more than 100,000,000/],
        ['--limit', '9'.repeat(400), /--limit: .* is more than/],
        ['--dns-timeout', '-1', /--dns-timeout: '-1' is not a duration/],
        ['--syn-timeout', 'NaN', /is not a duration/],
        ['--syn-timeout', 'Infinity', /is not a duration/],
      ] as const
    ).map(([flag, value, line]): Case => ({
      name: `${flag} ${value.length > 20 ? `of ${value.length} digits` : value}: exit 2`,
      files: { 'ok.pcap': refused() },
      args: (d) => ['-f', 'json', flag, value, join(d, 'ok.pcap')],
      code: 2,
      stderr: line,
      check: (r) => expect(r.stdout).toBe(''),
    })),
  ],
  'invalid --baseline and --expect files': [
    ...(
      [
        ['records that are null', '{"schema":2,"records":[null]}', /is not pcapdiag output \(a record that is not an object\)/],
        ['a query that is an object', '{"schema":2,"records":[{"proto":"dns","client":"a","server":"b","verdict":"dns-ok","query":{"toString":1}}]}', /is not pcapdiag output \(a record whose query is not a string\)/],
        ['records that are arrays', '{"schema":2,"records":[[1]]}', /is not pcapdiag output/],
        ['ndjson of numbers', '1\n2\n', /is not pcapdiag output/],
      ] as const
    ).map(([what, text, line]): Case => ({
      name: `a baseline with ${what}: exit 3 "not pcapdiag output"`,
      files: { 'ok.pcap': refused(), 'b.json': text },
      args: (d) => ['-f', 'json', join(d, 'ok.pcap'), '--baseline', join(d, 'b.json')],
      code: 3,
      stderr: line,
    })),
    ...['--baseline', '--expect'].flatMap((flag): Case[] => [
      {
        name: `${flag} /dev/zero is refused at once`,
        files: { 'ok.pcap': refused() },
        args: (d) => [join(d, 'ok.pcap'), flag, '/dev/zero'],
        code: 3,
        stderr: /cannot read (baseline|expectations) \/dev\/zero: not a regular file/,
        timeoutMs: 10_000,
        check: (r) => expect(r.ms).toBeLessThan(5000),
      },
      {
        name: `${flag} naming a directory is refused`,
        files: { 'ok.pcap': refused(), 'dir/x': 'x' },
        args: (d) => [join(d, 'ok.pcap'), flag, join(d, 'dir')],
        code: 3,
        stderr: /not a regular file/,
      },
    ]),
    {
      name: 'an --expect file over 1 MiB is refused before it is parsed',
      files: { 'ok.pcap': refused(), 'big.txt': 'tcp 10.0.2.20:80 refused\n'.repeat(50_000) },
      args: (d) => [join(d, 'ok.pcap'), '--expect', join(d, 'big.txt')],
      code: 3,
      stderr: /expectations .*big\.txt is larger than 1,048,576 bytes/,
    },
    {
      name: 'an --expect file of 10,001 rules is refused',
      files: { 'ok.pcap': refused(), 'many.txt': 'tcp 10.0.2.20:80 refused\n'.repeat(10_001) },
      args: (d) => [join(d, 'ok.pcap'), '--expect', join(d, 'many.txt')],
      code: 2,
      stderr: /many\.txt line 10001: more than 10,000 rules/,
    },
    {
      name: 'pathological --expect globs and names',
      files: { 'ok.pcap': refused(), 'e.txt': `dns *.${'a.'.repeat(2000)}x dns-ok\ndns * dns-ok\ntcp *:* refused\n` },
      args: (d) => ['-f', 'junit', join(d, 'ok.pcap'), '--expect', join(d, 'e.txt')],
      code: 1,
      stderr: /expect/,
    },
  ],
  'escaping: packet and file-name text': [
    ...['text', 'json', 'ndjson', 'junit'].map((fmt): Case => ({
      name: `C0, DEL, C1, bidi and zero-width characters and ]]> from HTTP and a file name, -f ${fmt}`,
      files: { '\x1b]0;title\x07\u202eevil.pcap': hostileHttp(readFixture('http-errors.pcap')) },
      args: (d) => ['-f', fmt, join(d, '\x1b]0;title\x07\u202eevil.pcap')],
      code: 0,
      stderr: null,
      check: (r) => {
        // HTTP text is read as Latin-1: the UTF-8 bytes of U+009B are Â and the C1 CSI
        if (fmt === 'text') expect(r.stdout).toContain('GET /Â\\x9b]]>');
        if (fmt === 'text') expect(r.stdout).toContain('\\x1b]0;title\\x07\\u202eevil.pcap');
        if (fmt === 'json') expect((JSON.parse(r.stdout) as { records: { summary: string }[] }).records.map((x) => x.summary).join()).toContain('GET /\u00c2\u009b]]>');
        if (fmt === 'json' || fmt === 'ndjson') expect(r.stdout).toContain('GET /Â\\u009b]]>');
        if (fmt === 'ndjson') expect(r.stdout).toContain('Server: \\u001b]0;pwn\\u0007zzzz');
        if (fmt === 'junit') expect(r.stdout).toContain(']]\\x3e');
      },
    })),
    {
      name: 'a file name with ESC and BEL is escaped in stderr warnings (several captures)',
      files: { 'a\x1b[31m\x07.pcap': refused(), 'b.pcap': refused(443) },
      args: (d) => [join(d, 'a\x1b[31m\x07.pcap'), join(d, 'b.pcap'), '-f', 'ndjson'],
      code: 0,
      stderr: /^pcapdiag: warning: .*a\\x1b\[31m\\x07\.pcap: /,
    },
    {
      name: 'explain prints the hostile path escaped',
      files: { 'h.pcap': hostileHttp(readFixture('http-errors.pcap')) },
      args: (d) => ['explain', join(d, 'h.pcap'), '2'],
      code: 0,
      stderr: null,
      check: (r) => expect(r.stdout).toContain('GET /Â\\x9b]]>'),
    },
    ...['text', 'ndjson', 'explain'].map((fmt): Case => ({
      name: `a certificate CN with U+202E (RLO) and U+200B, ${fmt}`,
      files: { 'c.pcap': hostileCert(readFixture('tls-self-signed.pcap')) },
      args: (d) => (fmt === 'explain' ? ['explain', join(d, 'c.pcap'), '1'] : ['-f', fmt, join(d, 'c.pcap')]),
      code: 0,
      stderr: null,
      check: (r) => expect(r.stdout).toContain('\\u202e\\u200bx.examplea'),
    })),
  ],
  'timestamps out of range': [
    ...(
      [
        ['past year 9999 (2^62 s at if_tsresol 1 s)', synFloodNg(3, { tsresol: 0 }, 1n << 62n, 1n)],
        ['before year 0000 (if_tsoffset -2^40 s)', synFloodNg(3, { tsoffset: -(2 ** 40) })],
        ['a negative if_tsoffset (1969)', synFloodNg(3, { tsoffset: -1_700_000_100 })],
      ] as const
    ).map(([what, bytes]): Case => ({
      name: `a packet time ${what}: valid start strings, an anomaly`,
      files: { 't.pcapng': bytes },
      args: (d) => ['-f', 'ndjson', join(d, 't.pcapng')],
      code: 0,
      stderr: null,
      check: (r) => {
        for (const f of flows(r.stdout)) expect(f.start).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
        expect(flows(r.stdout)).toHaveLength(3);
        if (!what.includes('1969')) expect(summaries(r.stdout)[0].anomalies).toMatchObject([{ code: 'timestamp_out_of_range', count: 2 }]);
      },
    })),
    {
      name: 'an interface with if_tsoffset 2^60 s after one at 2023: 20,000 SYNs swept in seconds, not minutes',
      files: { 'o.pcapng': synFloodNg(20_000, { tsoffset: 2 ** 60 }) },
      args: (d) => ['-f', 'ndjson', join(d, 'o.pcapng')],
      code: 0,
      stderr: null,
      timeoutMs: 60_000,
      check: (r) => {
        expect(flows(r.stdout)).toHaveLength(20_000);
        expect(summaries(r.stdout)[0].anomalies).toMatchObject([{ code: 'timestamp_out_of_range', count: 19_999 }]);
      },
    },
  ],
  'algorithmic blow-ups': [
    {
      name: '20,000 identical DNS queries (same port and id), then 20,000 responses: 64 tracked, the rest named',
      files: {
        'd.pcap': pcap([
          ...Array.from({ length: 20_000 }, (_, i) => ({ sec: 1, frac: i, data: dnsUdp(dnsQuery(7, 'same.example')) })),
          ...Array.from({ length: 20_000 }, (_, i) => ({ sec: 2, frac: i, data: dnsUdp(dnsQuery(7, 'same.example', true), 'r') })),
        ]),
      },
      args: (d) => ['-f', 'ndjson', join(d, 'd.pcap')],
      code: 0,
      stderr: null,
      timeoutMs: 60_000,
      check: (r) => {
        expect(flows(r.stdout)).toHaveLength(64);
        expect(summaries(r.stdout)[0].anomalies).toMatchObject([{ code: 'dns_identical_queries', count: 19_936 }]);
      },
    },
  ],
  'certificates with absurd keys': [
    {
      name: '200 TLS connections, each with its own "self-signed" certificate with a 3,070-bit RSA exponent: none checked, each named',
      files: { 'c.pcap': tlsCertFlood(200) },
      args: (d) => ['-f', 'ndjson', join(d, 'c.pcap')],
      code: 0,
      stderr: /warning: 200 certificates naming themselves as issuer not checked for a valid self-signature, so not called self-signed \(first: frame 5: an RSA public exponent of 3070 bits/,
      check: (r) => {
        expect(flows(r.stdout)).toHaveLength(200);
        expect(summaries(r.stdout)[0].anomalies).toMatchObject([{ code: 'tls_certificate_unchecked', count: 200, first: 'frame 5: an RSA public exponent of 3070 bits (over 64); whether it is self-signed was not checked' }]);
      },
    },
  ],
  'stdin and FIFOs': [
    {
      name: 'explain reads standard input once and keeps it for the second read (held: no second open)',
      stdin: refused(),
      args: () => ['explain', '-', '1'],
      code: 0,
      stderr: null,
      timeoutMs: 20_000,
      check: (r) => expect(r.stdout).toContain('SYN'),
    },
    {
      name: 'standard input that closes after 3 bytes: exit 3, one line',
      stdin: Buffer.from('abc'),
      args: () => ['-f', 'json', '-'],
      code: 3,
      stderr: /not a capture file: only 3 bytes/,
    },
  ],
};

const asNobody: Case = {
  name: 'an unreadable member (mode 000, not root) is named, not skipped silently',
  files: { 'd/a.pcap': refused(), 'd/b.pcap': { data: refused(443), mode: 0o000 } },
  args: (d) => ['-f', 'ndjson', join(d, 'd')],
  asNobody: true,
  code: 3,
  stderr: /cannot open .*b\.pcap: permission denied/,
  check: (r) => expect(flows(r.stdout)).toHaveLength(1),
};

const canDropToNobody = process.getuid?.() === 0;

for (const [cls, cases] of Object.entries(CASES)) {
  describe(cls, () => {
    for (const c of cases) it(c.name, () => judge(c, run(c)), (c.timeoutMs ?? 60_000) + 10_000);
  });
}

describe('permissions', () => {
  if (!canDropToNobody) console.log('adversarial: skipped "unreadable member (mode 000)": it needs root to run pcapdiag as nobody through setpriv');
  it.skipIf(!canDropToNobody)(asNobody.name, () => judge(asNobody, run(asNobody)));
});
