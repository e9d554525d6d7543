import junitModule, { type Builder } from 'junit-report-builder';
import { services } from '../ci/services.js';
import type { RunReport } from '../run-report.js';
import { notAnalysedText } from '../ci/gate.js';
import type { RendererFactory } from './renderer.js';
import { endpointsText } from '../verdict/names.js';
import { HEALTHY, type FlowRecord } from '../verdict/types.js';
import { must } from '../errors.js';
import { escapeCdata, escapeDocument } from './escape.js';

// a CommonJS package whose types declare an ES default export: at run time the default import is the builder
const junit = junitModule as unknown as Builder;

const flowText = (r: FlowRecord): string =>
  [`#${r.id} ${r.verdict} ${r.proto} ${endpointsText(r)}${r.file !== undefined ? ` [${r.file}]` : ''}: ${r.summary}`, ...r.evidence.map((e) => `  · ${e}`), ...(r.check !== '' ? [`  → ${r.check}`] : [])].join('\n');

/**
 * `--format junit`: one testcase per service (protocol, client, server; DNS also name and type),
 * rendered by Jenkins, GitLab and GitHub. With CI gates, a service fails for its --fail-on hits,
 * its regressions against the baseline and the expectations its flows break; without gates, for
 * any problem. Each expectation is also a testcase of its own, services that vanished since the
 * baseline are skipped testcases, and a capture that could not be read is an errored testcase.
 */
export function renderJunit(run: RunReport): string {
  const builder = junit.newBuilder();
  const byId = new Map(run.records.map((r) => [r.id, r]));
  // the gates name records of this run by id
  const record = (id: number): FlowRecord => must(byId.get(id), `record #${id}`);
  const c = run.checks;
  const suite = builder.testSuite().name(`pcapdiag services: ${run.files.map((f) => f.input.name).join(', ')}`);
  for (const s of services(run.records)) {
    const tc = suite.testCase().className(`pcapdiag.${s.records[0].proto}`).name(s.key);
    const reasons: string[] = [];
    const failing = new Set<FlowRecord>();
    if (c === null) {
      for (const r of s.records) if (!HEALTHY.has(r.verdict)) failing.add(r);
      if (failing.size > 0) reasons.push(`problem: ${[...new Set([...failing].map((r) => r.verdict))].join(', ')}`);
    } else {
      const mine = new Set(s.records.map((r) => r.id));
      const hits = c.failOn?.records.filter((id) => mine.has(id)) ?? [];
      if (c.failOn !== undefined && hits.length > 0) reasons.push(`--fail-on ${c.failOn.verdicts.join(',')}: ${hits.length} flow${hits.length === 1 ? '' : 's'}`);
      for (const id of hits) failing.add(record(id));
      for (const x of c.baseline?.regressions ?? []) {
        if (x.service !== s.key) continue;
        reasons.push(`regression against the baseline: ${x.before} → ${x.after}`);
        for (const id of x.records) failing.add(record(id));
      }
      for (const x of c.expect?.results ?? []) {
        const broken = x.records.filter((id) => mine.has(id));
        if (broken.length === 0) continue;
        reasons.push(`expectation (line ${x.line}) broken: ${x.message}`);
        for (const id of broken) failing.add(record(id));
      }
    }
    if (reasons.length > 0) tc.failure(reasons.join('; '), 'pcapdiag').stacktrace(escapeCdata([...failing].map(flowText).join('\n\n')));
    tc.standardOutput(escapeCdata(s.records.map((r) => `#${r.id} ${r.verdict}: ${r.summary}`).join('\n')));
  }
  // a capture that could not be read is a test that could not run: an error, not a failure
  for (const u of run.unreadable ?? [])
    suite
      .testCase()
      .className('pcapdiag.capture')
      .name(`read ${u.input ?? 'the captures'}`)
      .error(u.error, 'unreadable');
  if (c?.notAnalysed !== undefined) suite.testCase().className('pcapdiag.max-flows').name('every flow analysed').failure(notAnalysedText(c.notAnalysed), 'max-flows');
  if (c?.expect !== undefined) {
    const ex = builder.testSuite().name(`pcapdiag expectations: ${c.expect.file}`);
    for (const x of c.expect.results) {
      const tc = ex.testCase().className('pcapdiag.expect').name(`line ${x.line}: ${x.rule}`);
      if (!x.ok) tc.failure(x.message, 'expectation').stacktrace(escapeCdata(x.records.map((id) => flowText(record(id))).join('\n\n')));
    }
  }
  for (const v of c?.baseline?.vanished ?? []) suite.testCase().className('pcapdiag.baseline').name(`${v} (vanished since the baseline)`).skipped();
  // characters XML cannot hold (C0) or should not show raw (C1, bidi, zero-width) appear only in
  // text taken from packets and file names, never in the markup: escaping the whole document is safe
  return escapeDocument(builder.build()) + '\n';
}

export const junitRenderer: RendererFactory = (out) => ({
  feed: () => ({ keep: 'all', onRecord: null, problemsOnly: false }),
  onFile: () => {},
  onEnd: (run) => out.write(renderJunit(run)),
  showsWarnings: false,
});
