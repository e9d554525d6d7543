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

describe('records described when handed on', () => {
  it.each(fixtureFiles())('%s: ndjson records are json records', async (name) => {
    const file = join(FIXTURES, name);
    const nd = await runInProcess(['-f', 'ndjson', file]);
    const js = await runInProcess(['-f', 'json', file]);
    const records = (JSON.parse(js.stdout) as { records: unknown[] }).records;
    expect(records.length).toBeGreaterThan(0);
    expect(flowLines(nd.stdout)).toEqual(records);
  });
});
