import { TCP_FLAG } from '../decode/packet.js';
import type { Fact } from '../verdict/facts.js';
import { estimateOffset, matchPackets, type ClockOffset, type Pair } from './match.js';
import { type PacketSummary } from './packets.js';
import { hostOf } from '../flow/addr.js';

/**
 * Finding one TCP connection in two captures when a box between them rewrites sequence numbers
 * (Cisco ASA/PIX sequence-number randomisation, pf `modulate state`, Linux iptables SYNPROXY with
 * conntrack seqadj): no packet then has the same seq/ack in both captures, so identity matching
 * (match.ts) finds nothing. Such boxes add a constant to the sequence numbers of one direction
 * (and take it from the acknowledgements of the other), so:
 *
 * 1. Flows not paired by identity are paired by their data segments (payload length and hash,
 *    in the same direction, close in time) that agree on one sequence delta per direction, or by
 *    a SYN whose ISN came through unchanged (a SYN proxy leaves the client's ISN alone), and by
 *    their endpoints (the same port or address on either side, or enough payload to need none).
 *    An A flow with two equally good B flows (or the reverse) stays unpaired: no guessing.
 * 2. Within a paired flow every packet is matched with its seq/ack mapped through the deltas,
 *    so bare ACKs, SYN, SYN-ACK, FIN and RST are found too; in a direction whose delta is unknown
 *    (no data, no ISN) only flags, acknowledgement, length and payload are compared.
 *
 * Bounded: at most MAX_PACKETS_PER_FLOW packets of a flow take part, a payload seen in more than
 * MAX_SAME_PAYLOAD segments is not used to pair (it tells nothing), and each A flow considers at
 * most MAX_CANDIDATES B flows. Pure functions, no I/O; run after the capture's own analysis.
 */

/** What the fallback needs of a flow (correlate.ts's Flow has it). */
export interface FlowSide {
  record: { client: string; server: string };
  packets: PacketSummary[];
  proto: number;
}

/** A pair of flows found through a box that rewrites sequence numbers. */
export interface Translated {
  /** Index of the B flow. */
  b: number;
  pairs: Pair[];
  /** B's seq minus A's (mod 2^32) of the client's packets (null: no evidence), and of the server's. */
  fromClient: number | null;
  fromServer: number | null;
  /** Data segments matched by payload (the pairing's evidence), and whether a SYN's ISN was the same on both sides. */
  segments: number;
  isn: boolean;
  /** Matched packets whose IP IDs (both numbered) are the same, and differ: a box like these leaves the IP ID alone. */
  idAgree: number;
  idDisagree: number;
  /** Most packets matched, and most data segments of each way that both sides carried (see matchTranslated). */
  consistent: boolean;
  /** How far the clock offset may be off (ns; Infinity when it cannot be bounded: not estimated both ways). */
  marginNs: number;
}

export const MAX_PACKETS_PER_FLOW = 4096;
const MAX_SAME_PAYLOAD = 32;
const MAX_CANDIDATES = 16;
/**
 * Once the clock offset is known, two copies of a packet are at most this far apart in time:
 * ten times the transit bound, at least 200 ms (queueing), at most 2 s (as identity matching).
 */
export const translatedWindowNs = (c: ClockOffset) => Math.min(2e9, Math.max(200e6, 10 * c.transitNs));
/** Before it is known (no flow matched by identity): as far as the first pass of correlate.ts. */
export const WIDE_WINDOW_NS = 3600e9;

const u32 = (x: number) => x >>> 0;
const dirOf = (p: PacketSummary, client: string) => (p.src === client ? 0 : 1);
const isData = (p: PacketSummary) => p.len > 0 && p.hash !== 0;
const isSyn = (p: PacketSummary) => (p.flags & (TCP_FLAG.SYN | TCP_FLAG.ACK)) === TCP_FLAG.SYN;

/** The part of a flow the fallback looks at (bounded). */
const head = (f: FlowSide) => (f.packets.length > MAX_PACKETS_PER_FLOW ? f.packets.slice(0, MAX_PACKETS_PER_FLOW) : f.packets);

