/**
 * The bookkeeping a TimerQueue keeps in each item it times (a flow object): two integers, so that
 * scheduling and touching allocate nothing and a stale heap entry is recognised without a lookup.
 * Both are 0 for an item the queue does not hold (set them so when an object is made or reused).
 */
export interface Timed {
  /** The sequence number of the item's live heap entry; 0 when it has none. */
  timerSeq: number;
  /** The round in which the item was last touched and not yet handed out; 0 when none. */
  timerMark: number;
}

/**
 * The earliest capture time after `now` that a double can hold: `now + 1` ns, or the next double
 * up once `now` is past 2^53 ns (104 days after the capture's first packet, as when a device's
 * clock jumps from 1970 to today), where `now + 1 === now`. A sweep schedules a flow it found not
 * yet due for no earlier than this: scheduled for `now` itself, `next(now)` handed the same flow
 * back for ever (a time out of whole milliseconds, as `--dns-timeout 1001ms`, can round its due
 * time to `now` there while `now - last >= timeout` is still false).
 */
export function after(now: number): number {
  const up = now + 1;
  return up > now ? up : now + Math.abs(now) * 2 * Number.EPSILON;
}

/** Slots of a round's array kept however few the next rounds use (see TimerQueue.begin). */
const KEEP_FREE = 65536;

/**
 * When each tracked flow is next worth looking at, so that a sweep touches only the flows that
 * are due instead of every flow in the tables (issue #20: the sweeps walked every live flow every
 * second of capture time, the SYN flood's million half-open flows and a proxy's thousands of
 * idle keep-alive connections alike).
 *
 * A flow is due for one of two reasons:
 * - it was touched (a packet, or an ICMP error, changed it) since the last sweep: its state is
 *   new, so the next sweep looks at it as every sweep looked at every flow before;
 * - its state has not changed since it was last looked at, and the capture time it was scheduled
 *   for has come: the earliest time at which, without a further packet, its verdict could be
 *   final (lifecycle.ts tcpFinalAt / dnsFinalAt).
 * A flow that is neither cannot have become final since it was last looked at (finality without
 * a packet only changes with capture time, and only once that time has come), so skipping it
 * changes no verdict and no record: only how many flows a sweep reads.
 *
 * Touching costs one comparison per packet (and one push the first time in a round). The heap is
 * a binary min-heap of (due, sequence number, item) in three parallel arrays (no object per
 * entry). Rescheduling or handing out an item leaves its old entry in the heap, stale: recognised
 * by its sequence number when popped, and dropped in a compaction when stale entries outnumber
 * the live ones.
 *
 * Use: `touch` on every change; `forget` when the item leaves its table outside a sweep; in a
 * sweep, `begin(now)` then `next(now)` until null, and for each item handed out either `schedule`
 * it again or take it out of its table (it then holds no entry: nothing to forget).
 */
export class TimerQueue<T extends Timed> {
  private dues: number[] = [];
  private seqs: number[] = [];
  private items: T[] = [];
  /** Items with a live heap entry. */
  private live = 0;
  private nextSeq = 1;
  /** Touches go to `touched` with mark `round`; begin() moves them to `pending` and starts a new round. */
  private round = 1;
  // each with its count of items: an array's store is kept from round to round (setting its
  // length to 0 frees it, and a busy sweep's touches grew a new one from 17 slots, issue #20)
  private touched: (T | null)[] = [];
  private touchedN = 0;
  private pending: (T | null)[] = [];
  private pendingN = 0;
  private cursor = 0;
  /** The earliest due time schedule() gives: after(now) of the sweep under way (begin). */
  private earliest = -Infinity;

  /** Items with a live heap entry (scheduled), not counting touched ones. */
  get scheduled(): number {
    return this.live;
  }

  /** Heap entries, stale ones included (for tests of the compaction). */
  get entries(): number {
    return this.dues.length;
  }

  /** `item` changed: it is due at the next sweep, whatever it was scheduled for. */
  touch(item: T): void {
    if (item.timerMark === this.round) return;
    item.timerMark = this.round;
    this.touched[this.touchedN++] = item;
  }

