import Table from 'cli-table3';
import type { Report } from '../analyze.js';
import type { RunReport } from '../run-report.js';
import { HEALTHY, type FlowRecord, type VerdictId } from '../verdict/types.js';
import type { ProblemGroup } from '../report/groups.js';
import { groupHeadline } from './sentences.js';
import { endpointsText } from '../verdict/names.js';
import { escapeTerminal } from './escape.js';
import { checksLines } from './checks.js';
import { byLabel } from './sentences.js';
import type { Output, RendererFactory } from './renderer.js';

export interface TextOptions {
  color: boolean;
  /** Problems shown per group of problems alike before "… N more". */
  limit: number;
  /** Live input: the problems were printed as they were decided; the report is the summary only. */
  problemsShownAbove?: boolean;
}

const ANSI = { red: 31, yellow: 33, green: 32, dim: 2, bold: 1, cyan: 36 } as const;

/**
 * The human report: header, problems grouped by verdict, OK counts, a summary table, warnings;
 * written line by line (joined into one string first, the report of the 1 GB dense benchmark
 * capture was 15 MB of strings at the end of the run, when memory is at its peak).
 */
export function renderText(r: Report, o: TextOptions, out: Output): void {
  const paint = (code: number, s: string) => (o.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const inp = r.input;
  out.line(paint(ANSI.bold, `pcapdiag · ${escapeTerminal(inp.name)}`));
  const links = inp.linkTypes.map((l) => l.name).join(', ') || 'no packets';
  const span = inp.first === null ? '' : ` · ${inp.first.replace('T', ' ').replace(/\.(\d{6})\d{3}Z$/, '.$1')} UTC, ${inp.durationSec.toFixed(3)} s`;
  out.line(`  ${inp.format} · ${links} · ${inp.packets} packet${inp.packets === 1 ? '' : 's'}${span}`);
  out.line(`  timers: SYN timeout ${r.options.synTimeoutMs / 1000} s · DNS timeout ${r.options.dnsTimeoutMs / 1000} s · response timeout ${r.options.responseTimeoutMs / 1000} s`);
  if (inp.vantage !== undefined) out.line(`  vantage: ${inp.vantage}`);
  if (inp.vantages !== undefined) for (const v of inp.vantages.slice(1)) out.line(`  ${vantageClockText(v, inp.vantages[0].name)}`);
  out.line('');

  const nProblems = r.summary.problems;
  if (nProblems === 0) out.line(paint(ANSI.green, 'No problems found.'));
  else out.line(paint(ANSI.bold, `${nProblems} problem${nProblems === 1 ? '' : 's'}${o.problemsShownAbove ? ', shown above as they were decided' : ''}`));
  for (const [verdict, groups] of byVerdict(r)) {
    out.line('');
    const isInconclusive = verdict === 'capture-ended' || verdict === 'midstream';
    // the report holds only the first --limit of each group: the count comes from the summary
    const total = r.summary.verdicts[verdict] ?? groups.reduce((n, g) => n + g.group.count, 0);
    out.line(paint(isInconclusive ? ANSI.yellow : ANSI.red, `${verdict} (${total})`));
    for (const { group, records } of groups) {
      // a group of one is its record; a larger one gets a headline over its first --limit records
      if (group.count > 1) out.line(paint(ANSI.bold, `  ${escapeTerminal(groupHeadline(group))}`));
      if (o.problemsShownAbove) continue;
      const shown = records.slice(0, o.limit);
      for (const p of shown) for (const l of problemLines(p, paint)) out.line(l);
      if (group.count > shown.length) out.line(paint(ANSI.dim, `  … ${group.count - shown.length} more ${verdict} like ${group.count > 1 ? 'these' : 'this'} (use --limit, or --format ndjson for all)`));
    }
  }
  out.line('');
  const ok = r.summary.verdicts['ok'] ?? 0;
  const dnsOk = r.summary.verdicts['dns-ok'] ?? 0;
  const more: string[] = [];
  const pings = r.summary.verdicts['ping-ok'] ?? 0;
  const checks = r.summary.verdicts['health-check'] ?? 0;
  if (pings > 0) more.push(`${pings} ping${pings === 1 ? '' : 's'} answered`);
  if (checks > 0) more.push(`${checks} health-check connection${checks === 1 ? '' : 's'} (benign)`);
  more.push(...benignDnsCounts(r.summary.verdicts));
  out.line(paint(ANSI.green, `OK: ${ok} TCP connection${ok === 1 ? '' : 's'} completed, ${dnsOk} DNS lookup${dnsOk === 1 ? '' : 's'} answered${more.map((m) => `, ${m}`).join('')}`));
  out.line('');
  const t = new Table({ head: ['verdict', 'count'], style: { head: o.color ? ['cyan'] : [], border: o.color ? ['grey'] : [] } });
  for (const [v, n] of Object.entries(r.summary.verdicts)) t.push([v, n]);
  t.push(['TCP conversations', r.summary.tcpConversations]);
  out.line(t.toString());
  if (r.warnings.length > 0) {
    out.line('');
    for (const w of r.warnings) out.line(paint(ANSI.yellow, `warning: ${escapeTerminal(w)}`));
  }
  if (r.anomalies.length > 0) {
    out.line(paint(ANSI.dim, `anomalies: ${r.anomalies.map((a) => `${a.code}×${a.count}`).join(', ')}`));
  }
}

/** The report's groups by verdict (in the order of their first records), each with the records kept of it. */
function byVerdict(r: Report): Map<VerdictId, { group: ProblemGroup; records: FlowRecord[] }[]> {
  const kept = new Map<number, FlowRecord[]>();
  for (const p of r.records) {
    if (HEALTHY.has(p.verdict) || p.group === undefined) continue;
    const list = kept.get(p.group);
    if (list === undefined) kept.set(p.group, [p]);
    else list.push(p);
  }
  const out = new Map<VerdictId, { group: ProblemGroup; records: FlowRecord[] }[]>();
  for (const group of r.groups) {
    const entry = { group, records: kept.get(group.id) ?? [] };
    const list = out.get(group.verdict);
    if (list === undefined) out.set(group.verdict, [entry]);
    else list.push(entry);
  }
  return out;
}

/** The healthy DNS verdicts besides dns-ok, as phrases of the OK line (the HTML report's too). */
export function benignDnsCounts(v: Readonly<Record<string, number>>): string[] {
  const out: string[] = [];
  const failures = (v['dns-search-miss'] ?? 0) + (v['dns-other-family'] ?? 0);
  if (failures > 0) out.push(`${failures} DNS failure${failures === 1 ? '' : 's'} a sibling lookup resolved (search list, other family: benign)`);
  const referrals = v['dns-referral'] ?? 0;
  if (referrals > 0) out.push(`${referrals} DNS referral${referrals === 1 ? '' : 's'} to non-recursive queries`);
  const changes = (v['dns-update-ok'] ?? 0) + (v['dns-notify-ok'] ?? 0);
  if (changes > 0) out.push(`${changes} DNS update${changes === 1 ? '' : 's'} or NOTIFY accepted`);
  return out;
}

/** After the reports of several captures: the totals over all of them. */
export function renderTotal(run: RunReport, color: boolean): string {
  const t = new Table({ head: ['verdict', 'count'], style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [] } });
  for (const [v, n] of Object.entries(run.summary.verdicts)) t.push([v, n]);
  t.push(['TCP conversations', run.summary.tcpConversations]);
  const p = run.summary.problems;
  return `\nTotal over ${run.files.length} captures: ${p} problem${p === 1 ? '' : 's'}\n${notReadText(run)}${t.toString()}\n`;
}

