#!/usr/bin/env node
// pcapdiag from the compiled modules in dist/, not bin/pcapdiag.js's bundle (dist/bundle/): for
// bench/profile.mjs, which tells its phases apart by each function's module.
// Usage: node bench/unbundled.mjs [pcapdiag's arguments]
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
