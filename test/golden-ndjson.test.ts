import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BIN, fixtureFiles, ROOT } from './helpers/run.js';

// The full `-f ndjson` output of every fixture (every record field, and the summary line), compared
// exactly with test/golden/<fixture>.ndjson. After an intended output change, rewrite them all with
//   UPDATE_GOLDEN=1 npx vitest run test/golden-ndjson.test.ts
// (which builds dist/ first when it is older than src/) and review the diff of test/golden/.

const GOLDEN = join(ROOT, 'test', 'golden');
const update = process.env.UPDATE_GOLDEN === '1';
const goldenOf = (fixture: string) => join(GOLDEN, `${fixture}.ndjson`);

/** src/ files newer than their build in dist/ (the CLI runs dist/). */
function staleBuild(dir = join(ROOT, 'src')): string[] {
  const stale: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) stale.push(...staleBuild(p));
    else if (e.name.endsWith('.ts')) {
      const out = join(ROOT, 'dist', relative(join(ROOT, 'src'), p)).replace(/\.ts$/, '.js');
      if (!existsSync(out) || statSync(out).mtimeMs < statSync(p).mtimeMs) stale.push(relative(ROOT, p));
    }
  }
  return stale;
}

/**
 * What the CLI prints for one fixture, run from the repository root on its relative path, so the
 * `file` and `input.name` fields are the same on every machine. Nothing else in the output depends
 * on the machine or the time of the run; should something ever, normalise it here.
 */
function ndjsonOf(fixture: string): string {
  const r = spawnSync(process.execPath, [BIN, '-f', 'ndjson', join('fixtures', fixture)], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`pcapdiag -f ndjson fixtures/${fixture}: exit ${String(r.status)}\n${r.stderr}`);
  return r.stdout;
}

describe('golden ndjson: the full output of every fixture', () => {
  beforeAll(() => {
    const stale = staleBuild();
    if (stale.length === 0) return;
    if (!update) throw new Error(`dist/ is older than ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}: run npm run build`);
    // npm run build's two steps: tsc alone would leave the bundle older than the modules (bin/pcapdiag.js)
    for (const step of [[join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], [join(ROOT, 'scripts', 'bundle.mjs')]]) {
      const b = spawnSync(process.execPath, step, { cwd: ROOT, encoding: 'utf8' });
      if (b.status !== 0) throw new Error(`build failed:\n${b.stdout}${b.stderr}`);
    }
  }, 120_000);

  const fixtures = fixtureFiles();
  it('every golden file belongs to a fixture', () => {
    const orphans = existsSync(GOLDEN) ? readdirSync(GOLDEN).filter((f) => f.endsWith('.ndjson') && !fixtures.includes(f.replace(/\.ndjson$/, ''))) : [];
    if (update) for (const f of orphans) unlinkSync(join(GOLDEN, f));
    else expect(orphans).toEqual([]);
  });

  for (const fixture of fixtures) {
    it(fixture, () => {
      const got = ndjsonOf(fixture);
      const path = goldenOf(fixture);
      if (update) {
        mkdirSync(GOLDEN, { recursive: true });
        writeFileSync(path, got);
        return;
      }
      expect(existsSync(path), `${relative(ROOT, path)} is missing: UPDATE_GOLDEN=1 npx vitest run test/golden-ndjson.test.ts`).toBe(true);
      // line by line, so that a failure shows the records that differ
      expect(got.split('\n')).toEqual(readFileSync(path, 'utf8').split('\n'));
    });
  }
});