/** The captures that could not be read, said on stderr as they came: named again where the report is read. */
function notReadText(run: RunReport): string {
  return (run.unreadable ?? []).map((u) => `not read: ${escapeTerminal(u.error)}\n`).join('');
}

/** Live input: prints each problem as it is decided, up to --limit per group (bounded memory: a count per group). */
function liveProblems(out: { write(s: string): void }, s: { color: boolean; limit: number }): (r: FlowRecord) => void {
  const shown = new Map<number, number>();
  return (r) => {
    const g = r.group ?? -r.id;
    const n = (shown.get(g) ?? 0) + 1;
    shown.set(g, n);
    if (n <= s.limit) out.write(renderProblem(r, s.color));
    else if (n === s.limit + 1) {
      const line = `${r.start.slice(11, 23)}  ${r.verdict}  #${r.id}: further ${r.verdict} like #${g} are counted, not printed (--limit ${s.limit}); the summary gives their number`;
      out.write((s.color ? `\x1b[${ANSI.dim}m${line}\x1b[0m` : line) + '\n');
    }
  };
}

/** One problem as the report shows it, for printing the moment it is decided (live input). */
export function renderProblem(p: FlowRecord, color: boolean): string {
  const paint = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  // the flow's start time of day (UTC), then the verdict, in place of the file report's group heading
  const label = `${p.start.slice(11, 23)}  ${paint(ANSI.red, p.verdict)}  #${p.id}`;
  return problemLines(p, paint, label).join('\n') + '\n';
}

