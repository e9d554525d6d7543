import type { Report, VantageClock } from '../report/report.js';
import type { FlowRecord } from '../verdict/types.js';
import { estimateOffset, matchPackets, pairFlows, type ClockOffset, type Pair } from './match.js';
import type { PacketLog, PacketSummary } from './packets.js';
import { translateUnpaired, type Translated } from './fallback.js';

/**
 * What several vantage points share (layer under correlate.ts): every capture compared with
 * every other (their flows paired by shared packets, the packets matched, the clock offset of
 * the pair estimated), each capture's clock placed on the first capture's time line along a
 * chain of best-matched neighbours, and the flows grouped into one cluster per connection (at
 * most one flow of each capture). Pure: no I/O.
 */

/** One capture of a set of vantage points: its own report (every record kept) and its packet log. */
export interface VantageInput {
  report: Report;
  log: PacketLog;
}

/** Packets of a flow are taken from its record's span widened by this much (ns). */
const SPAN_SLACK_NS = 1e6;
/** First pass: identical packets are matched this far apart in time before the offset is known. */
const FIRST_PASS_WINDOW_NS = 3600e9;
/** Second pass, once the offset is known: copies of a packet this far apart are the same packet. */
const MATCH_WINDOW_NS = 2e9;

/** A capture's record of a TCP/UDP/DNS flow and its logged packets. */
export interface Flow {
  cap: number;
  record: FlowRecord;
  packets: PacketSummary[];
  proto: number;
  /** The capture-time span (ns) its packets were taken from. */
  from: number;
  until: number;
}

/** Two captures compared: c < d; pairs' `a` packets are c's, `b` packets d's. */
export interface Link {
  c: number;
  d: number;
  /** d's first packet minus c's, absolute ns. */
  deltaNs: number;
  clock: ClockOffset;
  /** For each flow of c, the flow of d it is paired with (-1: none). */
  partner: number[];
  /** For each flow of c, the matched packets with its partner. */
  pairs: Pair[][];
  /** For each flow of c, how it was paired through a box that rewrites sequence numbers (fallback.ts); null: by identity, or not paired. */
  seq: (Translated | null)[];
  matched: number;
  shared: number;
}

/** A d time (ns since d's first packet) on c's time line, for link l. */
export const dToC = (l: Link, t: number): number => t + l.deltaNs - l.clock.offsetNs;
/** A c time on d's time line, for link l. */
export const cToD = (l: Link, t: number): number => t - l.deltaNs + l.clock.offsetNs;

export function correlatable(r: FlowRecord): boolean {
  return r.proto === 'tcp' || r.proto === 'udp' || r.proto === 'dns';
}

export function flowsOf(inp: VantageInput, cap: number): Flow[] {
  const out: Flow[] = [];
  for (const r of inp.report.records) {
    if (!correlatable(r)) continue;
    const proto = r.proto === 'tcp' || (r.proto === 'dns' && r.transport === 'tcp') ? 6 : 17;
    const from = r.t * 1e9 - SPAN_SLACK_NS;
    const until = (r.t + r.duration) * 1e9 + SPAN_SLACK_NS;
    out.push({ cap, record: r, packets: inp.log.packetsOf(proto, r.client, r.server, from, until), proto, from, until });
  }
  return out;
}

/**
 * Compares captures c and d: pairs their flows, matches the packets in two passes (a wide window
 * while the clocks may be off, then the offset, then the real match) and widens each paired
 * flow's packets over both records' spans (one capture may have closed the flow sooner, after a
 * forged RST, while the other saw it go on). A filtered copy of one capture (every shared packet
 * at the same instant with the same TTL) is one vantage point, not two: nothing is paired.
 * Otherwise the flows left unpaired go through the fallback for boxes that rewrite sequence
 * numbers (fallback.ts), with this pair's clock (estimated from its own pairs when identity
 * matched nothing).
 */
