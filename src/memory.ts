import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Keeps the heap near what is live when garbage piles up faster than V8 chooses to collect it.
 * Flows live a few seconds of capture time, long enough to be promoted to the old generation, so
 * on a busy capture that is where they die; V8 lets it grow to three or four times the live data
 * before a full collection (135 MB before one that left 30 MB, on the 1 GB benchmark capture; 1.5 GB for 0.5 GB
 * under a flood of unanswered SYNs). When the heap exceeds both FLOOR and 1.5 times what the last
 * full collection left, this asks for one: peak RSS on the 1 GB capture went from 219 MB to
 * 130–134 MB (98 MB on a tenth of it) at no measurable cost in time.
 */
const FLOOR = 48 * 1024 * 1024;

let gc: (() => void) | null = null;
let liveAfterGc = 0;
let pretenuringOff = false;

/**
 * The young generation's size (both semi-spaces) past which it is not grown, when a run describes
 * only its problems (limitYoungGeneration).
 */
const YOUNG_LIMIT = 8 * 1024 * 1024;
/** Whether this run asks for the limit, and whether the growth factor is now 1. */
let youngLimited = false;
let youngStopped = false;

/**
 * Asks that the young generation stop growing at YOUNG_LIMIT (8 MiB: two semi-spaces of 4 MiB)
 * instead of V8's 32 MiB. A run that only counts its healthy flows keeps little alive between
 * young collections, so smaller semi-spaces cost it nothing: on the bench captures (text, 2 runs
 * each) peak RSS went 135 → 115 MiB (bulk 1 GB), 90 → 82 (bulk 102 MB), 215–219 → 205 (dense
 * 1 GB) and 165 → 143 (dense 102 MB), no slower. A run that describes every record (ndjson,
 * json, html) makes several times the garbage a record, more of it survives smaller semi-spaces,
 * and it was slower with the limit (dense 1 GB ndjson: 42 / 34 s → 49 s, 2 runs each), so it
 * is not asked there.
 *
 * V8 takes the semi-space size from its flags when it starts; only the growth factor is read
 * each time it grows them, so checkHeap sets that to 1 once the young generation has reached
 * the limit. The flag is the process's (every worker's heap stops growing), so a later analysis in
 * the same process that describes every record (a library caller, the tests) sets it back to V8's 2.
 * (On Node 20's V8 a factor of 1 is taken as given; a V8 that raised it to its minimum of 2 would
 * leave the young generation to grow as before.)
 */
export function limitYoungGeneration(limit: boolean): void {
  youngLimited = limit;
  if (!limit && youngStopped) {
    youngStopped = false;
    v8.setFlagsFromString('--semi-space-growth-factor=2');
  }
}

function collector(): () => void {
  if (gc === null) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = () => {};
    }
  }
  return gc;
}

/**
 * Called now and then (every few MB of input): collects when the heap has grown well past what is live.
 *
 * The first call also turns off V8's allocation-site pretenuring, which allocates an object
 * literal's objects straight in the old generation once most of them survive a young collection.
 * A sweep's records all live until the sweep emits them, so a young collection within a sweep
 * finds them alive, and the sites of records were pretenured in some runs and not in others: 29 or
 * 135 MB of dns records allocated old on the dense 1 GB bench capture, there to die and wait for a
 * full collection. Without it, that run's peak RSS was 236-239 MiB against 245-253 (3 runs each)
 * and its time no worse; the other bench captures did not move. The flag is the process's, set
 * after V8 started (as --expose-gc is for the collector): it takes effect at the next collections
 * (--trace-pretenuring-statistics), and a capture too small to reach this call does not need it.
 */
export function checkHeap(): void {
  if (!pretenuringOff) {
    pretenuringOff = true;
    v8.setFlagsFromString('--no-allocation-site-pretenuring');
  }
  if (youngLimited && !youngStopped && youngSize() >= YOUNG_LIMIT) {
    youngStopped = true;
    v8.setFlagsFromString('--semi-space-growth-factor=1');
  }
  const used = v8.getHeapStatistics().used_heap_size;
  if (used < FLOOR || used < 1.5 * liveAfterGc) return;
  collectCompacting();
  liveAfterGc = v8.getHeapStatistics().used_heap_size;
}