  /** `item` is due at capture time `due` (and, if touched, at the next sweep): replaces its earlier schedule. */
  schedule(item: T, due: number): void {
    if (item.timerSeq === 0) this.live++;
    const seq = this.nextSeq++;
    item.timerSeq = seq;
    // never for the sweep under way again (see after)
    this.push(due > this.earliest ? due : this.earliest, seq, item);
    if (this.dues.length > 1024 && this.dues.length > 3 * this.live) this.compact();
  }

  /** `item` left its table: it is never handed out again (until it is touched or scheduled anew, as a new flow). */
  forget(item: T): void {
    if (item.timerSeq !== 0) this.live--;
    item.timerSeq = 0;
    item.timerMark = 0;
  }

  /**
   * Starts a sweep at capture time `now`: what was touched since the last one is handed out first
   * by next(), and what is scheduled from now on is due no earlier than after(now), so that the
   * sweep never hands it out again.
   */
  begin(now = -Infinity): void {
    this.earliest = now === -Infinity ? -Infinity : after(now);
    const done = this.pending;
    // emptied in place, so that it holds no item; freed after a flood, for a store 4 times what a round needs
    if (done.length > KEEP_FREE && done.length > 4 * this.touchedN) done.length = 0;
    else done.fill(null, 0, this.pendingN);
    this.pending = this.touched;
    this.pendingN = this.touchedN;
    this.touched = done;
    this.touchedN = 0;
    this.cursor = 0;
    this.round++;
  }

  /**
   * The next item due at capture time `now`: touched before begin(), or scheduled for `now` or
   * earlier; null when there is none. The item handed out holds no schedule any more: the
   * caller schedules it again or takes it out of its table. Each item is handed out once a sweep
   * unless it is scheduled again for `now` or earlier.
   */
  next(now: number): T | null {
    const pending = this.pending;
    const touchedRound = this.round - 1;
    while (this.cursor < this.pendingN) {
      const item = pending[this.cursor++] as T;
      // a duplicate, or an item forgotten (or handed out and taken) since it was touched
      if (item.timerMark !== touchedRound) continue;
      item.timerMark = 0;
      this.release(item);
      return item;
    }
    const dues = this.dues;
    while (dues.length > 0 && dues[0] <= now) {
      const seq = this.seqs[0];
      const item = this.items[0];
      this.popTop();
      if (item.timerSeq !== seq) continue; // stale: rescheduled, handed out or forgotten since
      this.release(item);
      // touched since begin(): still due at the next sweep, from its mark
      return item;
    }
    return null;
  }

  /** The earliest scheduled due time, stale entries included (Infinity when empty). */
  peek(): number {
    return this.dues.length > 0 ? this.dues[0] : Infinity;
  }

  private release(item: T): void {
    if (item.timerSeq !== 0) this.live--;
    item.timerSeq = 0;
  }

  private push(due: number, seq: number, item: T): void {
    const { dues, seqs, items } = this;
    let i = dues.length;
    dues.push(due);
    seqs.push(seq);
    items.push(item);
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (dues[up] <= due) break;
      dues[i] = dues[up];
      seqs[i] = seqs[up];
      items[i] = items[up];
      i = up;
    }
    dues[i] = due;
    seqs[i] = seq;
    items[i] = item;
  }

  private popTop(): void {
    const { dues, seqs, items } = this;
    const last = dues.length - 1;
    const due = dues[last];
    const seq = seqs[last];
    const item = items[last];
    dues.pop();
    seqs.pop();
    items.pop();
    if (last > 0) this.siftDown(0, due, seq, item);
  }

  private siftDown(at: number, due: number, seq: number, item: T): void {
    const { dues, seqs, items } = this;
    const n = dues.length;
    let i = at;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && dues[c + 1] < dues[c]) c++;
      if (dues[c] >= due) break;
      dues[i] = dues[c];
      seqs[i] = seqs[c];
      items[i] = items[c];
      i = c;
    }
    dues[i] = due;
    seqs[i] = seq;
    items[i] = item;
  }

  /** Drops the stale entries and rebuilds the heap from the live ones. */
  private compact(): void {
    const { dues, seqs, items } = this;
    let n = 0;
    for (let i = 0; i < dues.length; i++) {
      if (items[i].timerSeq !== seqs[i]) continue;
      dues[n] = dues[i];
      seqs[n] = seqs[i];
      items[n] = items[i];
      n++;
    }
    dues.length = n;
    seqs.length = n;
    items.length = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i, dues[i], seqs[i], items[i]);
  }
}
