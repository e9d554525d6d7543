import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/run.js';
import { VERDICT_IDS } from '../src/verdict/types.js';

// VERDICT_IDS is the one list of verdicts: every other place that enumerates them (the JSON
// schemas, the README's catalogue) must say exactly the same, or a new verdict is missing there.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const isObject = (v: Json | undefined): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

const SCHEMAS = ['report.schema.json', 'ndjson-line.schema.json'];
const schemas = new Map(SCHEMAS.map((f) => [f, JSON.parse(readFileSync(join(ROOT, 'schema', f), 'utf8')) as Json]));
const sorted = (xs: readonly string[]) => [...xs].sort();

/** Every node of a JSON document, with its path. */
function* walk(v: Json, path: string): Generator<[string, Json]> {
  yield [path, v];
  if (Array.isArray(v)) for (const [i, x] of v.entries()) yield* walk(x, `${path}/${String(i)}`);
  else if (isObject(v)) for (const [k, x] of Object.entries(v)) yield* walk(x, `${path}/${k}`);
}

/** Follows a $ref (within this schema folder) to its target. */
function deref(file: string, v: Json): [string, Json] {
  if (!isObject(v) || typeof v.$ref !== 'string') return [file, v];
  const [target, pointer = ''] = v.$ref.split('#');
  const f = target === '' ? file : target;
  let node = schemas.get(f);
  if (node === undefined) throw new Error(`${file}: $ref to an unknown schema ${v.$ref}`);
  for (const key of pointer.split('/').filter((k) => k !== '')) {
    if (!isObject(node) || !(key in node)) throw new Error(`${file}: dangling $ref ${v.$ref}`);
    node = node[key];
  }
  return deref(f, node);
}

const verdictSet = new Set<string>(VERDICT_IDS);

describe('verdict catalogue: one list', () => {
  it('VERDICT_IDS has no duplicates', () => {
    expect(new Set(VERDICT_IDS).size).toBe(VERDICT_IDS.length);
  });

  for (const file of SCHEMAS) {
    it(`${file}: every enum that lists verdicts lists exactly VERDICT_IDS`, () => {
      const doc = schemas.get(file);
      if (doc === undefined) throw new Error(file);
      let enums = 0;
      for (const [path, node] of walk(doc, '')) {
        if (!isObject(node) || !Array.isArray(node.enum)) continue;
        const values = node.enum.filter((x): x is string => typeof x === 'string');
        // an enum of something else (proto, by, fact kinds, a few of which share a verdict's name)
        if (values.filter((x) => verdictSet.has(x)).length * 2 <= values.length) continue;
        enums++;
        expect(sorted(values), `${file}${path}/enum`).toEqual(sorted(VERDICT_IDS));
      }
      // the report schema defines the enum; the ndjson-line schema reaches it through its record $ref
      if (file === 'report.schema.json') expect(enums).toBeGreaterThan(0);
    });

    it(`${file}: the record's verdict and every verdict-count object's keys are the verdict enum`, () => {
      const doc = schemas.get(file);
      if (doc === undefined) throw new Error(file);
      const checked: string[] = [];
      for (const [path, node] of walk(doc, '')) {
        if (!isObject(node)) continue;
        const props = node.properties;
        if (!isObject(props)) continue;
        const verdict = props.verdict;
        if (verdict !== undefined && isObject(props.by)) {
          // a flow record: its verdict field
          const [, target] = deref(file, verdict);
          expect(isObject(target) && Array.isArray(target.enum) ? sorted(target.enum as string[]) : target, `${file}${path}/properties/verdict`).toEqual(sorted(VERDICT_IDS));
          checked.push(`${path}/properties/verdict`);
        }
        const counts = props.verdicts;
        if (isObject(counts) && counts.propertyNames !== undefined) {
          const [, target] = deref(file, counts.propertyNames);
          expect(isObject(target) && Array.isArray(target.enum) ? sorted(target.enum as string[]) : target, `${file}${path}/properties/verdicts/propertyNames`).toEqual(sorted(VERDICT_IDS));
          checked.push(`${path}/properties/verdicts`);
        }
      }
      if (file === 'report.schema.json') {
        expect(checked).toContain('/definitions/record/properties/verdict');
        expect(checked).toContain('/definitions/summary/properties/verdicts');
      } else {
        // its flow lines are the report's records
        const [, record] = deref(file, { $ref: 'report.schema.json#/definitions/record' });
        expect(isObject(record)).toBe(true);
        expect(JSON.stringify(doc)).toContain('report.schema.json#/definitions/record');
      }
    });
  }

  it("README's '## Verdicts' catalogue documents every verdict, and only those", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('\n## Verdicts\n');
    expect(start).toBeGreaterThanOrEqual(0);
    const end = readme.indexOf('\n## ', start + 1);
    const section = readme.slice(start, end < 0 ? undefined : end);
    const documented = [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
    expect(new Set(documented).size, 'a verdict documented twice').toBe(documented.length);
    expect(sorted(documented)).toEqual(sorted(VERDICT_IDS));
  });
});
