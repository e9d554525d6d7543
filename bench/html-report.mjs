/* global document */
// The HTML report of a capture: how long pcapdiag takes to write it, its size, and the time to
// first render in headless Chromium (Debian's /usr/bin/chromium through playwright-core): from
// the start of navigation to the first frame painted after the page's script drew the timeline
// and the table (the page's `pcapdiag-painted` performance mark).
//
// Usage: node bench/html-report.mjs CAPTURE... [--runs N]   (build first: npm run build)
import { spawnSync } from 'node:child_process';
import { statSync, mkdtempSync, rmSync } from 'node:fs';
import { join, basename } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 3;
const BIN = fileURLToPath(new URL('../bin/pcapdiag.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-html-bench-'));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  for (const cap of args) {
    const out = join(dir, basename(cap) + '.html');
    const t0 = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, '-q', cap, '-o', out], { encoding: 'utf8' });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`pcapdiag exited ${r.status}: ${r.stderr}`);
    const rssMiB = Number(r.stderr.trim().split('\n').at(-1)) / 1024;
    const size = statSync(out).size;
    const renders = [];
    const marks = [];
    const fcps = [];
    let info = null;
    for (let i = 0; i < runs; i++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(out).href, { waitUntil: 'commit' });
      await page.waitForSelector('body[data-ready]', { timeout: 120_000 });
      await page.waitForFunction(() => performance.getEntriesByName('pcapdiag-painted').length > 0, null, { timeout: 120_000 });
      renders.push(await page.evaluate(() => performance.getEntriesByName('pcapdiag-painted')[0].startTime));
      fcps.push(await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN));
      if (i === 0)
        marks.push(
          await page.evaluate(() =>
            performance
              .getEntriesByType('mark')
              .map((m) => `${m.name.replace('pcapdiag-', '')} ${m.startTime.toFixed(0)}`)
              .join(', '),
          ),
        );
      info ??= await page.evaluate(() => ({ rows: document.querySelectorAll('#table tbody tr').length, bars: document.querySelectorAll('#timeline-svg rect').length, ready: document.body.dataset.ready }));
      if (errors.length > 0) throw new Error(errors.join('; '));
      await page.close();
    }
    console.log(
      `${cap}: ${(statSync(cap).size / 1e6).toFixed(0)} MB capture → report in ${wall.toFixed(2)} s (peak RSS ${rssMiB.toFixed(0)} MiB), ` +
        `${(size / 1e6).toFixed(2)} MB html; first paint (header, problems) ${median(fcps).toFixed(0)} ms, first render with timeline and table ${median(renders).toFixed(0)} ms (median of ${runs}: ${renders.map((x) => x.toFixed(0)).join(', ')}); ` +
        `${info.rows} table rows shown, ${info.bars} timeline rects, ${info.ready}; first run's marks (ms): ${marks[0]}`,
    );
  }
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
