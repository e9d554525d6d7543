import { UsageError } from '../errors.js';
import { HEALTHY, VERDICT_IDS, type FlowRecord, type VerdictId } from '../verdict/types.js';
import { diffBaseline, isWorse, type BaselineDiff } from './baseline.js';
import { checkExpectations, type ExpectResult, type ExpectRule } from './expect.js';

/** `--fail-on refused,timeout` / `--fail-on problem` → a verdict test. */
export function parseFailOn(list: string): { verdicts: string[]; hit: (v: VerdictId) => boolean } {
  const verdicts = list
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (verdicts.length === 0) throw new UsageError('--fail-on: name one or more verdicts, or problem');
  for (const v of verdicts) {
    if (v !== 'problem' && !(VERDICT_IDS as readonly string[]).includes(v)) throw new UsageError(`--fail-on: unknown verdict '${v}' (one of problem, ${VERDICT_IDS.join(', ')})`);
  }
  const set = new Set(verdicts);
  return { verdicts, hit: (v) => set.has(v) || (set.has('problem') && !HEALTHY.has(v)) };
}

/** What the report and JUnit say of Checks.notAnalysed: "3 flows were counted, not analysed (…): no gate checked them". */
export function notAnalysedText(n: number): string {
  return `${n} flow${n === 1 ? ' was' : 's were'} counted, not analysed (--max-flows was reached): no gate checked ${n === 1 ? 'it' : 'them'}`;
}

/** What the CI gates found; `failed` decides exit code 1. */
export interface Checks {
  failed: boolean;
  /** Flows counted, not analysed (--max-flows was reached): no gate checked them, so the run fails. */
  notAnalysed?: number;
  failOn?: { verdicts: string[]; records: number[] };
  baseline?: BaselineDiff;
  expect?: { file: string; results: ExpectResult[] };
}

export interface Gates {
  failOn?: ReturnType<typeof parseFailOn>;
  baseline?: { name: string; records: FlowRecord[] };
  expect?: { file: string; rules: ExpectRule[] };
}

export const hasGates = (g: Gates): boolean => g.failOn !== undefined || g.baseline !== undefined || g.expect !== undefined;

export function runGates(g: Gates, records: readonly FlowRecord[], notAnalysed = 0): Checks {
  const c: Checks = { failed: false };
  // a gate that passes must have seen every flow: one that was only counted could be the failure
  if (notAnalysed > 0) {
    c.notAnalysed = notAnalysed;
    c.failed = true;
  }
  const failOn = g.failOn;
  if (failOn !== undefined) {
    const hits = records.filter((r) => failOn.hit(r.verdict));
    c.failOn = { verdicts: failOn.verdicts, records: hits.map((r) => r.id) };
    if (hits.length > 0) c.failed = true;
  }
  if (g.baseline !== undefined) {
    c.baseline = diffBaseline(g.baseline.name, g.baseline.records, records);
    if (isWorse(c.baseline)) c.failed = true;
  }
  if (g.expect !== undefined) {
    c.expect = { file: g.expect.file, results: checkExpectations(g.expect.rules, records) };
    if (c.expect.results.some((x) => !x.ok)) c.failed = true;
  }
  return c;
}
