import type { Report, VantageClock } from '../report/report.js';
import { Grouper, type ProblemGroup } from '../report/groups.js';
import { HEALTHY, VERDICT_IDS, type FlowRecord, type VantagePart } from '../verdict/types.js';
import { STORY, type Fact, type Story } from '../verdict/facts.js';
import { DnsNames } from '../verdict/names.js';
import { TCP_FLAG } from '../decode/packet.js';
import { estimateOffset, matchPackets, packetName, pairFlows, type Pair } from './match.js';
import { hostPart, type PacketLog, type PacketSummary } from './packets.js';
import { seqFact, translateUnpaired, type Translated } from './fallback.js';

export type { VantageClock } from '../report/report.js';
export type { VantagePart } from '../verdict/types.js';

/** One capture of a set of vantage points: its own report (every record kept) and its packet log. */
export interface VantageInput {
  report: Report;
  log: PacketLog;
}

const MAX_FRAMES = 32;
/** Packets of a flow are taken from its record's span widened by this much (ns). */
const SPAN_SLACK_NS = 1e6;
/** First pass: identical packets are matched this far apart in time before the offset is known. */
const FIRST_PASS_WINDOW_NS = 3600e9;
/** Second pass, once the offset is known: copies of a packet this far apart are the same packet. */
const MATCH_WINDOW_NS = 2e9;
/** A packet missing in the other capture counts only if that capture ran from this long before it to this long after. */
const EDGE_NS = 50e6;

interface Flow {
  cap: number;
  record: FlowRecord;
  packets: PacketSummary[];
  proto: number;
  /** The capture-time span (ns) its packets were taken from. */
  from: number;
  until: number;
}

/**
 * Correlates captures taken at the same time at different points of one network (layer after
 * each capture's own analysis): pairs their flows by shared packets, estimates each capture's
 * clock offset from the first one's, and writes one record per flow with a `vantages` part per
 * capture and what the comparison proves (facts path-lost, path-forged, path-nat, path-intact).
 * Returns null when no flow is shared (the captures are then reported separately).
 */
