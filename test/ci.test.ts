import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type SchemaObject } from 'ajv';
import { cli, FIXTURES, fixtureFiles, jsonDoc, ndjsonLines, ROOT } from './helpers/run.js';
import { FlowFilter } from '../src/filter/filter.js';
import { parseExpectations } from '../src/ci/expect.js';
import { notAnalysedText } from '../src/ci/gate.js';
import { UsageError } from '../src/errors.js';
import type { FlowRecord } from '../src/verdict/types.js';

/**
 * CI gates on a real fixture pair: ci-run.pcap (one integration-test run: 80 ok, 81 refused,
 * 8080 closed-by-remote, DNS ok and NXDOMAIN) and ci-run-lost.pcap, the same capture with every
 * packet from 10.0.2.20:80 removed by `tshark -Y … -w` (fixtures/make-ci-captures.sh).
 */
const RUN = join(FIXTURES, 'ci-run.pcap');
const LOST = join(FIXTURES, 'ci-run-lost.pcap');
const tmp = mkdtempSync(join(tmpdir(), 'pcapdiag-ci-'));
const baseline = (capture: string, name: string) => {
  const r = cli(['-f', 'json', capture]);
  expect(r.code).toBe(0);
  const path = join(tmp, name);
  writeFileSync(path, r.stdout);
  return path;
};

