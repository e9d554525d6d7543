#!/usr/bin/env node
// Entry point: runs the compiled CLI in dist/ (built by `npm install` through the prepare script).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('pcapdiag: not built yet: run `npm install` (or `npm run build`) in the pcapdiag folder\n');
  process.exit(70);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
