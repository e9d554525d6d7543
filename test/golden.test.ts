import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeFile, FIXTURES, fixtureFiles } from './helpers/run.js';

interface Expected {
  proto: string;
  server: string;
  verdict: string;
  by: string;
}

function expectations(): Map<string, Expected[]> {
  const m = new Map<string, Expected[]>();
  for (const line of readFileSync(join(FIXTURES, 'expected.tsv'), 'utf8').split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [file, proto, server, verdict, by] = line.split('\t');
    const list = m.get(file) ?? [];
    list.push({ proto, server, verdict, by });
    m.set(file, list);
  }
  return m;
}

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