/** Whether two flows may be one connection seen on both sides of a box: the same port or address on the client or server side. */
function endpointsAlike(a: FlowSide, b: FlowSide): boolean {
  const port = (ep: string) => ep.slice(ep.lastIndexOf(':') + 1);
  return port(a.record.server) === port(b.record.server) || port(a.record.client) === port(b.record.client) || hostOf(a.record.server) === hostOf(b.record.server) || hostOf(a.record.client) === hostOf(b.record.client);
}

/**
 * Pairs the TCP flows of A and B that are still unpaired (aFree/bFree) through a box that
 * rewrites sequence numbers. `toA` maps a B time onto A's time line; windowNs as in matchPackets.
 * Returns, for each A flow, its Translated pair or null.
 */
export function pairTranslated(as: readonly FlowSide[], bs: readonly FlowSide[], aFree: readonly boolean[], bFree: readonly boolean[], toA: (tB: number) => number, windowNs: number): (Translated | null)[] {
  // B's data segments by direction, length and payload; B's SYNs by ISN
  const index = new Map<string, { flow: number; p: PacketSummary; dir: number }[]>();
  bs.forEach((f, flow) => {
    if (!bFree[flow] || f.proto !== 6) return;
    for (const p of head(f)) {
      const dir = dirOf(p, f.record.client);
      const k = isData(p) ? `d${dir}|${p.len}|${p.hash}` : isSyn(p) ? `s${p.seq}` : null;
      if (k === null) continue;
      const l = index.get(k);
      if (l === undefined) index.set(k, [{ flow, p, dir }]);
      else if (l.length <= MAX_SAME_PAYLOAD) l.push({ flow, p, dir });
    }
  });
  const out: (Translated | null)[] = as.map(() => null);
  const cands: { a: number; t: Translated; score: number }[] = [];
  as.forEach((fa, a) => {
    if (!aFree[a] || fa.proto !== 6) return;
    // votes: B flow → per direction, delta → segments agreeing; and ISNs seen unchanged
    const votes = new Map<number, { d: [Map<number, number>, Map<number, number>]; isn: boolean }>();
    for (const p of head(fa)) {
      const dir = dirOf(p, fa.record.client);
      const k = isData(p) ? `d${dir}|${p.len}|${p.hash}` : isSyn(p) ? `s${p.seq}` : null;
      if (k === null) continue;
      const l = index.get(k);
      if (l === undefined || l.length > MAX_SAME_PAYLOAD) continue;
      for (const e of l) {
        if (e.dir !== dir || Math.abs(toA(e.p.t) - p.t) > windowNs) continue;
        let v = votes.get(e.flow);
        if (v === undefined) {
          if (votes.size >= MAX_CANDIDATES) continue;
          votes.set(e.flow, (v = { d: [new Map<number, number>(), new Map<number, number>()], isn: false }));
        }
        if (isData(p)) {
          const delta = u32(e.p.seq - p.seq);
          v.d[dir].set(delta, (v.d[dir].get(delta) ?? 0) + 1);
        } else if (dir === 0) v.isn = true;
      }
    }
    for (const [b, v] of votes) {
      const fromClient = v.isn ? 0 : best(v.d[0]);
      const fromServer = best(v.d[1]);
      const t = matchTranslated(fa, bs[b], fromClient, fromServer, toA, windowNs);
      t.b = b;
      t.isn = v.isn && t.pairs.some((x) => isSyn(x.a));
      // two connections with the same exchange (health checks) agree on payloads and deltas too:
      // enough to pair is a data segment or an unchanged ISN (32 random bits) with alike
      // endpoints, or two data segments with the same IP IDs; IP IDs that differ veto
      const alike = endpointsAlike(fa, bs[b]);
      if (!t.consistent || t.idDisagree > t.idAgree) continue;
      if (!((alike && (t.segments >= 1 || t.isn)) || (t.segments >= 2 && t.idAgree >= 1))) continue;
      cands.push({ a, t, score: t.segments * 2 + (t.isn ? 2 : 0) + t.pairs.length + (alike ? 1 : 0) });
    }
  });
  // each flow to its single best partner; a tie on either side leaves both unpaired
  const bestA = new Map<number, number>();
  const bestB = new Map<number, number>();
  const tieA = new Set<number>();
  const tieB = new Set<number>();
  for (const c of cands) {
    const sa = bestA.get(c.a);
    if (sa === undefined || c.score > sa) {
      bestA.set(c.a, c.score);
      tieA.delete(c.a);
    } else if (c.score === sa) tieA.add(c.a);
    const sb = bestB.get(c.t.b);
    if (sb === undefined || c.score > sb) {
      bestB.set(c.t.b, c.score);
      tieB.delete(c.t.b);
    } else if (c.score === sb) tieB.add(c.t.b);
  }
  for (const c of cands) {
    if (tieA.has(c.a) || tieB.has(c.t.b) || bestA.get(c.a) !== c.score || bestB.get(c.t.b) !== c.score) continue;
    out[c.a] = c.t;
  }
  return out;
}

