/**
 * The adversarial suite's harness: one hostile input (files made in a fresh directory, arguments,
 * standard input) run through the built CLI, with the checks every run must pass whatever the
 * input: no stack trace, every stderr line one `pcapdiag: …` line, no raw control, bidi or
 * zero-width character on stdout or stderr, json and ndjson valid against the schemas, JUnit
 * well-formed XML. Each case adds its own exit code, stderr line and output checks.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ajv, type SchemaObject, type ValidateFunction } from 'ajv';
import { expect } from 'vitest';
import { BIN, ROOT } from '../helpers/run.js';

/** What a case's directory holds: file contents, a symbolic link, a FIFO, a file with a mode. */
export type Entry = Buffer | string | { symlink: string } | { fifo: true } | { data: Buffer; mode: number };

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** Milliseconds the run took. */
  ms: number;
  dir: string;
}

export interface Case {
  name: string;
  /** Files to make in the case's directory (paths relative to it). */
  files?: Record<string, Entry>;
  /** The arguments, given the case's directory. */
  args: (dir: string) => string[];
  stdin?: Buffer;
  /** Run as this user (through setpriv), e.g. nobody for permission cases. */
  asNobody?: boolean;
  code: number;
  /** A line stderr must hold (null: no error, every line a warning). */
  stderr: RegExp | null;
  /** More checks on the run. */
  check?: (r: Run) => void;
  timeoutMs?: number;
  env?: Record<string, string>;
}

/**
 * Characters that must never reach a terminal or a document raw: C0 controls but tab and newline,
 * DEL, C1 controls, bidi embeddings/overrides/isolates and marks, zero-width characters, and the
 * line and paragraph separators.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;

const ajv = new Ajv({ allErrors: true, strict: false });
const reportSchema = JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as SchemaObject & { $id: string };
ajv.addSchema(reportSchema);
const validateReport = ajv.getSchema(reportSchema.$id) as ValidateFunction;
const validateLine = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'ndjson-line.schema.json'), 'utf8')) as SchemaObject);

export function validJson(text: string): void {
  const doc: unknown = JSON.parse(text);
  expect(validateReport(doc), JSON.stringify(validateReport.errors)).toBe(true);
}
export function validNdjson(text: string): void {
  for (const line of text.trim().split('\n')) {
    if (line === '') continue;
    expect(validateLine(JSON.parse(line)), `${line.slice(0, 120)}: ${JSON.stringify(validateLine.errors)}`).toBe(true);
  }
}

/** Well-formed XML, by Python's expat (the suite needs python3, as the fixtures do). */
export function wellFormedXml(text: string): void {
  const r = spawnSync('python3', ['-c', 'import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.buffer.read())'], { input: text });
  expect(r.status, r.stderr.toString()).toBe(0);
}

function make(dir: string, files: Record<string, Entry>): void {
  for (const [rel, e] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    if (Buffer.isBuffer(e) || typeof e === 'string') writeFileSync(p, e);
    else if ('symlink' in e) symlinkSync(e.symlink, p);
    else if ('fifo' in e) spawnSync('mkfifo', [p]);
    else {
      writeFileSync(p, e.data);
      chmodSync(p, e.mode);
    }
  }
}

export function run(c: Case): Run {
  const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-adv-'));
  chmodSync(dir, 0o755);
  make(dir, c.files ?? {});
  const args = c.args(dir);
  const argv = c.asNobody === true ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, BIN, ...args] : [process.execPath, BIN, ...args];
  const t0 = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), { input: c.stdin, encoding: 'buffer', env: { ...process.env, NO_COLOR: '1', ...c.env }, timeout: c.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 256 << 20 });
  const ms = performance.now() - t0;
  return { code: r.status ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), ms, dir };
}

/** The checks every run must pass, then the case's own. */
export function judge(c: Case, r: Run): void {
  const args = c.args(r.dir);
  expect(r.code, `exit code; stderr: ${r.stderr.slice(0, 400)}`).toBe(c.code);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  for (const l of lines) expect(l).toMatch(/^pcapdiag: /);
  if (c.stderr === null) for (const l of lines) expect(l).toMatch(/^pcapdiag: warning: /);
  else
    expect(
      lines.some((l) => c.stderr?.test(l)),
      `no stderr line matches ${String(c.stderr)}:\n${r.stderr.slice(0, 600)}`,
    ).toBe(true);
  expect(UNSAFE.exec(r.stdout)?.[0], 'raw control/bidi/zero-width character on stdout').toBeUndefined();
  expect(UNSAFE.exec(r.stderr)?.[0], 'raw control/bidi/zero-width character on stderr').toBeUndefined();
  const fmt = args[args.indexOf('-f') + 1];
  if (args.includes('-f') && r.stdout !== '') {
    if (fmt === 'json') validJson(r.stdout);
    if (fmt === 'ndjson') validNdjson(r.stdout);
    if (fmt === 'junit') wellFormedXml(r.stdout);
  }
  c.check?.(r);
}
