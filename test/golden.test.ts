import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { analyzeFile, expectations, FIXTURES, fixtureFiles, type Expected } from './helpers/run.js';
import { analyzeSource, DEFAULT_OPTIONS, type Keep } from '../src/analyze.js';
import { FlowFilter, type FlowProbe } from '../src/filter/filter.js';
import { openCapture } from '../src/capture/source.js';
import { HEALTHY } from '../src/verdict/types.js';

const key = (e: Expected) => `${e.proto} ${e.server} ${e.verdict} by ${e.by}`;

describe('golden: every fixture scenario gets its verdict and by', () => {
  const exp = expectations();
  it('every fixture capture has expectations, and every expectation a capture', () => {
    expect([...exp.keys()].sort()).toEqual(fixtureFiles());
  });
  for (const [file, want] of exp) {
    it(file, async () => {
      const r = await analyzeFile(join(FIXTURES, file));
      const got = r.records.map((x) => key({ proto: x.proto, server: x.server, verdict: x.verdict, by: x.by })).sort();
      expect(got).toEqual(want.map(key).sort());
    });
  }
});

describe('the text report counts healthy flows, and problems past --limit, without describing them', () => {
  // keep problems only, no onFlow: healthy records are built without sentences. The problems, the
  // counts and the names on them must be exactly those of a run that keeps and describes everything.
  // (and with --filter, which reads what a counted record keeps)
  const filters = [null, ...['tcp', 'udp', 'port 53', 'host 10.0.2.20'].map((f) => FlowFilter.parse(f))];
  for (const file of fixtureFiles()) {
    it(file, async () => {
      for (const f of filters) {
        const filter = f === null ? null : (r: FlowProbe) => f.matches(r);
        const run = async (keep: Keep) => {
          const src = await openCapture(join(FIXTURES, file));
          return analyzeSource(src, DEFAULT_OPTIONS, { keep, filter }).finally(() => src.close());
        };
        const all = await run('all');
        const problems = all.records.filter((r) => !HEALTHY.has(r.verdict));
        const text = await run({ problemsPerGroup: 1000 });
        expect(text.summary, f?.text).toEqual(all.summary);
        expect(text.records, f?.text).toEqual(problems);
        // --limit 1: only the first problem of each group is kept, the rest only counted
        const first = await run({ problemsPerGroup: 1 });
        expect(first.summary, f?.text).toEqual(all.summary);
        expect(first.groups, f?.text).toEqual(all.groups);
        expect(first.records, f?.text).toEqual(problems.filter((r) => problems.find((x) => x.group === r.group) === r));
      }
    });
  }
});
