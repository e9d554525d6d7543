import type { Report } from '../analyze.js';
import type { RunReport } from '../run-report.js';

/** `--format json`: one document with every capture's facts, all records and the totals. */
export function renderJson(r: RunReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}

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
