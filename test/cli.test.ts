import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, cli, FIXTURES, fixtureFiles, hasCommand, jsonDoc, last, ndjsonLines, readFixture, ROOT } from './helpers/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'pcapdiag-test-'));

function noStack(stderr: string): void {
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr.trim().split('\n')).toHaveLength(1);
}

describe('stdin gives the same result as the file', () => {
  for (const f of fixtureFiles()) {
    it(f, () => {
      const fromFile = cli(['-f', 'ndjson', join(FIXTURES, f)]);
      const fromPipe = cli(['-f', 'ndjson', '-'], readFixture(f));
      expect(fromFile.code).toBe(0);
      expect(fromPipe.code).toBe(0);
      const norm = (s: string) => s.replace(/"name":"[^"]*"/, '"name":"X"').replace(/"file":"[^"]*"/g, '"file":"X"');
      expect(norm(fromPipe.stdout)).toBe(norm(fromFile.stdout));
    });
  }
});

describe('non-blocking stdin (EAGAIN) falls back to a stream with the same result', () => {
  it.skipIf(!hasCommand('python3'))('dns.pcap through a pipe set O_NONBLOCK, data arriving late', () => {
    const file = join(FIXTURES, 'dns.pcap');
    const script = `import os,fcntl\nfl=fcntl.fcntl(0,fcntl.F_GETFL)\nfcntl.fcntl(0,fcntl.F_SETFL,fl|os.O_NONBLOCK)\nos.execv('${process.execPath}',['node','${BIN}','-f','ndjson','-'])`;
    const r = spawnSync('sh', ['-c', `(sleep 0.3; cat '${file}') | python3 -c "$PY"`], { encoding: 'utf8', env: { ...process.env, PY: script }, timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(cli(['-f', 'ndjson', '-'], readFixture('dns.pcap')).stdout);
  });
});

describe('gzip-compressed captures are read as tshark reads them', () => {
  it('same records as the plain file, from a path and from stdin', () => {
    const gz = join(tmp, 'ipv6.pcap.gz');
    writeFileSync(gz, gzipSync(readFixture('ipv6.pcap')));
    const records = (out: string) =>
      out
        .trim()
        .split('\n')
        .slice(0, -1)
        .map((l) => l.replace(/"file":"[^"]*"/, '"file":"X"'));
    const plain = cli(['-f', 'ndjson', join(FIXTURES, 'ipv6.pcap')]);
    const fromPath = cli(['-f', 'ndjson', gz]);
    const fromPipe = cli(['-f', 'ndjson', '-'], readFileSync(gz));
    expect(fromPath.code).toBe(0);
    expect(records(fromPath.stdout)).toEqual(records(plain.stdout));
    expect(records(fromPipe.stdout)).toEqual(records(plain.stdout));
    expect(last(ndjsonLines(fromPath.stdout)).input?.format).toBe('gzip-compressed pcap (µs, little-endian)');
  });
  it('a compressed stream cut short gives verdicts for what was readable, and a warning', () => {
    const whole = gzipSync(readFixture('tcp-reset-by-router.pcap'));
    const cut = join(tmp, 'cut.pcap.gz');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.8)));
    const r = cli(['-f', 'ndjson', cut]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('the compressed stream ends early');
    expect(r.stdout).toContain('"verdict":"ok"');
  });
  it('a compressed stream damaged before any capture came out of it says so (exit 3)', () => {
    const bad = join(tmp, 'bad.pcap.gz');
    writeFileSync(bad, Buffer.concat([gzipSync(readFixture('tcp-ok.pcap')).subarray(0, 10), Buffer.from('garbage')]));
    expect(cli([bad])).toMatchObject({ code: 3, stderr: expect.stringMatching(/^pcapdiag: .*\(the compressed stream (ends early|is damaged)/) as unknown });
  });
});

describe('output formats', () => {
  it('ndjson: flow records with the contract fields, a group line per group of problems, then one summary line', () => {
    const r = cli(['-f', 'ndjson', join(FIXTURES, 'dns.pcap')]);
    const all = ndjsonLines(r.stdout);
    const summary = all.pop();
    const groups = all.filter((x) => (x.type as string) === 'group');
    const lines = all.filter((x) => (x.type as string) !== 'group');
    // the group lines come after the records, before the summary
    expect(all.slice(lines.length)).toEqual(groups);
    expect(groups.length).toBe(lines.filter((x) => x.verdict !== 'dns-ok' && x.verdict !== 'ok').length);
    expect(summary?.type).toBe('summary');
    expect(summary?.schema).toBe(2);
    expect(summary?.verdicts?.['dns-nxdomain']).toBe(1);
    for (const x of lines) {
      expect(x.type).toBe('flow');
      for (const k of ['proto', 'client', 'server', 'verdict', 'by', 'evidence', 'start']) expect(x).toHaveProperty(k);
      expect(x.start).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      expect(Array.isArray(x.evidence)).toBe(true);
    }
    const nx = lines.find((x) => x.verdict === 'dns-nxdomain');
    expect(nx).toMatchObject({ proto: 'dns', query: 'nope.example.test.', qtype: 'A', rcode: 'NXDOMAIN' });
  });

  it('json: one document with the same records', () => {
    const nd = ndjsonLines(cli(['-f', 'ndjson', join(FIXTURES, 'ipv6.pcap')]).stdout);
    const doc = jsonDoc(cli(['-f', 'json', join(FIXTURES, 'ipv6.pcap')]).stdout);
    expect(doc.records).toEqual(nd.filter((x) => x.type === 'flow'));
    expect((doc as { groups?: unknown[] }).groups).toEqual(nd.filter((x) => (x.type as string) === 'group').map(({ type: _type, ...g }) => g));
    expect(doc.records[0].client).toBe(`[fd00:1::10]:${last(doc.records[0].client.split(':'))}`);
  });

  it('text: problems first, with by, vendor and a check-next line; no colour without a TTY', () => {
    const r = cli([join(FIXTURES, 'tcp-reset-by-router.pcap')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('refused (1)');
    expect(r.stdout).toContain('by middlebox: gateway 00:01:d7:2a:10:01 = F5 Inc. (load balancer)');
    expect(r.stdout).toContain('→ A box in the path answered');
    expect(r.stdout.indexOf('refused (1)')).toBeLessThan(r.stdout.indexOf('OK: 1 TCP connection'));
    expect(r.stdout).not.toContain('\x1b[');
  });
});

describe('exit codes and errors: one clear line, never a stack trace', () => {
  it('0 on success; --version is fast and prints the version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
    // alone it is answered before commander loads (src/cli/main.ts); with other options, by commander: the same
    expect(cli(['-V']).stdout).toBe(r.stdout);
    expect(cli(['--quiet', '--version'])).toMatchObject({ code: 0, stdout: r.stdout });
    // and a full disk is exit 3 with one line, as for any output
    if (existsSync('/dev/full')) {
      const full = spawnSync(process.execPath, [BIN, '--version'], { stdio: ['ignore', openSync('/dev/full', 'w'), 'pipe'], encoding: 'utf8' });
      expect([full.status, full.stderr]).toEqual([3, 'pcapdiag: cannot write the output: ENOSPC\n']);
    }
  });
  it('2, and the capture left alone, when an output file is one of the captures read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-self-'));
    const capture = join(dir, 'self.pcap');
    const bytes = readFileSync(join(FIXTURES, 'ci-run.pcap'));
    writeFileSync(capture, bytes);
    for (const args of [
      [capture, '-o', capture],
      [capture, '--write-pcap', capture],
      [dir, '-o', capture],
      [capture, '-o', join(dir, 'out'), '--write-pcap', join(dir, '.', 'out')],
    ]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(readFileSync(capture).equals(bytes), args.join(' ')).toBe(true);
    }
    expect(cli([capture, '-o', join(dir, 'report.txt')]).code).toBe(0);
    // the same file by another name, the state a chunk's run writes, --follow's parts, standard input from it, merge
    symlinkSync(join(dir, 'report.txt'), join(dir, 'link.txt'));
    const ng = join(dir, 'c.pcapng');
    writeFileSync(ng, readFileSync(join(FIXTURES, 'capture.pcapng')));
    const ngBytes = readFileSync(ng);
    for (const args of [
      [capture, '-o', join(dir, 'report.txt'), '--write-pcap', join(dir, 'link.txt')],
      ['--state-out', join(dir, 'c.json'), ng],
      ['--follow', dir, '-o', join(dir, 'new.txt')],
      ['--follow', capture, '--write-pcap', join(dir, 'self1.pcap')],
    ]) {
      expect(cli(args).code, args.join(' ')).toBe(2);
      expect(readFileSync(ng).equals(ngBytes)).toBe(true);
    }
    const fromStdin = spawnSync(process.execPath, [BIN, '-', '-o', capture], { stdio: [openSync(capture, 'r'), 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
    expect(fromStdin.status).toBe(2);
    expect(readFileSync(capture).equals(bytes)).toBe(true);
    const state = join(dir, 'state.json');
    expect(cli(['--state-out', state, capture]).code).toBe(0);
    const stateBytes = readFileSync(state);
    expect(cli(['merge', state, '-o', state]).code).toBe(2);
    expect(readFileSync(state).equals(stateBytes)).toBe(true);
  });
  it('2 for usage errors', () => {
    for (const args of [[], ['--format', 'xml', 'x.pcap'], ['--max-flows', '0', 'x.pcap'], ['-', '-'], ['--syn-timeout', 'soon', 'x.pcap'], ['--bogus', 'x.pcap'], ['--follow', 'a.pcap', 'b.pcap']]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      noStack(r.stderr);
    }
  });
  it('2 for a stream named twice (`- /dev/stdin`): it can be read only once; a file given twice is read twice', () => {
    for (const args of [
      ['-', '/dev/stdin'],
      ['/dev/stdin', '/proc/self/fd/0'],
    ]) {
      const r = cli(args, readFixture('tcp-ok.pcap'));
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^pcapdiag: (standard input \('-'\)|\S+) and \S+ name one stream: it can be read only once/);
    }
    const f = join(FIXTURES, 'tcp-ok.pcap');
    expect(cli(['-f', 'json', f, f]).code).toBe(0);
  });
  it('3 for a missing file, a directory without captures, an empty file and a file that is not a capture', () => {
    const noCaptures = mkdtempSync(join(tmpdir(), 'pcapdiag-empty-'));
    writeFileSync(join(noCaptures, 'notes.txt'), 'hello');
    const empty = join(tmp, 'empty.pcap');
    writeFileSync(empty, '');
    const text = join(tmp, 'notes.pcap');
    writeFileSync(text, 'this is not a capture\n');
    for (const [path, msg] of [
      [join(tmp, 'nope.pcap'), 'no such file'],
      [noCaptures, 'no captures in'],
      [empty, 'empty'],
      [text, 'not a capture file'],
    ] as const) {
      const r = cli([path]);
      expect(r.code, path).toBe(3);
      expect(r.stderr).toContain(msg);
      // named, as tcpdump and tshark name it, also as a --state-out chunk
      expect(r.stderr, path).toContain(`pcapdiag: ${msg === 'no such file' ? 'cannot open ' : msg === 'no captures in' ? 'no captures in ' : ''}${path}`);
      noStack(r.stderr);
      if (path === noCaptures) continue;
      const chunk = cli(['--state-out', join(tmp, 'chunk.json'), path]);
      expect(chunk.code, path).toBe(3);
      expect(chunk.stderr, path).toContain(`${path}: `);
      noStack(chunk.stderr);
    }
  });
  it('3 for a capture whose name is a word of the message ("a", "file"), named all the same, also with --follow', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-names-'));
    for (const name of ['a', 'file', 'pcap', '61']) {
      writeFileSync(join(dir, name), 'garbage, not a capture');
      for (const args of [[name], ['--follow', name], ['--state-out', 'chunk.json', name]]) {
        const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
        expect(r.status, args.join(' ')).toBe(3);
        expect(r.stderr, args.join(' ')).toBe(`pcapdiag: ${name}: not a capture file: unknown magic 67 61 72 62 (expected pcap or pcapng)\n`);
      }
    }
    // messages that name the capture already are not named twice
    const r = spawnSync(process.execPath, [BIN, '--follow', 'nope'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toMatch(/^pcapdiag: cannot open nope: no such file/);
    mkdirSync(join(dir, 'empty'));
    for (const args of [['empty'], ['--follow', 'empty']]) {
      expect(spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 }).stderr, args.join(' ')).toMatch(/^pcapdiag: no captures in empty( to follow)?\n$/);
    }
  });
  it('3 for a pcap whose only link type is unsupported, naming it', () => {
    const b = Buffer.from(readFixture('tcp-ok.pcap'));
    b.writeUInt32LE(105, 20);
    const p = join(tmp, 'wifi.pcap');
    writeFileSync(p, b);
    const r = cli([p]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('unsupported link type 105 (IEEE 802.11)');
  });
  it('a capture cut mid-record still gives verdicts, with a warning', () => {
    const whole = readFixture('tcp-reset-by-router.pcap');
    const p = join(tmp, 'cut.pcap');
    writeFileSync(p, whole.subarray(0, whole.length - 10));
    const r = cli(['-f', 'ndjson', p]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: damaged capture');
    const lines = ndjsonLines(r.stdout);
    expect(lines.some((x) => x.verdict === 'ok')).toBe(true);
    expect(last(lines).anomalies?.map((a) => a.code)).toContain('truncated_file');
  });
});
