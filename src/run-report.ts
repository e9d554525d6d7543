import type { AnalyzeOptions } from './options.js';
import type { Report } from './report/report.js';
import type { Checks } from './ci/gate.js';
import type { FlowRecord } from './verdict/types.js';
import type { ProblemGroup } from './report/groups.js';

export { SCHEMA_VERSION } from './report/report.js';

/** One capture's facts, without its records and groups (they are in RunReport.records and .groups, labelled by file) or its nextId. */
export type FileReport = Omit<Report, 'records' | 'groups' | 'schema' | 'options' | 'nextId'>;

/** What one pcapdiag run found over all its captures: the `--format json` document. */
export interface RunReport {
  schema: number;
  options: AnalyzeOptions;
  /** The tcpdump-style flow filter, or null. */
  filter: string | null;
  files: FileReport[];
  records: FlowRecord[];
  /** The groups of problems alike of all captures (each capture's own; `file` names it), see report/groups.ts. */
  groups: ProblemGroup[];
  /** Totals over all captures. */
  summary: Report['summary'];
  /** CI gates (--fail-on, --baseline, --expect), or null when none was asked for. */
  checks: Checks | null;
  /** The captures among several that could not be read, in the order given (absent when none). */
  unreadable?: Unreadable[];
}

/** A capture among several that could not be read: the run goes on without it and exits 3. */
export interface Unreadable {
  /** The capture as given (absent when the error is about an input that named none: a directory without captures). */
  input?: string;
  /** Why, as said on stderr: "x.pcap: not a capture file: unknown magic …". */
  error: string;
}

export function fileReport(r: Report): FileReport {
  const { records: _records, groups: _groups, schema: _schema, options: _options, nextId: _nextId, ...rest } = r;
  return rest;
}

export function totalSummary(reports: readonly Report[]): Report['summary'] {
  const t: Report['summary'] = { verdicts: {}, problems: 0, tcpConnections: 0, tcpConversations: 0, dnsTransactions: 0, udpFlows: 0 };
  for (const r of reports) {
    for (const [v, n] of Object.entries(r.summary.verdicts)) t.verdicts[v] = (t.verdicts[v] ?? 0) + n;
    t.problems += r.summary.problems;
    t.tcpConnections += r.summary.tcpConnections;
    t.tcpConversations += r.summary.tcpConversations;
    t.dnsTransactions += r.summary.dnsTransactions;
    t.udpFlows += r.summary.udpFlows;
  }
  return t;
}
