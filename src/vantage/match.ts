import { TCP_FLAG } from '../decode/packet.js';
import type { PacketSummary } from './packets.js';

/**
 * Finding the same packets in two captures taken at different points of one network. Pure
 * functions over PacketSummary lists (no I/O), unit-tested in test/vantage-match.test.ts.
 *
 * A packet's identity leaves addresses and ports out, so that it survives a NAT: TCP by its
 * sequence and acknowledgement numbers, flags, payload length and payload hash (the ISN of a SYN
 * is 32 random bits); UDP by payload length and hash (a DNS message's id and question are in the
 * hashed bytes). Copies of one identity (retransmissions) are told apart by the IP ID when the
 * sender numbers its packets, else by time once the clock offset is known.
 */

/** The identity of a packet across captures (see above). */
export function identity(p: PacketSummary): string {
  return p.proto === 6 ? `t${p.flags}|${p.seq}|${p.ack}|${p.len}|${p.hash}` : `u${p.len}|${p.hash}`;
}

/** Times of captures: capture B's packet at tB (ns since B's first packet) is at tB + baseDeltaNs on A's time line. */
export interface Pair {
  a: PacketSummary;
  b: PacketSummary;
}

/**
 * Matches the packets of one flow seen in capture A with those of the same flow in capture B.
 * `toA` maps a B time onto A's time line (B's base difference and the clock offset, once known);
 * `windowNs`: how far apart in time two copies of a packet may be (after toA). First the copies
 * whose identity and IP ID are unique on both sides, then the rest nearest in time.
 */
export function matchPackets(as: readonly PacketSummary[], bs: readonly PacketSummary[], toA: (tB: number) => number, windowNs: number): Pair[] {
  const byId = new Map<string, PacketSummary[]>();
  for (const b of bs) {
    const k = identity(b);
    const l = byId.get(k);
    if (l === undefined) byId.set(k, [b]);
    else l.push(b);
  }
  const used = new Set<PacketSummary>();
  const pairs: Pair[] = [];
  const pending: PacketSummary[] = [];
  const aCount = new Map<string, number>();
  for (const a of as) aCount.set(identity(a), (aCount.get(identity(a)) ?? 0) + 1);
  // unique identities (a SYN sent once, a data segment never retransmitted): no ambiguity
  for (const a of as) {
    const k = identity(a);
    const cands = byId.get(k);
    if (cands === undefined) continue;
    if (cands.length === 1 && aCount.get(k) === 1 && Math.abs(toA(cands[0].t) - a.t) <= windowNs) {
      pairs.push({ a, b: cands[0] });
      used.add(cands[0]);
    } else pending.push(a);
  }
  // copies: the one with the same IP ID (a numbering sender), else the nearest in time not yet taken
  for (const a of pending) {
    const cands = byId.get(identity(a)) ?? [];
    let best: PacketSummary | null = null;
    let bestD = Infinity;
    for (const b of cands) {
      if (used.has(b)) continue;
      if (a.ipId !== 0 && b.ipId !== 0 && a.ipId !== b.ipId) continue;
      const d = Math.abs(toA(b.t) - a.t) - (a.ipId !== 0 && a.ipId === b.ipId ? windowNs : 0);
      if (d < bestD) {
        bestD = d;
        best = b;
      }
    }
    if (best !== null && Math.abs(toA(best.t) - a.t) <= windowNs) {
      pairs.push({ a, b: best });
      used.add(best);
    }
  }
  pairs.sort((x, y) => x.a.t - y.a.t);
  return pairs;
}

/** The clock offset between two captures, from matched packets (see estimateOffset). */
export interface ClockOffset {
  /** B's clock minus A's, ns: add it to an A time to get the B clock's reading of that moment. */
  offsetNs: number;
  /** Matched packets it is estimated from. */
  packets: number;
  /**
   * 'both-ways': from packets travelling each way (their one-way delays cancel, as NTP's do);
   * 'one-way': packets went one way only, so the offset includes their transit time;
   * 'same-hop': the copies had the same TTL (the captures are on one segment or a NAT that does not decrement it): the median difference.
   */
  method: 'both-ways' | 'one-way' | 'same-hop' | 'none';
  /** Upper bound of the one-way transit time between the two points, ns (half the spread of the two ways). */
  transitNs: number;
}

