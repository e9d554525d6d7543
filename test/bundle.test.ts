import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT } from './helpers/run.js';

// bin/pcapdiag.js runs dist/bundle/ (scripts/bundle.mjs, after tsc in `npm run build`), which
// starts faster than the 127 modules in dist/, and the modules when the bundle is missing or older
// than them (tsc run alone). Every test that runs the CLI runs the bundle, once built.

/**
 * The files under the repository a run of the CLI loads: ES modules as Node's module hook resolves
 * them, CommonJS files (the bundle's) as Node compiles them, in the main thread and the workers.
 */
function loadedBy(args: string[], env: Record<string, string> = {}): { files: string[]; status: number | null; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-bundle-'));
  try {
    const hook = join(dir, 'hook.mjs');
    writeFileSync(hook, `export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.startsWith('file:')) process.stderr.write('LOADED ' + r.url + '\\n'); return r; }\n`);
    const register = join(dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hook}`)});\n`);
    const compiled = join(dir, 'compiled.cjs');
    writeFileSync(
      compiled,
      `const M = require('node:module'); const { writeSync } = require('node:fs'); const c = M.prototype._compile;\nM.prototype._compile = function (...a) { writeSync(2, 'LOADED file://' + a[1] + '\\n'); return c.apply(this, a); };\n`,
    );
    const r = spawnSync(process.execPath, ['--require', compiled, '--import', register, BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
    const files = [...new Set(r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')))].map((l) => l.slice('LOADED file://'.length).slice(ROOT.length));
    return { files, status: r.status, stdout: r.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fails when a run loaded a compiled module from dist/ beside (or instead of) dist/bundle/. */
function expectNoModules(files: readonly string[]): void {
  const fromModules = files.filter((f) => f.startsWith('dist/') && !f.startsWith('dist/bundle/'));
  if (fromModules.length > 0) throw new Error(`bin/pcapdiag.js ran the modules, not dist/bundle/ (${fromModules[0]}, …): run npm run build`);
}

describe('the bundle', () => {
  it('is what bin/pcapdiag.js runs once built, loading a fraction of the modules', () => {
    const { files, status, stdout } = loadedBy(['fixtures/ci-run.pcap']);
    expect(status).toBe(0);
    expect(stdout).toContain('TCP conversations');
    const ours = files.filter((f) => !f.includes('node_modules/'));
    expectNoModules(ours);
    expect(ours).toContain('dist/bundle/main.cjs');
    // 20 files on 2026-12-05, against 127 modules unbundled
    expect(ours.length).toBeLessThan(40);
  });

  it('answers as the modules do', () => {
    const modules = join(ROOT, 'bench', 'unbundled.mjs');
    const state = mkdtempSync(join(tmpdir(), 'pcapdiag-bundle-state-'));
    const runs = [
      ['-f', 'ndjson', 'fixtures/related-proxy.pcap'],
      ['fixtures/ci-run.pcap'],
      ['-f', 'html', 'fixtures/ci-run.pcap'],
      ['-f', 'junit', 'fixtures/ci-run.pcap'],
      ['explain', 'fixtures/ci-run.pcap', '1'],
      // each run writes the state over the last's; merge reads the modules' (run second)
      ['--state-out', join(state, 'a.json'), 'fixtures/ci-run.pcap'],
      ['merge', join(state, 'a.json')],
    ];
    try {
      for (const args of runs) {
        const run = (entry: string) => spawnSync(process.execPath, [entry, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
        const [bundled, unbundled] = [run(BIN), run(modules)];
        expect(bundled.stdout.length).toBeGreaterThan(0);
        expect([bundled.status, bundled.stdout, bundled.stderr]).toEqual([unbundled.status, unbundled.stdout, unbundled.stderr]);
      }
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('has the worker its parallel runs start, which answers as one thread does', () => {
    const two = ['-f', 'ndjson', 'fixtures/ci-run.pcap', 'fixtures/arp-conflict.pcap'];
    const parallel = loadedBy(two, { PCAPDIAG_WORKERS: '2' });
    expect(parallel.status).toBe(0);
    // without its file, the run would have taken one thread (src/cli/parallel.ts workersFor)
    expect(parallel.files).toContain('dist/bundle/capture-worker.cjs');
    expectNoModules(parallel.files);
    const one = loadedBy(two, { PCAPDIAG_WORKERS: '0' });
    expect(one.files).not.toContain('dist/bundle/capture-worker.cjs');
    expect(parallel.stdout).toBe(one.stdout);
  });
});

describe('bin/pcapdiag.js', () => {
  /** A copy of bin/pcapdiag.js beside a dist/ whose two entries say which one ran. */
  function layout(bundle: 'fresh' | 'stale' | 'missing' | 'as old as them'): string {
    const root = mkdtempSync(join(tmpdir(), 'pcapdiag-bin-'));
    mkdirSync(join(root, 'bin'));
    copyFileSync(BIN, join(root, 'bin', 'pcapdiag.js'));
    writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
    const entry = (what: string) => `export async function main(argv) { process.stdout.write(${JSON.stringify(what)} + ' ' + argv.join(' ')); return 3; }\n`;
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(root, 'dist', 'cli', 'main.js'), entry('modules'));
    if (bundle !== 'missing') {
      mkdirSync(join(root, 'dist', 'bundle'));
      writeFileSync(join(root, 'dist', 'bundle', 'main.cjs'), `exports.main = async function (argv) { process.stdout.write('bundle ' + argv.join(' ')); return 3; };\n`);
      const t = Date.now() / 1000;
      // stale: tsc run after the bundle, the modules newer; as old as them: an npm package, whose
      // files all carry one date
      const [modulesT, bundleT] = bundle === 'fresh' ? [t - 10, t] : bundle === 'stale' ? [t, t - 10] : [t, t];
      utimesSync(join(root, 'dist', 'cli', 'main.js'), modulesT, modulesT);
      utimesSync(join(root, 'dist', 'bundle', 'main.cjs'), bundleT, bundleT);
    }
    return root;
  }

  for (const [bundle, ran] of [
    ['fresh', 'bundle'],
    ['as old as them', 'bundle'],
    ['stale', 'modules'],
    ['missing', 'modules'],
  ] as const) {
    it(`runs the ${ran} when the bundle is ${bundle}, with the arguments and exit code`, () => {
      const root = layout(bundle);
      try {
        const r = spawnSync(process.execPath, [join(root, 'bin', 'pcapdiag.js'), '-q', 'x.pcap'], { encoding: 'utf8', timeout: 30_000 });
        expect(r.stdout).toBe(`${ran} -q x.pcap`);
        expect(r.status).toBe(3);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }

  it('says how to build when nothing is built', () => {
    const root = layout('missing');
    try {
      rmSync(join(root, 'dist'), { recursive: true });
      const r = spawnSync(process.execPath, [join(root, 'bin', 'pcapdiag.js')], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(70);
      expect(r.stderr).toContain('not built yet');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
