import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { Report } from '../analyze.js';
import type { RunReport } from '../run-report.js';
import type { Step } from '../explain.js';
import { HEALTHY, type FlowRecord, type VerdictId } from '../verdict/types.js';
import { benignDnsCounts, relatedLines } from './text.js';
import { endpointsText } from '../verdict/names.js';
import { dur } from '../verdict/format.js';
import { escapeTerminal } from './escape.js';
import { ladderBox, nextChecks } from './ladder.js';
import { PAGE_CSS, PAGE_JS } from './html-page.js';
import { byLabel, groupHeadline } from './sentences.js';
import type { ProblemGroup } from '../report/groups.js';
import type { PacketsWanted, RendererFactory } from './renderer.js';

/**
 * The bounds that keep an HTML report small whatever the capture (README, "HTML report"):
 *  - every problem is listed individually (table, timeline bar, evidence, checks) up to
 *    `problemsListed`; past that, further problems are counted per lane and time bin;
 *  - healthy flows are listed individually while there are at most `healthyListed`; past that,
 *    all of them are counted per lane and time bin instead (the density rows of the timeline);
 *  - ladders (the packets of a flow) for at most `ladders` listed flows, problems first, each at
 *    most `ladderSteps` packets plus the deciding one;
 *  - at most `lanes` lanes (one per server: address and port); flows to further servers share
 *    one lane, "other servers";
 *  - each lane's density is `bins` bins over the time span.
 * So the file is at most ~70 KB of page plus, gzip-compressed, one row per listed flow, one ladder
 * per drawn flow and lanes × bins counts, however many flows the capture holds.
 */
export const HTML_BOUNDS = { problemsListed: 20_000, healthyListed: 5_000, ladders: 2_000, ladderSteps: 60, lanes: 400, bins: 512 } as const;

/** Verdicts that say the capture could not tell (as the text report colours them). */
const INCONCLUSIVE: ReadonlySet<VerdictId> = new Set<VerdictId>(['capture-ended', 'midstream']);

export type VerdictClass = 'problem' | 'inconclusive' | 'healthy';
export function verdictClass(v: VerdictId): VerdictClass {
  return HEALTHY.has(v) ? 'healthy' : INCONCLUSIVE.has(v) ? 'inconclusive' : 'problem';
}

/** Packet-derived text, made visible: control characters as \xNN (the page inserts it as text, never as markup). */
// eslint-disable-next-line no-control-regex
const txt = (s: string): string => (/[\u0000-\u001f\u007f-\u009f]/.test(s) ? escapeTerminal(s) : s);

/** Text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return txt(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Seconds since 1970 of an ISO 8601 UTC time with up to nanosecond digits. */
function epochSec(iso: string): number {
  const dot = iso.indexOf('.');
  const whole = Date.parse((dot < 0 ? iso.slice(0, 19) : iso.slice(0, dot)) + 'Z') / 1000;
  return dot < 0 ? whole : whole + Number('0' + iso.slice(dot, iso.length - 1));
}

/**
 * What the ladders and checks of a listed flow read of its record (explain's packet matching,
 * ladderBox, nextChecks), without its facts and sentences: a listed flow keeps only this.
 */
function slim(r: FlowRecord): FlowRecord {
  const gateway = r.facts?.find((f) => f.kind === 'gateway');
  const { type, id, key, proto, client, server, clientName, serverName, verdict, by, start, t, duration, frame, firstFrame, packets, mac, vendor, macRole, tls, query, qtype, file } = r;
  return {
    type,
    id,
    key,
    proto,
    client,
    server,
    clientName,
    serverName,
    verdict,
    by,
    start,
    t,
    duration,
    summary: '',
    evidence: [],
    check: '',
    frame,
    firstFrame,
    packets,
    mac,
    vendor,
    macRole,
    tls,
    query,
    qtype,
    file,
    facts: gateway === undefined ? undefined : [gateway],
  };
}