describe('--fail-on', () => {
  it('passes when no flow has a listed verdict', () => {
    const r = cli([RUN, '--fail-on', 'timeout,dns-servfail']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--fail-on timeout,dns-servfail: no flow matched: pass');
  });
  it('fails with exit 1 naming each offending flow and its evidence', () => {
    const r = cli([LOST, '--fail-on', 'timeout,dns-servfail']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /--fail-on timeout,dns-servfail: 1 flow: FAIL\n\s+#\d+ timeout\s+TCP 10\.0\.1\.10:\d+ → 10\.0\.2\.20:80 \(www\.example\.test\) \[.*ci-run-lost\.pcap\]: SYN to 10\.0\.2\.20:80 \(www\.example\.test\) got no answer/,
    );
    expect(r.stdout).toMatch(/· no reply at all in/);
    expect(r.stderr).toBe('pcapdiag: failed: 1 flow with timeout,dns-servfail (--fail-on)\n');
  });
  it("'problem' means any verdict that is not ok/dns-ok", () => {
    const r = cli(['-f', 'json', RUN, '--fail-on', 'problem']);
    expect(r.code).toBe(1);
    const doc = jsonDoc(r.stdout);
    const failing = doc.checks?.failOn?.records ?? [];
    const hit = doc.records
      .filter((x) => failing.includes(x.id))
      .map((x) => x.verdict)
      .sort();
    expect(hit).toEqual(['closed-by-remote', 'dns-nxdomain', 'refused']);
  });
  it('fails when flows were only counted (--max-flows reached): no gate checked them', () => {
    const r = cli([RUN, '--max-flows', '1', '--fail-on', 'timeout']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('12 flows were counted, not analysed (--max-flows was reached): no gate checked them: FAIL');
    expect(r.stderr).toContain('pcapdiag: failed: 12 flows not analysed (--max-flows), so not checked\n');
    expect(jsonDoc(cli(['-f', 'json', RUN, '--max-flows', '1', '--fail-on', 'timeout']).stdout).checks).toMatchObject({ failed: true, notAnalysed: 12 });
    expect(cli(['-f', 'junit', RUN, '--max-flows', '1', '--fail-on', 'timeout']).stdout).toMatch(/<testcase classname="pcapdiag\.max-flows" name="every flow analysed">\s*<failure message="12 flows were counted/);
    expect(cli([RUN, '--max-flows', '100', '--fail-on', 'timeout']).code).toBe(0);
    // one wording in the text report and JUnit, singular for one
    expect(notAnalysedText(1)).toBe('1 flow was counted, not analysed (--max-flows was reached): no gate checked it');
    expect(cli(['-f', 'junit', RUN, '--max-flows', '1', '--fail-on', 'timeout']).stdout).toContain(`message="${notAnalysedText(12)}"`);
  });
  it('an unknown verdict is a usage error', () => {
    const r = cli([RUN, '--fail-on', 'refused,timout']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--fail-on: unknown verdict 'timout'/);
  });
});

describe('--baseline', () => {
  const good = baseline(RUN, 'good.json');
  const bad = baseline(LOST, 'bad.json');
  it('detects the regression: 10.0.2.20:80 ok → timeout, exit 1, human form', () => {
    const r = cli([LOST, '--baseline', good]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/--baseline .*good\.json: 1 regression, 0 fixed, 0 changed, 0 appeared, 0 vanished: FAIL/);
    expect(r.stdout).toContain('regression  tcp 10.0.1.10 → 10.0.2.20:80: ok → timeout');
    expect(r.stderr).toMatch(/failed: 1 regression against .*good\.json/);
  });
  it('JSON form of the diff', () => {
    const r = cli(['-f', 'json', LOST, '--baseline', good]);
    const d = jsonDoc(r.stdout).checks?.baseline;
    expect(d?.regressions).toEqual([{ service: 'tcp 10.0.1.10 → 10.0.2.20:80', before: 'ok', after: 'timeout', records: [expect.any(Number)] }]);
    expect(d?.fixed).toEqual([]);
  });
  it('detects the fix the other way round, and exits 0', () => {
    const r = cli(['-f', 'json', RUN, '--baseline', bad]);
    expect(r.code).toBe(0);
    const d = jsonDoc(r.stdout).checks?.baseline;
    expect(d?.fixed.map((x) => `${x.service}: ${x.before} → ${x.after}`)).toEqual(['tcp 10.0.1.10 → 10.0.2.20:80: timeout → ok']);
    expect(d?.regressions).toEqual([]);
  });
  it('the same capture against its own baseline: nothing changed, exit 0 (ephemeral ports ignored)', () => {
    const r = cli([RUN, '--baseline', good]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('0 regressions, 0 fixed, 0 changed, 0 appeared, 0 vanished: pass');
  });
  it('services that appear or vanish are listed; only a new problem counts as worse', () => {
    const r = cli([RUN, '--baseline', good, 'not port 8080']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('vanished    tcp 10.0.1.10 → 10.0.2.20:8080');
    const narrow = cli(['-f', 'json', RUN, 'port 80']);
    const nb = join(tmp, 'narrow.json');
    writeFileSync(nb, narrow.stdout);
    const wider = cli([LOST, '--baseline', nb]);
    expect(wider.code).toBe(1); // 80 regressed; 81 refused is a new service with a problem
    expect(wider.stdout).toContain('regression  tcp 10.0.1.10 → 10.0.2.20:81: absent → refused');
    expect(wider.stdout).toMatch(/appeared {4}dns 10\.0\.1\.10 → 10\.0\.2\.53:53 www\.example\.test\. A/);
  });
  it('an ndjson baseline works too; a file that is not pcapdiag output is refused with exit 3', () => {
    const nd = join(tmp, 'good.ndjson');
    writeFileSync(nd, cli(['-f', 'ndjson', RUN]).stdout);
    expect(cli([LOST, '--baseline', nd]).code).toBe(1);
    const junk = join(tmp, 'junk.json');
    writeFileSync(junk, '{"hello": 1}');
    const r = cli([RUN, '--baseline', junk]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^pcapdiag: baseline .* is not pcapdiag output/);
    // empty: what \`pcapdiag -f json bad.pcap > baseline.json\` leaves when the capture cannot be read
    const empty = join(tmp, 'empty.json');
    writeFileSync(empty, '\n');
    expect(cli([RUN, '--baseline', empty])).toMatchObject({ code: 3, stderr: expect.stringMatching(/^pcapdiag: baseline .* is not pcapdiag output \(it is empty\)/) as unknown });
  });
});

describe('--expect', () => {
  const rules = join(tmp, 'expect.txt');
  writeFileSync(
    rules,
    ['# the integration test needs these', 'tcp 10.0.2.20:80 ok', 'tcp *:81 refused   # must stay closed', 'dns www.example.test dns-ok', 'dns nope.example.test dns-nxdomain', 'tcp 10.0.2.20:8080 problem', ''].join('\n'),
  );
  it('all rules hold on the good run: exit 0', () => {
    const r = cli([RUN, '--expect', rules]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('5 of 5 rules hold: pass');
  });
  it('a broken rule names its line, what was expected and what came: exit 1', () => {
    const r = cli([LOST, '--expect', rules]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL  line 2: expected tcp 10.0.2.20:80 ok, got timeout in 1 of 1 flow');
    expect(r.stderr).toMatch(/failed: 1 expectation broken/);
  });
  it('a rule that matches no flow is broken', () => {
    const more = join(tmp, 'expect-pg.txt');
    writeFileSync(more, 'tcp *:5432 refused\n');
    const r = cli([RUN, '--expect', more]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('expected tcp *:5432 refused, but no such flow is in the capture');
  });
  it('a malformed rule is a usage error naming the line', () => {
    const badRules = join(tmp, 'expect-bad.txt');
    writeFileSync(badRules, 'tcp 10.0.2.20:80 ok\ntcp 10.0.2.20 ok\n');
    const r = cli([RUN, '--expect', badRules]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/expect-bad\.txt line 2: expected the server as host:port/);
    // no rule at all: a gate that always passes
    expect(() => parseExpectations('# to do\n\n', 'todo.txt')).toThrow(/todo\.txt: no rules in it/);
    // a scoped address is refused, not an internal error
    expect(() => parseExpectations('tcp [fe80::1%eth0]:443 ok', 'z.txt')).toThrow(/z\.txt line 1: 'fe80::1%eth0': a scoped IPv6 address/);
  });
  it('parses verdict alternatives, problem/healthy and IPv6 servers', () => {
    const [a, b] = parseExpectations('tcp [fd00:2::20]:80 ok|closed-by-remote\ndns *.example.test healthy\n', 'x');
    const rec = (o: Partial<FlowRecord>) => ({ proto: 'tcp', client: '[fd00:1::10]:4000', server: '[fd00:2::20]:80', verdict: 'ok', ...o }) as FlowRecord;
    expect(a.matches(rec({}))).toBe(true);
    expect(a.matches(rec({ server: '[fd00:2::21]:80' }))).toBe(false);
    expect(a.allowed('closed-by-remote')).toBe(true);
    expect(a.allowed('refused')).toBe(false);
    expect(b.matches(rec({ proto: 'dns', query: 'www.example.test.' }))).toBe(true);
    expect(b.matches(rec({ proto: 'dns', query: 'example.test.' }))).toBe(false);
    expect(() => parseExpectations('tcp 10.0.2.20:80 okay', 'x')).toThrow(UsageError);
    // an address and port however written: upper case, zeros not compressed, a leading zero
    for (const rule of ['tcp [FD00:0002::20]:80 ok', 'tcp [fd00:2:0:0:0:0:0:20]:080 ok', 'tcp 10.0.2.20:0080 ok']) {
      const [r] = parseExpectations(rule, 'x');
      const server = rule.includes('10.0.2.20') ? '10.0.2.20:80' : '[fd00:2::20]:80';
      expect(r.matches(rec({ server })), rule).toBe(true);
      expect(r.matches(rec({ server: server.replace('20]', '21]').replace('.20:', '.21:') })), rule).toBe(false);
      expect(r.matches(rec({ server: server.replace(':80', ':8080') })), rule).toBe(false);
    }
  });
});

describe('several captures', () => {
  it('labels every record with its file, with per-file summaries and a total', () => {
    const r = cli(['-f', 'json', RUN, LOST]);
    expect(r.code).toBe(0);
    const doc = jsonDoc(r.stdout);
    expect(doc.files.map((f) => f.input.name)).toEqual([RUN, LOST]);
    expect(new Set(doc.records.map((x) => x.file))).toEqual(new Set([RUN, LOST]));
    expect(doc.records.map((x) => x.id)).toEqual(doc.records.map((_, i) => i + 1)); // numbered on across files
    expect(doc.summary.verdicts.ok).toBe(1);
    expect(doc.summary.verdicts.timeout).toBe(1);
    expect(doc.summary.verdicts.refused).toBe(2);
  });
  it('a directory is searched for captures (by content, in name order); ndjson ends with a total line', () => {
    const dir = join(tmp, 'captures');
    mkdirSync(join(dir, 'b'), { recursive: true });
    copyFileSync(RUN, join(dir, 'one.pcap'));
    copyFileSync(LOST, join(dir, 'b', 'two.cap'));
    writeFileSync(join(dir, 'README.txt'), 'not a capture');
    const r = cli(['-f', 'ndjson', dir]);
    expect(r.code).toBe(0);
    const lines = ndjsonLines(r.stdout);
    expect(lines.filter((l) => l.type === 'summary').map((l) => l.input?.name)).toEqual([join(dir, 'b', 'two.cap'), join(dir, 'one.pcap')]);
    expect(lines.at(-1)).toMatchObject({ type: 'total', files: 2 });
  });
  it('one unreadable capture among several: its error, the others analysed, exit 3', () => {
    const r = cli(['-f', 'ndjson', RUN, join(tmp, 'missing.pcap')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot open');
    expect(r.stdout).toContain('"type":"summary"');
  });
});

describe('tcpdump-style filters', () => {
  const verdicts = (args: string[]) => {
    const r = cli(['-f', 'json', RUN, ...args]);
    expect(r.code, r.stderr).toBe(0);
    return jsonDoc(r.stdout)
      .records.map((x) => `${x.server} ${x.verdict}`)
      .sort();
  };
  it('host / port / and / or / not / parentheses, as one argument or several words', () => {
    expect(verdicts(['port 81'])).toEqual(['10.0.2.20:81 refused']);
    expect(verdicts(['host', '10.0.2.53', 'and', 'udp'])).toHaveLength(3);
    expect(verdicts(['tcp and not (port 80 or port 8080)'])).toEqual(['10.0.2.20:81 refused']);
    expect(verdicts(['dst port 81 or src port 8080'])).toEqual(['10.0.2.20:8080 closed-by-remote', '10.0.2.20:81 refused']);
    expect(verdicts(['net 10.0.2.0/24 and portrange 80-81'])).toEqual(['10.0.2.20:80 ok', '10.0.2.20:81 refused']);
  });
  it('applies to whole flows: src host of the server selects its connections both ways', () => {
    expect(verdicts(['src host 10.0.2.20'])).toHaveLength(3);
    expect(verdicts(['src host 10.0.1.10 and dst host 10.0.2.20'])).toHaveLength(3);
  });
  it('counts in the summary follow the filter', () => {
    const doc = jsonDoc(cli(['-f', 'json', RUN, 'port 81']).stdout);
    expect(doc.filter).toBe('port 81');
    expect(doc.summary).toMatchObject({ tcpConnections: 1, tcpConversations: 1, dnsTransactions: 0, problems: 1 });
  });
  it('a filter that does not parse: exit 2, pointing at the offending word', () => {
    const r = cli([RUN, 'host 10.0.2.20 and prot 80']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/filter 'host 10\.0\.2\.20 and prot 80': unknown word; .* at 'prot' \(word 4\)/);
    expect(cli([RUN, 'port 99999']).stderr).toMatch(/expected a port number 0-65535 at '99999' \(word 2\)/);
    expect(cli([RUN, '(port 80']).stderr).toMatch(/expected '\)' at the end/);
    expect(cli([RUN, 'host example.com']).stderr).toMatch(/names are not resolved/);
  });
  it('FlowFilter on IPv6 records', () => {
    const r = { proto: 'tcp', client: '[fd00:1::10]:40000', server: '[fd00:2::20]:443', verdict: 'ok' } as FlowRecord;
    expect(FlowFilter.parse('ip6 and net fd00:2::/64 and port 443').matches(r)).toBe(true);
    expect(FlowFilter.parse('ip').matches(r)).toBe(false);
    expect(FlowFilter.parse('host fd00:2::20').matches(r)).toBe(true);
  });
});

describe('--format junit', () => {
  it('one testcase per service; failures for problems when no gate is given', () => {
    const r = cli(['-f', 'junit', RUN]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites/);
    const cases = [...r.stdout.matchAll(/<testcase classname="([^"]+)" name="([^"]+)"/g)].map((m) => m[2]);
    expect(cases).toEqual(['dns 10.0.1.10 → 10.0.2.53:53 nope.example.test. A', 'dns 10.0.1.10 → 10.0.2.53:53 www.example.test. A', 'tcp 10.0.1.10 → 10.0.2.20:80', 'tcp 10.0.1.10 → 10.0.2.20:8080', 'tcp 10.0.1.10 → 10.0.2.20:81']);
    expect(r.stdout.match(/<failure /g)).toHaveLength(3);
  });
  it('with gates, failures are regressions, fail-on hits and broken expectations', () => {
    const rules = join(tmp, 'junit-expect.txt');
    writeFileSync(rules, 'tcp 10.0.2.20:80 ok\ntcp *:5432 refused\n');
    const r = cli(['-f', 'junit', LOST, '--baseline', baseline(RUN, 'j.json'), '--expect', rules]);
    expect(r.code).toBe(1);
    expect(r.stdout.match(/<failure /g)).toHaveLength(3); // service :80, and the two expectation testcases
    expect(r.stdout).toContain('regression against the baseline: ok → timeout');
    expect(r.stdout).toContain('name="line 2: tcp *:5432 refused"');
  });
});

describe('output is deterministic and valid against the JSON Schemas in schema/', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const report = JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as SchemaObject & { $id: string };
  ajv.addSchema(report);
  const validateReport = ajv.getSchema(report.$id);
  if (validateReport === undefined) throw new Error(`${report.$id} not registered`);
  const validateLine = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'ndjson-line.schema.json'), 'utf8')) as SchemaObject);
  const rules = join(tmp, 'schema-expect.txt');
  writeFileSync(rules, 'tcp 10.0.2.20:80 ok\n');
  const gated = [LOST, '--fail-on', 'problem', '--baseline', baseline(RUN, 's.json'), '--expect', rules];
  const capped = [RUN, '--max-flows', '1', '--fail-on', 'problem'];
  const notACapture = join(tmp, 'schema-not-a-capture.pcap');
  writeFileSync(notACapture, 'abc');
  // one test per run: all of them in one test took 29-54 s here, and more than a minute on a busier machine
  const runs: [string, string[]][] = [
    ...fixtureFiles().map((f): [string, string[]] => [f, [join(FIXTURES, f)]]),
    ['several captures', [RUN, LOST]],
    ['several captures, filtered', [RUN, LOST, 'tcp']],
    ['with all gates', gated],
    ['with --max-flows and a gate', capped],
    ['several captures, one not a capture', [RUN, notACapture, LOST]],
  ];
  it.each(runs)('json: %s, the same twice', (_, args) => {
    const r = cli(['-f', 'json', ...args]);
    const doc: unknown = JSON.parse(r.stdout);
    expect(validateReport(doc), `${args.join(' ')}: ${JSON.stringify(validateReport.errors)}`).toBe(true);
    expect(cli(['-f', 'json', ...args]).stdout).toBe(r.stdout);
  });
  it.each(runs)('ndjson: %s, every line', (_, args) => {
    const r = cli(['-f', 'ndjson', ...args]);
    for (const line of r.stdout.trim().split('\n')) expect(validateLine(JSON.parse(line)), `${line.slice(0, 80)}: ${JSON.stringify(validateLine.errors)}`).toBe(true);
  });
  it('the schema rejects what it should (it can fail)', () => {
    const doc = jsonDoc(cli(['-f', 'json', RUN]).stdout);
    (doc.records[0] as { verdict: string }).verdict = 'maybe';
    expect(validateReport(doc)).toBe(false);
    expect(validateLine({ type: 'flow', id: 1 })).toBe(false);
  });
});
