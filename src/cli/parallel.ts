import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InputError, InternalError } from '../errors.js';
import type { AnalyzeOptions, Keep, Report, RunOptions } from '../analyze.js';
import type { FlowRecord } from '../verdict/types.js';
import { partsName } from '../capture/parts.js';
import { unreadableCapture, type CapturesRun } from './captures.js';
import type { Unreadable } from '../run-report.js';

/** What a worker analyses, and what it sends back. */
export interface WorkerJob {
  parts: string[];
  opts: AnalyzeOptions;
  filter: string | null;
  keep: Keep;
  problemsOnly: boolean;
  /** Post the records as they are decided (the renderer streams them). */
  handOn: boolean;
  /** Sentences write the ids of other records between these marks, to be numbered on (numberOn). */
  recordRefMark: string;
}

export type WorkerMessage = { kind: 'records'; records: FlowRecord[] } | { kind: 'done'; report: Report | null; unreadable: Unreadable[] } | { kind: 'failed'; message: string; input: boolean; stack: string };

// beside this module: compiled, an ES module (.js); bundled, CommonJS (.cjs, scripts/bundle.mjs)
const WORKER = new URL(import.meta.url.endsWith('.cjs') ? './capture-worker.cjs' : './capture-worker.js', import.meta.url);
/** At most this many workers, whatever the cores. */
const MAX_WORKERS = 8;

/**
 * How many worker threads to analyse these captures on, as PCAPDIAG_WORKERS asks: a number, or
 * `auto` for one per core up to the number of captures. Unset, 0: one thread, the default, since
 * on this project's 2-core machine two workers were slower than one thread (README, Performance).
 * Never for one capture, standard input, FIFOs or --follow, nor when running from the TypeScript
 * sources, which have no compiled worker.
 */
export function workersFor(groups: readonly (readonly string[])[], follow: boolean, env: string | undefined = process.env.PCAPDIAG_WORKERS, haveWorker = existsSync(fileURLToPath(WORKER))): number {
  if (follow || groups.length < 2 || groups.some((g) => g.includes('-')) || !haveWorker) return 0;
  const asked = env === 'auto' ? availableParallelism() : env === undefined || env === '' ? 0 : Number(env);
  if (!Number.isInteger(asked) || asked <= 0) return 0;
  for (const g of groups)
    for (const p of g) {
      try {
        if (!statSync(p).isFile()) return 0; // a FIFO is read in this thread
      } catch {
        // reading it says why
      }
    }
  return Math.min(asked, groups.length, MAX_WORKERS);
}

interface Slot {
  name: string;
  setup: RunOptions;
  records: FlowRecord[];
  done: { report: Report | null; unreadable: Unreadable[] } | null;
  failed: { message: string; input: boolean; stack: string } | null;
}

/**
 * analyzeCaptures on worker threads: each capture (a file, or the parts of a rotated set) is
 * analysed by a worker, `workers` at a time; records and reports are handed on in the order of the
 * captures, with ids numbered on from one capture to the next, so the output is the same as
 * reading them one after the other. A later capture's records wait in memory until the captures
 * before it are written.
 */
export async function analyzeInParallel(
  groups: readonly (readonly string[])[],
  filter: string | null,
  opts: AnalyzeOptions,
  workers: number,
  o: { signal?: AbortSignal; per: (name: string) => RunOptions; after?: (report: Report) => void },
): Promise<CapturesRun> {
  const slots: Slot[] = groups.map((g) => ({ name: partsName(g), setup: o.per(partsName(g)), records: [], done: null, failed: null }));
  const out: CapturesRun = { reports: [], unreadable: [], partsOf: new Map() };
  let written = 0; // slots handed on
  let idBase = 0;
  const mark = `\u0000${randomBytes(8).toString('hex')}\u0000`;
  const refs = new RegExp(`#${mark}(\\d+)${mark}`, 'g');
  const running = new Set<Worker>();
  const abort = () => {
    for (const w of running) w.postMessage('abort');
  };
  o.signal?.addEventListener('abort', abort, { once: true });

  // hands on what is ready, in order
  const drain = () => {
    while (written < slots.length) {
      const s = slots[written];
      for (const r of s.records) {
        numberOn(r, idBase, refs);
        s.setup.onFlow?.(r);
      }
      s.records = [];
      if (s.failed !== null) {
        if (!s.failed.input) throw new InternalError(`${s.name}: ${s.failed.message}`);
        out.unreadable.push(unreadableCapture(s.name, s.failed.message));
      } else if (s.done !== null) {
        out.unreadable.push(...s.done.unreadable);
        const report = s.done.report;
        if (report !== null) {
          for (const r of report.records) numberOn(r, idBase, refs);
          for (const g of report.groups) {
            g.id += idBase;
            g.ids = g.ids.map((id) => id + idBase);
          }
          idBase += report.nextId - 1;
          report.nextId = idBase + 1;
          out.reports.push(report);
          out.partsOf.set(report.input.name, [...groups[written]]);
          o.after?.(report);
        }
      } else return; // still running: what it sent so far is out
      written++;
    }
  };

  const runOne = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = slots[i];
      const job: WorkerJob = { parts: [...groups[i]], opts, filter, keep: s.setup.keep ?? 'all', problemsOnly: s.setup.onFlowProblemsOnly ?? false, handOn: s.setup.onFlow !== null && s.setup.onFlow !== undefined, recordRefMark: mark };
      const w = new Worker(WORKER, { workerData: job });
      running.add(w);
      w.on('message', (m: WorkerMessage) => {
        try {
          if (m.kind === 'records') s.records.push(...m.records);
          else if (m.kind === 'done') s.done = { report: m.report, unreadable: m.unreadable };
          else s.failed = m;
          if (i === written) drain();
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
      w.on('error', (e) => reject(e));
      w.on('exit', () => {
        running.delete(w);
        if (s.done === null && s.failed === null) s.failed = { message: 'the worker thread stopped without a report', input: false, stack: '' };
        try {
          drain();
          resolve();
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });

  try {
    let next = 0;
    const lanes = Array.from({ length: Math.min(workers, slots.length) }, async () => {
      while (next < slots.length) await runOne(next++);
    });
    await Promise.all(lanes);
    drain();
  } catch (e) {
    abort();
    for (const w of running) void w.terminate();
    if (e instanceof InputError || e instanceof InternalError) throw e;
    throw new InternalError(e instanceof Error ? e.message : String(e));
  } finally {
    o.signal?.removeEventListener('abort', abort);
  }
  return out;
}

/**
 * A record from a worker, numbered on after the captures before its own: its id, its group's, the
 * ids of its related records and those its sentences name (marked in the worker: markRecordRefs).
 */
function numberOn(r: FlowRecord, idBase: number, refs: RegExp): void {
  r.id += idBase;
  if (r.group !== undefined) r.group += idBase;
  const at = (_: string, id: string) => `#${Number(id) + idBase}`;
  r.summary = r.summary.replace(refs, at);
  r.check = r.check.replace(refs, at);
  if (r.related !== undefined)
    for (const x of r.related) {
      x.id += idBase;
      x.why = x.why.replace(refs, at);
    }
}