/**
 * Flow counts per lane over time in BINS bins of one width for all lanes, growing as flows come:
 * when a flow falls outside the span, the width doubles (two bins become one) and the span grows
 * towards it. Memory: two counters per lane and bin, whatever the number of flows.
 */
class Density {
  lo = NaN;
  width = 1 / 1024;
  readonly healthy: Uint32Array[] = [];
  readonly problems: Uint32Array[] = [];
  constructor(private readonly bins: number) {}

  add(lane: number, t: number, problem: boolean): void {
    if (Number.isNaN(this.lo)) this.lo = Math.floor(t);
    while (t < this.lo || t >= this.lo + this.bins * this.width) this.grow(t < this.lo);
    while (this.healthy.length <= lane) {
      this.healthy.push(new Uint32Array(this.bins));
      this.problems.push(new Uint32Array(this.bins));
    }
    const i = Math.min(this.bins - 1, Math.floor((t - this.lo) / this.width));
    (problem ? this.problems : this.healthy)[lane][i]++;
  }

  private grow(left: boolean): void {
    const shift = left ? this.bins : 0;
    for (const a of [...this.healthy, ...this.problems]) {
      const old = a.slice();
      a.fill(0);
      for (let i = 0; i < this.bins; i++) if (old[i] !== 0) a[(shift + i) >> 1] += old[i];
    }
    if (left) this.lo -= this.bins * this.width;
    this.width *= 2;
  }

  /** Non-empty bins of a lane as [bin, count, bin, count, …]. */
  sparse(lane: number, problem: boolean): number[] {
    const a = (problem ? this.problems : this.healthy)[lane] as Uint32Array | undefined;
    const out: number[] = [];
    if (a !== undefined) for (let i = 0; i < a.length; i++) if (a[i] !== 0) out.push(i, a[i]);
    return out;
  }
}

/** A flow listed individually, as the page's data holds it. */
interface Row {
  id: number;
  verdict: VerdictId;
  by: string;
  proto: string;
  client: string;
  server: string;
  names: string;
  /** Seconds since 1970 of its first packet (made relative to the report's start at the end). */
  at: number;
  duration: number;
  lane: number;
  summary: string;
  evidence: string[];
  check: string;
  /** Related records: id and why (see FlowRecord.related). */
  related?: { id: number; why: string }[];
  vendor?: string;
  mac?: string;
  history?: string;
  state?: string;
  packets: number;
  frame: number;
  file: number;
  start: string;
  /** A problem's group (report/groups.ts). */
  group?: number;
  record: FlowRecord;
  ladder?: LadderData;
}

interface LadderData {
  /** [frame, time label, from, to, label, len, ttl, note] per packet; from/to: c, m, s. */
  steps: [number, string, string, string, string, number, number, string][];
  /** The box in the path, as `pcapdiag explain` names it, or ''. */
  box: string;
  checks: string[];
  /** Why the ladder is missing or cut, or ''. */
  note: string;
}

/** What an HTML report is built from, gathered as records are decided; bounded by HTML_BOUNDS. */
export class HtmlCollector {
  readonly problems: Row[] = [];
  healthy: Row[] | null = [];
  readonly density = new Density(HTML_BOUNDS.bins);
  readonly lanes: { key: string; label: string; flows: number; problems: number }[] = [];
  private readonly laneOf = new Map<string, number>();
  private otherLane = -1;
  readonly files: Report[] = [];
  /** Problems counted, not listed (past problemsListed). */
  problemsAggregated = 0;
  healthyCount = 0;
  /** Seconds since 1970 of each capture's first packet. */
  private readonly fileBase = new Map<string, number>();
  readonly laddersNote = new Map<string, string>();

