import type { Report } from '../analyze.js';
import type { RendererFactory } from './renderer.js';
import { escapeJson } from './escape.js';

/** `--format ndjson`: the line after each capture's records (which are streamed as decided). */
export function summaryLine(r: Report): Record<string, unknown> {
  return {
    type: 'summary',
    schema: r.schema,
    input: r.input,
    options: r.options,
    verdicts: r.summary.verdicts,
    problems: r.summary.problems,
    tcpConnections: r.summary.tcpConnections,
    tcpConversations: r.summary.tcpConversations,
    dnsTransactions: r.summary.dnsTransactions,
    udpFlows: r.summary.udpFlows,
    stats: r.stats,
    anomalies: r.anomalies,
    warnings: r.warnings,
  };
}

/**
 * `--format ndjson`: every record as one line the moment it is decided (a problem names its group
 * in `group`), after each capture one line per group of its problems (`{"type":"group",…}`, in the
 * order of their first records) and its summary line, then a line for each capture that could not
 * be read (`{"type":"unreadable",…}`), a total line (several captures) and a checks line (CI gates).
 */
export const ndjsonRenderer: RendererFactory = (out, s) => ({
  feed: () => ({ keep: 'none', onRecord: (r) => out.line(escapeJson(JSON.stringify(r))), problemsOnly: false }),
  onFile: (report) => {
    for (const g of report.groups) out.line(escapeJson(JSON.stringify({ type: 'group', ...g })));
    out.line(escapeJson(JSON.stringify(summaryLine(report))));
  },
  onEnd: (run) => {
    for (const u of run.unreadable ?? []) out.line(escapeJson(JSON.stringify({ type: 'unreadable', ...u })));
    if (s.several) out.line(escapeJson(JSON.stringify({ type: 'total', files: run.files.length, ...run.summary })));
    if (run.checks !== null) out.line(escapeJson(JSON.stringify({ type: 'checks', ...run.checks })));
  },
  showsWarnings: false,
});