export function correlate(inputs: readonly VantageInput[], firstId: number): { report: Report; shared: number } | null {
  const flows = inputs.map((inp, cap) => flowsOf(inp, cap));
  const ref = flows[0];
  const clocks: VantageClock[] = [{ name: inputs[0].report.input.name, clockOffsetMs: 0, method: 'reference', matchedPackets: 0, sharedFlows: 0, transitMs: 0 }];
  // partner[j][i]: the flow of capture j paired with ref flow i (-1: none); pairsOf[j][i]: their matched packets
  const partner: number[][] = [[]];
  const pairsOf: Pair[][][] = [[]];
  // seqOf[j][i]: how ref flow i and its partner in capture j were paired through a box that rewrites sequence numbers (null: by identity)
  const seqOf: (Translated | null)[][] = [[]];
  const toRef: ((tB: number) => number)[] = [(t) => t];
  let shared = 0;
  for (let j = 1; j < inputs.length; j++) {
    const other = flows[j];
    const deltaNs = (inputs[j].log.baseSec - inputs[0].log.baseSec) * 1e9 + (inputs[j].log.baseNsec - inputs[0].log.baseNsec);
    const p = pairFlows(
      ref.map((f) => f.packets),
      other.map((f) => f.packets),
    );
    // first pass with a wide window (clocks may be off), then the offset, then the real match
    const first: Pair[] = [];
    for (let i = 0; i < ref.length; i++) if (p[i] >= 0) first.push(...matchPackets(ref[i].packets, other[p[i]].packets, (t) => t + deltaNs, FIRST_PASS_WINDOW_NS));
    let clock = estimateOffset(first, deltaNs);
    const map = (t: number) => t + deltaNs - clock.offsetNs;
    const pairs: Pair[][] = [];
    let matched = 0;
    let sharedHere = 0;
    const unmap = (t: number) => t - deltaNs + clock.offsetNs;
    for (let i = 0; i < ref.length; i++) {
      if (p[i] >= 0) {
        // each side's packets over both records' spans: one capture may have closed the flow sooner
        // (after a forged RST), while the other saw it go on
        const a = ref[i];
        const b = other[p[i]];
        const from = Math.min(a.record.t * 1e9, map(b.record.t * 1e9)) - SPAN_SLACK_NS;
        const until = Math.max((a.record.t + a.record.duration) * 1e9, map((b.record.t + b.record.duration) * 1e9)) + SPAN_SLACK_NS;
        a.packets = inputs[0].log.packetsOf(a.proto, a.record.client, a.record.server, Math.min(from, a.from), Math.max(until, a.until));
        b.packets = inputs[j].log.packetsOf(b.proto, b.record.client, b.record.server, unmap(from), unmap(until));
        [a.from, a.until] = [Math.min(from, a.from), Math.max(until, a.until)];
      }
      pairs.push(p[i] >= 0 ? matchPackets(ref[i].packets, other[p[i]].packets, map, MATCH_WINDOW_NS) : []);
      if (pairs[i].length === 0) p[i] = -1;
      else {
        matched += pairs[i].length;
        sharedHere++;
      }
    }
    // a filtered copy of the same capture (every shared packet at the same instant with the same
    // TTL) is one vantage point, not two: nothing to compare
    const copy = matched > 0 && pairs.every((ps) => ps.every(({ a, b }) => a.ttl === b.ttl && b.t + deltaNs === a.t));
    if (copy) {
      p.fill(-1);
      for (const ps of pairs) ps.length = 0;
      matched = 0;
      sharedHere = 0;
    }
    // flows no packet identity paired: through a box that rewrites sequence numbers (fallback.ts)
    const seqs: (Translated | null)[] = ref.map(() => null);
    if (!copy) {
      const t = translateUnpaired(ref, other, p, clock, deltaNs);
      clock = t.clock;
      t.found.forEach((m, i) => {
        if (m === null) return;
        p[i] = m.b;
        pairs[i] = m.pairs;
        seqs[i] = m;
        matched += m.pairs.length;
        sharedHere++;
      });
    }
    seqOf.push(seqs);
    shared += sharedHere;
    partner.push(p);
    pairsOf.push(pairs);
    toRef.push(map);
    clocks.push({ name: inputs[j].report.input.name, clockOffsetMs: round3(clock.offsetNs / 1e6), method: clock.method, matchedPackets: matched, sharedFlows: sharedHere, transitMs: round3(clock.transitNs / 1e6) });
  }
  if (shared === 0) return null;

  // which capture is nearer the clients, by the TTLs of the packets both saw (majority over flows)
  const nearClientVotes = new Array<number>(inputs.length).fill(0);
  const records: { r: FlowRecord; at: number }[] = [];
  const pairedOther = inputs.map(() => new Set<number>());
  for (let i = 0; i < ref.length; i++) {
    for (let j = 1; j < inputs.length; j++) {
      if (partner[j][i] < 0) continue;
      pairedOther[j].add(partner[j][i]);
      const o = refNearClient(ref[i], pairsOf[j][i]);
      if (o !== 0) nearClientVotes[j] += o > 0 ? -1 : 1;
    }
  }
  const spans = inputs.map((inp, j) => ({ from: toRef[j](0), until: toRef[j](spanNs(inp.report)) }));
  for (let i = 0; i < ref.length; i++) {
    const parts: Side[] = [{ flow: ref[i], cap: 0 }];
    for (let j = 1; j < inputs.length; j++) if (partner[j][i] >= 0) parts.push({ flow: flows[j][partner[j][i]], cap: j, pairs: pairsOf[j][i], seq: seqOf[j][i] ?? undefined });
    records.push({ r: merge(ref[i], parts, inputs, spans, toRef, nearClientVotes), at: ref[i].record.t * 1e9 });
  }
  // flows only another capture saw
  for (let j = 1; j < inputs.length; j++) {
    flows[j].forEach((f, k) => {
      if (pairedOther[j].has(k)) return;
      records.push({ r: merge(f, [{ flow: f, cap: j }], inputs, spans, toRef, nearClientVotes), at: toRef[j](f.record.t * 1e9) });
    });
  }
  // records that are not correlated (ARP, ping, ICMP): as each capture reported them
  for (let j = 0; j < inputs.length; j++) {
    for (const r of inputs[j].report.records) if (!correlatable(r)) records.push({ r: { ...r, file: inputs[j].report.input.name }, at: toRef[j](r.t * 1e9) });
  }
  records.sort((x, y) => x.at - y.at);
  const names = new DnsNames();
  let id = firstId;
  const out: FlowRecord[] = [];
  for (const { r, at } of records) {
    r.id = id++;
    r.t = Math.round(at) / 1e9;
    names.label(r);
    names.learn(r);
    out.push(r);
  }
  return { report: mergedReport(inputs, out, clocks, id), shared };
}

