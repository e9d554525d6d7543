import { loadBaseline } from '../ci/baseline.js';
import { loadExpectations } from '../ci/expect.js';
import { parseFailOn, type Checks, type Gates } from '../ci/gate.js';
import type { AnalyzeCliOptions } from './options.js';

export { hasGates, runGates } from '../ci/gate.js';

/** The CI gates the options ask for, loaded and checked before any capture is read. */
export function loadGates(o: Pick<AnalyzeCliOptions, 'failOn' | 'baseline' | 'expect'>): Gates {
  const g: Gates = {};
  if (o.failOn !== null) g.failOn = parseFailOn(o.failOn);
  if (o.baseline !== null) g.baseline = { name: o.baseline, records: loadBaseline(o.baseline) };
  if (o.expect !== null) g.expect = { file: o.expect, rules: loadExpectations(o.expect) };
  return g;
}

/** The one stderr line that says why the run exits 1. */
export function failureLine(c: Checks): string {
  const why: string[] = [];
  if (c.notAnalysed !== undefined) why.push(`${c.notAnalysed} flow${c.notAnalysed === 1 ? '' : 's'} not analysed (--max-flows), so not checked`);
  if (c.failOn !== undefined && c.failOn.records.length > 0) why.push(`${c.failOn.records.length} flow${c.failOn.records.length === 1 ? '' : 's'} with ${c.failOn.verdicts.join(',')} (--fail-on)`);
  if (c.baseline !== undefined && c.baseline.regressions.length > 0) why.push(`${c.baseline.regressions.length} regression${c.baseline.regressions.length === 1 ? '' : 's'} against ${c.baseline.baseline}`);
  const broken = c.expect?.results.filter((x) => !x.ok).length ?? 0;
  if (broken > 0) why.push(`${broken} expectation${broken === 1 ? '' : 's'} broken (${c.expect?.file ?? ''})`);
  return `failed: ${why.join('; ')}`;
}
