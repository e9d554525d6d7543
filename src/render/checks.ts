import { notAnalysedText, type Checks } from '../ci/gate.js';
import type { FlowRecord } from '../verdict/types.js';
import { endpointsText } from '../verdict/names.js';
import { escapeTerminal } from './escape.js';

/** The CI gates' findings as text lines: each offending flow with its evidence. */
export function checksLines(c: Checks, byId: Map<number, FlowRecord>): string[] {
  const out: string[] = [];
  if (c.notAnalysed !== undefined) out.push(`${notAnalysedText(c.notAnalysed)}: FAIL`);
  const flow = (id: number, indent = '    '): string[] => {
    const r = byId.get(id);
    if (r === undefined) return [];
    const file = r.file !== undefined ? ` [${escapeTerminal(r.file)}]` : '';
    return [`${indent}#${r.id} ${r.verdict}  ${r.proto.toUpperCase()} ${escapeTerminal(endpointsText(r))}${file}: ${escapeTerminal(r.summary)}`, ...r.evidence.map((e) => `${indent}    · ${escapeTerminal(e)}`)];
  };
  if (c.failOn !== undefined) {
    const n = c.failOn.records.length;
    out.push(`--fail-on ${c.failOn.verdicts.join(',')}: ${n === 0 ? 'no flow matched: pass' : `${n} flow${n === 1 ? '' : 's'}: FAIL`}`);
    for (const id of c.failOn.records) out.push(...flow(id));
  }
  if (c.baseline !== undefined) {
    const d = c.baseline;
    const worse = d.regressions.length > 0;
    out.push(
      `--baseline ${escapeTerminal(d.baseline)}: ${d.regressions.length} regression${d.regressions.length === 1 ? '' : 's'}, ${d.fixed.length} fixed, ${d.changed.length} changed, ${d.appeared.length} appeared, ${d.vanished.length} vanished: ${worse ? 'FAIL' : 'pass'}`,
    );
    for (const x of d.regressions) {
      out.push(`  regression  ${escapeTerminal(x.service)}: ${x.before} → ${x.after}`);
      for (const id of x.records) out.push(...flow(id));
    }
    for (const x of d.fixed) out.push(`  fixed       ${escapeTerminal(x.service)}: ${x.before} → ${x.after}`);
    for (const x of d.changed) out.push(`  changed     ${escapeTerminal(x.service)}: ${x.before} → ${x.after}`);
    for (const s of d.appeared) out.push(`  appeared    ${escapeTerminal(s)}`);
    for (const s of d.vanished) out.push(`  vanished    ${escapeTerminal(s)}`);
  }
  if (c.expect !== undefined) {
    const bad = c.expect.results.filter((x) => !x.ok);
    out.push(`--expect ${escapeTerminal(c.expect.file)}: ${c.expect.results.length - bad.length} of ${c.expect.results.length} rules hold: ${bad.length > 0 ? 'FAIL' : 'pass'}`);
    for (const x of c.expect.results) {
      out.push(`  ${x.ok ? 'ok  ' : 'FAIL'}  line ${x.line}: ${escapeTerminal(x.message)}`);
      for (const id of x.records) out.push(...flow(id));
    }
  }
  return out;
}