  add(r: FlowRecord): void {
    // a capture's records share its first packet's time, from which `t` counts
    const file = r.file ?? '';
    let base = this.fileBase.get(file);
    if (base === undefined) {
      base = epochSec(r.start) - r.t;
      this.fileBase.set(file, base);
    }
    const at = base + r.t;
    const lane = this.lane(r);
    const problem = !HEALTHY.has(r.verdict);
    const l = this.lanes[lane];
    l.flows++;
    if (problem) l.problems++;
    if (problem) {
      if (this.problems.length < HTML_BOUNDS.problemsListed) this.problems.push(this.row(r, at, lane));
      else {
        this.problemsAggregated++;
        this.density.add(lane, at, true);
      }
      return;
    }
    this.healthyCount++;
    if (this.healthy !== null && this.healthy.length < HTML_BOUNDS.healthyListed) {
      this.healthy.push(this.row(r, at, lane));
      return;
    }
    // too many to list: every healthy flow is counted per lane and time instead
    if (this.healthy !== null) for (const h of this.healthy) this.density.add(h.lane, h.at, false);
    this.healthy = null;
    this.density.add(lane, at, false);
  }

  private lane(r: FlowRecord): number {
    const key = `${r.proto === 'dns' ? 'dns' : r.proto} ${r.server}`;
    let i = this.laneOf.get(key);
    if (i !== undefined) return i;
    if (this.lanes.length >= HTML_BOUNDS.lanes - 1) {
      if (this.otherLane < 0) {
        this.otherLane = this.lanes.length;
        this.lanes.push({ key: 'other', label: 'other servers', flows: 0, problems: 0 });
      }
      return this.otherLane;
    }
    i = this.lanes.length;
    const proto = r.proto === 'tcp' ? '' : `${r.proto.toUpperCase()} `;
    this.lanes.push({ key, label: txt(`${proto}${r.server}${r.serverName !== undefined ? ` (${r.serverName})` : ''}`), flows: 0, problems: 0 });
    this.laneOf.set(key, i);
    return i;
  }

  private row(r: FlowRecord, at: number, lane: number): Row {
    // a capture's records come before its report (onFile): its index among the reports is how many came before
    const f = this.files.length;
    const names = [r.clientName, r.serverName, r.query, r.tls?.sni].filter((x): x is string => x !== undefined);
    return {
      id: r.id,
      verdict: r.verdict,
      by: r.by,
      proto: r.proto,
      client: txt(r.client),
      server: txt(r.server),
      names: txt([...new Set(names)].join(' ')),
      at,
      duration: r.duration,
      lane,
      summary: txt(r.summary),
      evidence: r.evidence.map(txt),
      check: txt(r.check),
      related: r.related?.map((x) => ({ id: x.id, why: txt(x.why) })),
      vendor: r.vendor === undefined ? undefined : txt(r.vendor),
      mac: r.mac,
      history: r.history,
      state: r.state,
      packets: r.packets,
      frame: r.frame,
      file: f,
      start: r.start,
      group: r.group,
      record: slim(r),
    };
  }

  /** The listed flows whose packets the ladders draw: problems first, then healthy ones, in id order. */
  ladderFlows(): FlowRecord[] {
    const rows = [...this.problems, ...(this.healthy ?? [])].slice(0, HTML_BOUNDS.ladders);
    return rows.map((x) => x.record);
  }

  giveLadders(file: string, packets: Map<FlowRecord, Step[]> | null, why: string): void {
    if (packets === null) {
      this.laddersNote.set(file, why);
      return;
    }
    for (const x of [...this.problems, ...(this.healthy ?? [])]) {
      const steps = packets.get(x.record);
      if (steps === undefined) continue;
      x.ladder = ladderData(x.record, steps);
    }
  }
}

function ladderData(r: FlowRecord, steps: readonly Step[]): LadderData {
  const side = (s: 'client' | 'server' | 'middle') => (s === 'client' ? 'c' : s === 'server' ? 's' : 'm');
  return {
    // the flow's first packet is at +0 (its `t` is rounded to µs in the record)
    steps: steps.map((s) => [s.frame, s.t < 5e-7 ? '+0 s' : `+${dur(s.t * 1e9)}`, side(s.from), side(s.to), txt(s.label), s.len, s.ttl, txt(s.note ?? '')]),
    box: txt(ladderBox(r, steps) ?? ''),
    checks: nextChecks(r, steps).map(txt),
    note: steps.length >= HTML_BOUNDS.ladderSteps ? `the first ${HTML_BOUNDS.ladderSteps} packets (and the deciding one): \`pcapdiag explain ${r.file ?? ''} ${r.id}\` lists up to 500` : '',
  };
}

