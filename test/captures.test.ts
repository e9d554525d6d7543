import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, cli, defined, FIXTURES, hasCommand } from './helpers/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'pcapdiag-captures-'));

describe('several captures, one of them unreadable', () => {
  const bad: [string, Buffer][] = [
    ['three bytes', Buffer.from('abc')],
    ['empty', Buffer.alloc(0)],
    ['a bad pcap version', Buffer.from('d4c3b2a10900040000000000000000000000040001000000', 'hex')],
  ];
  for (const [what, bytes] of bad) {
    it(`${what}: the others' verdicts are written, the bad one is named, exit 3`, () => {
      const file = join(tmp, `${what.replace(/ /g, '-')}.pcap`);
      writeFileSync(file, bytes);
      for (const order of [
        [join(FIXTURES, 'tcp-ok.pcap'), file],
        [file, join(FIXTURES, 'tcp-ok.pcap')],
      ]) {
        const r = cli(['-f', 'ndjson', ...order]);
        expect(r.code).toBe(3);
        const lines = r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { type: string; verdict?: string });
        expect(lines.filter((l) => l.type === 'flow').map((l) => l.verdict)).toEqual(['ok']);
        expect(lines.at(-1)?.type).toBe('total');
        expect(r.stderr).toContain(`pcapdiag: ${file}: `);
      }
    });
  }
});

describe('a capture that could not be read is in every output, not only on stderr', () => {
  const bad = join(tmp, 'not-a-capture.pcap');
  writeFileSync(bad, Buffer.from('abc'));
  const missing = join(tmp, 'no-such.pcap');
  const args = [join(FIXTURES, 'tcp-ok.pcap'), bad, missing];
  const why = (file: string): unknown => expect.stringMatching(new RegExp(`^(cannot open )?${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));

  it('json: an `unreadable` list in the order given, each with its input and the stderr line', () => {
    const r = cli(['-f', 'json', ...args]);
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout) as { files: unknown[]; unreadable?: { input?: string; error: string }[] };
    expect(doc.files).toHaveLength(1);
    expect(doc.unreadable).toEqual([
      { input: bad, error: why(bad) },
      { input: missing, error: why(missing) },
    ]);
    for (const u of doc.unreadable ?? []) expect(r.stderr).toContain(`pcapdiag: ${u.error}\n`);
    // every capture read: no such list
    expect(JSON.parse(cli(['-f', 'json', join(FIXTURES, 'tcp-ok.pcap'), join(FIXTURES, 'dns.pcap')]).stdout)).not.toHaveProperty('unreadable');
  });

  it('ndjson: an `unreadable` line for each, before the total line', () => {
    const r = cli(['-f', 'ndjson', ...args]);
    expect(r.code).toBe(3);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; input?: string });
    expect(lines.slice(-3).map((l) => [l.type, l.input])).toEqual([
      ['unreadable', bad],
      ['unreadable', missing],
      ['total', undefined],
    ]);
  });

  it('junit: an errored testcase for each, so the CI page says why the job failed', () => {
    const r = cli(['-f', 'junit', ...args]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/<testsuites [^>]*errors="2"/);
    for (const file of [bad, missing]) expect(r.stdout).toMatch(new RegExp(`<testcase classname="pcapdiag.capture" name="read ${file}">\\s*<error message="[^"]*${file}[^"]*" type="unreadable"/`));
  });

  it('explain: the flow is explained from the captures read, and the run exits 3 as the analysis does', () => {
    const r = cli(['explain', ...args, '1']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(cli(['explain', join(FIXTURES, 'tcp-ok.pcap'), '1']).stdout);
    expect(r.stderr).toContain(`pcapdiag: ${bad}: `);
    expect(cli(['explain', join(FIXTURES, 'tcp-ok.pcap'), join(FIXTURES, 'dns.pcap'), '1']).code).toBe(0);
  });

  it('text of captures correlated as vantage points (one report, no total): named after it', () => {
    const r = cli(['--vantages', join(FIXTURES, 'vantage-path', 'client.pcap'), join(FIXTURES, 'vantage-path', 'router.pcap'), bad]);
    expect(r.code).toBe(3);
    expect(r.stdout).not.toContain('Total over');
    expect(r.stdout).toContain(`\nnot read: ${bad}: not a capture file`);
  });

  it('text: named under the total, as well as on stderr', () => {
    const r = cli([...args]);
    expect(r.code).toBe(3);
    const total = r.stdout.slice(r.stdout.indexOf('Total over 1 captures'));
    expect(total).toContain(`not read: ${bad}: `);
    expect(total).toContain(`not read: cannot open ${missing}: `);
  });
});

describe('explain on a FIFO reads it once', () => {
  it.skipIf(!hasCommand('mkfifo'))('the same text as from the file, and it ends', () => {
    const fifo = join(tmp, 'capture.fifo');
    spawnSync('mkfifo', [fifo]);
    const file = join(FIXTURES, 'tcp-reset-by-router.pcap');
    const r = spawnSync('sh', ['-c', `cat '${file}' > '${fifo}' & '${process.execPath}' '${BIN}' explain '${fifo}' 2`], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(cli(['explain', file, '2']).stdout);
  });
});

describe('-f json when no capture could be read', () => {
  it('is still valid against schema/report.schema.json (options are the analysis options only)', async () => {
    const { Ajv } = await import('ajv');
    const { readFileSync } = await import('node:fs');
    const ajv = new Ajv({ allErrors: true, strict: false });
    const schema = JSON.parse(readFileSync(join(FIXTURES, '..', 'schema', 'report.schema.json'), 'utf8')) as { $id: string };
    ajv.addSchema(schema);
    const validate = defined(ajv.getSchema(schema.$id), 'the report schema');
    const a = join(tmp, 'a.pcap');
    const b = join(tmp, 'b.pcap');
    writeFileSync(a, Buffer.from('abc'));
    writeFileSync(b, Buffer.alloc(0));
    const r = cli(['-f', 'json', a, b]);
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout) as { options: Record<string, number> };
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(Object.keys(doc.options).sort()).toEqual(['dnsTimeoutMs', 'maxFlows', 'responseTimeoutMs', 'synTimeoutMs', 'tcpIdleMs', 'udpIdleMs']);
  });
});