interface Side {
  flow: Flow;
  cap: number;
  /** Matched packets with the reference capture's flow (absent for the reference itself). */
  pairs?: Pair[];
  /** Set when they were matched through a box that rewrites sequence numbers (fallback.ts). */
  seq?: Translated;
}

/** +1 when the reference capture saw this flow nearer its client than the partner, -1 nearer its server, 0 unknown. */
function refNearClient(f: Flow, pairs: readonly Pair[]): number {
  for (const { a, b } of pairs) {
    if (a.ttl === b.ttl) continue;
    const fromClient = a.src === f.record.client;
    return a.ttl > b.ttl === fromClient ? 1 : -1;
  }
  return 0;
}

function merge(base: Flow, sides: Side[], inputs: readonly VantageInput[], spans: readonly { from: number; until: number }[], toRef: readonly ((t: number) => number)[], votes: readonly number[]): FlowRecord {
  // order along the path: client side first
  const order = sides.map((s) => {
    if (s.cap === 0) return { s, rank: 0 };
    const o = s.pairs === undefined ? 0 : refNearClient(base, s.pairs);
    return { s, rank: o !== 0 ? -o : votes[s.cap] > 0 ? 1 : -1 };
  });
  order.sort((x, y) => y.rank - x.rank);
  const nearClient = order[0].s;
  const r: FlowRecord = { ...nearClient.flow.record, file: inputs[nearClient.cap].report.input.name };
  const facts: Fact[] = [...(r.facts ?? [])];
  let story: Story | undefined = r[STORY];
  const vantages: VantagePart[] = order.map(({ s }) => part(s.flow, inputs[s.cap].report.input.name));

  // the other captures that should have seen this flow: ran at the time and saw its hosts
  const others = inputs.map((_, j) => j).filter((j) => !sides.some((s) => s.cap === j) && covers(inputs[j], spans[j], base, toRef[base.cap]));
  let forgedRst = false;
  let synsLost = false;
  let synAcksLost = false;
  let proxyRefused: { rst: number; file: string } | null = null;
  if (sides.length > 1) {
    // two sides: each unmatched packet is placed by the direction it travelled
    const near = order[0].s;
    const far = order[order.length - 1].s;
    const nearName = inputs[near.cap].report.input.name;
    const farName = inputs[far.cap].report.input.name;
    const nearRec = near.flow.record;
    const farRec = far.flow.record;
    if (nearRec.client !== farRec.client) facts.push({ kind: 'path-nat', side: 'client', before: nearRec.client, after: farRec.client, beforeFile: nearName, afterFile: farName });
    if (nearRec.server !== farRec.server) facts.push({ kind: 'path-nat', side: 'server', before: nearRec.server, after: farRec.server, beforeFile: nearName, afterFile: farName });
    const translated = near.cap === 0 ? far.seq : near.seq;
    // a SYN proxy's own handshake packets: neither lost nor forged
    let proxied = new Set<PacketSummary>();
    if (translated !== undefined) {
      const side = (s: Side, file: string) => ({ ...s.flow, file, verdict: s.flow.record.verdict, toRef: toRef[s.cap] });
      const t = seqFact(translated, side(near, nearName), side(far, farName), near.cap === 0, translated.marginNs);
      facts.push(t.fact);
      if (t.refused !== undefined) proxyRefused = { rst: t.refused.rst, file: farName };
      proxied = t.proxied;
    }
    const pairs = (near.cap === 0 ? far.pairs : near.pairs) ?? [];
    const matchedNear = new Set<PacketSummary>(pairs.map((p) => (near.cap === 0 ? p.a : p.b)));
    const matchedFar = new Set<PacketSummary>(pairs.map((p) => (far.cap === 0 ? p.a : p.b)));
    const mapNear = (t: number) => toRef[near.cap](t);
    const mapFar = (t: number) => toRef[far.cap](t);
    const lostToServer = near.flow.packets.filter((p) => !matchedNear.has(p) && !proxied.has(p) && p.src === nearRec.client && within(mapNear(p.t), spans[far.cap]));
    const forgedToClient = near.flow.packets.filter((p) => !matchedNear.has(p) && !proxied.has(p) && p.src !== nearRec.client && within(mapNear(p.t), spans[far.cap]));
    const lostToClient = far.flow.packets.filter((p) => !matchedFar.has(p) && !proxied.has(p) && p.src !== farRec.client && within(mapFar(p.t), spans[near.cap]));
    const forgedToServer = far.flow.packets.filter((p) => !matchedFar.has(p) && !proxied.has(p) && p.src === farRec.client && within(mapFar(p.t), spans[near.cap]));
    for (const g of groups(lostToServer))
      facts.push({ kind: 'path-lost', what: g.what, frames: g.frames, count: g.count, dir: 'to-server', from: hostPart(nearRec.client), to: hostPart(nearRec.server), fromFile: nearName, toFile: farName });
    for (const g of groups(lostToClient)) facts.push({ kind: 'path-lost', what: g.what, frames: g.frames, count: g.count, dir: 'to-client', from: hostPart(farRec.server), to: hostPart(farRec.client), fromFile: farName, toFile: nearName });
    for (const g of groups(forgedToClient)) facts.push({ kind: 'path-forged', what: g.what, frames: g.frames, count: g.count, dir: 'to-client', claimed: hostPart(nearRec.server), file: nearName, otherFile: farName });
    for (const g of groups(forgedToServer)) facts.push({ kind: 'path-forged', what: g.what, frames: g.frames, count: g.count, dir: 'to-server', claimed: hostPart(farRec.client), file: farName, otherFile: nearName });
    forgedRst = forgedToClient.some((p) => p.flags & TCP_FLAG.RST);
    const synsSent = near.flow.packets.filter((p) => p.src === nearRec.client && p.flags & TCP_FLAG.SYN && !(p.flags & TCP_FLAG.ACK));
    synsLost = synsSent.length > 0 && synsSent.every((p) => lostToServer.includes(p));
    synAcksLost = lostToClient.some((p) => p.flags & TCP_FLAG.SYN && p.flags & TCP_FLAG.ACK) && !near.flow.packets.some((p) => p.src !== nearRec.client && p.flags & TCP_FLAG.SYN && p.flags & TCP_FLAG.ACK);
    if (lostToServer.length + lostToClient.length + forgedToClient.length + forgedToServer.length + proxied.size === 0) {
      facts.push({ kind: 'path-intact', packets: pairs.length, files: [nearName, farName], transitNs: transitOf(pairs, toRef[near.cap === 0 ? far.cap : near.cap]) });
    }
  } else if (others.length > 0) {
    // one side only, while another capture that saw these hosts ran: its packets never got there
    const name = inputs[base.cap].report.input.name;
    const otherName = inputs[others[0]].report.input.name;
    const nearClientHere = base.cap === 0 ? votes.slice(1).every((v) => v <= 0) : votes[base.cap] > 0;
    const rec = base.record;
    const fromClient = base.packets.filter((p) => p.src === rec.client);
    const fromServer = base.packets.filter((p) => p.src !== rec.client);
    if (nearClientHere) {
      for (const g of groups(fromClient)) facts.push({ kind: 'path-lost', what: g.what, frames: g.frames, count: g.count, dir: 'to-server', from: hostPart(rec.client), to: hostPart(rec.server), fromFile: name, toFile: otherName });
      for (const g of groups(fromServer)) facts.push({ kind: 'path-forged', what: g.what, frames: g.frames, count: g.count, dir: 'to-client', claimed: hostPart(rec.server), file: name, otherFile: otherName });
      forgedRst = fromServer.some((p) => p.flags & TCP_FLAG.RST);
      synsLost = fromClient.some((p) => p.flags & TCP_FLAG.SYN);
    } else {
      for (const g of groups(fromServer)) facts.push({ kind: 'path-lost', what: g.what, frames: g.frames, count: g.count, dir: 'to-client', from: hostPart(rec.server), to: hostPart(rec.client), fromFile: name, toFile: otherName });
      for (const g of groups(fromClient)) facts.push({ kind: 'path-forged', what: g.what, frames: g.frames, count: g.count, dir: 'to-server', claimed: hostPart(rec.client), file: name, otherFile: otherName });
      synAcksLost = fromServer.some((p) => p.flags & TCP_FLAG.SYN && p.flags & TCP_FLAG.ACK);
    }
    for (const j of others) vantages.push({ file: inputs[j].report.input.name, packets: 0, frames: [], saw: 'none of its packets' });
  }
  const host = hostPart(r.server);
  const port = Number(r.server.slice(r.server.lastIndexOf(':') + 1));
  if (proxyRefused !== null) {
    // the server refused; a SYN proxy had answered the handshake: the client saw a reset after it
    r.by = 'server';
    story = { kind: 'path-proxy-refused', host, port, server: r.server, rst: proxyRefused.rst, file: proxyRefused.file };
  } else if (forgedRst) {
    r.by = 'middlebox';
    story = { kind: 'path-forged', host, server: r.server, what: 'RST' };
  } else if (synsLost) {
    r.by = 'middlebox';
    story = { kind: 'path-dropped', host, port, server: r.server, what: 'SYN' };
  } else if (synAcksLost) {
    r.by = 'middlebox';
    story = { kind: 'path-return', host, server: r.server, client: hostPart(r.client) };
  }
  r.facts = facts;
  if (story !== undefined) r[STORY] = story;
  r.vantages = vantages;
  return r;
}