/** The page's data: what the script draws the timeline, the table and the ladders from. */
function pageData(c: HtmlCollector, run: RunReport) {
  const starts = c.files.map((f) => (f.input.first === null ? Infinity : epochSec(f.input.first)));
  const rowsAll = [...c.problems, ...(c.healthy ?? [])];
  let t0 = Math.min(...starts, ...rowsAll.map((x) => x.at));
  if (!Number.isFinite(t0)) t0 = Number.isNaN(c.density.lo) ? 0 : c.density.lo;
  let end = 0;
  for (const f of c.files) if (f.input.last !== null) end = Math.max(end, epochSec(f.input.last) - t0);
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  const rows = rowsAll.map((x) => ({
    id: x.id,
    v: x.verdict,
    by: x.by,
    p: x.proto,
    c: x.client,
    s: x.server,
    n: x.names,
    t: round(x.at - t0),
    d: round(x.duration),
    l: x.lane,
    sum: x.summary,
    ev: x.evidence,
    chk: x.check,
    mac: x.mac,
    ven: x.vendor,
    h: x.history,
    st: x.state,
    pk: x.packets,
    fr: x.frame,
    f: x.file,
    at: x.start,
    lad: x.ladder,
  }));
  return {
    files: c.files.map((f) => f.input.name),
    span: round(Math.max(end, ...rows.map((x) => x.t + x.d))),
    lanes: c.lanes.map((l, i) => ({ label: l.label, flows: l.flows, problems: l.problems, dh: c.density.sparse(i, false), dp: c.density.sparse(i, true) })),
    density: { lo: Number.isNaN(c.density.lo) ? 0 : round(c.density.lo - t0), width: c.density.width, bins: HTML_BOUNDS.bins },
    rows,
    healthyListed: c.healthy !== null,
    healthyCount: c.healthyCount,
    problemsAggregated: c.problemsAggregated,
    laddersNote: [...c.laddersNote].map(([f, why]) => `${f}: ${why}`),
    problemsTotal: run.summary.problems,
  };
}

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/** The whole page: header, problem blocks and counts as HTML; timeline, ladders and table drawn by the script from the data. */
export function renderHtml(c: HtmlCollector, run: RunReport, limit: number): string {
  const data = gzipSync(JSON.stringify(pageData(c, run)), { level: 6 }).toString('base64');
  const csp = `default-src 'none'; script-src ${sha256(PAGE_JS)}; style-src ${sha256(PAGE_CSS)}; img-src data:; base-uri 'none'; form-action 'none'`;
  const title = run.files.length === 1 ? run.files[0].input.name : `${run.files.length} captures`;
  const h: string[] = [];
  h.push('<!doctype html>', '<html lang="en">', '<head>', '<meta charset="utf-8">');
  h.push(`<meta http-equiv="Content-Security-Policy" content="${csp}">`);
  h.push('<meta name="viewport" content="width=device-width, initial-scale=1">', '<meta name="referrer" content="no-referrer">');
  h.push(`<title>pcapdiag · ${escapeHtml(title)}</title>`, `<style>${PAGE_CSS}</style>`, '</head>', '<body>');
  h.push('<a class="skip" href="#flows">Skip to the flow table</a>');
  h.push('<header>', `<h1>pcapdiag · ${escapeHtml(title)}</h1>`);
  for (const f of c.files) h.push(...headerFacts(f, c.files.length > 1));
  h.push('</header>', '<main>');
  h.push(...problemBlocks(c, run, limit));
  h.push(...healthyCounts(run));
  h.push(
    '<section id="timeline-section" aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline</h2>',
    '<noscript><p>The timeline, the ladders and the flow table need JavaScript; the problems above are complete without it.</p></noscript>',
    '<div id="timeline-controls" class="controls"></div><div id="timeline" class="timeline"></div><p id="legend" class="legend"></p></section>',
    '<section id="detail" aria-labelledby="detail-h" aria-live="polite"><h2 id="detail-h">Selected flow</h2><p class="hint">Select a flow in the timeline or the table (or open a link such as <code>#flow-2</code>).</p></section>',
    '<section id="flows" aria-labelledby="flows-h"><h2 id="flows-h">Flows</h2><div id="table-controls" class="controls"></div><div id="table"></div></section>',
  );
  const notRead = (run.unreadable ?? []).map((u) => `not read: ${u.error}`);
  const warnings = [...notRead, ...c.files.flatMap((f) => f.warnings.map((w) => (c.files.length > 1 ? `${f.input.name}: ${w}` : w)))];
  if (warnings.length > 0) h.push('<section id="warnings" aria-labelledby="warnings-h"><h2 id="warnings-h">Warnings</h2><ul>', ...warnings.map((w) => `<li>${escapeHtml(w)}</li>`), '</ul></section>');
  h.push('</main>', `<script type="application/gzip+base64" id="data">${data}</script>`, `<script>${PAGE_JS}</script>`, '</body>', '</html>');
  return h.join('\n') + '\n';
}

