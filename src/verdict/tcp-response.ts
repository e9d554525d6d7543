import type { ClassifyContext } from './context.js';
import { C2S, S2C, type TcpFlow } from '../flow/tcp.js';
import { macFact, outcome, type Outcome } from './tcp-evidence.js';
import type { Fact } from './facts.js';
import { must } from '../errors.js';

/**
 * After the handshake: a request the server never answers (`no-response`), response times for
 * every connection, and what the sequence trackers (flow/seq.ts) say about the capture itself.
 */

/** A connection's wait for its first answer, or -1 when it is not one of a request left unanswered. */
export function unansweredWaitNs(f: TcpFlow, c: ClassifyContext): number {
  const x = f.xchg;
  // the first request, and a later one only when it is an HTTP/1.x request (keep-alive): a client's
  // other later bytes often need no answer (HTTP/2 window updates, a TLS close_notify), and a
  // connection kept open afterwards is idle, not hung
  if (!f.established || x.waitT < 0 || (x.turns > 0 && x.waitHttp === 0)) return -1;
  // the server closed or reset after the request: that is its answer (closed-by-remote, delayed-reset)
  if (f.s.finT >= x.waitT || (f.rstDir === S2C && f.rst.t >= x.waitT)) return -1;
  // the client still sending long after it began is a stream (syslog, an upload), not a request
  if (x.waitLastT - x.waitT >= c.responseTimeoutNs) return -1;
  return waitEnd(f, c) - x.waitLastT;
}

/** Where the wait ends: the client giving up (FIN or RST), else the connection's or the capture's end. */
function waitEnd(f: TcpFlow, c: ClassifyContext): number {
  const x = f.xchg;
  let end = f.closed ? f.lastT : c.captureEndT;
  if (f.c.finT >= x.waitT && f.c.finT < end) end = f.c.finT;
  if (f.rstDir === C2S && f.rst.t >= x.waitT && f.rst.t < end) end = f.rst.t;
  return end;
}

export const noResponseWhen = (f: TcpFlow, c: ClassifyContext): boolean => unansweredWaitNs(f, c) >= c.responseTimeoutNs;

export function noResponse(f: TcpFlow, c: ClassifyContext): Outcome {
  const x = f.xchg;
  const waitedNs = unansweredWaitNs(f, c);
  const acked = x.waitAckT >= 0;
  const end = waitEnd(f, c);
  const until: 'client-fin' | 'client-rst' | 'connection-end' | 'capture-end' = f.rstDir === C2S && f.rst.t === end ? 'client-rst' : f.c.finT === end ? 'client-fin' : f.closed ? 'connection-end' : 'capture-end';
  const facts: Fact[] = [
    { kind: 'handshake', t: f.hsAckT - f.firstT, frame: f.hsAckFrame },
    { kind: 'request', frame: x.waitFrame, t: x.waitT - f.firstT, bytes: x.waitBytes },
    acked ? { kind: 'request-acked', frame: x.waitAckFrame, afterNs: x.waitAckT - x.waitLastT } : { kind: 'request-not-acked' },
    {
      kind: 'no-answer',
      waitedNs,
      until,
      frame: until === 'client-rst' ? f.rst.frame : until === 'client-fin' ? f.c.finFrame : undefined,
    },
  ];
  facts.push(...pathFacts(f), ...optionsFact(f));
  facts.push(...macFact(c, f.s.mac, 'server'));
  const by = acked ? 'server' : 'unknown';
  return outcome(by, { kind: 'no-response', acked, waitedNs, host: f.serverHostText, port: f.sPort }, facts, acked ? x.waitAckFrame : x.waitFrame, f.s.mac);
}

/** Response times of a connection, ms rounded to µs: the first answer's and the slowest (undefined when none). */
export function responseTimes(f: TcpFlow): { responseMs?: number; ttfbMs?: number } {
  const x = f.xchg;
  if (x.turns === 0) return {};
  return { responseMs: Math.round(x.firstNs / 1e3) / 1e3, ttfbMs: Math.round(x.slowestNs / 1e3) / 1e3 };
}

/** The response-time line of a healthy record (none when nothing was asked and answered). */
export function responseFacts(f: TcpFlow): Fact[] {
  const x = f.xchg;
  if (x.turns === 0) return [];
  return [
    { kind: 'response-time', firstNs: x.firstNs, requestFrame: x.firstReqFrame, responseFrame: x.firstRespFrame, slowestNs: x.slowestNs, slowestRequestFrame: x.slowestReqFrame, slowestResponseFrame: x.slowestRespFrame, turns: x.turns },
  ];
}

/**
 * What the sequence trackers saw, for any TCP record: bytes the capture missed (acknowledged but
 * never seen), losses the capture saw repaired, retransmissions and duplicate ACKs.
 */
export function pathFacts(f: TcpFlow): Fact[] {
  const out: Fact[] = [];
  for (let dir = C2S; dir <= S2C; dir++) {
    const s = f.seq(dir);
    const side = dir === C2S ? 'client' : 'server';
    if (s.unseenBytes > 0) out.push({ kind: 'capture-missed', side, bytes: s.unseenBytes, frame: s.unseenFrame });
    if (s.retrans > 0 || s.holesFilled > 0 || s.dupAcks > 0) {
      out.push({ kind: 'retransmissions', side, count: s.retrans, bytes: s.retransBytes, frame: s.retransFrame, repaired: s.holesFilled, dupAcks: s.dupAcks });
    }
  }
  out.push(...mssClampFacts(f));
  return out;
}

