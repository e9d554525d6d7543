import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, fixtureFiles } from './helpers/run.js';
import { runInProcess } from './helpers/in-process.js';

// ndjson hands on every record and keeps none, so its healthy records are built as small as
// counted ones and described only when handed on (ClassifyContext.describeLater,
// verdict/classify.ts described). json keeps every record, so it describes each when decided.
// The records must be the same either way: ids, facts, sentences, links and causes.
function flowLines(ndjson: string): unknown[] {
  return ndjson
    .split('\n')
    .filter((l) => l.startsWith('{"type":"flow"'))
    .map((l) => JSON.parse(l) as unknown);
}

// With a short --dns-timeout a sweep forgets many answered lookups (their retry series cleared, the
// object given to the free list) before it emits the records it described later.
const OPTIONS: [string, string[]][] = [
  ['defaults', []],
  ['--dns-timeout 300ms', ['--dns-timeout', '300ms']],
];

describe('records described when handed on', () => {
  for (const [label, options] of OPTIONS) {
    it.each(fixtureFiles())(`%s (${label}): ndjson records are json records`, async (name) => {
      const file = join(FIXTURES, name);
      const nd = await runInProcess(['-f', 'ndjson', ...options, file]);
      const js = await runInProcess(['-f', 'json', ...options, file]);
      const records = (JSON.parse(js.stdout) as { records: unknown[] }).records;
      expect(records.length).toBeGreaterThan(0);
      expect(flowLines(nd.stdout)).toEqual(records);
    });
  }
});
