import type { By, VerdictId } from './types.js';
import type { ClassifyContext } from './context.js';
import { C2S, S2C, TcpFlow } from '../flow/tcp.js';
import { formatAddr } from '../flow/addr.js';
import { attributeIcmp, Attribution } from './attribute.js';
import { icmpFact, icmpName, icmpVerdict, loopFacts } from './icmp.js';
import { hopsFrom } from './format.js';
import { answered, attributeRst, elapsedSince, firstSyn, host, macFact, outcome, rstFact, synBefore, synFact, type Outcome } from './tcp-evidence.js';
import { macRef, type Fact } from './facts.js';

import { noResponse, noResponseWhen, pathFacts, responseFacts } from './tcp-response.js';
import { badSynAck, dataStall, dataStallWhen, missingDirection, oneSided, zeroWindowSide, zeroWindowStall } from './tcp-path.js';
import { httpError, httpErrorWhen, tlsAborted, tlsAbortedWhen, tlsAlert, tlsOf } from './tcp-app.js';
import { must } from '../errors.js';

export type { Outcome } from './tcp-evidence.js';

/** Seconds the server may take to close before it is no longer "right after connect". */
const PROMPT_CLOSE_NS = 1e9;

export interface TcpRule {
  verdict: VerdictId | ((f: TcpFlow) => VerdictId);
  when: (f: TcpFlow, c: ClassifyContext) => boolean;
  describe: (f: TcpFlow, c: ClassifyContext) => Outcome;
}

// ---- facts the rules read -------------------------------------------------------------

const serverReset = (f: TcpFlow) => f.rstDir === S2C;
const serverSentData = (f: TcpFlow) => f.s.dataFirstT >= 0;
/** The first RST came before the server sent any data and before the client began closing. */
const resetWithoutData = (f: TcpFlow) => serverReset(f) && !serverSentData(f) && !f.rstAfterPeerFin;
const serverClosedFirst = (f: TcpFlow) => f.s.finT >= 0 && (f.c.finT < 0 || f.s.finT < f.c.finT) && (f.rstDir < 0 || f.s.finT < f.rst.t);
/** The client reset its own unanswered attempt (a bare RST, not the answer to a challenge ACK). */
const clientGaveUp = (f: TcpFlow) => !answered(f) && f.rstDir === C2S;
/** Until when the client waited for an answer: its own RST, or the end of the capture. */
const waitedUntil = (f: TcpFlow, c: ClassifyContext) => (clientGaveUp(f) ? f.rst.t : c.captureEndT);
const unansweredFor = (f: TcpFlow, c: ClassifyContext) => waitedUntil(f, c) - f.lastSynT;
/** How long the client waited with no answer: first SYN to the end of the capture (or its own RST). */
const triedFor = (f: TcpFlow, c: ClassifyContext) => waitedUntil(f, c) - firstSyn(f);
/**
 * Unanswered long enough to call it a timeout: --syn-timeout from the first SYN with no answer,
 * however many SYNs the client sent in that time (#22: one rule for the code and the README; the
 * time a user's connect() waited is what --syn-timeout bounds, and more retransmissions in that
 * time must not make the verdict weaker).
 */
const timedOut = (f: TcpFlow, c: ClassifyContext) => triedFor(f, c) >= c.synTimeoutNs;
/** The client's RST came after the SYN-ACK (one before it answered something else). */
const clientRstAfterSynAck = (f: TcpFlow) => f.rstDir === C2S && f.rst.frame > f.synAckFrame;

/**
 * The TCP verdict table. First match wins, so the most specific rules come first.
 * `when` reads only facts of the flow and the context; `describe` explains the verdict.
 */
