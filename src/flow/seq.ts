/**
 * One direction of a TCP connection's sequence space, as the capture saw it: what the sender
 * sent (new bytes, holes, retransmissions) and what the receiver acknowledged (ACKs, SACK blocks,
 * duplicate ACKs). From these come the facts Wireshark's tcp.analysis.* names: "previous segment
 * not captured", "ACKed unseen segment", retransmissions, duplicate ACKs.
 *
 * Where a byte went missing tells who lost it:
 * - a hole (bytes skipped by the sender's later segments) that a retransmission fills later: lost
 *   in the network before the capture point (the receiver's side saw the loss too);
 * - a hole, or bytes past the highest seen, that the receiver acknowledges anyway (ACK or SACK):
 *   the receiver got them, the capture did not (capture drops, or a path that bypasses the tap);
 * - a hole never filled and never acknowledged while the connection goes on: the bytes never
 *   reached the receiver (a stall; from the receiving side, a PMTU black hole when only big
 *   segments died).
 *
 * Sequence numbers are u32 and compared with wraparound (seqLt and friends). Everything per
 * packet works on numbers and on arrays made once per tracker (at its first hole): no allocation.
 */

import type { TcpOptions } from '../decode/tcp-options.js';
import { NS_PLACEHOLDER } from './endpoints.js';

export const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
export const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0;
export const seqGe = (a: number, b: number): boolean => ((a - b) | 0) >= 0;
export const seqGt = (a: number, b: number): boolean => ((a - b) | 0) > 0;
export const seqDiff = (a: number, b: number): number => (a - b) | 0;
export const seqAdd = (a: number, n: number): number => (a + n) >>> 0;

/** Holes tracked per direction; more are merged into the last one. */
export const MAX_HOLES = 8;

/** What a data segment was, for the caller. */
export const SEG = { New: 0, Retransmission: 1, FilledHole: 2 } as const;

export class SeqTracker {
  /** Whether a starting point is known (the SYN's ISN + 1, or the first data seen). */
  started = false;
  /** The sequence number after the highest byte (or FIN) seen from the sender. */
  maxEnd = 0;
  /** Payload bytes of the largest segment seen from the sender, and how many segments had that size. */
  maxSegLen = 0;
  maxSegCount = 0;
  /** Data segments seen that carried new bytes. */
  segments = 0;
  /** Segments wholly or partly below maxEnd that filled no hole: seen twice by the capture. */
  retrans = 0;
  retransBytes = 0;
  retransFrame = 0;
  /** Segments that filled (part of) a hole: lost before the capture point, then repaired. */
  holesFilled = 0;
  /** Bytes the receiver acknowledged (ACK or SACK) that the capture never saw: capture drops. */
  unseenBytes = 0;
  /** Times that happened, and the first ACK that showed it. */
  unseenEvents = 0;
  unseenFrame = 0;
  /** Duplicate ACKs from the receiver (same ACK and window, no data, data outstanding). */
  dupAcks = 0;
  dupAckFrame = 0;
  private lastAck = -1;
  private lastWin = -1;
  /** SACK blocks the receiver sent. */
  sackBlocks = 0;
  /** The segment most recently sent again, how often, and the spacing of its repeats (RTO backoff). */
  rtxSeq = -1;
  rtxCount = 0;
  rtxLastT = NS_PLACEHOLDER;
  rtxFirstGapNs = NS_PLACEHOLDER;
  rtxLastGapNs = NS_PLACEHOLDER;
  /** Open holes: [holeL[i], holeR[i]) with the time and frame of the segment that revealed each. */
  holes = 0;
  /** Bytes of holes merged away when more than MAX_HOLES were open (kept in the last hole). */
  holesMerged = false;
  /** What the sender's SYN offered: MSS (-1 none), window scale (-1 none), SACK permitted, timestamps. */
  mss = -1;
  wscale = -1;
  sackOk = false;
  timestamps = false;
  private holeL: Float64Array | null = null;
  private holeR: Float64Array | null = null;
  private holeT: Float64Array | null = null;
  private holeFrame: Float64Array | null = null;

  // the placeholders above are there for V8 (NS_PLACEHOLDER); reset() sets the first values
  constructor() {
    this.reset();
  }

