import { statSync } from 'node:fs';
import { aboutInput, InputError, namingInput, UsageError } from '../errors.js';
import { openCapture, type ByteSource } from '../capture/source.js';
import { forEachRecordOfParts, groupParts, partsName, peekHead, type Grouping } from '../capture/parts.js';
import { CaptureRun, type AnalyzeOptions, type Report, type RunOptions } from '../analyze.js';
import { PacketLog } from '../vantage/packets.js';
import { correlate, type Correlated } from '../vantage/correlate.js';
import type { FlowFilter } from '../filter/filter.js';
import type { Input } from '../capture/inputs.js';
import type { Unreadable } from '../run-report.js';
import { say } from './output.js';
import { followCapture } from './follow.js';

export interface CapturesRun {
  reports: Report[];
  /** Captures that could not be read (each said on stderr), in the order given. */
  unreadable: Unreadable[];
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
    /** No warnings on stderr. */
    quiet?: boolean;
    signal?: AbortSignal;
    per: (source: ByteSource, name: string, size: number) => RunOptions & { finally?: () => void; readThrough?: ByteSource };
    after?: (report: Report, source: ByteSource) => void;
  },
): Promise<CapturesRun> {
  if (o.follow === true) {
    // one input (program.ts): a file still being written, and the parts of its set after it
    const g = groups[0];
    if (g instanceof InputError) throw g;
    try {
      return await followCapture(g[0], filter, opts, o);
    } catch (e) {
      throw namingInput(g[0], e);
    }
  }
  const several = groups.length > 1 || groups.some((g) => !(g instanceof InputError) && g.length > 1);
  const reports: Report[] = [];
  const partsOf = new Map<string, string[]>();
  const unreadable: Unreadable[] = [];
  let firstId = 1;
  const fail = (input: string, e: unknown) => {
    if (!(e instanceof InputError)) throw e;
    // the one capture: the run ends, naming it (standard input needs no name)
    if (!several) throw namingInput(input, e);
    // one unreadable capture among several (no such file, not a capture, an empty one): say which
    // and why, go on with the others and exit 3 at the end; what the others gave is not lost
    unreadable.push(unreadableCapture(input, e.message));
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
          source = await openCapture(input, { signal: o.signal });
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
      const report = await run.finish(name);
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

/**
 * A capture that could not be read, said on stderr (its name first, unless the error names it)
 * and kept for the machine-readable outputs. `input` '' when the error is about no one capture.
 */
export function unreadableCapture(input: string, message: string): Unreadable {
  const error = aboutInput(input, message);
  say(error);
  return input === '' ? { error } : { input, error };
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

/** Captures larger than this in all are not scanned for their time spans to decide on --vantages by themselves. */
const AUTO_VANTAGE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Whether the captures are read as vantage points of one network (correlate.ts): forced with
 * --vantages; by default when there are several captures (not rotated parts of one, not standard
 * input, not followed), together at most AUTO_VANTAGE_MAX_BYTES, and at least two of them overlap
 * in time without being copies of one another (same first and last packet and count). Whether
 * they also share flows is decided after the analysis (no shared flow: reported separately).
 */
export async function vantageMode(groups: readonly (readonly string[])[], o: { vantages: boolean; sequence: boolean; separate: boolean; follow: boolean }): Promise<boolean> {
  if (o.vantages && (o.sequence || o.separate)) throw new UsageError(`--vantages and ${o.sequence ? '--sequence' : '--separate'} contradict each other: give one`);
  if (o.vantages && o.follow) throw new UsageError('--vantages compares finished captures: it cannot be used with --follow');
  if (groups.some((g) => g.includes('-'))) {
    if (o.vantages) throw new UsageError('--vantages reads captures from files: standard input cannot be one of them');
    return false;
  }
  if (o.vantages) return groups.length > 1;
  if (o.sequence || o.separate || o.follow || groups.length < 2) return false;
  let total = 0;
  for (const g of groups) total += totalSize(g);
  if (total > AUTO_VANTAGE_MAX_BYTES) return false;
  const spans: { first: number; last: number; n: number }[] = [];
  for (const g of groups) {
    const s = { first: Infinity, last: -Infinity, n: 0 };
    try {
      await forEachRecordOfParts(
        g,
        (p) => openCapture(p),
        (rec) => {
          const t = rec.tsSec + rec.tsNsec / 1e9;
          if (t < s.first) s.first = t;
          if (t > s.last) s.last = t;
          s.n++;
        },
      );
    } catch (e) {
      if (e instanceof InputError) return false; // the analysis says why
      throw e;
    }
    if (s.n > 0) spans.push(s);
  }
  for (let i = 0; i < spans.length; i++) {
    for (let j = i + 1; j < spans.length; j++) {
      const a = spans[i];
      const b = spans[j];
      const copies = a.first === b.first && a.last === b.last && a.n === b.n;
      if (!copies && a.first < b.last && b.first < a.last) return true;
    }
  }
  return false;
}

/**
 * Vantage points: each capture analysed as on its own (every record kept) while its TCP/UDP
 * packets are logged, then correlated (correlate.ts) into one report. `correlated` is null when
 * the captures share no flow (or, unless `forced` by --vantages, one of them shares none with the
 * others): `reports` are then each capture's own. `paths` gives each correlated record's path (explain).
 */
export async function analyzeVantages(
  groups: readonly (readonly string[])[],
  filter: FlowFilter | null,
  opts: AnalyzeOptions,
  signal?: AbortSignal,
  forced = false,
): Promise<{ correlated: Report | null; paths: Correlated | null; reports: Report[]; unreadable: Unreadable[]; partsOf: Map<string, string[]> }> {
  const logs = new Map<string, PacketLog>();
  const { reports, unreadable, partsOf } = await analyzeCaptures(groups, filter, opts, {
    signal,
    per: (_source, name) => {
      const log = new PacketLog();
      logs.set(name, log);
      return { keep: 'all', onFlow: null, onPacket: (pkt, rec, t) => log.note(pkt, rec, t) };
    },
  });
  const inputs = reports.map((report) => ({ report, log: logs.get(report.input.name) ?? new PacketLog() }));
  const c = inputs.length > 1 ? correlate(inputs, 1, { forced }) : null;
  return { correlated: c === null ? null : c.report, paths: c, reports, unreadable, partsOf };
}
