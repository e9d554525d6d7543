import type { Report, VantageClock } from '../report/report.js';
import { Grouper, type ProblemGroup } from '../report/groups.js';
import { HEALTHY, VERDICT_IDS, type FlowRecord, type Related, type VantagePart } from '../verdict/types.js';
import { CAUSE, STORY, type Fact, type PathSegment, type Story } from '../verdict/facts.js';
import { describeRecord } from '../render/sentences.js';
import { DnsNames } from '../verdict/names.js';
import { TCP_FLAG } from '../decode/packet.js';
import { identity, packetName } from './match.js';
import { type PacketSummary } from './packets.js';
import { hostOf } from '../flow/addr.js';
import { seqFact } from './fallback.js';
import { clusters, correlatable, dToC, flowsOf, link, placeClocks, type Cluster, type Flow, type Link, type VantageInput } from './links.js';
import { addVotes, followPackets, localVote, pairsBetween, pathOrder, within, type PathPacket, type PathView, type Votes } from './path.js';

export type { VantageClock } from '../report/report.js';
export type { VantagePart } from '../verdict/types.js';
export type { VantageInput } from './links.js';
export type { PathView, PathPacket } from './path.js';

const MAX_FRAMES = 32;

/** What correlate gives: the report, the connections shared, and each correlated record's path (explain draws it). */
export interface Correlated {
  report: Report;
  shared: number;
  /** The record's connection along its captures' path (null for a record that was not correlated: ARP, ping). */
  pathOf(r: FlowRecord): PathView | null;
}

/**
 * Correlates captures taken at the same time at different points of one network (layer after
 * each capture's own analysis): compares every capture with every other (links.ts), places each
 * clock on the first capture's time line along a chain of best-matched neighbours, groups the
 * flows into connections, orders each connection's captures along its path by TTLs (path.ts) and
 * writes one record per connection with a `vantages` part per capture and what the comparison
 * proves: for each packet the last point that saw it (facts path-lost, path-forged, path-nat,
 * path-intact). Returns null when no flow is shared (the captures are then reported separately),
 * and unless `forced`, when a capture shares no flow with any other.
 */
export function correlate(inputs: readonly VantageInput[], firstId: number, o: { forced?: boolean } = {}): Correlated | null {
  const flows = inputs.map((inp, cap) => flowsOf(inp, cap));
  // unless asked (--vantages), every capture must share a flow with another: a folder of unrelated
  // captures that holds one pair of vantage points is not read as one network
  const share = sharing(flows);
  if (o.forced !== true && inputs.some((_, j) => !share.some(([c, d]) => c === j || d === j))) return null;
  // only the captures that have packets in common are compared
  const links: Link[] = share.map(([c, d]) => link(inputs, flows, c, d));
  if (o.forced !== true && inputs.some((_, j) => !links.some((l) => l.matched > 0 && (l.c === j || l.d === j)))) return null;
  const { toRef, clocks } = placeClocks(inputs, links);
  const conns = clusters(flows, links);
  const shared = conns.filter((cl) => cl.members.size > 1).length;
  if (shared === 0) return null;

  // which capture is nearer the clients, by the TTLs of the packets two of them saw (over all connections)
  const votes: Votes = inputs.map(() => inputs.map(() => 0));
  for (const cl of conns) if (cl.members.size > 1) addVotes(votes, cl, flows);
  const spans = inputs.map((inp, j) => ({ from: toRef[j](0), until: toRef[j](spanNs(inp.report)) }));
  /** `was`: the records of the captures it is made from (one per capture that saw it). */
  const records: { r: FlowRecord; at: number; was: { cap: number; record: FlowRecord }[] }[] = [];
  const views = new Map<FlowRecord, PathView>();
  for (const cl of conns) {
    const [cap0, i0] = [...cl.members].sort((x, y) => x[0] - y[0])[0];
    const { r, view } = merge(cl, flows, inputs, spans, toRef, votes);
    views.set(r, view);
    records.push({ r, at: toRef[cap0](flows[cap0][i0].record.t * 1e9), was: [...cl.members].map(([cap, i]) => ({ cap, record: flows[cap][i].record })) });
  }
  // records that are not correlated (ARP, ping, ICMP): as each capture reported them
  for (let j = 0; j < inputs.length; j++) {
    for (const r of inputs[j].report.records) if (!correlatable(r)) records.push({ r: { ...r, file: inputs[j].report.input.name }, at: toRef[j](r.t * 1e9), was: [{ cap: j, record: r }] });
  }
  records.sort((x, y) => x.at - y.at);
  // numbered in time order; the ids the captures gave (numbered on over them: none is given twice)
  // become the ids of the records made from them, for the records that name them
  let id = firstId;
  const idOf = new Map<number, number>();
  for (const { r, was } of records) {
    r.id = id++;
    for (const w of was) idOf.set(w.record.id, r.id);
  }
  const names = new DnsNames();
  const out: FlowRecord[] = [];
  for (const { r, at, was } of records) {
    r.t = Math.round(at) / 1e9;
    renumberLinks(r, idOf);
    names.label(r);
    names.learn(r);
    // what each capture saw, in its own words, naming records by their ids here
    if (r.vantages !== undefined)
      for (const { cap, record } of was) {
        if (record[CAUSE] === undefined) continue;
        const p = r.vantages.find((v) => v.file === inputs[cap].report.input.name && v.key === record.key);
        if (p === undefined) continue;
        const seen: FlowRecord = { ...record };
        renumberLinks(seen, idOf);
        describeRecord(seen, names.known);
        p.saw = seen.summary;
      }
    out.push(r);
  }
  return { report: mergedReport(inputs, out, clocks, id), shared, pathOf: (r) => views.get(r) ?? null };
}