  reset(): void {
    this.started = false;
    this.maxEnd = 0;
    this.maxSegLen = 0;
    this.maxSegCount = 0;
    this.segments = 0;
    this.retrans = 0;
    this.retransBytes = 0;
    this.retransFrame = 0;
    this.holesFilled = 0;
    this.unseenBytes = 0;
    this.unseenEvents = 0;
    this.unseenFrame = 0;
    this.dupAcks = 0;
    this.dupAckFrame = 0;
    this.lastAck = -1;
    this.lastWin = -1;
    this.sackBlocks = 0;
    this.rtxSeq = -1;
    this.rtxCount = 0;
    this.rtxLastT = 0;
    this.rtxFirstGapNs = 0;
    this.rtxLastGapNs = 0;
    this.holes = 0;
    this.holesMerged = false;
    this.holeL = this.holeR = this.holeT = this.holeFrame = null;
    this.mss = -1;
    this.wscale = -1;
    this.sackOk = false;
    this.timestamps = false;
  }

  /** The options of the sender's SYN (or SYN-ACK). */
  synOptions(o: TcpOptions): void {
    this.mss = o.mss;
    this.wscale = o.wscale;
    this.sackOk = o.sackOk;
    this.timestamps = o.timestamps;
  }

  /** The sender's SYN (or SYN-ACK): its data starts at isn + 1. */
  syn(isn: number): void {
    if (this.started) return;
    this.started = true;
    this.maxEnd = seqAdd(isn, 1);
  }

  /**
   * A segment from the sender carrying `len` payload bytes at `seq` (a FIN counts one more).
   * Returns SEG.New when it carried bytes past any seen before, SEG.FilledHole when it filled
   * a hole, SEG.Retransmission otherwise.
   */
  data(seq: number, len: number, fin: boolean, frame: number, t: number): number {
    const end = seqAdd(seq, len + (fin ? 1 : 0));
    if (len > this.maxSegLen) {
      this.maxSegLen = len;
      this.maxSegCount = 1;
    } else if (len === this.maxSegLen && len > 0) this.maxSegCount++;
    if (!this.started) {
      this.started = true;
      this.maxEnd = end;
      this.segments++;
      return SEG.New;
    }
    if (seqGt(end, this.maxEnd)) {
      if (seqGt(seq, this.maxEnd)) this.addHole(this.maxEnd, seq, t, frame);
      else if (this.holes > 0) this.fill(seq, this.maxEnd);
      this.maxEnd = end;
      this.segments++;
      return SEG.New;
    }
    if (this.holes > 0 && this.fill(seq, end) > 0) {
      this.holesFilled++;
      return SEG.FilledHole;
    }
    if (len === 0) return SEG.Retransmission; // a repeated FIN
    this.retrans++;
    this.retransBytes += len;
    if (this.retransFrame === 0) this.retransFrame = frame;
    if (seq === this.rtxSeq) {
      const gap = t - this.rtxLastT;
      if (this.rtxCount === 1) this.rtxFirstGapNs = gap;
      this.rtxLastGapNs = gap;
      this.rtxCount++;
    } else {
      this.rtxSeq = seq;
      this.rtxCount = 1;
      this.rtxFirstGapNs = this.rtxLastGapNs = 0;
    }
    this.rtxLastT = t;
    return SEG.Retransmission;
  }

  /**
   * An ACK from the receiver: bytes below `ack` arrived. Those the capture never saw (past the
   * highest seen, or in a hole) are counted as unseen. `pure` marks a segment without data, SYN,
   * FIN or RST, for duplicate ACKs.
   */
  ack(ack: number, win: number, pure: boolean, frame: number): void {
    if (!this.started) return;
    if (seqGt(ack, this.maxEnd)) {
      this.unseen(seqDiff(ack, this.maxEnd), frame);
      this.maxEnd = ack;
    }
    if (this.holes > 0) this.ackHoles(ack, frame);
    if (pure) {
      if (ack === this.lastAck && win === this.lastWin && seqLt(ack, this.maxEnd)) {
        if (this.dupAcks === 0) this.dupAckFrame = frame;
        this.dupAcks++;
      }
      this.lastAck = ack;
      this.lastWin = win;
    } else {
      this.lastAck = -1;
    }
  }

