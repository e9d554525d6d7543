import { InputError } from '../errors.js';
import { openCapture, type ByteSource } from '../capture/source.js';
import { analyzeSource, type AnalyzeOptions, type Report, type RunOptions } from '../analyze.js';
import type { FlowFilter } from '../filter/filter.js';
import type { Input } from '../capture/inputs.js';
import { say } from './output.js';

export interface CapturesRun {
  reports: Report[];
  /** Captures that could not be opened (each said on stderr). */
  unreadable: number;
}

/**
 * Analyses the captures (expandInputs' list) one after the other with the same options and filter, numbering their
 * records on from one capture to the next: every command reads captures through here, so a
 * record's id is the same in every output format and in `explain`. `per` sets up each capture's
 * run (what is kept, where records go, a source to read it through) once it is open; `after` sees
 * each report.
 */
export async function analyzeCaptures(
  inputs: readonly Input[],
  filter: FlowFilter | null,
  opts: AnalyzeOptions,
  o: { follow?: boolean; signal?: AbortSignal; per: (source: ByteSource, name: string) => RunOptions & { finally?: () => void; readThrough?: ByteSource }; after?: (report: Report, source: ByteSource) => void },
): Promise<CapturesRun> {
  const several = inputs.length > 1;
  const reports: Report[] = [];
  let unreadable = 0;
  let firstId = 1;
  for (const input of inputs) {
    if (o.signal?.aborted) break;
    let source: ByteSource | null = null;
    let report: Report;
    try {
      if (input instanceof InputError) throw input; // a directory without captures, a member that cannot be read
      source = await openCapture(input, { follow: o.follow, signal: o.signal });
      const name = input === '-' ? '<stdin>' : input;
      const run = o.per(source, name);
      try {
        report = await analyzeSource(run.readThrough ?? source, opts, { ...run, signal: o.signal, filter: filter === null ? null : (r) => filter.matches(r), firstId, file: name });
      } finally {
        run.finally?.();
      }
    } catch (e) {
      // one unreadable capture among several (no such file, not a capture, an empty one): say which
      // and why, go on with the others and exit 3 at the end; what the others gave is not lost
      if (!(e instanceof InputError) || !several) throw e;
      say(input instanceof InputError || e.message.includes(input) ? e.message : `${input}: ${e.message}`);
      unreadable++;
      continue;
    } finally {
      source?.close();
    }
    firstId = report.nextId;
    reports.push(report);
    o.after?.(report, source);
  }
  return { reports, unreadable };
}