/**
 * `r`'s related records and the one its cause names (sentences.ts), by their ids in this run
 * (`idOf`, from the ids the captures gave them). Not changed in place: `r` shares them with its
 * capture's record. A record not in the run (a filter left it out) is not named: the link is
 * dropped, and the cause with it.
 */
function renumberLinks(r: FlowRecord, idOf: ReadonlyMap<number, number>): void {
  if (r.related !== undefined) {
    const related: Related[] = [];
    for (const x of r.related) {
      const id = idOf.get(x.id);
      if (id !== undefined && id !== r.id && !related.some((y) => y.id === id && y.kind === x.kind)) related.push({ ...x, id });
    }
    if (related.length > 0) r.related = related;
    else delete r.related;
  }
  const cause = r[CAUSE];
  if (cause !== undefined) {
    const id = idOf.get(cause.id);
    if (id === undefined) r[CAUSE] = undefined;
    else r[CAUSE] = { ...cause, id };
  }
}

/**
 * The pairs of captures (c < d) that have at least one packet identity in common, or a TCP data
 * segment (length and payload) or SYN sequence number, which a box that rewrites sequence
 * numbers leaves alone (fallback.ts pairs their flows), in order.
 */
const fallbackKey = (p: PacketSummary): string | null => (p.proto !== 6 ? null : p.len > 0 && p.hash !== 0 ? `d${p.len}|${p.hash}` : (p.flags & (TCP_FLAG.SYN | TCP_FLAG.ACK)) === TCP_FLAG.SYN ? `s${p.seq}` : null);

function sharing(flows: readonly Flow[][]): [number, number][] {
  const caps = new Map<string, number[]>();
  const pairs = new Set<number>();
  const n = flows.length;
  flows.forEach((fs, cap) => {
    for (const f of fs) {
      for (const p of f.packets) {
        for (const k of [identity(p), fallbackKey(p)]) {
          if (k === null) continue;
          const l = caps.get(k);
          if (l === undefined) caps.set(k, [cap]);
          else if (l[l.length - 1] !== cap) {
            for (const c of l) pairs.add(c * n + cap);
            l.push(cap);
          }
        }
      }
    }
  });
  return [...pairs].sort((x, y) => x - y).map((k) => [Math.floor(k / n), k % n]);
}