export function link(inputs: readonly VantageInput[], flows: readonly Flow[][], c: number, d: number): Link {
  const A = flows[c];
  const B = flows[d];
  const deltaNs = (inputs[d].log.baseSec - inputs[c].log.baseSec) * 1e9 + (inputs[d].log.baseNsec - inputs[c].log.baseNsec);
  const partner = pairFlows(
    A.map((f) => f.packets),
    B.map((f) => f.packets),
  );
  const first: Pair[] = [];
  for (let i = 0; i < A.length; i++) if (partner[i] >= 0) first.push(...matchPackets(A[i].packets, B[partner[i]].packets, (t) => t + deltaNs, FIRST_PASS_WINDOW_NS));
  const clock = estimateOffset(first, deltaNs);
  const l: Link = { c, d, deltaNs, clock, partner, pairs: [], seq: A.map(() => null), matched: 0, shared: 0 };
  for (let i = 0; i < A.length; i++) {
    if (partner[i] >= 0) {
      const a = A[i];
      const b = B[partner[i]];
      const from = Math.min(a.record.t * 1e9, dToC(l, b.record.t * 1e9)) - SPAN_SLACK_NS;
      const until = Math.max((a.record.t + a.record.duration) * 1e9, dToC(l, (b.record.t + b.record.duration) * 1e9)) + SPAN_SLACK_NS;
      [a.from, a.until] = [Math.min(from, a.from), Math.max(until, a.until)];
      [b.from, b.until] = [Math.min(cToD(l, from), b.from), Math.max(cToD(l, until), b.until)];
      a.packets = inputs[c].log.packetsOf(a.proto, a.record.client, a.record.server, a.from, a.until);
      b.packets = inputs[d].log.packetsOf(b.proto, b.record.client, b.record.server, b.from, b.until);
    }
    l.pairs.push(partner[i] >= 0 ? matchPackets(A[i].packets, B[partner[i]].packets, (t) => dToC(l, t), MATCH_WINDOW_NS) : []);
    if (l.pairs[i].length === 0) partner[i] = -1;
    else {
      l.matched += l.pairs[i].length;
      l.shared++;
    }
  }
  const copy = l.matched > 0 && l.pairs.every((ps) => ps.every(({ a, b }) => a.ttl === b.ttl && b.t + deltaNs === a.t));
  if (copy) {
    partner.fill(-1);
    for (const ps of l.pairs) ps.length = 0;
    l.matched = 0;
    l.shared = 0;
    return l;
  }
  // flows no packet identity paired: through a box that rewrites sequence numbers
  const t = translateUnpaired(A, B, partner, l.clock, deltaNs);
  l.clock = t.clock;
  t.found.forEach((m, i) => {
    if (m === null) return;
    partner[i] = m.b;
    l.pairs[i] = m.pairs;
    l.seq[i] = m;
    l.matched += m.pairs.length;
    l.shared++;
  });
  return l;
}

/** Each capture's time on the first capture's time line, and how its clock was placed there. */
export interface Clocks {
  toRef: ((t: number) => number)[];
  clocks: VantageClock[];
}

/**
 * Places every capture's clock on the first capture's time line: a tree grown from the first
 * capture, each capture joined through the link that matched the most packets (packets both ways
 * first: their offsets are the best) to a capture already placed; the offsets add up along the
 * chain. A capture that shares nothing with the others keeps its own clock (method 'none').
 */