/** The delta most segments agree on; null when none, or when two deltas tie. */
function best(m: Map<number, number>): number | null {
  let d: number | null = null;
  let n = 0;
  let tie = false;
  for (const [k, c] of m) {
    if (c > n) {
      d = k;
      n = c;
      tie = false;
    } else if (c === n) tie = true;
  }
  return tie ? null : d;
}

/**
 * Matches the packets of one connection seen in A and B through a box that adds fromClient to
 * the client's sequence numbers (and to the server's acknowledgements of them) and fromServer to
 * the server's, on the way from A to B. A direction with no known delta compares neither seq nor
 * the other direction's ack. A SYN-ACK pair then gives the server's delta when data did not.
 */
export function matchTranslated(a: FlowSide, b: FlowSide, fromClient: number | null, fromServer: number | null, toA: (tB: number) => number, windowNs: number): Translated {
  let dc = fromClient;
  let ds = fromServer;
  if (ds === null && dc !== null) {
    // the server's ISN: a SYN-ACK on each side acknowledging the same (translated) client ISN
    const sa = (f: FlowSide) => head(f).filter((p) => (p.flags & (TCP_FLAG.SYN | TCP_FLAG.ACK)) === (TCP_FLAG.SYN | TCP_FLAG.ACK) && p.src !== f.record.client);
    const x = sa(a);
    const y = sa(b);
    if (x.length > 0 && y.length > 0 && new Set(x.map((p) => p.seq)).size === 1 && new Set(y.map((p) => p.seq)).size === 1 && u32(x[0].ack + dc) === y[0].ack) ds = u32(y[0].seq - x[0].seq);
  }
  const deltas = [dc, ds];
  const originals = new Map<PacketSummary, PacketSummary>();
  // both sides in A's numbering. A packet whose direction has no known delta takes part only
  // when its acknowledgement can be mapped (its seq is then left out on both sides): otherwise
  // any bare ACK would match any other
  const data = [
    [0, 0],
    [0, 0],
  ];
  const norm = (f: FlowSide, side: 0 | 1) => {
    const out: PacketSummary[] = [];
    for (const p of head(f)) {
      const dir = dirOf(p, f.record.client);
      if (isData(p)) data[side][dir]++;
      const d = deltas[dir];
      const o = deltas[1 - dir];
      const acked = (p.flags & TCP_FLAG.ACK) !== 0;
      if (d === null && !(acked && o !== null)) continue;
      const seq = d === null ? 0 : side === 0 ? p.seq : u32(p.seq - d);
      const ack = !acked || o === null ? 0 : side === 0 ? p.ack : u32(p.ack - o);
      // the IP ID stays: it tells retransmissions apart (matchPackets); the direction goes in
      // the flags, so that identity() tells the two ways apart
      const q: PacketSummary = { ...p, seq, ack, flags: p.flags | (dir << 8) };
      originals.set(q, p);
      out.push(q);
    }
    return out;
  };
  const na = norm(a, 0);
  const nb = norm(b, 1);
  const pairs = matchPackets(na, nb, toA, windowNs).map((x) => ({ a: originals.get(x.a) as PacketSummary, b: originals.get(x.b) as PacketSummary }));
  const matchedData = [0, 0];
  for (const x of pairs) if (isData(x.a) && deltas[dirOf(x.a, a.record.client)] !== null) matchedData[dirOf(x.a, a.record.client)]++;
  const segments = matchedData[0] + matchedData[1];
  let idAgree = 0;
  let idDisagree = 0;
  for (const x of pairs) {
    if (x.a.ipId === 0 || x.b.ipId === 0) continue;
    if (x.a.ipId === x.b.ipId) idAgree++;
    else idDisagree++;
  }
  // one connection: most of the packets match, and so do most data segments each way both sides
  // carried (two connections that only share a response header or a banner do not)
  const smaller = Math.min(head(a).length, head(b).length);
  let consistent = pairs.length * 2 >= smaller && (dc !== null || ds !== null);
  for (let dir = 0; dir < 2; dir++) if (data[0][dir] > 0 && data[1][dir] > 0 && matchedData[dir] * 2 < Math.min(data[0][dir], data[1][dir])) consistent = false;
  dc = pairs.some((x) => x.a.src === a.record.client) ? dc : null;
  ds = pairs.some((x) => x.a.src !== a.record.client) ? ds : null;
  return { b: -1, pairs, fromClient: dc, fromServer: ds, segments, isn: false, idAgree, idDisagree, consistent, marginNs: Infinity };
}

