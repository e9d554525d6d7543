import { statSync } from 'node:fs';
import { InputError, UsageError } from '../errors.js';
import { openCapture, type ByteSource } from '../capture/source.js';
import { groupParts, partsName, peekHead, type Grouping } from '../capture/parts.js';
import { CaptureRun, type AnalyzeOptions, type Report, type RunOptions } from '../analyze.js';
import type { FlowFilter } from '../filter/filter.js';
import type { Input } from '../capture/inputs.js';
import { say } from './output.js';

export interface CapturesRun {
  reports: Report[];
  /** Captures that could not be opened (each said on stderr). */
  unreadable: number;
  /** The files read as each report, by its input name (one file, or the parts of a rotated capture). */
  partsOf: Map<string, string[]>;
}

/** The grouping the --sequence / --separate flags ask for. */
export function grouping(o: { sequence: boolean; separate: boolean }): Grouping {
  if (o.sequence && o.separate) throw new UsageError('--sequence and --separate contradict each other: give one');
  return o.sequence ? 'sequence' : o.separate ? 'separate' : 'auto';
}

/** One capture as it is read: its files (one, or the parts of a rotated set), or why a given input has none (expandInputs). */
export type CaptureGroup = readonly string[] | InputError;

/** Every group is a list of files (no input failed before reading). */
export function allFiles(groups: readonly CaptureGroup[]): groups is readonly (readonly string[])[] {
  return groups.every((g) => !(g instanceof InputError));
}

/**
 * The captures as they are read: each a list of files read as one capture (the parts of a
 * rotated set, see groupParts; one file otherwise), in the order given; an input that failed to
 * expand stays in its place, to be said when its turn comes. Followed files are read one by one.
 */
export async function captureGroups(inputs: readonly Input[], how: Grouping, follow = false): Promise<CaptureGroup[]> {
  const files = inputs.filter((i): i is string => typeof i === 'string');
  if (files.length < 2 || how === 'separate' || follow) return inputs.map((i) => (typeof i === 'string' ? [i] : i));
  const heads = [];
  for (const input of files) heads.push(await peekHead(input)); // one open file at a time
  const out: CaptureGroup[] = groupParts(heads, how);
  // the inputs that failed, at the place of the input before them
  for (let i = 0, at = 0; i < inputs.length; i++) {
    const input = inputs[i];
    if (typeof input === 'string') {
      const g = out.findIndex((x) => !(x instanceof InputError) && x.includes(input));
      if (g >= 0) at = Math.max(at, g + 1);
    } else out.splice(at++, 0, input);
  }
  return out;
}

/**
 * Analyses the captures (expandInputs' list) one after the other with the same options and
 * filter, numbering their records on from one capture to the next: every command reads captures
 * through here (groups from captureGroups), so a record's id is the same in every output format and in `explain`. The parts
 * of a rotated capture are read as one capture (see groupParts). `per` sets up each capture's run
 * (what is kept, where records go, a source to read it through) once its first file is open;
 * `after` sees each report.
 */
export async function analyzeCaptures(
  groups: readonly CaptureGroup[],
  filter: FlowFilter | null,
  opts: AnalyzeOptions,
  o: {
    follow?: boolean;
    signal?: AbortSignal;
    per: (source: ByteSource, name: string, size: number) => RunOptions & { finally?: () => void; readThrough?: ByteSource };
    after?: (report: Report, source: ByteSource) => void;
  },
): Promise<CapturesRun> {
  const several = groups.length > 1 || groups.some((g) => !(g instanceof InputError) && g.length > 1);
  const reports: Report[] = [];
  const partsOf = new Map<string, string[]>();
  let unreadable = 0;
  let firstId = 1;
  const fail = (input: string, e: unknown) => {
    // one unreadable capture among several (no such file, not a capture, an empty one): say which
    // and why, go on with the others and exit 3 at the end; what the others gave is not lost
    if (!(e instanceof InputError) || !several) throw e;
    say(input === '' || e.message.includes(input) ? e.message : `${input}: ${e.message}`);
    unreadable++;
  };
  for (const group of groups) {
    if (o.signal?.aborted) break;
    if (group instanceof InputError) {
      // a directory without captures, a member that cannot be read
      fail('', group);
      continue;
    }
    const name = group.length === 1 && group[0] === '-' ? '<stdin>' : partsName(group);
    let run: CaptureRun | null = null;
    let setup: ReturnType<typeof o.per> | null = null;
    let first: ByteSource | null = null;
    const read: string[] = [];
    try {
      for (const input of group) {
        if (o.signal?.aborted) break;
        let source: ByteSource | null = null;
        try {
          source = await openCapture(input, { follow: o.follow, signal: o.signal });
          if (run === null) {
            setup = o.per(source, name, group.length === 1 ? source.size : totalSize(group));
            run = new CaptureRun(opts, { ...setup, signal: o.signal, filter: filter === null ? null : (r) => filter.matches(r), firstId, file: name });
            first = source;
            await run.read(setup.readThrough ?? source);
          } else await run.read(source);
          read.push(input);
        } catch (e) {
          fail(input, e);
          if (run !== null && run.parts.length === 0) {
            // the first part was not a capture: the next one starts the run
            setup?.finally?.();
            run = setup = first = null; // (the finally below closes its source)
          }
        } finally {
          if (source !== first) source?.close();
        }
      }
      if (run === null || first === null) continue;
      const report = run.finish(name);
      partsOf.set(name, read);
      firstId = report.nextId;
      reports.push(report);
      o.after?.(report, first);
    } finally {
      setup?.finally?.();
      first?.close();
    }
  }
  return { reports, unreadable, partsOf };
}

/** Bytes in the files of a rotated set (for the progress bar). */
function totalSize(parts: readonly string[]): number {
  let n = 0;
  for (const p of parts) {
    try {
      n += statSync(p).size;
    } catch {
      // reading it says why
    }
  }
  return n;
}
