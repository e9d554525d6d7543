#!/usr/bin/env node
// Entry point: runs the compiled CLI in dist/ (built by `npm install` through the prepare script).
import { existsSync, readFileSync, writeSync } from 'node:fs';

const args = process.argv.slice(2);
const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('pcapdiag: not built yet: run `npm install` (or `npm run build`) in the pcapdiag folder\n');
  process.exitCode = 70;
} else if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // answered here as the option parser would: loading the CLI and commander first is a third of
  // its start-up, and scripts call it to check the tool is there
  try {
    writeSync(1, `${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
  } catch (e) {
    // a closed pipe (`| true`) ends the run quietly, as in the CLI; other errors exit 3, as there
    if (e.code !== 'EPIPE') {
      process.stderr.write(`pcapdiag: cannot write the output: ${e.code ?? e.message}\n`);
      process.exitCode = 3;
    }
  }
} else {
  const { main: run } = await import(main.href);
  process.exitCode = await run(args);
}