/**
 * A full collection that also compacts the old generation's fragmented pages. The flows, lookups
 * and linkers' entries that outlive a collection are scattered over pages that otherwise hold
 * garbage, and V8 moves the objects off a page only when most of it is free (70 % until it has
 * timed its compactions, then 50 % or more by their speed), 4 MB a collection: on the dense 1 GB
 * bench capture (ndjson) the old generation's pages grew from 65 to 92 MB over the run while what
 * each collection left stayed at 48-56 MB, the rest free space on partly used pages. Under
 * --optimize-for-size V8 takes pages 20 % free, 6 MB a collection (MarkCompactCollector::
 * ComputeEvacuationHeuristics reads it at each full collection), and sets the heap size at which
 * it starts a collection of its own (incremental, mostly on another thread) at 1.3 times what the
 * collection left instead of up to 4 times. With the flag set for the governor's collections, the
 * heap after each was 105-114 MB committed (the 32 MiB young generation included) against 128-134,
 * and V8 started 11 of the run's 54 full collections itself against 1 of 49 (--trace-gc; with
 * only its factor at 1.3, --heap-growing-percent=30, the peak did not move: the compaction is the
 * gain); the old generation stayed at 66-76 MB, and peak RSS went from 202-205 MiB to 189 (text:
 * 185 to 177-178), in the same time (2 runs each, alternating); the bulk capture and the 100 MB
 * ones did not move. The flag is set for these collections only: given for the whole run it also
 * keeps the young generation at 1-8 MiB (59 s against 35). (Asking for a collection more often as
 * well, at 1.3 times what the last one left, lowered the peak 10 MiB more but took 16 % longer.)
 *
 * The flags are the process's. --optimize-for-size implies --max-semi-space-size=1, which clearing
 * it does not undo, and a worker thread started later (parallel captures) took its young
 * generation from it: 2 MiB, and four times slower. So the size Node was started with is set back
 * (0: V8's own). A worker's collection while another thread clears the flag may not compact: only
 * the peak is at stake, not the output.
 */
function collectCompacting(): void {
  if (sizeOptimizedRun) {
    collector()();
    return;
  }
  v8.setFlagsFromString('--optimize-for-size');
  collector()();
  v8.setFlagsFromString('--no-optimize-for-size');
  v8.setFlagsFromString(`--max-semi-space-size=${startSemiSpace}`);
}

/** The V8 flags Node was started with (its arguments and NODE_OPTIONS), `_` written `-`. */
const startFlags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].map((a) => (a.startsWith('--') ? a.replace(/_/g, '-') : a));
/** Node was started with --optimize-for-size: it stays set. */
const sizeOptimizedRun = startFlags.includes('--optimize-for-size');
/** The --max-semi-space-size (MB) Node was started with, 0 when none (V8 then sizes it). */
const startSemiSpace = ((): number => {
  let mb = 0;
  startFlags.forEach((a, i) => {
    const v = a === '--max-semi-space-size' ? startFlags[i + 1] : a.startsWith('--max-semi-space-size=') ? a.slice(22) : undefined;
    if (v !== undefined && /^\d+$/.test(v)) mb = Number(v);
  });
  return mb;
})();

function youngSize(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}

/** Written by flatten, so that the optimizing compiler cannot drop the read that flattens. */
let _flattenSink = 0;

/**
 * `s` as one flat string. A string built by `+` or a template literal is a rope (V8's cons
 * strings: 32 bytes a piece, each piece a string of its own, a slice keeping its whole parent), and
 * stays one until something reads it by index; one kept for long (a map key, a kept record's text)
 * then costs three to ten times its flat size. Reading a character flattens it in place.
 */
export function flatten(s: string): string {
  _flattenSink ^= s.charCodeAt(0);
  return s;
}