export const TCP_RULES: readonly TcpRule[] = [
  { verdict: 'one-sided', when: (f) => missingDirection(f) >= 0, describe: oneSided },
  { verdict: 'midstream', when: (f) => !f.sawSyn, describe: midstream },
  { verdict: (f) => must(icmpVerdict(must(f.icmp, 'the ICMP error')), 'the ICMP verdict'), when: (f) => f.icmp !== null && icmpVerdict(f.icmp) !== null && !answered(f), describe: icmpUnreachable },
  { verdict: 'refused', when: (f) => !answered(f) && serverReset(f), describe: refused },
  { verdict: 'bad-syn-ack', when: (f) => !answered(f) && f.challengeFrame > 0, describe: challengeAck },
  { verdict: 'timeout', when: (f, c) => !answered(f) && timedOut(f, c), describe: timeout },
  { verdict: 'capture-ended', when: (f) => !answered(f), describe: captureEndedUnanswered },
  { verdict: 'bad-syn-ack', when: (f) => !f.established && !f.synAckAckOk, describe: badSynAck },
  { verdict: 'handshake-incomplete', when: (f, c) => !f.established && (clientRstAfterSynAck(f) || c.captureEndT - f.synAckT >= c.synTimeoutNs), describe: handshakeIncomplete },
  { verdict: 'capture-ended', when: (f) => !f.established, describe: captureEndedHalfOpen },
  { verdict: 'data-stall', when: dataStallWhen, describe: dataStall },
  { verdict: 'zero-window-stall', when: (f, c) => zeroWindowSide(f, c) >= 0, describe: zeroWindowStall },
  { verdict: 'tls-alert', when: (f) => tlsOf(f)?.alert != null, describe: tlsAlert },
  { verdict: 'tls-aborted', when: tlsAbortedWhen, describe: tlsAborted },
  { verdict: 'http-error', when: httpErrorWhen, describe: httpError },
  { verdict: 'no-response', when: noResponseWhen, describe: noResponse },
  { verdict: 'closed-by-remote', when: (f) => !serverSentData(f) && (serverClosedFirst(f) || (resetWithoutData(f) && f.rstGapNs < PROMPT_CLOSE_NS)), describe: closedByRemote },
  { verdict: 'delayed-reset', when: (f) => resetWithoutData(f), describe: delayedReset },
  { verdict: 'mid-stream-reset', when: (f) => f.rstDir >= 0 && f.rstAfterData && !f.rstAfterPeerFin, describe: midStreamReset },
  { verdict: 'ok', when: () => true, describe: ok },
];

/** The first rule that matches the flow. */
export function tcpRule(f: TcpFlow, c: ClassifyContext): TcpRule {
  for (let i = 0; i < TCP_RULES.length; i++) if (TCP_RULES[i].when(f, c)) return TCP_RULES[i];
  throw new Error('unreachable: the last TCP rule matches every flow');
}

export function ruleVerdict(rule: TcpRule, f: TcpFlow): VerdictId {
  return typeof rule.verdict === 'function' ? rule.verdict(f) : rule.verdict;
}

// ---- one describe function per verdict -------------------------------------------------------

function midstream(f: TcpFlow): Outcome {
  return outcome('unknown', { kind: 'midstream', packets: f.c.packets + f.s.packets }, [{ kind: 'no-syn', frame: f.firstFrame }], f.firstFrame, f.s.mac);
}

function icmpUnreachable(f: TcpFlow, c: ClassifyContext): Outcome {
  const hit = must(f.icmp, 'the ICMP error');
  const a = attributeIcmp(f.sAddr, hit);
  const from = formatAddr(hit.version, hit.from);
  const facts = [synFact(f), icmpFact(hit, from, Math.max(hit.t, f.firstT) - f.firstT), ...a.why, ...macFact(c, hit.mac, 'sender')];
  const loop = icmpVerdict(hit) === 'ttl-exceeded' ? loopFacts(c, f.serverHostText, from, f.c.ttlMax, hit.ttl, f.version) : null;
  if (loop !== null) facts.push(...loop.facts);
  return outcome(a.by, { kind: 'icmp-answer', proto: 'tcp', from, icmp: icmpName(hit), loop: loop?.loop }, facts, hit.frame, hit.mac, hit.ttl);
}

function refused(f: TcpFlow, c: ClassifyContext): Outcome {
  const a = attributeRst(f, c);
  const lastSyn = synBefore(f, f.rst.t);
  const facts = [synFact(f), rstFact(f, 'syn', f.rst.t - lastSyn), ...a.why, ...macFact(c, f.rst.mac, 'sender', a.why)];
  const rstMac = a.by === 'middlebox' && f.rst.mac >= 0 ? macRef(f.rst.mac) : undefined;
  return outcome(a.by, { kind: 'refused', host: host(f), rstMac }, facts, f.rst.frame, f.rst.mac, f.rst.ttl);
}

/** How long before an unanswered first SYN another accepted connection to the port still says "the port is open". */
export const BACKLOG_WINDOW_NS = 1e9;

/**
 * Other connections to the same server port got a SYN-ACK in the BACKLOG_WINDOW_NS before this
 * attempt's first SYN, and none while its SYNs went unanswered (ServerProfile.acceptsOn: the last
 * few accepts per port), and the application sent no first byte on any connection to the port since
 * then: the port listens and the host is up, but the application stopped taking connections, so its
 * listen queue is full. (A port that accepts others while this attempt's SYNs die is not:
 * a client behind a lossy or filtering path looks like that, as in the public corpus's sandboxed
 * browsers, where Google's servers accepted one connection and not the next.)
 */
