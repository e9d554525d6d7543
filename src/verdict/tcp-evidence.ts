import type { By, MacRole } from './types.js';
import type { ClassifyContext } from './context.js';
import { S2C, TcpFlow } from '../flow/tcp.js';
import { TCP_FLAG } from '../decode/packet.js';
import { attributeServerPacket, Attribution } from './attribute.js';
import { hopsFrom } from './format.js';
import { macRef, namesMac, type Fact, type RstAfter, type Story } from './facts.js';

/** What a rule's describe function returns: the verdict's facts, its story, and its deciding packet. */
export interface Outcome {
  by: By;
  /** One per evidence line. */
  facts: Fact[];
  /** What the summary and check are made from (src/render/sentences.ts). */
  story: Story;
  /** Frame that decided the verdict; 0 for none. */
  frame: number;
  /** MAC of the deciding packet or of the responder (-1 unknown). */
  mac: number;
  /** TTL / hop limit of the deciding packet, when known (it tells whether `mac` made it: classify.ts macRoleOf). */
  ttl?: number;
  /** What `mac` is, when the rule knows better than its TTL tells. */
  macRole?: MacRole;
}

export function outcome(by: By, story: Story, facts: Fact[], frame: number, mac: number, ttl?: number): Outcome {
  return { by, facts, story, frame, mac, ttl, macRole: undefined };
}

/** The SYN got a SYN-ACK. */
export const answered = (f: TcpFlow) => f.synAckT >= 0;

export const host = (f: TcpFlow) => f.serverHostText;

/** Time of the first SYN, or of the flow's first packet when no SYN was seen. */
export const firstSyn = (f: TcpFlow) => (f.synCount > 0 ? f.firstSynT : f.firstT);

export function synFact(f: TcpFlow): Fact {
  const t0 = firstSyn(f);
  if (f.synCount <= 1) return { kind: 'syn', frames: [f.synCount > 0 ? f.firstSynFrame : f.firstFrame], t: t0 - f.firstT, times: [0], count: f.synCount };
  return { kind: 'syn', frames: [...f.synFrames], t: t0 - f.firstT, times: f.synTimes.map((t) => t - t0), count: f.synCount };
}

export function flagNames(flags: number): string {
  const n: string[] = [];
  if (flags & TCP_FLAG.SYN) n.push('SYN');
  if (flags & TCP_FLAG.RST) n.push('RST');
  if (flags & TCP_FLAG.FIN) n.push('FIN');
  if (flags & TCP_FLAG.PSH) n.push('PSH');
  if (flags & TCP_FLAG.ACK) n.push('ACK');
  return n.join('+');
}

/** "gateway <mac> = <vendor>" (or "<who> <mac>") unless an earlier fact already names that MAC. */
export function macFact(c: ClassifyContext, mac: number, who: 'sender' | 'server' | 'client', already: readonly Fact[] = NO_FACTS): Fact[] {
  if (mac < 0) return [];
  const m = macRef(mac);
  if (already.length > 0 && namesMac(already, m.mac)) return [];
  return [c.hosts.isRouterMac(mac) ? { kind: 'gateway', ...m } : { kind: 'mac', role: who, ...m }];
}

const NO_FACTS: readonly Fact[] = [];

/**
 * How long after `from` a packet at `t` came, for evidence that says "after the handshake" or
 * "after the ClientHello": 0 when it came first (a damaged or reordered capture: a FIN or RST
 * written before the ACK that completed the handshake), never a negative duration (#22).
 */
export function elapsedSince(t: number, from: number): number {
  return t > from ? t - from : 0;
}

/** The flow's RST, timed from `after` (afterNs later; gapNs: since the client's last packet; closing: a healthy connection's close). */
export function rstFact(f: TcpFlow, after: RstAfter, afterNs: number, gapNs = -1, closing = false): Fact {
  const r = f.rst;
  const ackMismatch = (r.flags & TCP_FLAG.ACK) !== 0 && f.rstDir === S2C && f.sawSyn && !answered(f) && r.ack !== (f.isn + 1) >>> 0;
  return {
    kind: 'rst',
    frame: r.frame,
    t: r.t - f.firstT,
    flags: flagNames(r.flags),
    from: f.rstDir === S2C ? 'server' : 'client',
    ttl: r.ttl,
    hops: hopsFrom(r.ttl),
    ipVersion: f.version,
    ackMismatch,
    after,
    afterNs,
    gapNs: gapNs >= 0 ? gapNs : undefined,
    closing: closing ? true : undefined,
  };
}

/** Time of the last SYN sent at or before `t` (the first SYN when all came later). */
export function synBefore(f: TcpFlow, t: number): number {
  let last = firstSyn(f);
  for (const s of f.synTimes) if (s <= t) last = s;
  return last;
}

/** Attribution of the server-side RST, with its own and other connections' TTLs for comparison. */
export function attributeRst(f: TcpFlow, c: ClassifyContext): Attribution {
  const sinceSyn = !answered(f) && f.synCount > 0 ? f.rst.t - synBefore(f, f.rst.t) : -1;
  return attributeServerPacket(c, f.version, f.profile, f.rst.ttl, f.rst.mac, f.s.ttlMin, f.s.ttlMax, sinceSyn);
}