function headerFacts(r: Report, several: boolean): string[] {
  const inp = r.input;
  const links = inp.linkTypes.map((l) => l.name).join(', ') || 'no packets';
  const span = inp.first === null ? '' : ` · ${inp.first.replace('T', ' ').replace(/\.(\d{6})\d{3}Z$/, '.$1')} UTC, ${inp.durationSec.toFixed(3)} s`;
  const out = ['<dl class="facts">'];
  if (several) out.push(`<dt>capture</dt><dd>${escapeHtml(inp.name)}</dd>`);
  out.push(`<dt>read</dt><dd>${escapeHtml(`${inp.format} · ${links} · ${inp.packets} packet${inp.packets === 1 ? '' : 's'}${span}`)}</dd>`);
  out.push(`<dt>timers</dt><dd>SYN timeout ${r.options.synTimeoutMs / 1000} s · DNS timeout ${r.options.dnsTimeoutMs / 1000} s</dd>`);
  if (inp.vantage !== undefined) out.push(`<dt>vantage</dt><dd>${escapeHtml(inp.vantage)}</dd>`);
  out.push('</dl>');
  return out;
}

function problemBlocks(c: HtmlCollector, run: RunReport, limit: number): string[] {
  const n = run.summary.problems;
  const out = ['<section id="problems" aria-labelledby="problems-h">'];
  out.push(`<h2 id="problems-h">${n === 0 ? 'No problems found' : `${n} problem${n === 1 ? '' : 's'}`}</h2>`);
  // the listed problems of each group (a capture's groups are named by their first record's id)
  const rowsOf = new Map<number, Row[]>();
  for (const p of c.problems) {
    const key = p.group ?? -p.id;
    const list = rowsOf.get(key);
    if (list === undefined) rowsOf.set(key, [p]);
    else list.push(p);
  }
  // by verdict, in the order of their first groups; each group's headline (two or more) over its first --limit
  const byVerdict = new Map<VerdictId, ProblemGroup[]>();
  for (const g of run.groups) {
    const list = byVerdict.get(g.verdict);
    if (list === undefined) byVerdict.set(g.verdict, [g]);
    else list.push(g);
  }
  for (const [verdict, groups] of byVerdict) {
    const total = run.summary.verdicts[verdict] ?? groups.reduce((n, g) => n + g.count, 0);
    const cls = verdictClass(verdict);
    out.push(`<section class="group ${cls}" aria-label="${verdict}: ${total}"><h3><span class="badge ${cls}">${cls === 'inconclusive' ? '? inconclusive' : '✖ problem'}</span> ${verdict} (${total})</h3>`);
    for (const g of groups) {
      const list = rowsOf.get(g.id) ?? [];
      if (g.count > 1) out.push(`<p class="alike" id="g-${g.id}"><strong>${escapeHtml(groupHeadline(g))}</strong></p>`);
      const shown = list.slice(0, limit);
      for (const p of shown) {
        out.push(`<article class="problem ${cls}" id="p-${p.id}" data-flow="${p.id}">`);
        out.push(`<h4><a href="#flow-${p.id}">#${p.id}</a> ${p.proto.toUpperCase()} ${escapeHtml(endpointsText(p.record))} <span class="by">${escapeHtml(byLabel(p.record))}</span></h4>`);
        out.push(`<p class="summary">${escapeHtml(p.summary)}</p><ul class="evidence">`, ...p.evidence.map((e) => `<li>${escapeHtml(e)}</li>`), '</ul>');
        for (const x of relatedLines(p.related)) out.push(`<p class="related">related ${x.ids.map((id) => `<a href="#flow-${id}">#${id}</a>`).join(', ')}: ${escapeHtml(x.why)}</p>`);
        if (p.check !== '') out.push(`<p class="check"><span aria-hidden="true">→ </span>${escapeHtml(p.check)}</p>`);
        out.push('</article>');
      }
      if (g.count > shown.length) out.push(`<p class="more">… ${g.count - shown.length} more ${verdict} like ${g.count > 1 ? 'these' : 'this'}: in the flow table below${c.problemsAggregated > 0 ? ' (or --format ndjson for all)' : ''}</p>`);
    }
    out.push('</section>');
  }
  if (c.problemsAggregated > 0) out.push(`<p class="more">${c.problemsAggregated} problems past the first ${HTML_BOUNDS.problemsListed} are counted in the timeline's density rows, not listed: use --format ndjson for every record.</p>`);
  out.push('</section>');
  return out;
}

function healthyCounts(run: RunReport): string[] {
  const v = run.summary.verdicts;
  const ok = v['ok'] ?? 0;
  const dnsOk = v['dns-ok'] ?? 0;
  const more: string[] = [];
  if ((v['ping-ok'] ?? 0) > 0) more.push(`, ${v['ping-ok']} ping${v['ping-ok'] === 1 ? '' : 's'} answered`);
  if ((v['health-check'] ?? 0) > 0) more.push(`, ${v['health-check']} health-check connection${v['health-check'] === 1 ? '' : 's'} (benign)`);
  for (const m of benignDnsCounts(v)) more.push(`, ${m}`);
  const out = [
    '<section id="healthy" aria-labelledby="healthy-h">',
    `<h2 id="healthy-h"><span class="badge healthy">✔ OK</span> ${ok} TCP connection${ok === 1 ? '' : 's'} completed, ${dnsOk} DNS lookup${dnsOk === 1 ? '' : 's'} answered${more.join('')}</h2>`,
  ];
  out.push('<table class="counts"><thead><tr><th scope="col">verdict</th><th scope="col">count</th></tr></thead><tbody>');
  for (const [name, n] of Object.entries(v)) out.push(`<tr class="${verdictClass(name as VerdictId)}"><td>${name}</td><td>${n}</td></tr>`);
  out.push(`<tr><td>TCP conversations</td><td>${run.summary.tcpConversations}</td></tr>`, '</tbody></table></section>');
  return out;
}

/**
 * `--format html`: one self-contained page (inline CSS, script and SVG; a Content-Security-Policy
 * that allows no request). Records are gathered as they are decided, within HTML_BOUNDS; after the
 * analysis the command reads the listed flows' packets again for the ladders (`packets`).
 */
export const htmlRenderer: RendererFactory = (out, s) => {
  const c = new HtmlCollector();
  const packets: PacketsWanted = {
    maxSteps: HTML_BOUNDS.ladderSteps,
    flows: () => c.ladderFlows(),
    give: (file, found, why) => c.giveLadders(file, found, why),
  };
  return {
    feed: () => ({ keep: 'none', onRecord: (r) => c.add(r), problemsOnly: false }),
    onFile: (report) => {
      c.files.push(report);
    },
    onEnd: (run) => out.write(renderHtml(c, run, s.limit)),
    packets,
    showsWarnings: false,
  };
};