/** Full-size segments the sender kept to, at least this many times, show the MSS it was given. */
const CLAMP_SEGMENTS = 3;
/** Segments this much under the offered MSS (timestamps take 12 bytes, other options up to 40) are not full-size. */
const MSS_SLACK = 40;

/**
 * A box in the path that lowered the MSS (clamping): the sender's segments never exceeded one size,
 * sent at least CLAMP_SEGMENTS times, well under the MSS the receiver offered as captured, with no
 * ICMP fragmentation-needed to explain it. The side whose offer was rewritten is the receiver.
 */
export function mssClampFacts(f: TcpFlow): Fact[] {
  const out: Fact[] = [];
  if (f.sawPmtuIcmp) return out;
  for (let dir = C2S; dir <= S2C; dir++) {
    const s = f.seq(dir);
    const offered = f.seq(1 - dir).mss;
    // a sender keeps to its own MSS too: when that is smaller, it explains the segment size
    if (s.mss > 0 && s.mss < offered && s.maxSegLen >= s.mss - MSS_SLACK) continue;
    if (offered > 0 && s.maxSegCount >= CLAMP_SEGMENTS && s.maxSegLen >= 500 && s.maxSegLen < offered - MSS_SLACK) {
      out.push({ kind: 'mss-clamp', side: dir === C2S ? 'client' : 'server', receiver: dir === C2S ? 'server' : 'client', offered, maxSeg: s.maxSegLen, count: s.maxSegCount });
    }
  }
  return out;
}

/** The SYN options each side offered (MSS, window scale, SACK permitted, timestamps), when the SYNs were seen. */
export function optionsFact(f: TcpFlow): Fact[] {
  const c = f.seq(C2S);
  const s = f.seq(S2C);
  if (!f.sawSyn || f.synAckT < 0) return [];
  const side = (x: typeof c) => ({ mss: x.mss >= 0 ? x.mss : undefined, wscale: x.wscale >= 0 ? x.wscale : undefined, sack: x.sackOk, timestamps: x.timestamps });
  return [{ kind: 'tcp-options', client: side(c), server: side(s) }];
}

/** Bytes the capture missed in a flow (both directions): for the summary's count. */
export function captureMissedBytes(f: TcpFlow): number {
  return f.seq(C2S).unseenBytes + f.seq(S2C).unseenBytes;
}

/** A hole open this long, never filled and never acknowledged, is a stall seen from the receiving side. */
export const HOLE_STALL_NS = 1e9;

/** The direction whose bytes never reached the receiver (a hole the receiver waits on), or -1. */
export function holeStallSide(f: TcpFlow, c: ClassifyContext): number {
  if (!f.established) return -1;
  const end = f.closed ? f.lastT : c.captureEndT;
  for (let dir = S2C; dir >= C2S; dir--) {
    const h = f.seq(dir).firstHole();
    if (h !== null && end - h.t >= HOLE_STALL_NS) return dir;
  }
  return -1;
}

/** The facts of a stall seen from the receiving side: the hole, and whether only small segments got through. */
export function holeStallFacts(f: TcpFlow, c: ClassifyContext, dir: number, relSeq: (dir: number, seq: number) => number): { facts: Fact[]; pmtu: boolean; bytes: number; frame: number; maxSeg: number; mss: number } {
  const s = f.seq(dir);
  const h = must(s.firstHole(), 'the hole');
  const end = f.closed ? f.lastT : c.captureEndT;
  const side = dir === C2S ? 'client' : 'server';
  const receiver = dir === C2S ? 'server' : 'client';
  // the smaller of the two MSS offers bounds what the sender may send; only smaller segments arrived
  const offered = f.seq(1 - dir).mss;
  const mss = s.mss > 0 && s.mss < offered ? s.mss : offered;
  const bytes = s.holeBytes();
  const pmtu = mss > 0 && bytes >= 1200 && s.maxSegLen < mss - 40 && !f.sawPmtuIcmp;
  const facts: Fact[] = [
    { kind: 'handshake', t: f.hsAckT - f.firstT, frame: f.hsAckFrame },
    { kind: 'hole', side, receiver, seq: relSeq(dir, h.seq), bytes, holes: s.holes, frame: h.frame, t: h.t - f.firstT, waitedNs: end - h.t, dupAcks: s.dupAcks, sacks: s.sackBlocks },
  ];
  if (pmtu) facts.push({ kind: 'pmtu-receiver', side, receiver, maxSeg: s.maxSegLen, mss });
  if (f.rstDir >= 0) facts.push({ kind: 'then-rst', frame: f.rst.frame, from: f.rstDir === S2C ? 'server' : 'client', t: f.rst.t - f.firstT });
  return { facts, pmtu, bytes, frame: h.frame, maxSeg: s.maxSegLen, mss };
}