/**
 * Estimates B's clock offset from A's. `d = tB_abs - tA_abs` of a matched packet is the offset
 * plus its transit when it passed A first (its TTL is higher in A), minus the transit when it
 * passed B first: so the offset lies between the largest d of B-first packets and the smallest
 * d of A-first ones, and the middle of the two is the estimate (symmetric paths). `deltaNs`: B's
 * first packet minus A's, in absolute time (pairs carry times since each capture's first packet).
 */
export function estimateOffset(pairs: readonly Pair[], deltaNs: number): ClockOffset {
  let minAFirst = Infinity;
  let maxBFirst = -Infinity;
  const same: number[] = [];
  for (const { a, b } of pairs) {
    const d = b.t + deltaNs - a.t;
    if (a.ttl > b.ttl) minAFirst = Math.min(minAFirst, d);
    else if (b.ttl > a.ttl) maxBFirst = Math.max(maxBFirst, d);
    else same.push(d);
  }
  const packets = pairs.length;
  if (minAFirst !== Infinity && maxBFirst !== -Infinity) {
    return { offsetNs: (minAFirst + maxBFirst) / 2, packets, method: 'both-ways', transitNs: Math.max(0, (minAFirst - maxBFirst) / 2) };
  }
  if (minAFirst !== Infinity) return { offsetNs: minAFirst, packets, method: 'one-way', transitNs: 0 };
  if (maxBFirst !== -Infinity) return { offsetNs: maxBFirst, packets, method: 'one-way', transitNs: 0 };
  if (same.length > 0) {
    same.sort((x, y) => x - y);
    return { offsetNs: same[same.length >> 1], packets, method: 'same-hop', transitNs: 0 };
  }
  return { offsetNs: 0, packets: 0, method: 'none', transitNs: 0 };
}

/** A packet's name for sentences: SYN, SYN-ACK, RST, FIN, data, ACK, or the UDP/DNS message. */
export function packetName(p: PacketSummary): string {
  if (p.proto !== 6) return p.len > 0 ? 'datagram' : 'empty datagram';
  const f = p.flags;
  if (f & TCP_FLAG.RST) return 'RST';
  if (f & TCP_FLAG.SYN) return f & TCP_FLAG.ACK ? 'SYN-ACK' : 'SYN';
  if (f & TCP_FLAG.FIN) return 'FIN';
  return p.len > 0 ? 'data segment' : 'ACK';
}

/**
 * Pairs each flow of A with the flow of B that shares the most packet identities (at least one);
 * each B flow goes to one A flow. Returns, for each A flow index, the B flow index or -1.
 */
export function pairFlows(aFlows: readonly (readonly PacketSummary[])[], bFlows: readonly (readonly PacketSummary[])[]): number[] {
  const owner = new Map<string, number[]>();
  bFlows.forEach((ps, i) => {
    for (const p of ps) {
      const k = identity(p);
      const l = owner.get(k);
      if (l === undefined) owner.set(k, [i]);
      else if (l[l.length - 1] !== i) l.push(i);
    }
  });
  const candidates: { a: number; b: number; votes: number }[] = [];
  aFlows.forEach((ps, a) => {
    const votes = new Map<number, number>();
    const seen = new Set<string>();
    for (const p of ps) {
      const k = identity(p);
      if (seen.has(k)) continue;
      seen.add(k);
      for (const b of owner.get(k) ?? []) votes.set(b, (votes.get(b) ?? 0) + 1);
    }
    for (const [b, n] of votes) candidates.push({ a, b, votes: n });
  });
  candidates.sort((x, y) => y.votes - x.votes || x.a - y.a || x.b - y.b);
  const out = new Array<number>(aFlows.length).fill(-1);
  const taken = new Set<number>();
  for (const c of candidates) {
    if (out[c.a] >= 0 || taken.has(c.b)) continue;
    out[c.a] = c.b;
    taken.add(c.b);
  }
  return out;
}