export function placeClocks(inputs: readonly VantageInput[], links: readonly Link[]): Clocks {
  const n = inputs.length;
  const name = (j: number) => inputs[j].report.input.name;
  const toRef: ((t: number) => number)[] = new Array<(t: number) => number>(n);
  const offsetNs = new Array<number>(n).fill(0);
  const clocks: VantageClock[] = new Array<VantageClock>(n);
  toRef[0] = (t) => t;
  clocks[0] = { name: name(0), clockOffsetMs: 0, method: 'reference', matchedPackets: 0, sharedFlows: 0, transitMs: 0 };
  const placed = new Set<number>([0]);
  const score = (l: Link) => (l.clock.method === 'both-ways' ? 1e12 : 0) + l.matched;
  while (placed.size < n) {
    let best: Link | null = null;
    for (const l of links) {
      if (l.matched === 0 || placed.has(l.c) === placed.has(l.d)) continue;
      if (best === null || score(l) > score(best)) best = l;
    }
    if (best === null) break;
    const l = best;
    const [from, to] = placed.has(l.c) ? [l.c, l.d] : [l.d, l.c];
    const up = toRef[from];
    // `to`'s time onto `from`'s, then along from's chain
    toRef[to] = from === l.c ? (t) => up(dToC(l, t)) : (t) => up(cToD(l, t));
    offsetNs[to] = offsetNs[from] + (from === l.c ? l.clock.offsetNs : -l.clock.offsetNs);
    clocks[to] = { name: name(to), clockOffsetMs: round3(offsetNs[to] / 1e6), method: l.clock.method, matchedPackets: l.matched, sharedFlows: l.shared, transitMs: round3(l.clock.transitNs / 1e6) };
    if (from !== 0) clocks[to].via = name(from);
    placed.add(to);
  }
  for (let j = 1; j < n; j++) {
    if (placed.has(j)) continue;
    const deltaNs = (inputs[j].log.baseSec - inputs[0].log.baseSec) * 1e9 + (inputs[j].log.baseNsec - inputs[0].log.baseNsec);
    toRef[j] = (t) => t + deltaNs;
    clocks[j] = { name: name(j), clockOffsetMs: 0, method: 'none', matchedPackets: 0, sharedFlows: 0, transitMs: 0 };
  }
  return { toRef, clocks };
}

/** One connection as the captures saw it: its flow in each capture that saw it, and the matched packets between them. */
export interface Cluster {
  /** Flow index by capture. */
  members: Map<number, number>;
  /** The links between members and their matched packets for this connection. */
  pairs: { l: Link; pairs: Pair[]; seq: Translated | null }[];
}

/**
 * Groups the flows of all captures into connections: every paired flow of every link joins one
 * cluster, strongest links first (most matched packets), never two flows of one capture in a
 * cluster. Flows no other capture saw are clusters of their own. Clusters are in the order of
 * their first capture's flows (the first capture's first, as its records go).
 */
export function clusters(flows: readonly Flow[][], links: readonly Link[]): Cluster[] {
  const parent = new Map<string, string>();
  const members = new Map<string, Map<number, number>>();
  const node = (cap: number, i: number) => `${cap}:${i}`;
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) ?? r;
    parent.set(x, r);
    return r;
  };
  flows.forEach((fs, cap) =>
    fs.forEach((_, i) => {
      parent.set(node(cap, i), node(cap, i));
      members.set(node(cap, i), new Map([[cap, i]]));
    }),
  );
  const edges: { l: Link; i: number; n: number }[] = [];
  for (const l of links) l.pairs.forEach((ps, i) => ps.length > 0 && edges.push({ l, i, n: ps.length }));
  edges.sort((x, y) => y.n - x.n);
  const accepted = new Set<string>();
  for (const { l, i } of edges) {
    const x = find(node(l.c, i));
    const y = find(node(l.d, l.partner[i]));
    if (x !== y) {
      const mx = members.get(x) ?? new Map<number, number>();
      const my = members.get(y) ?? new Map<number, number>();
      if ([...my.keys()].some((cap) => mx.has(cap))) continue; // two flows of one capture: not the same connection
      for (const [cap, k] of my) mx.set(cap, k);
      parent.set(y, x);
      members.delete(y);
    }
    accepted.add(`${l.c},${l.d},${i}`);
  }
  const out: Cluster[] = [];
  const byRoot = new Map<string, Cluster>();
  flows.forEach((fs, cap) =>
    fs.forEach((_, i) => {
      const root = find(node(cap, i));
      if (byRoot.has(root)) return;
      const c: Cluster = { members: members.get(root) ?? new Map([[cap, i]]), pairs: [] };
      byRoot.set(root, c);
      out.push(c);
    }),
  );
  for (const l of links) {
    l.pairs.forEach((ps, i) => {
      if (!accepted.has(`${l.c},${l.d},${i}`)) return;
      byRoot.get(find(node(l.c, i)))?.pairs.push({ l, pairs: ps, seq: l.seq[i] });
    });
  }
  return out;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