/** One group of packets for a fact: what they are, where they died (or were made), their frames at each point. */
interface FactGroup {
  what: string;
  count: number;
  /** The point the fact names them at: the first that saw them (lost), the last (made: where they were received). */
  at: number;
  /** The far end: the last point in their direction that could have seen them (lost), the first (made). */
  end: number;
  /** Frames at `at`. */
  frames: number[];
  /** Frames at the other points that saw them. */
  seenAt: Map<number, number[]>;
  /** The two neighbouring points (indices into the path) they died (were made) between. */
  seg: [number, number];
}

function merge(cl: Cluster, flows: readonly Flow[][], inputs: readonly VantageInput[], spans: readonly { from: number; until: number }[], toRef: readonly ((t: number) => number)[], votes: Votes): { r: FlowRecord; view: PathView } {
  const seenCaps = [...cl.members.keys()];
  const any = flows[seenCaps[0]][cl.members.get(seenCaps[0]) ?? 0];
  // the other captures that should have seen this connection: ran at the time and saw its hosts
  const others = inputs.map((_, j) => j).filter((j) => !cl.members.has(j) && covers(inputs[j], spans[j], any, toRef[any.cap]));
  const order = pathOrder([...seenCaps, ...others], (x, y) => localVote(cl, flows, x, y), votes);
  const flowAt = (cap: number): Flow | null => (cl.members.has(cap) ? flows[cap][cl.members.get(cap) ?? 0] : null);
  const seenOrder = order.filter((cap) => cl.members.has(cap));
  // pairs through a box that rewrites sequence numbers (fallback.ts): stated between the two
  // neighbouring points it is between; a SYN proxy's own handshake packets are neither lost nor
  // forged (every such pair is looked at: its copies of the proxy's packets are set right)
  const seqFacts: Fact[] = [];
  const proxied = new Set<PacketSummary>();
  let proxyRefused: { rst: number; file: string; between?: [string, string] } | null = null;
  for (const { l, seq } of cl.pairs) {
    if (seq === null) continue;
    const [x, y] = seenOrder.indexOf(l.c) < seenOrder.indexOf(l.d) ? [l.c, l.d] : [l.d, l.c];
    const fx = flowAt(x);
    const fy = flowAt(y);
    if (fx === null || fy === null) continue;
    const side = (f: Flow) => ({ ...f, file: inputs[f.cap].report.input.name, verdict: f.record.verdict, toRef: toRef[f.cap] });
    const t = seqFact(seq, side(fx), side(fy), x === l.c, seq.marginNs);
    for (const p of t.proxied) proxied.add(p);
    if (Math.abs(seenOrder.indexOf(x) - seenOrder.indexOf(y)) !== 1) continue;
    seqFacts.push(t.fact);
    if (t.refused !== undefined && proxyRefused === null) {
      const file = inputs[y].report.input.name;
      // three or more points: the two the proxy is between
      proxyRefused = { rst: t.refused.rst, file, ...(order.length > 2 ? { between: [inputs[x].report.input.name, file] as [string, string] } : {}) };
    }
  }
  const view = followPackets(
    cl,
    order.map((cap) => ({ cap, flow: flowAt(cap) })),
    toRef,
    spans,
    proxied,
  );
  const near = flowAt(seenOrder[0]) ?? any;
  const r: FlowRecord = { ...near.record, file: inputs[near.cap].report.input.name };
  const facts: Fact[] = [...(r.facts ?? [])];
  let story: Story | undefined = r[STORY];
  const vantages: VantagePart[] = seenOrder.map((cap) => part(flowAt(cap) ?? near, inputs[cap].report.input.name));
  for (const cap of order) if (!cl.members.has(cap)) vantages.push({ file: inputs[cap].report.input.name, packets: 0, frames: [], saw: 'none of its packets' });

  // a NAT where the addresses change, between neighbouring points that saw the connection
  for (let k = 0; k + 1 < seenOrder.length; k++) {
    const x = flowAt(seenOrder[k]);
    const y = flowAt(seenOrder[k + 1]);
    if (x === null || y === null) continue;
    const [xName, yName] = [inputs[x.cap].report.input.name, inputs[y.cap].report.input.name];
    if (x.record.client !== y.record.client) facts.push({ kind: 'path-nat', side: 'client', before: x.record.client, after: y.record.client, beforeFile: xName, afterFile: yName });
    if (x.record.server !== y.record.server) facts.push({ kind: 'path-nat', side: 'server', before: x.record.server, after: y.record.server, beforeFile: xName, afterFile: yName });
  }
  facts.push(...seqFacts);
  const names = view.points.map((p) => inputs[p.cap].report.input.name);
  const clientSide = near.record;
  const serverSide = (flowAt(seenOrder[seenOrder.length - 1]) ?? near).record;
  for (const g of factGroups(view, 'lost', 'to-server'))
    facts.push({ kind: 'path-lost', what: g.what, frames: g.frames, count: g.count, dir: 'to-server', from: hostOf(clientSide.client), to: hostOf(clientSide.server), fromFile: names[g.at], toFile: names[g.end], ...segment(g, names) });
  for (const g of factGroups(view, 'lost', 'to-client'))
    facts.push({ kind: 'path-lost', what: g.what, frames: g.frames, count: g.count, dir: 'to-client', from: hostOf(serverSide.server), to: hostOf(serverSide.client), fromFile: names[g.at], toFile: names[g.end], ...segment(g, names) });
  for (const g of factGroups(view, 'made', 'to-client'))
    facts.push({ kind: 'path-forged', what: g.what, frames: g.frames, count: g.count, dir: 'to-client', claimed: hostOf(clientSide.server), file: names[g.at], otherFile: names[g.end], ...segment(g, names) });
  for (const g of factGroups(view, 'made', 'to-server'))
    facts.push({ kind: 'path-forged', what: g.what, frames: g.frames, count: g.count, dir: 'to-server', claimed: hostOf(serverSide.client), file: names[g.at], otherFile: names[g.end], ...segment(g, names) });
  const forgedRst = view.packets.some((p) => p.made !== undefined && p.dir === 'to-client' && p.at.some((x) => x !== null && x.flags & TCP_FLAG.RST));
  const isSyn = (x: PacketSummary) => (x.flags & (TCP_FLAG.SYN | TCP_FLAG.ACK)) === TCP_FLAG.SYN;
  const isSynAck = (x: PacketSummary) => (x.flags & (TCP_FLAG.SYN | TCP_FLAG.ACK)) === (TCP_FLAG.SYN | TCP_FLAG.ACK);
  const nearIdx = view.points.findIndex((p) => p.flow === near);
  const syns = view.packets.filter((p) => {
    const x = p.at[nearIdx];
    return p.dir === 'to-server' && x !== null && isSyn(x);
  });
  const synsLost = syns.length > 0 && syns.every((p) => p.lost !== undefined);
  const synAcksLost = view.packets.some((p) => p.lost !== undefined && p.dir === 'to-client' && p.at.some((x) => x !== null && isSynAck(x))) && !near.packets.some((x) => x.src !== near.record.client && isSynAck(x));
  if (seenOrder.length > 1 && proxied.size === 0 && view.packets.every((p) => p.lost === undefined && p.made === undefined)) {
    const [a, b] = [seenOrder[0], seenOrder[seenOrder.length - 1]];
    const { pairs, l } = pairsBetween(cl, a, b);
    facts.push({ kind: 'path-intact', packets: pairs.length, files: seenOrder.map((cap) => inputs[cap].report.input.name), transitNs: l === null ? 0 : transitOf(pairs, l, a) });
  }
  const host = hostOf(r.server);
  const port = Number(r.server.slice(r.server.lastIndexOf(':') + 1));
  // the segment the deciding packets died in (three or more points)
  const between = (pick: (p: PathPacket) => [number, number] | undefined, which: (p: PathPacket) => boolean): { between?: [string, string] } => {
    if (view.points.length < 3) return {};
    const p = view.packets.find((x) => which(x) && pick(x) !== undefined);
    const seg = p === undefined ? undefined : pick(p);
    return seg === undefined ? {} : { between: [names[seg[0]], names[seg[1]]] };
  };
  if (proxyRefused !== null) {
    // the server refused; a SYN proxy had answered the handshake: the client saw a reset after it
    r.by = 'server';
    story = { kind: 'path-proxy-refused', host, port, server: r.server, rst: proxyRefused.rst, file: proxyRefused.file, ...(proxyRefused.between === undefined ? {} : { between: proxyRefused.between }) };
  } else if (forgedRst) {
    r.by = 'middlebox';
    story = {
      kind: 'path-forged',
      host,
      server: r.server,
      what: 'RST',
      ...between(
        (p) => p.made,
        (p) => p.dir === 'to-client' && p.at.some((x) => x !== null && x.flags & TCP_FLAG.RST),
      ),
    };
  } else if (synsLost) {
    r.by = 'middlebox';
    story = {
      kind: 'path-dropped',
      host,
      port,
      server: r.server,
      what: 'SYN',
      ...between(
        (p) => p.lost,
        (p) => syns.includes(p),
      ),
    };
  } else if (synAcksLost) {
    r.by = 'middlebox';
    story = {
      kind: 'path-return',
      host,
      server: r.server,
      client: hostOf(r.client),
      ...between(
        (p) => p.lost,
        (p) => p.dir === 'to-client' && p.at.some((x) => x !== null && isSynAck(x)),
      ),
    };
  }
  r.facts = facts;
  if (story !== undefined) r[STORY] = story;
  r.vantages = vantages;
  return { r, view };
}

