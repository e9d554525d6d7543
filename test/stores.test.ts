import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/run.js';

/** The flow record's fields, as the JSON schema lists them. */
const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as { definitions: { record: { properties: Record<string, unknown> } } };
const fields = Object.keys(schema.definitions.record.properties).sort();

/** Column names of the one CREATE TABLE in a SQL file. */
function sqlColumns(file: string): string[] {
  const sql = readFileSync(join(ROOT, 'schema', 'stores', file), 'utf8');
  const body = /CREATE TABLE[^(]*\(([\s\S]*?)\n\)/.exec(sql)?.[1] ?? '';
  return body
    .split('\n')
    .map((l) => /^\s*"?(\w+)"?\s+\S/.exec(l)?.[1])
    .filter((c): c is string => c !== undefined)
    .sort();
}

describe('the store tables and index mapping have a column for every record field (schema/stores/)', () => {
  it('the record has its fields', () => {
    expect(fields.length).toBeGreaterThan(30);
  });
  it('ClickHouse table', () => {
    expect(sqlColumns('clickhouse.sql')).toEqual(fields);
  });
  it('DuckDB table', () => {
    expect(sqlColumns('duckdb.sql')).toEqual(fields);
  });
  it('Elasticsearch / OpenSearch mapping', () => {
    const m = JSON.parse(readFileSync(join(ROOT, 'schema', 'stores', 'opensearch.json'), 'utf8')) as { mappings: { properties: Record<string, unknown> } };
    expect(Object.keys(m.mappings.properties).sort()).toEqual(fields);
  });
});
