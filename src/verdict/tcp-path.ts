import type { ClassifyContext } from './context.js';
import { C2S, S2C, type Stall, type TcpFlow } from '../flow/tcp.js';
import { hopsFrom } from './format.js';
import { host, macFact, outcome, synFact, type Outcome } from './tcp-evidence.js';
import type { Fact } from './facts.js';
import { must } from '../errors.js';
import { holeStallFacts, holeStallSide, optionsFact, pathFacts } from './tcp-response.js';

/** Retransmissions of one segment, with nothing acknowledging it, that make a stall. */
export const STALL_RETRANSMISSIONS = 3;
/** A zero window held this long stalls the sender. */
export const ZERO_WINDOW_NS = 5e9;
/** A stalled segment at least this long (payload bytes) may be too big for the path. */
const BIG_SEGMENT = 1200;

/** The direction the capture is missing: S2C when only the client was seen, C2S when only the server; -1 otherwise. */
export function missingDirection(f: TcpFlow): number {
  // a bare RST from the client (no ACK) does not show it saw a SYN-ACK: it cancelled its attempt
  if (f.sawSyn && f.s.packets === 0 && f.c.packets - f.cBareRsts > f.synCount) return S2C;
  if (!f.sawSyn && f.synAckT >= 0 && f.c.packets === 0) return C2S;
  return -1;
}

export function oneSided(f: TcpFlow): Outcome {
  const missing = missingDirection(f);
  const facts: Fact[] =
    missing === S2C ? [synFact(f), { kind: 'client-side-only', packets: f.c.packets - f.synCount - f.cBareRsts, bytes: f.c.bytes }] : [{ kind: 'server-side-only', frame: f.synAckFrame, server: f.serverText, packets: f.s.packets }];
  return outcome('unknown', { kind: 'one-sided', missing: missing === S2C ? 'server' : 'client' }, facts, f.firstFrame, -1);
}

export function badSynAck(f: TcpFlow, c: ClassifyContext): Outcome {
  const facts: Fact[] = [
    synFact(f),
    { kind: 'syn-ack', frame: f.synAckFrame, t: f.synAckT - f.firstT, count: f.synAckCount, ttl: f.synAckTtl, hops: hopsFrom(f.synAckTtl), ipVersion: f.version, ack: f.synAckAck, expectedAck: (f.isn + 1) >>> 0 },
  ];
  if (f.rstDir === C2S) facts.push({ kind: 'client-rst-bad-ack', frame: f.rst.frame, count: f.rstCount });
  if (f.synCount > 1) facts.push({ kind: 'syn-retries', count: f.synCount });
  facts.push(...macFact(c, f.s.mac, 'server'));
  return outcome('unknown', { kind: 'bad-syn-ack', host: host(f), port: f.sPort, challenge: undefined }, facts, f.synAckFrame, f.s.mac);
}

/** The side whose data died (C2S or S2C), seen from the sender (a segment retransmitted with no ACK), or -1. */
export function stalledSide(f: TcpFlow): number {
  for (let dir = C2S; dir <= S2C; dir++) {
    const st = f.side(dir).stall;
    if (st !== null && st.count >= STALL_RETRANSMISSIONS && !st.acked) return dir;
  }
  return -1;
}

/** A stall from either vantage: the sender's retransmissions, or the receiver's gap that nothing fills. */
export const dataStallWhen = (f: TcpFlow, c: ClassifyContext): boolean => stalledSide(f) >= 0 || holeStallSide(f, c) >= 0;

/** A sequence number relative to its side's ISN, as Wireshark shows them (raw when the ISN was not seen). */
function relSeq(f: TcpFlow, dir: number, seq: number): number {
  if (dir === C2S) return f.sawSyn ? (seq - f.isn) >>> 0 : seq;
  return f.synAckT >= 0 ? (seq - f.serverIsn) >>> 0 : seq;
}

/** Only big segments that may not fragment die, small ones got through, and no ICMP said why. */
function looksLikePmtuBlackHole(f: TcpFlow, st: Stall, dir: number): boolean {
  const peer = f.side(1 - dir);
  const smallAcked = peer.ackSeen && ((peer.ackMax - ((dir === C2S ? f.isn : 0) + 1)) | 0) > 0;
  return st.len >= BIG_SEGMENT && st.df === 1 && !f.sawPmtuIcmp && (dir !== C2S || smallAcked);
}