/** The packets lost (or made) in one direction, grouped by what they are (SYN, SYN-ACK, RST…) and where, in the order of their frames. */
function factGroups(view: PathView, kind: 'lost' | 'made', dir: 'to-server' | 'to-client'): FactGroup[] {
  const m = new Map<string, FactGroup>();
  const travel = view.points.map((_, i) => i);
  if (dir === 'to-client') travel.reverse();
  for (const p of view.packets) {
    const seg = kind === 'lost' ? p.lost : p.made;
    if (p.dir !== dir || seg === undefined) continue;
    const seen = travel.filter((i) => p.at[i] !== null);
    const judged = travel.filter((i) => p.judged[i]);
    const at = kind === 'lost' ? seen[0] : seen[seen.length - 1];
    // the far end: the path's end in that direction (a capture there that stopped sooner still names where it went)
    const end = kind === 'lost' ? travel[travel.length - 1] : judged[0];
    const x = p.at[at] as PacketSummary;
    const what = packetName(x);
    const key = `${what}|${at}|${end}|${seg[0]}|${seg[1]}`;
    let g = m.get(key);
    if (g === undefined) m.set(key, (g = { what, count: 0, at, end, frames: [], seenAt: new Map(), seg }));
    g.count++;
    if (g.frames.length < 8) g.frames.push(x.frame);
    for (const i of seen) {
      if (i === at) continue;
      const l = g.seenAt.get(i) ?? [];
      if (l.length < 8) l.push((p.at[i] as PacketSummary).frame);
      g.seenAt.set(i, l);
    }
  }
  for (const g of m.values()) for (const l of g.seenAt.values()) l.sort((x, y) => x - y);
  return [...m.values()];
}

