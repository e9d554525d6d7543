import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../errors.js';
import { FlowFilter } from '../filter/filter.js';
import { markRecordRefs } from '../render/sentences.js';
import type { FlowRecord } from '../verdict/types.js';
import { analyzeCaptures } from './captures.js';
import type { WorkerJob, WorkerMessage } from './parallel.js';

/** Records are posted in batches of this many (one structured clone per batch, not per record). */
const BATCH = 512;

/**
 * A worker thread of parallel.ts: analyses one capture (one file, or the parts of a rotated set)
 * as the main thread would, and posts its records as they are decided, then its report.
 */
async function run(job: WorkerJob): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const post = (m: WorkerMessage) => port.postMessage(m);
  const stop = new AbortController();
  port.on('message', (m) => {
    if (m === 'abort') stop.abort();
  });
  port.unref(); // listening for 'abort' must not keep the worker alive once its capture is done
  markRecordRefs(job.recordRefMark);
  let batch: FlowRecord[] = [];
  const flush = () => {
    if (batch.length > 0) post({ kind: 'records', records: batch });
    batch = [];
  };
  try {
    const filter = job.filter === null ? null : FlowFilter.parse(job.filter);
    const { reports, unreadable } = await analyzeCaptures([job.parts], filter, job.opts, {
      signal: stop.signal,
      per: () => ({
        keep: job.keep,
        onFlowProblemsOnly: job.problemsOnly,
        onFlow: job.handOn
          ? (r) => {
              batch.push(r);
              if (batch.length >= BATCH) flush();
            }
          : null,
      }),
    });
    flush();
    post({ kind: 'done', report: reports.at(0) ?? null, unreadable });
  } catch (e) {
    flush();
    post({ kind: 'failed', message: e instanceof Error ? e.message : String(e), input: e instanceof InputError, stack: e instanceof Error ? (e.stack ?? '') : '' });
  }
}

// not awaited at the top level, which the bundle (CommonJS, scripts/bundle.mjs) cannot: run()
// posts the failures of the analysis; one before them ends the worker as an uncaught exception,
// as a rejected top-level await did, whatever --unhandled-rejections says
run(workerData as WorkerJob).catch((e: unknown) =>
  setImmediate(() => {
    throw e;
  }),
);
