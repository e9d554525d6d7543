import { InputError } from '../errors.js';
import { readTextFile } from './text-file.js';
import type { FlowRecord, VerdictId } from '../verdict/types.js';
import { problemsOf, services, serviceStatus } from './services.js';

/** One service whose verdicts differ from the baseline's. */
export interface ServiceChange {
  service: string;
  before: string;
  after: string;
  /** Record ids in this run that show the change (the new problems), for the evidence. */
  records: number[];
}

export interface BaselineDiff {
  baseline: string;
  /** A problem verdict the baseline did not have for this service (including new services with problems). */
  regressions: ServiceChange[];
  /** Every problem verdict the baseline had for this service is gone, and no new one came. */
  fixed: ServiceChange[];
  /** Verdicts differ with no problem gained or entirely lost (e.g. refused → refused, ok). */
  changed: ServiceChange[];
  /** Services only in this run, without problems. */
  appeared: string[];
  /** Services only in the baseline. */
  vanished: string[];
}

/** The largest --baseline file read (about 100,000 flow records of JSON). */
export const MAX_BASELINE_BYTES = 64 << 20;

/** Flow records from a `--format json` or `--format ndjson` output of pcapdiag, each checked for the fields a baseline is compared by. */
export function loadBaseline(path: string): FlowRecord[] {
  const text = readTextFile(path, 'baseline', MAX_BASELINE_BYTES);
  const bad = (why: string) => new InputError(`baseline ${path} is not pcapdiag output (${why}): make one with \`pcapdiag --format json capture.pcap > ${path}\``);
  // (what a failed `pcapdiag -f json bad.pcap > baseline.json` leaves: nothing was written)
  if (text.trim() === '') throw bad('it is empty');
  let records: unknown[];
  try {
    const doc = JSON.parse(text) as { schema?: unknown; records?: unknown };
    if (typeof doc.schema !== 'number' || !Array.isArray(doc.records)) throw bad('no schema and records');
    records = doc.records;
  } catch (e) {
    if (e instanceof InputError) throw e;
    try {
      records = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as unknown)
        .filter((l) => {
          if (typeof l !== 'object' || l === null || typeof (l as { type?: unknown }).type !== 'string') throw bad('a line that is not one of its records');
          return (l as { type: string }).type === 'flow';
        });
    } catch (e2) {
      if (e2 instanceof InputError) throw e2;
      throw bad('neither JSON nor JSON lines');
    }
  }
  for (const r of records) {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw bad('a record that is not an object');
    const x = r as Record<string, unknown>;
    if (typeof x.proto !== 'string' || typeof x.client !== 'string' || typeof x.server !== 'string' || typeof x.verdict !== 'string') throw bad('a record without proto, client, server and verdict');
    for (const k of ['query', 'qtype'] as const) if (x[k] !== undefined && x[k] !== null && typeof x[k] !== 'string') throw bad(`a record whose ${k} is not a string`);
  }
  return records as FlowRecord[];
}

/** Compares this run's records with the baseline's, per service. */
export function diffBaseline(baselineName: string, before: readonly FlowRecord[], after: readonly FlowRecord[]): BaselineDiff {
  const diff: BaselineDiff = { baseline: baselineName, regressions: [], fixed: [], changed: [], appeared: [], vanished: [] };
  const old = new Map(services(before).map((s) => [s.key, s]));
  const now = services(after);
  for (const s of now) {
    const o = old.get(s.key);
    old.delete(s.key);
    const nowProblems = problemsOf(s.verdicts);
    if (o === undefined) {
      if (nowProblems.size > 0) diff.regressions.push(change(s.key, 'absent', s.verdicts, s.records, nowProblems));
      else diff.appeared.push(s.key);
      continue;
    }
    const oldProblems = problemsOf(o.verdicts);
    const gained = new Set([...nowProblems].filter((v) => !oldProblems.has(v)));
    const before = serviceStatus(o.verdicts);
    if (gained.size > 0) diff.regressions.push(change(s.key, before, s.verdicts, s.records, gained));
    else if (oldProblems.size > 0 && nowProblems.size === 0) diff.fixed.push(change(s.key, before, s.verdicts, [], new Set()));
    else if (before !== serviceStatus(s.verdicts) && [...oldProblems].some((v) => !nowProblems.has(v))) diff.changed.push(change(s.key, before, s.verdicts, [], new Set()));
  }
  diff.vanished = [...old.keys()];
  return diff;
}

function change(service: string, before: string, verdicts: Map<VerdictId, number>, records: FlowRecord[], show: Set<VerdictId>): ServiceChange {
  return { service, before, after: serviceStatus(verdicts), records: records.filter((r) => show.has(r.verdict)).map((r) => r.id) };
}

export const isWorse = (d: BaselineDiff): boolean => d.regressions.length > 0;