/**
 * The points between a fact's two ends (`at` and `end`, in the packets' direction of travel for a
 * lost packet, against it for a made one): those that saw them (`passed`), those that did not
 * (`missed`), and the segment; nothing when there are none in between (two captures: the fact
 * reads as it always did).
 */
function segment(g: FactGroup, names: readonly string[]): PathSegment {
  const passed: { file: string; frames: number[] }[] = [];
  const missed: string[] = [];
  const lo = Math.min(g.at, g.end);
  const hi = Math.max(g.at, g.end);
  const between: number[] = [];
  for (let i = lo + 1; i < hi; i++) between.push(i);
  // from `at` towards `end`
  if (g.at > g.end) between.reverse();
  for (const i of between) {
    const frames = g.seenAt.get(i);
    if (frames !== undefined) passed.push({ file: names[i], frames });
    else missed.push(names[i]);
  }
  if (passed.length + missed.length === 0) return {};
  return { ...(passed.length > 0 ? { passed } : {}), ...(missed.length > 0 ? { missed } : {}), between: [names[g.seg[0]], names[g.seg[1]]] };
}

function part(f: Flow, file: string): VantagePart {
  return { file, key: f.record.key, verdict: f.record.verdict, by: f.record.by, packets: f.packets.length, frames: f.packets.slice(0, MAX_FRAMES).map((p) => p.frame), saw: f.record.summary };
}