  /** One SACK block from the receiver: [left, right) arrived. */
  sack(left: number, right: number, frame: number, t: number): void {
    if (!this.started || !seqLt(left, right)) return;
    this.sackBlocks++;
    if (seqGt(right, this.maxEnd)) {
      const from = seqGt(left, this.maxEnd) ? left : this.maxEnd;
      if (seqGt(left, this.maxEnd)) this.addHole(this.maxEnd, left, t, frame);
      this.unseen(seqDiff(right, from), frame);
      this.maxEnd = right;
    }
    if (this.holes > 0) {
      const got = this.fill(left, right);
      if (got > 0) this.unseen(got, frame);
    }
  }

  private unseen(bytes: number, frame: number): void {
    this.unseenBytes += bytes;
    if (this.unseenEvents === 0) this.unseenFrame = frame;
    this.unseenEvents++;
  }

  /** The oldest open hole: its left edge, size in bytes, time and frame (-1 size when none). */
  firstHole(): { seq: number; bytes: number; t: number; frame: number } | null {
    if (this.holes === 0 || this.holeL === null || this.holeR === null || this.holeT === null || this.holeFrame === null) return null;
    let best = 0;
    for (let i = 1; i < this.holes; i++) if (seqLt(this.holeL[i], this.holeL[best])) best = i;
    return { seq: this.holeL[best], bytes: seqDiff(this.holeR[best], this.holeL[best]), t: this.holeT[best], frame: this.holeFrame[best] };
  }

  /** Bytes in open holes. */
  holeBytes(): number {
    let n = 0;
    if (this.holeL === null || this.holeR === null) return 0;
    for (let i = 0; i < this.holes; i++) n += seqDiff(this.holeR[i], this.holeL[i]);
    return n;
  }

  private addHole(l: number, r: number, t: number, frame: number): void {
    if (this.holeL === null) {
      this.holeL = new Float64Array(MAX_HOLES);
      this.holeR = new Float64Array(MAX_HOLES);
      this.holeT = new Float64Array(MAX_HOLES);
      this.holeFrame = new Float64Array(MAX_HOLES);
    }
    const hr = this.holeR as Float64Array;
    if (this.holes === MAX_HOLES) {
      // bounded: the newest holes run together into the last one
      hr[MAX_HOLES - 1] = r;
      this.holesMerged = true;
      return;
    }
    const i = this.holes++;
    this.holeL[i] = l;
    hr[i] = r;
    (this.holeT as Float64Array)[i] = t;
    (this.holeFrame as Float64Array)[i] = frame;
  }

  private removeHole(i: number): void {
    const last = --this.holes;
    if (i === last) return;
    const l = this.holeL as Float64Array;
    const r = this.holeR as Float64Array;
    const t = this.holeT as Float64Array;
    const f = this.holeFrame as Float64Array;
    l[i] = l[last];
    r[i] = r[last];
    t[i] = t[last];
    f[i] = f[last];
  }

  /** Bytes [s, e) arrived: takes them out of the holes; returns how many were in a hole. */
  private fill(s: number, e: number): number {
    const L = this.holeL as Float64Array;
    const R = this.holeR as Float64Array;
    let got = 0;
    for (let i = 0; i < this.holes; i++) {
      const l = L[i];
      const r = R[i];
      if (seqLe(e, l) || seqGe(s, r)) continue;
      if (seqLe(s, l) && seqGe(e, r)) {
        got += seqDiff(r, l);
        this.removeHole(i);
        i--;
      } else if (seqLe(s, l)) {
        got += seqDiff(e, l);
        L[i] = e;
      } else if (seqGe(e, r)) {
        got += seqDiff(r, s);
        R[i] = s;
      } else {
        // inside the hole: it splits in two (the right part is dropped when no slot is free)
        got += seqDiff(e, s);
        R[i] = s;
        if (this.holes < MAX_HOLES) this.addHole(e, r, (this.holeT as Float64Array)[i], (this.holeFrame as Float64Array)[i]);
      }
    }
    return got;
  }

  /** The receiver acknowledged everything below `ack`: hole bytes below it arrived unseen. */
  private ackHoles(ack: number, frame: number): void {
    const L = this.holeL as Float64Array;
    const R = this.holeR as Float64Array;
    for (let i = 0; i < this.holes; i++) {
      const l = L[i];
      if (seqGe(l, ack)) continue;
      const r = R[i];
      if (seqGe(ack, r)) {
        this.unseen(seqDiff(r, l), frame);
        this.removeHole(i);
        i--;
      } else {
        this.unseen(seqDiff(ack, l), frame);
        L[i] = ack;
      }
    }
  }
}
