import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FIXTURES, ROOT, cli, fixtureFiles, ndjsonLines, isFlow } from './helpers/run.js';
import { hostileCapture } from './helpers/hostile.js';
import { HEALTHY, type FlowRecord } from '../src/verdict/types.js';

// The HTML report in a real browser: Debian's chromium (scripts/install-chromium.sh, run by
// scripts/test-all.sh as root), driven by playwright-core with the system executable (no browser
// download). Screenshots go to test-output/html/ (gitignored).
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const OUT = join(ROOT, 'test-output', 'html');
if (!hasChromium) console.warn(`html-browser: SKIPPED: ${CHROMIUM} is missing (as root, scripts/install-chromium.sh installs Debian's chromium)`);

interface Opened {
  page: Page;
  /** Requests other than the report file itself (each aborted). */
  requests: string[];
  /** Console errors and page errors. */
  errors: string[];
}

describe.skipIf(!hasChromium)(`HTML report in headless Chromium${hasChromium ? '' : ` (skipped: ${CHROMIUM} missing; run scripts/install-chromium.sh as root)`}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser.close();
  });

  /** Writes the report of a capture and opens it from disk, failing on any other request. */
  async function open(capture: string, name: string, hash = ''): Promise<Opened & { flows: FlowRecord[]; file: string }> {
    const file = join(OUT, `${name}.html`);
    const r = cli(['-q', '-f', 'html', capture]);
    expect(r.code).toBe(0);
    writeFileSync(file, r.stdout);
    const flows = ndjsonLines(cli(['-q', '-f', 'ndjson', capture]).stdout).filter(isFlow);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const url = pathToFileURL(file).href;
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('dialog', (d) => {
      errors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (q) => {
      if (q.url().split('#')[0] !== url) requests.push(q.url());
    });
    await page.route('**/*', (route) => (route.request().url().split('#')[0] === url ? route.continue() : route.abort()));
    await page.goto(url + hash);
    await page.waitForSelector('body[data-ready]');
    expect(await page.getAttribute('body', 'data-ready')).toBe('true');
    return { page, requests, errors, flows, file };
  }

  async function selectedId(page: Page): Promise<number> {
    const h = await page.evaluate(() => location.hash);
    return Number(/^#flow-(\d+)$/.exec(h)?.[1] ?? NaN);
  }

  /** The ladder of the selected flow marks its deciding packet. */
  async function expectDecides(page: Page, r: FlowRecord): Promise<void> {
    await expect.poll(() => page.locator('#detail h3').textContent()).toContain(`#${r.id} `);
    if (r.frame !== 0) {
      await expect.poll(() => page.locator('#ladder .decides-row').getAttribute('data-frame')).toBe(String(r.frame));
      expect(await page.locator('#ladder .decides-row').textContent()).toContain('decides');
    }
  }

  it('the report of every fixture (and of the rotated and two-vantage sets) opens: ready, no console error, no request, no dialog', async () => {
    const captures = [...fixtureFiles(), 'rotated-size', 'rotated-time', 'vantage'];
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    let current = '';
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${current}: console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`${current}: page error: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`${current}: dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (q) => {
      if (!q.url().startsWith('file:')) problems.push(`${current}: request ${q.url()}`);
    });
    await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    for (const c of captures) {
      current = c;
      const file = join(OUT, `every-${c.replace(/[^\w.-]/g, '_')}.html`);
      const r = cli(['-q', '-f', 'html', join(FIXTURES, c)]);
      expect(r.code, `${c}: ${r.stderr}`).toBe(0);
      writeFileSync(file, r.stdout);
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector('body[data-ready]');
      expect(await page.getAttribute('body', 'data-ready'), c).toBe('true');
    }
    await page.close();
    expect(problems).toEqual([]);
  }, 300_000);

  const FIXTURE_CASES = ['tcp-reset-by-router.pcap', 'ci-run.pcap', 'dns.pcap', 'icmp-admin-prohibited-router.pcap', 'tls-self-signed.pcap', 'ipv6.pcap'];
  for (const fx of FIXTURE_CASES) {
    it(`${fx}: problem blocks, a click in the timeline and in the table, the keyboard, no request, no error`, async () => {
      const { page, requests, errors, flows } = await open(join(FIXTURES, fx), fx.replace(/\.pcap(ng)?$/, ''));
      const problems = flows.filter((f) => !HEALTHY.has(f.verdict));
      expect(problems.length).toBeGreaterThan(0);
      // the problem blocks, as the text report groups them
      expect(await page.locator('article.problem').count()).toBe(problems.length);
      for (const p of problems) expect(await page.locator(`#p-${p.id} .summary`).textContent()).toBe(p.summary);
      // a click on a problem's bar in the timeline selects it: detail, ladder with the deciding packet, URL
      const p = problems.find((x) => x.frame !== 0) ?? problems[0];
      await page.locator(`#timeline-svg rect.bar[data-id="${p.id}"]`).click();
      await expectDecides(page, p);
      expect(await selectedId(page)).toBe(p.id);
      expect(await page.locator(`#row-${p.id}`).getAttribute('aria-selected')).toBe('true');
      // a click on a row of the table
      const other = flows.find((f) => f.id !== p.id) ?? p;
      await page.locator(`#row-${other.id}`).click();
      await expectDecides(page, other);
      expect(await selectedId(page)).toBe(other.id);
      // keyboard: the table's rows (arrows, Home), then the timeline (Home, arrows: flows in time order)
      const ids = await page.locator('#table tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-id'))));
      await page.locator(`#row-${ids[0]}`).focus();
      await page.keyboard.press('Home');
      expect(await selectedId(page)).toBe(ids[0]);
      if (ids.length > 1) {
        await page.keyboard.press('ArrowDown');
        expect(await selectedId(page)).toBe(ids[1]);
        expect(await page.evaluate(() => document.activeElement?.id)).toBe(`row-${ids[1]}`);
      }
      const byTime = [...flows].sort((a, b) => a.t - b.t || a.id - b.id).map((f) => f.id);
      await page.locator('#timeline-svg').focus();
      await page.keyboard.press('Home');
      expect(await selectedId(page)).toBe(byTime[0]);
      if (byTime.length > 1) {
        await page.keyboard.press('ArrowRight');
        expect(await selectedId(page)).toBe(byTime[1]);
      }
      // table: search and sort
      await page.fill('#search', p.verdict);
      const shown = await page.locator('#table tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-id'))));
      expect(shown.sort((a, b) => a - b)).toEqual(flows.filter((f) => `${f.id} ${f.verdict} ${f.by} ${f.client} ${f.server}`.includes(p.verdict) || f.summary.toLowerCase().includes(p.verdict)).map((f) => f.id));
      await page.fill('#search', '');
      await page.click('#table th button[data-col="id"]');
      expect(await page.getAttribute('#table th:first-child', 'aria-sort')).toBe('descending');
      await page.locator(`#p-${p.id} h4 a`).click();
      await expectDecides(page, p);
      await page.screenshot({ path: join(OUT, `${fx.replace(/\.pcap(ng)?$/, '')}.png`), fullPage: true });
      expect(requests).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    });
  }

  it('a link to report.html#flow-N opens with that flow selected; shapes and words besides colour; print', async () => {
    const { page, flows, errors } = await open(join(FIXTURES, 'ci-run.pcap'), 'ci-run-hash', '#flow-3');
    const r = flows.find((f) => f.id === 3);
    if (r === undefined) throw new Error('ci-run.pcap has a flow #3');
    await expectDecides(page, r);
    expect(await page.locator('#row-3').getAttribute('aria-selected')).toBe('true');
    await page.evaluate(() => (location.hash = '#flow-1'));
    await expect.poll(() => page.locator('#detail h3').textContent()).toContain('#1 ');
    // colour is not the only signal: problems are hatched and outlined, healthy flows plain; verdicts are words
    const fill = (sel: string) =>
      page
        .locator(sel)
        .first()
        .evaluate((e) => getComputedStyle(e).fill);
    expect(await fill('#timeline-svg rect.bar.problem')).toMatch(/url\(.*#hatch-problem/);
    expect(await fill('#timeline-svg rect.bar.healthy')).not.toMatch(/url\(/);
    const refused = flows.find((f) => f.verdict === 'refused');
    if (refused === undefined) throw new Error('ci-run.pcap has a refused flow');
    expect(await page.locator(`#row-${refused.id} .badge`).textContent()).toBe('\u2716 refused');
    // print: the controls go, the problem blocks and the selected flow's ladder stay
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('#timeline-controls').isVisible()).toBe(false);
    expect(await page.locator('#table-controls').isVisible()).toBe(false);
    expect(await page.locator('article.problem').first().isVisible()).toBe(true);
    expect(await page.locator('#ladder').isVisible()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('hostile text from packets shows as text: no element, script or dialog comes from the capture', async () => {
    const cap = join(OUT, 'hostile.pcap');
    mkdirSync(OUT, { recursive: true });
    writeFileSync(cap, hostileCapture());
    const { page, requests, errors, flows } = await open(cap, 'hostile');
    const tls = flows.find((f) => f.verdict === 'tls-aborted');
    if (tls === undefined) throw new Error('the hostile capture has a tls-aborted flow');
    await page.locator(`#timeline-svg rect.bar[data-id="${tls.id}"]`).click();
    await expectDecides(page, tls);
    const detail = (await page.locator('#detail').textContent()) ?? '';
    expect(detail).toContain(`"><script>alert('sni')</script>\\x07\\x1b]0;pwned\\x07<b>`);
    expect(await page.locator(`#p-${tls.id} .summary`).textContent()).toContain(`<script>alert('sni')</script>`);
    // only the page's own two scripts; nothing the capture named became an element
    expect(await page.locator('script').count()).toBe(2);
    expect(await page.locator('b, svg[onload], [onload], [onerror]').count()).toBe(0);
    await page.fill('#search', '<script>');
    expect(await page.locator('#table tbody tr').count()).toBe(2);
    await page.screenshot({ path: join(OUT, 'hostile.png'), fullPage: true });
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
