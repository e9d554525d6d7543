import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { cli, FIXTURES, ndjsonLines, isFlow } from './helpers/run.js';
import { runInProcess, StringSink } from './helpers/in-process.js';
import { pageData, inlineHashes } from './helpers/html.js';
import { hostileCapture, HOSTILE } from './helpers/hostile.js';
import { HTML_BOUNDS, htmlRenderer } from '../src/render/html.js';
import { analyzeCaptures } from '../src/cli/captures.js';
import { DEFAULT_OPTIONS } from '../src/analyze.js';
import { HEALTHY, type FlowRecord } from '../src/verdict/types.js';
import { SCHEMA_VERSION, fileReport, totalSummary, type RunReport } from '../src/run-report.js';
import type { Step } from '../src/explain.js';

async function html(args: string[]): Promise<string> {
  const r = await runInProcess(['-f', 'html', ...args]);
  expect(r.code).toBe(0);
  return r.stdout;
}

describe('--format html', () => {
  it('is one self-contained page: a CSP that allows no request, only its own hashed script and style', async () => {
    const page = await html([join(FIXTURES, 'tcp-reset-by-router.pcap')]);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(page)?.[1] ?? '';
    expect(csp).toMatch(/^default-src 'none';/);
    const { scripts, styles } = inlineHashes(page);
    expect(scripts).toHaveLength(1);
    expect(styles).toHaveLength(1);
    expect(csp).toContain(`script-src ${scripts[0]};`);
    expect(csp).toContain(`style-src ${styles[0]};`);
    // nothing that loads: no src/href to anything but a fragment, no url() but fragments
    expect(page).not.toMatch(/\b(src|href|action|poster|srcset)\s*=\s*"(?!#)/i);
    expect(page).not.toMatch(/url\((?!#)/);
    expect(page).not.toMatch(/@import/);
  });

  it('lists every problem with evidence, and the ladder packets of each listed flow with the deciding one', async () => {
    const file = join(FIXTURES, 'ci-run.pcap');
    const page = await html([file]);
    const flows = ndjsonLines(cli(['-f', 'ndjson', file]).stdout).filter(isFlow);
    const data = pageData(page);
    expect(data.rows.map((r) => r.id).sort((a, b) => a - b)).toEqual(flows.map((f) => f.id).sort((a, b) => a - b));
    const problems = flows.filter((f) => !HEALTHY.has(f.verdict));
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) {
      expect(page).toContain(`<article class="problem problem" id="p-${p.id}" data-flow="${p.id}">`);
      const row = data.rows.find((r) => r.id === p.id);
      expect(row?.ev).toEqual(p.evidence);
      const frames = row?.lad?.steps.map((s) => s[0]) ?? [];
      if (p.frame !== 0) expect(frames).toContain(p.frame);
    }
  });

  it('ladders are the packets explain reads: the same frames in the same order', async () => {
    const file = join(FIXTURES, 'tcp-reset-by-router.pcap');
    const data = pageData(await html([file]));
    const text = (await runInProcess(['explain', file, '2'])).stdout;
    const explained = [...text.matchAll(/ #(\d+) len/g)].map((m) => Number(m[1]));
    expect(data.rows.find((r) => r.id === 2)?.lad?.steps.map((s) => s[0])).toEqual(explained);
  });

  it('-o report.html writes the HTML report to the file (format from the name), the same as -f html', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-html-'));
    const out = join(dir, 'report.html');
    const file = join(FIXTURES, 'tcp-refused.pcap');
    const r = cli(['-q', file, '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(cli(['-q', '-f', 'html', file]).stdout);
    expect(cli(['-q', file, '-o', join(dir, 'no', 'such', 'dir.html')])).toMatchObject({ code: 3, stderr: expect.stringMatching(/^pcapdiag: cannot write .*dir\.html: no such file\n$/) as unknown });
    // another extension keeps the default format
    expect(cli(['-q', file, '-o', join(dir, 'r.txt')]).code).toBe(0);
    expect(readFileSync(join(dir, 'r.txt'), 'utf8')).toMatch(/^pcapdiag · /);
  });

  it('several captures: one page, each flow labelled with its capture and given its ladder from it', async () => {
    const a = join(FIXTURES, 'tcp-refused.pcap');
    const b = join(FIXTURES, 'dns.pcap');
    const data = pageData(await html([a, b]));
    const flows = ndjsonLines(cli(['-f', 'ndjson', a, b]).stdout).filter(isFlow);
    expect(data.files).toEqual([a, b]);
    for (const f of flows) {
      const row = data.rows.find((r) => r.id === f.id);
      expect(data.files.at(row?.f ?? data.files.length)).toBe(f.file);
      if (f.frame !== 0) expect(row?.lad?.steps.map((s) => s[0])).toContain(f.frame);
    }
  });

  it('from standard input: the report, with the reason the ladders are missing', () => {
    const r = cli(['-q', '-f', 'html', '-'], readFileSync(join(FIXTURES, 'tcp-refused.pcap')));
    expect(r.code).toBe(0);
    const data = pageData(r.stdout);
    expect(data.rows.every((x) => x.lad === undefined)).toBe(true);
    expect(data.laddersNote.join()).toMatch(/<stdin>: read from a pipe/);
  });

  it('escapes packet-derived text: DNS names and an SNI with markup, quotes and control characters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-html-'));
    const cap = join(dir, 'hostile.pcap');
    writeFileSync(cap, hostileCapture());
    const page = await html([cap]);
    // the static part: no markup from the capture, no raw control characters
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<svg onload');
    expect(page).not.toContain('<b>');
    // eslint-disable-next-line no-control-regex
    expect(page).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(page).toContain('&#60;script&#62;alert(&#34;nx&#34;)&#60;./script&#62;&#39;\\007\\027[2J.test.');
    expect(page).toContain('&#34;&#62;&#60;script&#62;alert(&#39;sni&#39;)&#60;/script&#62;\\x07\\x1b]0;pwned\\x07&#60;b&#62;');
    // the data the script inserts as text: control characters made visible
    const data = pageData(page);
    const tls = data.rows.find((r) => r.sum.includes('ClientHello'));
    expect(tls?.sum).toContain(`for ${HOSTILE.sni.replaceAll('\x07', '\\x07').replaceAll('\x1b', '\\x1b')}, with no ServerHello`);
    expect(tls?.s).toBe('10.0.2.20:443');
    expect(tls?.n).toContain('<svg\\032onload=alert(1)>".test');
  });
});

describe('--format html size bound', () => {
  it(`1,000,000 flows with 10,000 problems: every problem listed, healthy flows counted per lane, under 5 MB`, async () => {
    // real records of a real capture, as templates: one problem (refused) and one healthy (ok)
    const file = join(FIXTURES, 'tcp-reset-by-router.pcap');
    const sink = new StringSink();
    const renderer = htmlRenderer(sink, { color: false, limit: 20, several: false });
    const real: FlowRecord[] = [];
    const { reports } = await analyzeCaptures([[file]], null, DEFAULT_OPTIONS, { per: () => ({ keep: 'all', onFlow: (r) => real.push(r), onFlowProblemsOnly: false }) });
    const ok = real.find((r) => r.verdict === 'ok');
    const bad = real.find((r) => r.verdict === 'refused');
    if (ok === undefined || bad === undefined) throw new Error('fixture changed');
    const feed = renderer.feed(false);
    const base = Date.parse('2026-11-22T04:00:00Z');
    const N = 1_000_000;
    const PROBLEMS = 10_000;
    for (let i = 0; i < N; i++) {
      const problem = i % (N / PROBLEMS) === 7;
      const t = i * 0.0036; // one hour
      const ms = base + Math.floor(t * 1000);
      const r: FlowRecord = {
        ...(problem ? bad : ok),
        id: i + 1,
        t,
        start: new Date(ms).toISOString().replace('Z', '000Z'),
        client: `10.1.${(i >> 8) & 255}.${i & 255}:${10000 + (i % 50000)}`,
        server: `10.2.${(i >> 4) % 40}.${i % 97}:${problem ? 443 : 80}`,
      };
      feed.onRecord?.(r);
    }
    renderer.onFile(reports[0], false);
    // ladders for the flows the renderer asks for, each as long as the bound allows
    const wanted = renderer.packets;
    if (wanted === undefined) throw new Error('html draws ladders');
    const step: Step = { frame: 13, t: 0.000075, from: 'middle', to: 'client', label: 'RST+ACK', len: 0, ttl: 64 };
    const flows = wanted.flows();
    expect(flows).toHaveLength(HTML_BOUNDS.ladders);
    wanted.give(file, new Map(flows.map((r) => [r, Array.from({ length: wanted.maxSteps }, (_, k) => ({ ...step, frame: r.frame + k, t: k * 0.001 }))])), '');
    const summary = { ...totalSummary(reports), problems: PROBLEMS, verdicts: { ok: N - PROBLEMS, refused: PROBLEMS } };
    const run: RunReport = { schema: SCHEMA_VERSION, options: DEFAULT_OPTIONS, filter: null, files: reports.map(fileReport), records: [], groups: [], summary, checks: null };
    renderer.onEnd(run);
    const page = sink.text;
    expect(page.length).toBeLessThan(5 * 1024 * 1024);
    const data = pageData(page);
    expect(data.rows).toHaveLength(PROBLEMS);
    expect(data.rows.every((r) => r.v === 'refused')).toBe(true);
    expect(data.healthyListed).toBe(false);
    expect(data.healthyCount).toBe(N - PROBLEMS);
    const counted = data.lanes.reduce((n, l) => n + l.dh.filter((_, k) => k % 2 === 1).reduce((a, b) => a + b, 0), 0);
    expect(counted).toBe(N - PROBLEMS);
    expect(data.lanes.length).toBeLessThanOrEqual(HTML_BOUNDS.lanes);
    console.log(`html size bound: ${N} flows, ${PROBLEMS} problems → ${(page.length / 1e6).toFixed(2)} MB`);
  });
});
