import { InputError } from '../errors.js';
import { openCapture, type ByteSource } from '../capture/source.js';
import { followStart, RingFollower } from '../capture/ring.js';
import { CaptureRun, type AnalyzeOptions, type Report, type RunOptions } from '../analyze.js';
import type { FlowFilter } from '../filter/filter.js';
import type { Unreadable } from '../run-report.js';
import { say } from './output.js';

/** How often, once a part has ended, the directory is looked at for the next one (ring.ts). */
const NEXT_PART_POLL_MS = 200;

/**
 * `--follow INPUT`: a capture file still being written, and the parts of its rotated set written
 * after it (ring.ts): each part is read to its end once the writer has gone on to the next, and
 * the next is read on as the same capture (flows across the boundary are one flow, frames counted
 * on), until Ctrl-C. A lone file truncated and written again (tcpdump -w started over) ends the
 * capture read so far, and the new one is read from its start as the next capture (#22); a part
 * of a ring overwritten before it was read to its end (pcapdiag fell a whole ring behind) is said
 * and left, and the capture goes on with the part after it.
 */
export async function followCapture(
  input: string,
  filter: FlowFilter | null,
  opts: AnalyzeOptions,
  o: {
    quiet?: boolean;
    signal?: AbortSignal;
    per: (source: ByteSource, name: string, size: number) => RunOptions & { finally?: () => void };
    after?: (report: Report, source: ByteSource) => void;
  },
): Promise<{ reports: Report[]; unreadable: Unreadable[]; partsOf: Map<string, string[]> }> {
  if (input === '-') throw new InputError('--follow needs a file name, not standard input');
  const { set, first } = followStart(input);
  const ring = new RingFollower(set);
  const stopped = () => o.signal?.aborted === true;
  const name = input;
  const reports: Report[] = [];
  const partsOf = new Map<string, string[]>();
  let firstId = 1;
  let read: string[] = [];
  let run: CaptureRun | null = null;
  let setup: ReturnType<typeof o.per> | null = null;
  let last: ByteSource | null = null;
  const newRun = () => new CaptureRun(opts, { ...setup, signal: o.signal, filter: filter === null ? null : (r) => filter.matches(r), firstId, file: name });
  const report = async (r: CaptureRun, source: ByteSource) => {
    const rep = await r.finish(name);
    firstId = rep.nextId;
    reports.push(rep);
    partsOf.set(name, read);
    o.after?.(rep, source);
  };
  try {
    for (let part: string | null = first; part !== null && !stopped();) {
      ring.begin(part);
      const source = await openCapture(part, { follow: true, signal: o.signal, movedOn: () => ring.movedOn() });
      try {
        if (run === null) {
          setup = o.per(source, name, -1);
          run = newRun();
        }
        await run.read(source);
        read.push(part);
        for (let r = source.restarted; r && ring.alone && !stopped(); r = source.restarted) {
          // the capture read so far is reported; the new one is read from its start as the next (#22)
          source.restarted = null;
          await report(run, source);
          read = [part];
          if (o.quiet !== true) say(`warning: ${name} was truncated and written again (${r.size} bytes now, ${r.at} read): starting over on the new capture`);
          run = newRun();
          ring.begin(part); // the part's new first packet is where its successor begins after
          await run.read(source);
        }
        if (source.restarted) {
          if (o.quiet !== true) say(`warning: ${part} was written again before it was read to its end (${source.restarted.at} bytes read): pcapdiag fell a whole ring behind, the rest of that part is lost`);
          source.restarted = null;
        }
      } finally {
        source.close();
        last = source;
      }
      if (stopped()) break;
      part = await ring.next(o.signal, NEXT_PART_POLL_MS);
    }
    if (run !== null && last !== null) await report(run, last);
  } finally {
    setup?.finally?.();
  }
  return { reports, unreadable: [], partsOf };
}