function portAccepted(f: TcpFlow): Fact | null {
  const first = firstSyn(f);
  if (f.profile === null) return null;
  const [before, nearest] = f.profile.acceptsOn(f.sPort, first - BACKLOG_WINDOW_NS, first, first);
  if (before === 0 || f.profile.acceptsOn(f.sPort, first + 1, f.lastSynT, first)[0] > 0) return null;
  // and the application answered none of them (or any other connection to the port) since: it is stuck
  const served = f.profile.servedOn(f.sPort);
  if (served >= 0 && served >= first - BACKLOG_WINDOW_NS) return null;
  return { kind: 'port-accepted', endpoint: f.serverText, accepted: before, nearestNs: first - nearest };
}

function timeout(f: TcpFlow, c: ClassifyContext): Outcome {
  const facts: Fact[] = [synFact(f), { kind: 'no-reply', triedNs: triedFor(f, c), afterLastSynNs: unansweredFor(f, c) }];
  const accepted = f.icmp === null ? portAccepted(f) : null;
  if (accepted !== null) facts.push(accepted);
  if (clientGaveUp(f)) facts.push(rstFact(f, 'syn', f.rst.t - synBefore(f, f.rst.t)));
  if (f.icmp !== null) {
    const i = f.icmp;
    facts.push({ kind: 'icmp', frame: i.frame, from: formatAddr(i.version, i.from), type: i.type, code: i.code, ipVersion: i.version, message: icmpName(i), t: undefined, ttl: undefined, hops: undefined, errors: undefined });
  }
  if (f.cDstMac >= 0) facts.push({ kind: 'sent-to', what: 'SYNs', gateway: c.hosts.isRouterMac(f.cDstMac), ...macRef(f.cDstMac) });
  const o = outcome(accepted !== null ? 'server' : 'unknown', { kind: 'timeout', host: host(f), port: f.sPort, syns: f.synCount, backlog: accepted !== null ? true : undefined }, facts, 0, f.cDstMac);
  o.macRole = 'next-hop';
  return o;
}

function captureEndedUnanswered(f: TcpFlow, c: ClassifyContext): Outcome {
  const gapNs = triedFor(f, c);
  if (clientGaveUp(f)) {
    // a bare RST from the client (seq = its ISN or ISN+1) answers nothing: it cancelled the attempt
    const facts = [synFact(f), rstFact(f, 'syn', f.rst.t - synBefore(f, f.rst.t))];
    return outcome('client', { kind: 'syn-too-soon', gapNs, timeoutNs: c.synTimeoutNs, clientRst: true }, facts, f.rst.frame, f.c.mac);
  }
  return outcome('unknown', { kind: 'syn-too-soon', gapNs, timeoutNs: c.synTimeoutNs, clientRst: undefined }, [synFact(f), { kind: 'capture-ended', after: 'syn', gapNs, timeoutNs: c.synTimeoutNs }], 0, -1);
}

function challengeFact(f: TcpFlow): Fact {
  return { kind: 'challenge-ack', frame: f.challengeFrame, t: f.challengeT - f.firstT, ack: f.challengeAck, expectedAck: (f.isn + 1) >>> 0, rstFrame: f.challengeRstFrame > 0 ? f.challengeRstFrame : undefined };
}

/** The server answered the SYN with a plain ACK (a challenge ACK), not a SYN-ACK, and none came after. */
function challengeAck(f: TcpFlow, c: ClassifyContext): Outcome {
  const facts: Fact[] = [synFact(f), challengeFact(f)];
  if (f.synCount > 1) facts.push({ kind: 'syn-retries', count: f.synCount });
  facts.push(...macFact(c, f.s.mac, 'server'));
  return outcome('unknown', { kind: 'bad-syn-ack', host: host(f), port: f.sPort, challenge: true }, facts, f.challengeFrame, f.s.mac);
}

/** The SYN-ACK with its time, repeats and TTL. */
function synAckFact(f: TcpFlow): Extract<Fact, { kind: 'syn-ack' }> {
  return { kind: 'syn-ack', frame: f.synAckFrame, t: f.synAckT - f.firstT, count: f.synAckCount, ttl: f.synAckTtl, hops: hopsFrom(f.synAckTtl), ipVersion: f.version, ack: undefined, expectedAck: undefined };
}

