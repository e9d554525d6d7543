#!/usr/bin/env node
// Entry point: runs the compiled CLI, built by `npm install` through the prepare script: tsc
// writes dist/, scripts/bundle.mjs bundles it into dist/bundle/, which starts faster. It runs
// the modules in dist/ themselves when the bundle is missing or older than them (tsc run alone).
import { statSync } from 'node:fs';

const modules = new URL('../dist/cli/main.js', import.meta.url);
const bundle = new URL('../dist/bundle/main.cjs', import.meta.url);
const built = statSync(modules, { throwIfNoEntry: false });
if (built === undefined) {
  process.stderr.write('pcapdiag: not built yet: run `npm install` (or `npm run build`) in the pcapdiag folder\n');
  process.exit(70);
}
const bundleBuilt = statSync(bundle, { throwIfNoEntry: false });
const bundled = bundleBuilt !== undefined && bundleBuilt.mtimeMs >= built.mtimeMs;
const { main: run } = await import((bundled ? bundle : modules).href);
process.exitCode = await run(process.argv.slice(2));
