import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Keeps the heap near what is live when garbage piles up faster than V8 chooses to collect it.
 * Under a flood (a million unanswered SYNs, each reported with its evidence), V8 lets the old
 * generation grow to three times the live data before a full collection: 1.5 GB for 0.5 GB live.
 * When the heap exceeds both FLOOR and 1.5 times what the last full collection left, this asks for
 * one. Normal captures stay far below the floor and never pay for it.
 */
const FLOOR = 512 * 1024 * 1024;

let gc: (() => void) | null = null;
let liveAfterGc = 0;

function collector(): (() => void) | null {
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

/** Called now and then (every few MB of input): collects when the heap has grown well past what is live. */
export function checkHeap(): void {
  const used = v8.getHeapStatistics().used_heap_size;
  if (used < FLOOR || used < 1.5 * liveAfterGc) return;
  collector()!();
  liveAfterGc = v8.getHeapStatistics().used_heap_size;
}