/**
 * Pairs the flows identity matching left unpaired (partner[i] < 0 for A flow i; B flows not in
 * partner) through a box that rewrites sequence numbers. With no clock offset from identity
 * matches (every flow went through such a box), a first wide pass finds the pairs, the offset
 * is estimated from them, and a second pass matches in the normal window.
 */
export function translateUnpaired(as: readonly FlowSide[], bs: readonly FlowSide[], partner: readonly number[], clock: ClockOffset, deltaNs: number): { found: (Translated | null)[]; clock: ClockOffset } {
  const aFree = partner.map((b) => b < 0);
  const taken = new Set(partner.filter((b) => b >= 0));
  const bFree = bs.map((_, k) => !taken.has(k));
  if (!aFree.some((x) => x) || !bFree.some((x) => x)) return { found: as.map(() => null), clock };
  let c = clock;
  if (c.method === 'none') {
    const first = pairTranslated(as, bs, aFree, bFree, (t) => t + deltaNs, WIDE_WINDOW_NS);
    const pairs = first.flatMap((m) => (m === null ? [] : m.pairs));
    if (pairs.length === 0) return { found: as.map(() => null), clock };
    c = estimateOffset(pairs, deltaNs);
  }
  const offset = c.offsetNs;
  const found = pairTranslated(as, bs, aFree, bFree, (t) => t + deltaNs - offset, translatedWindowNs(c));
  for (const m of found) if (m !== null) m.marginNs = c.method === 'both-ways' ? c.transitNs : Infinity;
  return { found, clock: c };
}

/** One side of a correlated flow as correlate.ts's merge sees it. */
export interface SeqSide extends FlowSide {
  file: string;
  verdict: string;
  /** Its capture time (ns) on the reference capture's time line. */
  toRef: (t: number) => number;
}

/**
 * The fact of a flow paired through a box that rewrites sequence numbers, near (client side) to
 * far, from the pair's deltas (B minus A; nearIsA: the near side is capture A). `marginNs`: the
 * clock offset's uncertainty; the box is said to have answered the handshake only when the
 * client's SYN-ACK came more than that before the server saw any SYN. Also what the record's
 * story becomes when the server refused the proxy's SYN.
 */
