import type { Cluster, Flow, Link } from './links.js';
import type { PacketSummary } from './packets.js';

/**
 * One connection along the path of its captures (layer under correlate.ts, and what `explain`
 * draws): the captures ordered from the client's side to the server's by the TTLs of the packets
 * they share, each packet followed from point to point, and for each packet the last point that
 * saw it (lost after it) or the first (made before it). Pure: no I/O.
 */

/** A packet missing at a point counts only if that capture ran from this long before it to this long after. */
const EDGE_NS = 50e6;

export type Dir = 'to-server' | 'to-client';

/** One packet at every point along the path. */
export interface PathPacket {
  /** The packet as each point (index into PathView.points) saw it, null where it was not seen. */
  at: (PacketSummary | null)[];
  /** When it was first seen along its way, on the first capture's time line (ns). */
  t: number;
  dir: Dir;
  /** Points that could have seen it: they saw it, or ran over its time (the others are not judged). */
  judged: boolean[];
  /** Lost: the last point that saw it and the next (judged) one, which did not. */
  lost?: [number, number];
  /** Made in the path: the (judged) point before the first that saw it, which did not, and that first one. */
  made?: [number, number];
  /** A SYN proxy's own handshake packet (fallback.ts): it has no copy on the other side of the proxy and is neither lost nor made. */
  proxied?: true;
}

export interface PathView {
  /** Captures in path order from the client's side; flow null where the capture saw none of its packets. */
  points: { cap: number; flow: Flow | null }[];
  /** Its packets in time order. */
  packets: PathPacket[];
}

/** Votes of who is nearer the clients, per pair of captures: g[x][y] > 0 when x usually is nearer than y. */
export type Votes = number[][];

/**
 * +n when capture x saw this connection nearer its client than y (by the TTLs of the packets
 * both saw: a client's packet has the higher TTL nearer the client, a server's the lower), -n
 * when farther, 0 when the TTLs do not tell.
 */
export function localVote(cl: Cluster, flows: readonly Flow[][], x: number, y: number): number {
  let v = 0;
  for (const { l, pairs } of cl.pairs) {
    if (!((l.c === x && l.d === y) || (l.c === y && l.d === x))) continue;
    const client = flows[l.c][cl.members.get(l.c) ?? -1]?.record.client;
    for (const { a, b } of pairs) {
      if (a.ttl === b.ttl) continue;
      const cNearer = a.ttl > b.ttl === (a.src === client);
      v += cNearer === (l.c === x) ? 1 : -1;
    }
  }
  return v;
}

/** Adds a connection's local votes to the votes over all connections (one vote per connection and pair). */
export function addVotes(g: Votes, cl: Cluster, flows: readonly Flow[][]): void {
  const caps = [...cl.members.keys()];
  for (const x of caps) {
    for (const y of caps) {
      if (x >= y) continue;
      const v = Math.sign(localVote(cl, flows, x, y));
      g[x][y] += v;
      g[y][x] -= v;
    }
  }
}

/**
 * Orders captures along a connection's path, client side first: for each two, by this
 * connection's TTLs, else by what the other connections say, else in the order given; the
 * order ranks each capture by how many of the others it is nearer the client than.
 */
export function pathOrder(caps: readonly number[], local: (x: number, y: number) => number, g: Votes): number[] {
  const wins = new Map<number, number>(caps.map((c) => [c, 0]));
  for (const x of caps) {
    for (const y of caps) {
      if (x === y) continue;
      const v = local(x, y) || g[x][y] || (x < y ? 1 : -1);
      if (v > 0) wins.set(x, (wins.get(x) ?? 0) + 1);
    }
  }
  return [...caps].sort((x, y) => (wins.get(y) ?? 0) - (wins.get(x) ?? 0) || x - y);
}

