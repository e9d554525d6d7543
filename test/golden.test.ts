import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { analyzeFile, expectations, FIXTURES, fixtureFiles, type Expected } from './helpers/run.js';

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