export function seqFact(t: Translated, near: SeqSide, far: SeqSide, nearIsA: boolean, marginNs: number): { fact: Extract<Fact, { kind: 'path-seq' }>; refused?: { rst: number }; proxied: Set<PacketSummary> } {
  // what the box adds on the way: far minus near for the client's packets, near minus far for the server's
  const farMinusNear = (d: number | null) => (d === null ? undefined : nearIsA ? d : u32(-d));
  const fact: Extract<Fact, { kind: 'path-seq' }> = { kind: 'path-seq', packets: t.pairs.length, segments: t.segments, nearFile: near.file, farFile: far.file };
  const toServer = farMinusNear(t.fromClient);
  const back = farMinusNear(t.fromServer);
  const toClient = back === undefined ? undefined : u32(-back);
  if (toServer !== undefined) fact.toServer = toServer;
  if (toClient !== undefined) fact.toClient = toClient;
  const synAck = near.packets.find((p) => p.src !== near.record.client && (p.flags & (TCP_FLAG.SYN | TCP_FLAG.ACK)) === (TCP_FLAG.SYN | TCP_FLAG.ACK));
  const syn = far.packets.find((p) => p.src === far.record.client && isSyn(p));
  let refused: { rst: number } | undefined;
  const proxied = new Set<PacketSummary>();
  if (synAck !== undefined && syn !== undefined && Number.isFinite(marginNs)) {
    const earlierNs = far.toRef(syn.t) - near.toRef(synAck.t);
    if (earlierNs > marginNs) {
      // the packets of the proxy's two handshakes that have no copy on the other side: what it
      // sent the client (SYN-ACK, a window update: the SYN-ACK's TTL) and the client's ACK it
      // kept; what it sent the server (SYN, ACK: the SYN's TTL) and the server's SYN-ACK it kept
      const matched = new Set<PacketSummary>();
      for (const x of t.pairs) matched.add(x.a).add(x.b);
      // the proxy's window update after its handshake looks like the server's ACK it passes on:
      // the copy of the server's packet is the one with the forwarded TTL, not the proxy's own
      const nearOf = (x: Pair) => (nearIsA ? x.a : x.b);
      for (const x of t.pairs) {
        const n = nearOf(x);
        if (n.src === near.record.client || n.ttl !== synAck.ttl || n.flags & TCP_FLAG.SYN) continue;
        const twin = near.packets.find((p) => !matched.has(p) && p.src === n.src && p.flags === n.flags && p.seq === n.seq && p.ack === n.ack && p.len === n.len && p.hash === n.hash && p.ttl !== n.ttl);
        if (twin === undefined) continue;
        matched.delete(n);
        matched.add(twin);
        if (nearIsA) x.a = twin;
        else x.b = twin;
      }
      const bare = (p: PacketSummary) => p.len === 0 && !(p.flags & (TCP_FLAG.RST | TCP_FLAG.FIN)) && !matched.has(p);
      const synAckOf = (p: PacketSummary) => (p.flags & (TCP_FLAG.SYN | TCP_FLAG.ACK)) === (TCP_FLAG.SYN | TCP_FLAG.ACK);
      const nearFrames: number[] = [];
      const farFrames: number[] = [];
      for (const p of near.packets) {
        if (!bare(p)) continue;
        const fromClient = p.src === near.record.client;
        if (fromClient ? p.flags === TCP_FLAG.ACK && p.ack === u32(synAck.seq + 1) : p.ttl === synAck.ttl) {
          proxied.add(p);
          nearFrames.push(p.frame);
        }
      }
      for (const p of far.packets) {
        if (!bare(p)) continue;
        const fromClient = p.src === far.record.client;
        if (fromClient ? p.ttl === syn.ttl : synAckOf(p)) {
          proxied.add(p);
          farFrames.push(p.frame);
        }
      }
      fact.proxy = { synAck: synAck.frame, syn: syn.frame, earlierNs: Math.round(earlierNs), nearFrames: nearFrames.slice(0, 8), farFrames: farFrames.slice(0, 8) };
      const rst = far.packets.find((p) => p.src !== far.record.client && p.flags & TCP_FLAG.RST);
      if (far.verdict === 'refused' && rst !== undefined) refused = { rst: rst.frame };
    }
  }
  return { fact, refused, proxied };
}