/**
 * Follows each packet of a connection along its points (in path order): the matched copies make
 * one packet; each is judged at the points that ran over its time; a packet that stops before the
 * last such point in its direction was lost after the last that saw it, one that starts after
 * the first was made before the first that saw it. A SYN proxy's own handshake packets
 * (`proxied`, from fallback.ts's seqFact) are neither.
 */
export function followPackets(
  cl: Cluster,
  order: readonly { cap: number; flow: Flow | null }[],
  toRef: readonly ((t: number) => number)[],
  spans: readonly { from: number; until: number }[],
  proxied: ReadonlySet<PacketSummary> = new Set(),
): PathView {
  const index = new Map<number, number>(order.map((p, i) => [p.cap, i]));
  // the copies of one packet: union of the matched pairs
  const parent = new Map<PacketSummary, PacketSummary>();
  const find = (p: PacketSummary): PacketSummary => {
    let r = p;
    for (let q = parent.get(r); q !== undefined && q !== r; q = parent.get(r)) r = q;
    parent.set(p, r);
    return r;
  };
  const capOf = new Map<PacketSummary, number>();
  for (const { cap, flow } of order) {
    if (flow === null) continue;
    for (const p of flow.packets) {
      parent.set(p, p);
      capOf.set(p, cap);
    }
  }
  for (const { pairs } of cl.pairs) {
    for (const { a, b } of pairs) {
      if (!parent.has(a) || !parent.has(b)) continue;
      const x = find(a);
      const y = find(b);
      if (x !== y) parent.set(y, x);
    }
  }
  const byRoot = new Map<PacketSummary, PathPacket>();
  const out: PathPacket[] = [];
  for (const { cap, flow } of order) {
    if (flow === null) continue;
    const i = index.get(cap) ?? -1;
    for (const p of flow.packets) {
      const root = find(p);
      let pp = byRoot.get(root);
      const t = toRef[cap](p.t);
      if (pp === undefined) {
        pp = { at: order.map(() => null), t, dir: p.src === flow.record.client ? 'to-server' : 'to-client', judged: [] };
        byRoot.set(root, pp);
        out.push(pp);
      }
      if (pp.at[i] === null) pp.at[i] = p;
      if (proxied.has(p)) pp.proxied = true;
    }
  }
  for (const pp of out) {
    // its time: where it was first seen along its way
    const travel = order.map((_, i) => i);
    if (pp.dir === 'to-client') travel.reverse();
    const firstAt = travel.find((i) => pp.at[i] !== null) ?? 0;
    const p0 = pp.at[firstAt];
    if (p0 !== null) pp.t = toRef[order[firstAt].cap](p0.t);
    pp.judged = order.map((o, i) => pp.at[i] !== null || within(pp.t, spans[o.cap]));
    const judged = travel.filter((i) => pp.judged[i]);
    const seen = judged.map((i) => pp.at[i] !== null);
    if (pp.proxied === true) continue;
    const first = seen.indexOf(true);
    const last = seen.lastIndexOf(true);
    if (first > 0) pp.made = [judged[first - 1], judged[first]];
    if (last >= 0 && last < judged.length - 1) pp.lost = [judged[last], judged[last + 1]];
  }
  out.sort((x, y) => x.t - y.t);
  return { points: [...order], packets: out };
}

export function within(t: number, span: { from: number; until: number }): boolean {
  return t >= span.from + EDGE_NS && t <= span.until - EDGE_NS;
}

/** The matched pairs of two points of a connection, as (x's packet, y's packet), and the link's map from y's time to x's. */
export function pairsBetween(cl: Cluster, x: number, y: number): { pairs: { x: PacketSummary; y: PacketSummary }[]; l: Link | null } {
  for (const { l, pairs } of cl.pairs) {
    if (l.c === x && l.d === y) return { pairs: pairs.map((p) => ({ x: p.a, y: p.b })), l };
    if (l.c === y && l.d === x) return { pairs: pairs.map((p) => ({ x: p.b, y: p.a })), l };
  }
  return { pairs: [], l: null };
}
