/**
 * Records stay objects with fast properties (a hidden class, fields at fixed places), not
 * dictionaries. V8 turns an object into a dictionary when a property is added to it by a keyed
 * store (as the symbol-keyed marks of verdict/marks.ts are) once the properties it keeps outside
 * itself fill their store and number more than 12 (or than it keeps inside); a connection's record
 * had that many before its marks were copied onto it (verdict/classify.ts described), so every
 * healthy connection of an ndjson run was handed on as a dictionary, each read of it a hash lookup.
 * V8's own test for it is %HasFastProperties (test/helpers/v8.ts).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeSource, DEFAULT_OPTIONS } from '../src/analyze.js';
import { openCapture } from '../src/capture/source.js';
import type { FlowRecord } from '../src/verdict/types.js';
import { FIXTURES, fixtureFiles } from './helpers/run.js';
import { hasFastProperties } from './helpers/v8.js';

/** The records of `name` that are dictionaries, as "#id verdict": handed on one by one (ndjson) or kept to the end (json). */
async function dictionaries(name: string, keep: 'none' | 'all'): Promise<string[]> {
  const slow: string[] = [];
  const check = (r: FlowRecord) => {
    if (!hasFastProperties(r)) slow.push(`#${r.id} ${r.verdict}`);
  };
  const source = await openCapture(join(FIXTURES, name));
  try {
    const report = await analyzeSource(source, DEFAULT_OPTIONS, keep === 'none' ? { keep, onFlow: check } : { keep });
    report.records.forEach(check);
  } finally {
    source.close();
  }
  return slow;
}

describe('records have fast properties', () => {
  it('the check tells a dictionary from an object', () => {
    const o: Record<string, number> = { a: 1, b: 2 };
    expect(hasFastProperties(o)).toBe(true);
    delete o.a;
    expect(hasFastProperties(o)).toBe(false);
  });

  it.each(fixtureFiles())('%s: as ndjson hands them on and as json keeps them', async (name) => {
    expect(await dictionaries(name, 'none')).toEqual([]);
    expect(await dictionaries(name, 'all')).toEqual([]);
  });
});