/** Unmatched packets grouped by what they are (SYN, SYN-ACK, RST…), frames in order. */
function groups(ps: readonly PacketSummary[]): { what: string; frames: number[]; count: number }[] {
  const m = new Map<string, { what: string; frames: number[]; count: number }>();
  for (const p of ps) {
    const what = packetName(p);
    let g = m.get(what);
    if (g === undefined) m.set(what, (g = { what, frames: [], count: 0 }));
    g.count++;
    if (g.frames.length < 8) g.frames.push(p.frame);
  }
  return [...m.values()];
}

function part(f: Flow, file: string): VantagePart {
  return { file, key: f.record.key, verdict: f.record.verdict, by: f.record.by, packets: f.packets.length, frames: f.packets.slice(0, MAX_FRAMES).map((p) => p.frame), saw: f.record.summary };
}

function within(t: number, span: { from: number; until: number }): boolean {
  return t >= span.from + EDGE_NS && t <= span.until - EDGE_NS;
}

/** Whether capture `inp` should have seen flow f: it ran over the flow's time and saw packets of its client or server host. */
function covers(inp: VantageInput, span: { from: number; until: number }, f: Flow, toRef: (t: number) => number): boolean {
  const t0 = toRef(f.record.t * 1e9);
  const t1 = toRef((f.record.t + f.record.duration) * 1e9);
  if (!within(t0, span) || !within(t1, span)) return false;
  return inp.log.hosts.has(hostPart(f.record.server)) || inp.log.hosts.has(hostPart(f.record.client));
}

/** Median time between the two points of the matched packets, ns (after the clock offset). */
function transitOf(pairs: readonly Pair[], toRef: (tB: number) => number): number {
  if (pairs.length === 0) return 0;
  const d = pairs.map((p) => Math.abs(toRef(p.b.t) - p.a.t)).sort((x, y) => x - y);
  return Math.round(d[d.length >> 1]);
}

function correlatable(r: FlowRecord): boolean {
  return r.proto === 'tcp' || r.proto === 'udp' || r.proto === 'dns';
}

function flowsOf(inp: VantageInput, cap: number): Flow[] {
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

function spanNs(r: Report): number {
  return r.input.durationSec * 1e9;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

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