function problemLines(p: FlowRecord, paint: (c: number, s: string) => string, label = `  #${p.id}`): string[] {
  const head = `${label}  ${p.proto.toUpperCase()}  ${escapeTerminal(endpointsText(p))}  ${escapeTerminal(byLabel(p))}`;
  const lines = [paint(ANSI.bold, head), `      ${escapeTerminal(p.summary)}`];
  for (const e of p.evidence) lines.push(paint(ANSI.dim, `      · ${escapeTerminal(e)}`));
  if (p.vantages !== undefined) lines.push(paint(ANSI.dim, `      seen by: ${escapeTerminal(p.vantages.map((v) => `${v.file} ${v.packets === 0 ? 'none' : `${v.packets} (${v.verdict ?? ''})`}`).join(' · '))}`));
  for (const x of relatedLines(p.related)) lines.push(`      related ${x.ids.map((id) => `#${id}`).join(', ')}: ${escapeTerminal(x.why)}`);
  if (p.check !== '') lines.push(paint(ANSI.cyan, `      → ${escapeTerminal(p.check)}`));
  return lines;
}

/**
 * `--format text`: from a file, the report of each capture after it is read (its problems by
 * verdict, in groups of problems alike, the first --limit of each group); from live input, each
 * problem the moment it is decided (the first --limit of each group, then one line saying the
 * rest are counted), then the summary with the groups' headlines. Several captures get a total;
 * CI gates their findings.
 */
export const textRenderer: RendererFactory = (out, s) => ({
  feed: (live) => ({
    keep: live ? 'none' : { problemsPerGroup: s.limit },
    onRecord: live ? liveProblems(out, s) : null,
    problemsOnly: live,
  }),
  onFile: (report, live) => {
    if (s.several) out.write('\n');
    renderText(report, { color: s.color, limit: s.limit, problemsShownAbove: live }, out);
  },
  onEnd: (run) => {
    if (s.several) out.write(renderTotal(run, s.color));
    // one report for several captures (vantage points correlated): no total to name them under
    else if (run.unreadable !== undefined) out.write('\n' + notReadText(run));
    if (run.checks !== null) out.write('\n' + checksLines(run.checks, new Map(run.records.map((r) => [r.id, r]))).join('\n') + '\n');
  },
  showsWarnings: true,
});

/** "server.pcap: clock +1250.001 ms from client.pcap (27 packets in 5 flows matched both ways; transit ≤ 0.009 ms)". */
function vantageClockText(v: NonNullable<Report['input']['vantages']>[number], ref: string): string {
  const how = v.method === 'both-ways' ? `both ways, transit ≤ ${v.transitMs} ms` : v.method === 'one-way' ? 'one way only: includes the transit time' : v.method === 'same-hop' ? 'same TTL on both sides' : 'nothing matched';
  const sign = v.clockOffsetMs >= 0 ? '+' : '';
  const via = v.via === undefined ? '' : ` via ${escapeTerminal(v.via)}`;
  return `vantage ${escapeTerminal(v.name)}: clock ${sign}${v.clockOffsetMs} ms from ${escapeTerminal(ref)}${via} (${v.matchedPackets} packets in ${v.sharedFlows} flows matched${v.via === undefined ? '' : ' with it'}, ${how})`;
}

/** A record's related records, those that say the same thing in one line ("related #3, #4, #5: …"), in order. */
export function relatedLines(related: readonly { id: number; why: string }[] | undefined): { ids: number[]; why: string }[] {
  const out: { ids: number[]; why: string }[] = [];
  for (const x of related ?? []) {
    const same = out.find((o) => o.why === x.why);
    if (same === undefined) out.push({ ids: [x.id], why: x.why });
    else same.ids.push(x.id);
  }
  return out;
}
