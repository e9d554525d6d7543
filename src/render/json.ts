import type { Report } from '../analyze.js';

/** `--format json`: one document with the records, the summary and the input facts. */
export function renderJson(r: Report): string {
  return JSON.stringify(r, null, 2) + '\n';
}

/** The closing line of `--format ndjson` (the flow records before it are streamed as decided). */
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