/** Whether capture `inp` should have seen flow f: it ran over the flow's time and saw packets of its client or server host. */
function covers(inp: VantageInput, span: { from: number; until: number }, f: Flow, toRef: (t: number) => number): boolean {
  const t0 = toRef(f.record.t * 1e9);
  const t1 = toRef((f.record.t + f.record.duration) * 1e9);
  if (!within(t0, span) || !within(t1, span)) return false;
  return inp.log.hosts.has(hostOf(f.record.server)) || inp.log.hosts.has(hostOf(f.record.client));
}

/** Median time between two points of the matched packets, ns (after the clock offset); x is the first of them. */
function transitOf(pairs: readonly { x: PacketSummary; y: PacketSummary }[], l: Link, x: number): number {
  if (pairs.length === 0) return 0;
  // both on x's time line
  const d = pairs.map((p) => Math.abs(l.c === x ? dToC(l, p.y.t) - p.x.t : dToC(l, p.x.t) - p.y.t)).sort((a, b) => a - b);
  return Math.round(d[d.length >> 1]);
}

function spanNs(r: Report): number {
  return r.input.durationSec * 1e9;
}

/** The correlated records' groups of problems alike, as the emitter groups a capture's (records in id order). */
function groupsOf(records: readonly FlowRecord[]): ProblemGroup[] {
  const g = new Grouper();
  for (const r of records) g.add(r);
  return g.groups();
}

function mergedReport(inputs: readonly VantageInput[], records: FlowRecord[], clocks: VantageClock[], nextId: number): Report {
  const first = inputs[0].report;
  const verdictCounts = new Map<string, number>();
  let problems = 0;
  let tcp = 0;
  let dns = 0;
  for (const r of records) {
    verdictCounts.set(r.verdict, (verdictCounts.get(r.verdict) ?? 0) + 1);
    if (!HEALTHY.has(r.verdict)) problems++;
    if (r.proto === 'tcp') tcp++;
    else if (r.proto === 'dns') dns++;
  }
  const verdicts: Record<string, number> = {};
  for (const v of VERDICT_IDS) {
    const n = verdictCounts.get(v);
    if (n !== undefined) verdicts[v] = n;
  }
  const firsts = inputs.map((i) => i.report.input.first).filter((x): x is string => x !== null);
  const lasts = inputs.map((i) => i.report.input.last).filter((x): x is string => x !== null);
  const stats = { ...first.stats };
  for (const inp of inputs.slice(1)) for (const k of Object.keys(stats) as (keyof typeof stats)[]) stats[k] += inp.report.stats[k];
  const warnings: string[] = [];
  for (const inp of inputs) {
    for (const w of inp.report.warnings) warnings.push(`${inp.report.input.name}: ${w}`);
    if (inp.log.dropped > 0) warnings.push(`${inp.report.input.name}: only its first ${inp.log.logged} TCP/UDP packets were compared with the other captures (${inp.log.dropped} more were analysed, not correlated)`);
  }
  return {
    schema: first.schema,
    input: {
      name: inputs.map((i) => i.report.input.name).join(' + '),
      format: [...new Set(inputs.map((i) => i.report.input.format))].join(' + '),
      linkTypes: first.input.linkTypes,
      packets: inputs.reduce((n, i) => n + i.report.input.packets, 0),
      bytes: inputs.reduce((n, i) => n + i.report.input.bytes, 0),
      first: firsts.length === 0 ? null : firsts.sort()[0],
      last: lasts.length === 0 ? null : lasts.sort()[lasts.length - 1],
      durationSec: Math.max(...inputs.map((i) => i.report.input.durationSec)),
      vantages: clocks,
    },
    options: first.options,
    records,
    groups: groupsOf(records),
    summary: {
      verdicts,
      problems,
      tcpConnections: tcp,
      tcpConversations: tcp,
      dnsTransactions: dns,
      udpFlows: inputs.reduce((n, i) => Math.max(n, i.report.summary.udpFlows), 0),
    },
    stats,
    anomalies: inputs.flatMap((i) => i.report.anomalies),
    warnings,
    nextId,
  };
}