export function dataStall(f: TcpFlow, c: ClassifyContext): Outcome {
  const dir = stalledSide(f);
  if (dir < 0) return receiverStall(f, c);
  const st = must(f.side(dir).stall, 'the stalled segment');
  const side = dir === C2S ? 'client' : 'server';
  const facts: Fact[] = [
    { kind: 'handshake', t: f.hsAckT - f.firstT, frame: f.hsAckFrame },
    { kind: 'stall', side, seq: relSeq(f, dir, st.seq), len: st.len, df: st.df !== 0, count: st.count, frame: st.frame, t: st.t - f.firstT, spanNs: st.lastT - st.t },
  ];
  const seq = f.seq(dir);
  if (seq.rtxSeq === st.seq && seq.rtxCount >= 2) facts.push({ kind: 'rto-backoff', side, count: seq.rtxCount, firstGapNs: seq.rtxFirstGapNs, lastGapNs: seq.rtxLastGapNs });
  const pmtu = looksLikePmtuBlackHole(f, st, dir);
  if (pmtu) facts.push({ kind: 'pmtu', peer: dir === C2S ? 'server' : 'client', ackedSeq: relSeq(f, dir, f.side(1 - dir).ackMax) });
  facts.push(...pathFacts(f), ...optionsFact(f));
  const o = outcome(pmtu ? 'middlebox' : 'unknown', { kind: 'data-stall', side, count: st.count, len: st.len, pmtu, host: host(f), port: f.sPort, view: 'sender', bytes: st.len }, facts, st.frame, dir === C2S ? f.cDstMac : -1);
  // the client's segments died on the way: their next hop is no sender of anything
  if (dir === C2S) o.macRole = 'next-hop';
  return o;
}

/** A stall seen from the receiving side: the sender's later bytes arrived, a gap before them never did. */
function receiverStall(f: TcpFlow, c: ClassifyContext): Outcome {
  const dir = holeStallSide(f, c);
  const side = dir === C2S ? 'client' : 'server';
  const h = holeStallFacts(f, c, dir, (d, s) => relSeq(f, d, s));
  h.facts.push(...pathFacts(f), ...optionsFact(f));
  const story = { kind: 'data-stall', side, count: 0, len: h.mss, pmtu: h.pmtu, host: host(f), port: f.sPort, view: 'receiver', bytes: h.bytes } as const;
  const o = outcome(h.pmtu ? 'middlebox' : 'unknown', story, h.facts, h.frame, dir === C2S ? f.cDstMac : f.s.mac);
  if (dir === C2S) o.macRole = 'next-hop';
  return o;
}

/** The side that held a zero window for ZERO_WINDOW_NS or more (C2S or S2C), or -1. */
export function zeroWindowSide(f: TcpFlow, c: ClassifyContext): number {
  for (let dir = S2C; dir >= C2S; dir--) if (f.zeroWindowNs(f.side(dir), zeroEnd(f, c)) >= ZERO_WINDOW_NS) return dir;
  return -1;
}

/** A zero-window spell still open lasts until the connection's last packet (or the capture's end while it is open). */
function zeroEnd(f: TcpFlow, c: ClassifyContext): number {
  return f.closed ? f.lastT : c.captureEndT;
}

export function zeroWindowStall(f: TcpFlow, c: ClassifyContext): Outcome {
  const dir = zeroWindowSide(f, c);
  const ep = f.side(dir);
  const z = must(ep.zero, 'the zero window');
  const ns = f.zeroWindowNs(ep, zeroEnd(f, c));
  const open = z.since >= 0 && zeroEnd(f, c) - z.since >= z.longestNs;
  const frame = open ? z.sinceFrame : z.frame;
  const from = open ? z.since : z.t;
  const side = dir === S2C ? 'server' : 'client';
  const zero: Fact = { kind: 'zero-window', side, frame, t: from - f.firstT, durationNs: ns, until: !open ? undefined : f.closed ? 'connection-end' : 'capture-end' };
  const facts: Fact[] = [{ kind: 'handshake', t: f.hsAckT - f.firstT, frame: f.hsAckFrame }, zero, { kind: 'data', clientBytes: f.c.bytes, serverBytes: f.s.bytes }];
  if (f.rstDir >= 0) facts.push({ kind: 'then-rst', frame: f.rst.frame, from: f.rstDir === S2C ? 'server' : 'client', t: f.rst.t - f.firstT });
  return outcome(side, { kind: 'zero-window', side, durationNs: ns, host: host(f) }, facts, frame, dir === S2C ? f.s.mac : f.c.mac);
}