function handshakeIncomplete(f: TcpFlow, c: ClassifyContext): Outcome {
  const facts: Fact[] = [synFact(f), synAckFact(f)];
  if (!f.synAckAckOk) facts.push({ kind: 'syn-ack-not-for-isn' });
  let by: By = 'unknown';
  const clientRst = clientRstAfterSynAck(f);
  if (clientRst) {
    facts.push(rstFact(f, 'syn-ack', f.rst.t - f.synAckT));
    by = 'client';
  } else {
    facts.push({ kind: 'no-final-ack', waitedNs: c.captureEndT - f.synAckT });
  }
  facts.push(...macFact(c, f.s.mac, 'server'));
  return outcome(by, { kind: 'handshake-incomplete', clientRst }, facts, f.synAckFrame, f.s.mac);
}

function captureEndedHalfOpen(f: TcpFlow, c: ClassifyContext): Outcome {
  return outcome('unknown', { kind: 'half-open-at-end' }, [synFact(f), { kind: 'syn-ack-then-end', frame: f.synAckFrame, t: f.synAckT - f.firstT, waitedNs: c.captureEndT - f.synAckT }], f.synAckFrame, f.s.mac);
}

function closedByRemote(f: TcpFlow, c: ClassifyContext): Outcome {
  const facts: Fact[] = [{ kind: 'handshake', t: f.hsAckT - f.firstT, frame: f.hsAckFrame }];
  if (f.c.dataFirstT >= 0) facts.push({ kind: 'client-data', frame: f.c.dataFirstFrame, bytes: f.c.bytes, unanswered: false });
  let frame: number;
  let mac: number;
  let ttl: number;
  let by: By = 'server';
  if (serverClosedFirst(f)) {
    facts.push({ kind: 'fin', from: 'server', frame: f.s.finFrame, after: 'handshake', afterNs: elapsedSince(f.s.finT, f.hsAckT) });
    frame = f.s.finFrame;
    mac = f.s.mac;
    ttl = f.s.ttlMax;
  } else {
    const a = attributeRst(f, c);
    by = a.by;
    facts.push(rstFact(f, 'handshake', elapsedSince(f.rst.t, f.hsAckT), f.rstGapNs), ...a.why);
    frame = f.rst.frame;
    mac = f.rst.mac;
    ttl = f.rst.ttl;
  }
  facts.push(...macFact(c, mac, 'server', facts));
  return outcome(by, { kind: 'closed-by-remote' }, facts, frame, mac, ttl);
}

function delayedReset(f: TcpFlow, c: ClassifyContext): Outcome {
  const a = attributeRst(f, c);
  const facts: Fact[] = [{ kind: 'handshake', t: f.hsAckT - f.firstT, frame: f.hsAckFrame }];
  if (f.c.dataFirstT >= 0) facts.push({ kind: 'client-data', frame: f.c.dataFirstFrame, bytes: f.c.bytes, unanswered: true });
  facts.push(rstFact(f, 'client-last', f.rstGapNs), ...a.why, ...macFact(c, f.rst.mac, 'sender', a.why));
  return outcome(a.by, { kind: 'delayed-reset', gapNs: f.rstGapNs }, facts, f.rst.frame, f.rst.mac, f.rst.ttl);
}

function midStreamReset(f: TcpFlow, c: ClassifyContext): Outcome {
  let a: Attribution;
  if (f.rstDir === S2C) a = attributeRst(f, c);
  else a = { by: 'client', why: [] };
  const facts: Fact[] = [
    { kind: 'handshake', t: f.hsAckT - f.firstT, frame: undefined },
    { kind: 'data', clientBytes: f.c.bytes, serverBytes: f.s.bytes },
    rstFact(f, 'peer-last', f.rstGapNs),
    ...a.why,
    ...macFact(c, f.rst.mac, 'sender', a.why),
  ];
  return outcome(a.by, { kind: 'mid-stream-reset', rstT: f.rst.t - f.firstT }, facts, f.rst.frame, f.rst.mac, f.rst.ttl);
}

function ok(f: TcpFlow, c: ClassifyContext): Outcome {
  const facts: Fact[] = [{ kind: 'handshake-time', t: f.hsAckT - f.firstT, synAckFrame: f.synAckFrame, synAckT: f.synAckT - f.firstT }, { kind: 'data', clientBytes: f.c.bytes, serverBytes: f.s.bytes }, ...responseFacts(f), ...pathFacts(f)];
  if (f.challengeFrame > 0) facts.push(challengeFact(f));
  if (f.rstDir >= 0) facts.push(rstFact(f, 'start', f.rst.t - f.firstT, -1, true));
  facts.push(...macFact(c, f.s.mac, 'server'));
  return outcome('server', { kind: 'connected' }, facts, f.synAckFrame, f.s.mac, f.synAckTtl);
}
