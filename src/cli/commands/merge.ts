import { RENDERERS } from '../../render/index.js';
import type { Format } from '../../render/formats.js';
import { HEALTHY, type FlowRecord } from '../../verdict/types.js';
import { UsageError } from '../../errors.js';
import { SCHEMA_VERSION, fileReport, totalSummary, type RunReport } from '../../run-report.js';
import { FileWriter, LineWriter, say } from '../output.js';
import { refuseOutputsOverInputs } from '../overwrite.js';

/** `pcapdiag merge [-f format] [-o file] [-q] <state...>`: the chunks' states, in capture order, as one report. */
export interface MergeCliOptions {
  states: string[];
  format: Format;
  output: string | null;
  quiet: boolean;
}

const USAGE = "usage: pcapdiag merge [-f text|json|ndjson|junit] [-o file] [-q] <state.json...>  (the states of a rotated set's chunks, written by --state-out, in capture order)";

export function parseMergeArgs(args: readonly string[]): MergeCliOptions {
  const o: MergeCliOptions = { states: [], format: 'text', output: null, quiet: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-f' || a === '--format') {
      const f = args[++i];
      if (f === undefined || !(f in RENDERERS) || f === 'html') throw new UsageError(`merge: --format is one of text, json, ndjson, junit`);
      o.format = f as Format;
    } else if (a === '-o' || a === '--output') {
      const f = args[++i];
      if (f === undefined) throw new UsageError('merge: -o needs a file');
      o.output = f;
    } else if (a === '-q' || a === '--quiet') o.quiet = true;
    else if (a === '-h' || a === '--help') throw new UsageError(USAGE);
    else if (a.startsWith('-')) throw new UsageError(`merge: unknown option ${a}`);
    else o.states.push(a);
  }
  if (o.states.length === 0) throw new UsageError(`merge: no state file given; ${USAGE}`);
  return o;
}

export async function mergeCommand(o: MergeCliOptions): Promise<number> {
  // before the merge reads them, as the analysis checks before it reads its captures
  const { packetsPath } = await import('../../handoff/state.js');
  refuseOutputsOverInputs([['-o', o.output]], [...o.states, ...o.states.map(packetsPath)]);
  const { mergeStates } = await import('../../handoff/merge.js');
  const stats = { records: 0, replayedRecords: 0, replayedPackets: 0 };
  const report = await mergeStates(o.states, o.states.length === 1 ? o.states[0] : `${o.states[0]} … ${o.states[o.states.length - 1]} (${o.states.length} chunks)`, stats);
  const out = o.output !== null ? FileWriter.open(o.output) : new LineWriter();
  const renderer = (await RENDERERS[o.format]())(out, { color: false, limit: 20, several: false });
  const feed = renderer.feed(false);
  const kept: FlowRecord[] = [];
  /** Records kept per group of problems alike, as the emitter keeps them (--limit per group). */
  const counts = new Map<number, number>();
  for (const r of report.records) {
    const problem = !HEALTHY.has(r.verdict);
    if (feed.onRecord !== null && (problem || !feed.problemsOnly)) feed.onRecord(r);
    const n = (counts.get(r.group ?? -r.id) ?? 0) + 1;
    counts.set(r.group ?? -r.id, n);
    if (feed.keep === 'all' || (feed.keep !== 'none' && problem && n <= feed.keep.problemsPerGroup)) kept.push(r);
  }
  renderer.onFile({ ...report, records: kept }, false);
  const run: RunReport = { schema: SCHEMA_VERSION, options: report.options, filter: null, files: [fileReport(report)], records: report.records, groups: report.groups, summary: totalSummary([report]), checks: null };
  renderer.onEnd(run);
  await out.drain();
  if (!renderer.showsWarnings && !o.quiet) for (const w of report.warnings) say(`warning: ${w}`);
  if (!o.quiet || process.env.PCAPDIAG_MERGE_STATS) say(`merge: ${stats.replayedRecords} of the chunks' ${stats.records} records decided again from ${stats.replayedPackets} packets; ${report.records.length} records`);
  return 0;
}
