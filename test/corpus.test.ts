import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../src/errors.js';
import { analyzeFile, SHARED_PCAPS, sharedPresent, withShared } from './helpers/run.js';

/**
 * Every public capture in ../shared/pcaps is either analysed or refused with an InputError —
 * never another exception. Skipped cleanly where the folder is absent (a user's clone).
 */
describe.skipIf(!withShared('the public-corpus smoke test'))('public capture corpus: analyse or refuse, never crash', () => {
  const files = sharedPresent
    ? readFileSync(join(SHARED_PCAPS, 'MANIFEST.tsv'), 'utf8')
        .split('\n')
        .slice(1)
        .map((l) => l.split('\t')[0])
        .filter((f) => f !== '')
    : [];
  it('has files to read', () => expect(files.length).toBeGreaterThan(100));
  it('every file', async () => {
    const crashed: string[] = [];
    let analysed = 0;
    let refused = 0;
    for (const f of files) {
      try {
        await analyzeFile(join(SHARED_PCAPS, f));
        analysed++;
      } catch (e) {
        if (e instanceof InputError) refused++;
        else crashed.push(`${f}: ${(e as Error).stack?.split('\n').slice(0, 3).join(' | ')}`);
      }
    }
    expect(crashed).toEqual([]);
    expect(analysed).toBeGreaterThan(files.length / 2);
    expect(analysed + refused).toBe(files.length);
  }, 300_000);
});
