#!/usr/bin/env node
// Bundles the compiled CLI (dist/, from tsc) into dist/bundle/ for bin/pcapdiag.js: the modules
// loaded together become one chunk, and what the CLI loads only when asked (a renderer, a
// command, the worker) stays a chunk of its own, loaded as late as before. A text run on a small
// capture then loads 20 files instead of 127 modules, and takes ~75 ms less (README,
// Dependencies). Packages in node_modules stay outside the bundle, loaded as they were.
// Best effort: without rolldown (it needs Node ≥ 20.19) it says so and bin/pcapdiag.js runs the
// modules themselves.
// Usage: node scripts/bundle.mjs (npm run build runs it after tsc)
import { renameSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const out = join(dist, 'bundle');
// written beside it, then renamed over it: a run starting meanwhile finds the old bundle or the new one, whole
const next = join(dist, 'bundle.next');
let build;
try {
  ({ build } = await import('rolldown'));
} catch (e) {
  rmSync(out, { recursive: true, force: true });
  process.stderr.write(`bundle: not bundled (${e.code ?? e.message}); bin/pcapdiag.js runs the compiled modules, which start ~75 ms slower\n`);
  process.exit(0);
}
rmSync(next, { recursive: true, force: true });
await build({
  // the worker is loaded by its URL next to the module that starts it (src/cli/parallel.ts),
  // the package.json two folders up (src/cli/main.ts): dist/bundle/ keeps both where they were
  input: { main: join(dist, 'cli/main.js'), 'capture-worker': join(dist, 'cli/capture-worker.js') },
  platform: 'node',
  // a bare specifier is a package (or node:): loaded from node_modules at run time
  external: (id, _importer, resolved) => !resolved && !id.startsWith('.') && !isAbsolute(id),
  logLevel: 'warn',
  // CommonJS: Node 20 loads it ~20 ms faster than the same chunks as ES modules (its ES module
  // loader's cost per module); strict, as the ES modules it is made of
  output: { dir: next, format: 'cjs', strict: true, entryFileNames: '[name].cjs', chunkFileNames: '[name]-[hash].cjs', sourcemap: true },
});
rmSync(out, { recursive: true, force: true });
renameSync(next, out);
