import { Analyzer, type AnalyzeOptions, type Report } from '../analyze.js';
import { Anomalies } from '../capture/damage.js';
import { forEachRecord } from '../capture/reader.js';
import { openCapture } from '../capture/source.js';
import { linkTypeName } from '../capture/linktypes.js';
import { PacketDecoder } from '../decode/decode.js';
import { DecodedPacket, L4 } from '../decode/packet.js';
import { CaptureRecord } from '../capture/record.js';
import { HostTable } from '../flow/hosts.js';
import { InputError } from '../errors.js';
import { CAPTURE_MISSED, nextSweepAfter } from '../lifecycle.js';
import { Emitter } from '../report/emit.js';
import { SCHEMA_VERSION } from '../report/report.js';
import { isoTime } from '../capture/time.js';
import type { FlowRecord } from '../verdict/types.js';
import { addVantage, Vantage, VANTAGE_HOPS, vantageOf } from '../verdict/vantage.js';
import { setClientMac } from '../related/ends.js';
import { STORY } from '../verdict/facts.js';
import { ChecksumStats } from '../report/checksums.js';
import { warnings } from '../report/warnings.js';
import { partGaps } from '../analyze.js';
import { Components, horizonNs, isHead, isTail, joinChunk } from './closure.js';
import { instantOf, nsBetween } from './chunk.js';
import { ALWAYS, packetKey, packetsPath, readState, recordFromJson, tupleKey, type ChunkState, type Instant } from './state.js';

/** What the merge did, for the report's warnings and the benchmark. */
export interface MergeStats {
  /** Records the chunks decided (each chunk's own view). */
  records: number;
  replayedRecords: number;
  replayedPackets: number;
}

interface Decided {
  r: FlowRecord;
  conv: boolean;
  /** Global frame of the packet it was decided at (Infinity: at the end). */
  at: number;
  stage: number;
  /** What its connection told about where the capture was taken (noteVantage's code). */
  vantage?: number;
  /** TCP bytes of its connection the capture missed. */
  missed?: number;
}

/** Adds `off` to every frame number of a record of a later chunk (frame, frames, firstFrame, rstFrame…; 0 stays "none"). */
function shiftFrames(v: unknown, off: number): unknown {
  if (Array.isArray(v)) return v.map((x: unknown) => shiftFrames(x, off));
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const x = o[k];
    if (/^(frame|.*Frame)$/.test(k) && typeof x === 'number' && x > 0) o[k] = x + off;
    else if (/^(frames|.*Frames)$/.test(k) && Array.isArray(x)) o[k] = x.map((n: unknown) => (typeof n === 'number' && n > 0 ? n + off : n));
    else if (typeof x === 'object') o[k] = shiftFrames(x, off);
  }
  return o;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** A record as it was before the emitter numbered, named and described it. */
function raw(r: FlowRecord): FlowRecord {
  const { serverName: _s, clientName: _c, related: _r, group: _g, wireshark: _w, file: _f, ...rest } = r;
  return rest;
}

/**
 * Joins the states of the chunks of one rotated set, given in capture order, into the report one
 * analysis of the whole set gives. Records no earlier or later chunk can have changed are taken
 * as their chunk decided them (frames and times counted on); the others are decided again by one
 * analysis of the packets the states carry: every flow that was open at a chunk's end or began
 * within the horizon of the next one's start and shares packets, a server, a health-check
 * series or a DNS question across the boundary, with all it shares them with (closure.ts), with
 * what earlier packets taught about MACs, and with sweeps at the packets the whole set sweeps at.
 * Then every record is numbered, named and related in order, as one analysis does.
 */
export async function mergeStates(paths: readonly string[], name: string, stats?: MergeStats): Promise<Report> {
  if (paths.length === 0) throw new InputError('merge: no state file given');
  const states = paths.map((p) => readState(p));
  const opts = states[0].options as unknown as AnalyzeOptions;
  for (let k = 1; k < states.length; k++) {
    if (JSON.stringify(states[k].options) !== JSON.stringify(states[0].options)) throw new InputError(`${paths[k]} was analysed with other timers than ${paths[0]}: give every chunk the same options`);
    const prev =
      states
        .slice(0, k)
        .reverse()
        .find((s) => s.last !== null)?.last ?? null;
    const first = states[k].first;
    if (prev !== null && first !== null && nsBetween(prev, first) < -1e9) throw new InputError(`${paths[k]} begins before ${paths[k - 1]} ends: give the states in capture order`);
  }
  const horizon = horizonNs(opts);
  const base: Instant | null = states.find((s) => s.first !== null)?.first ?? null;
  // global index of each chunk's records; frame and time offsets
  const bases: number[] = [];
  const frameOff: number[] = [];
  const timeOff: number[] = [];
  let n = 0;
  let frames = 0;
  for (const s of states) {
    bases.push(n);
    n += s.records.length;
    frameOff.push(frames);
    frames += s.packets;
    timeOff.push(base === null || s.first === null ? 0 : nsBetween(base, s.first));
  }
  const comp = new Components(n);
  states.forEach((s, k) => joinChunk(s.records, bases[k], comp, horizon));
  // across each boundary: the tail of the chunk before (skipping empty ones) and the head of the next
  const forced = new Set<number>();
  let prevK = -1;
  for (let k = 0; k < states.length; k++) {
    if (states[k].first === null) continue;
    if (prevK >= 0) {
      const p = states[prevK];
      const endNs = p.first === null || p.last === null ? 0 : nsBetween(p.first, p.last);
      const tail = new Map<string, number>();
      p.records.forEach((r, i) => {
        if (!isTail(r, endNs, horizon)) return;
        if (r.stage === 2) forced.add(bases[prevK] + i);
        for (const key of r.keys) if (!tail.has(key)) tail.set(key, bases[prevK] + i);
      });
      states[k].records.forEach((r, i) => {
        if (!isHead(r, horizon)) return;
        if (r.r.firstFrame === 1) forced.add(bases[k] + i);
        for (const key of r.keys) {
          const j = tail.get(key);
          if (j !== undefined) {
            comp.union(j, bases[k] + i);
            forced.add(j);
          }
        }
      });
    }
    prevK = k;
  }
  if (states.length > 1) states.forEach((s, k) => s.records.forEach((r, i) => r.keys[0] === ALWAYS && forced.add(bases[k] + i)));
  await macsTold(states, paths, forced, bases);
  const replayRoots = new Set([...forced].map((i) => comp.find(i)));
  const replayed = (k: number, i: number) => replayRoots.has(comp.find(bases[k] + i));
  // every replayed record's packets must have travelled
  const keysByChunk = states.map((s, k) => {
    const keys = new Set<string>();
    s.records.forEach((r, i) => {
      if (!replayed(k, i)) return;
      if (!r.saved) throw new InputError(`${paths[k]}: a record to decide again (${r.r.key}) has no packets in the state; the chunks were cut with other options`);
      keys.add(r.loose ?? tupleKey(r.r));
    });
    if (states.length > 1) keys.add(ALWAYS);
    return keys;
  });

  const out: Decided[] = [];
  let replayedPackets = 0;
  let replayedUdpFlows = 0;
  if (replayRoots.size > 0 && base !== null) {
    const analyzer = new Analyzer(
      opts,
      'none',
      (r) =>
        out.push({
          r,
          conv: analyzer.newConversation,
          at: currentAt,
          stage: analyzer.stage,
          vantage: (r as unknown as Record<symbol, number | undefined>)[VANTAGE_HOPS],
          missed: (r as unknown as Record<symbol, number | undefined>)[CAPTURE_MISSED],
        }),
      null,
      1,
      name,
    );
    analyzer.seedClock(base[0], base[1]);
    let currentAt = 0;
    const decoder = new PacketDecoder();
    const pkt = new DecodedPacket();
    let nextTrue = nextSweepAfter(0, base[1]);
    let lastEnd: Instant | null = null;
    for (let k = 0; k < states.length; k++) {
      const s = states[k];
      if (s.first === null) continue;
      // the whole set sweeps at a chunk's first packet when a new second began since the last sweep
      const sweeps = [...s.sweeps];
      if (k > 0 && timeOff[k] >= nextTrue) sweeps.unshift([1, 0]);
      const sweepAt = new Map(sweeps.map(([f, t]) => [f, t + timeOff[k]]));
      const learnOnly = new Set(s.learnOnly);
      let si = 0;
      const deliverSweepsBefore = (frame: number) => {
        while (si < sweeps.length && sweeps[si][0] < frame) {
          currentAt = sweeps[si][0] + frameOff[k];
          analyzer.tickAt(sweeps[si][1] + timeOff[k]);
          si++;
        }
      };
      let idx = 0;
      const file = packetsPath(paths[k]);
      const source = await openCapture(file);
      try {
        await forEachRecord(source, (rec) => {
          const local = s.savedFrames[idx++];
          deliverSweepsBefore(local);
          const global = local + frameOff[k];
          decoder.decode(rec, pkt);
          const key = packetKey(pkt);
          const isSweep = si < sweeps.length && sweeps[si][0] === local;
          currentAt = global;
          if (!learnOnly.has(local) && key !== null && keysByChunk[k].has(key)) {
            rec.frame = global;
            analyzer.onRecord(rec);
            replayedPackets++;
            if (isSweep) si++;
          } else {
            analyzer.learnLink(rec);
            if (isSweep) {
              analyzer.tickAt(sweepAt.get(local) ?? 0);
              si++;
            }
          }
        });
      } finally {
        source.close();
      }
      deliverSweepsBefore(Infinity);
      if (sweeps.length > 0) nextTrue = nextSweepAfter(sweeps[sweeps.length - 1][1] + timeOff[k], base[1]);
      lastEnd = s.last;
    }
    currentAt = Infinity;
    const last = states[states.length - 1];
    const endInstant = last.statsEnd ?? lastEnd;
    analyzer.finish({ statsEnd: endInstant === null ? null : { tsSec: endInstant[0], tsNsec: endInstant[1] }, anomalies: new Anomalies(), linkTypes: new Map(), formatLabel: '' }, name);
    replayedUdpFlows = analyzer.flows.udpFlows;
  }
  // the records no boundary changed, counted on
  let replayedRecords = 0;
  states.forEach((s, k) => {
    s.records.forEach((d, i) => {
      if (d.loose !== undefined) return;
      if (replayed(k, i)) {
        replayedRecords++;
        return;
      }
      const r = recordFromJson(structuredClone(d.r));
      if (k > 0 && base !== null) {
        shiftFrames(r, frameOff[k]);
        const story = r[STORY];
        if (story !== undefined) shiftFrames(story, frameOff[k]);
        r.key = r.key.replace(/#(\d+)/g, (_, f: string) => `#${Number(f) + frameOff[k]}`);
        r.t = round6(nsBetween(base, instantOf(r.start)) / 1e9);
      }
      setClientMac(r, d.clientMac);
      out.push({ r, conv: d.conv === true, at: d.at === 0 ? Infinity : d.at + frameOff[k], stage: d.stage, vantage: d.vantage, missed: d.missed });
    });
  });
  if (stats !== undefined) Object.assign(stats, { records: states.reduce((a, s) => a + s.records.filter((r) => r.loose === undefined).length, 0), replayedRecords, replayedPackets });
  // numbered, named and related in the order one analysis decides them
  out.sort((a, b) => a.at - b.at || a.stage - b.stage);
  const emitter = new Emitter({ keep: 'all', onFlow: null, onFlowProblemsOnly: false, filter: null, firstId: 1, file: name });
  for (let i = 0; i < out.length;) {
    let j = i;
    while (j < out.length && out[j].at === out[i].at && out[j].stage === out[i].stage) j++;
    emitter.emit(
      out.slice(i, j).map((d) => {
        const r = raw(d.r);
        if (d.conv) emitter.newConversation(r);
        return r;
      }),
    );
    i = j;
  }
  // UDP flows: each chunk's count, but for the tuples decided again, counted by the replay instead
  let udpFlows = replayedUdpFlows;
  states.forEach((s, k) => {
    udpFlows += s.udpFlows;
    for (const [key, n] of s.udpCounts) if (keysByChunk[k].has(key)) udpFlows -= n;
  });
  const vantage = new Vantage();
  const missed = { bytes: 0, connections: 0 };
  for (const d of out) {
    if (d.vantage !== undefined) addVantage(vantage, d.vantage);
    if (d.missed !== undefined) {
      missed.bytes += d.missed;
      missed.connections++;
    }
  }
  return reportOf(states, paths, emitter, name, { udpFlows, vantage, missed, frameOff, base });
}

/** The MACs a record names (its own, its facts'), as HostTable numbers them. */
function macsOf(r: unknown): number[] {
  return [...new Set([...JSON.stringify(r).matchAll(/"mac":"([0-9a-f]{2}(?::[0-9a-f]{2}){5})"/g)].map((m) => parseInt(m[1].replace(/:/g, ''), 16)))];
}

/**
 * Records a chunk decided while it did not yet know what the chunks before it knew of a MAC it
 * names (that it is a router), or the other way round: forced to be decided again. Steps through
 * the packets that taught each chunk about MACs, on their own (what the chunk knew) and after
 * those of every chunk before (what one analysis knows).
 */
async function macsTold(states: readonly ChunkState[], paths: readonly string[], forced: Set<number>, bases: readonly number[]): Promise<void> {
  if (states.length < 2) return;
  const truth = new HostTable();
  const decoder = new PacketDecoder();
  const pkt = new DecodedPacket();
  const learnLink = (t: HostTable) => {
    if (pkt.ipVersion !== 0 || pkt.l4 === L4.Arp) t.observeLink(pkt);
  };
  for (let k = 0; k < states.length; k++) {
    const s = states[k];
    const learn = new Set(s.learn);
    const packets: { frame: number; data: Buffer; rec: CaptureRecord }[] = [];
    let idx = 0;
    const source = await openCapture(packetsPath(paths[k]));
    try {
      await forEachRecord(source, (rec) => {
        const frame = s.savedFrames[idx++];
        if (!learn.has(frame)) return;
        const copy = new CaptureRecord();
        Object.assign(copy, rec);
        copy.data = Buffer.from(rec.data.subarray(0, rec.end));
        packets.push({ frame, data: copy.data, rec: copy });
      });
    } finally {
      source.close();
    }
    const fresh = new HostTable();
    const order = s.records.map((_, i) => i).sort((a, b) => (s.records[a].at || Infinity) - (s.records[b].at || Infinity));
    let p = 0;
    const advance = (upTo: number) => {
      while (p < packets.length && packets[p].frame <= upTo) {
        decoder.decode(packets[p].rec, pkt);
        learnLink(fresh);
        learnLink(truth);
        p++;
      }
    };
    for (const i of order) {
      const r = s.records[i];
      advance(r.at === 0 ? Infinity : r.at);
      if (k === 0 || r.loose !== undefined) continue;
      for (const m of macsOf(r.r)) {
        if (truth.isRouterMac(m) !== fresh.isRouterMac(m)) {
          forced.add(bases[k] + i);
          break;
        }
      }
    }
    advance(Infinity);
  }
}

/** Objects of the same shape with their numbers added (the chunks' packet stats). */
function sumNumbers(xs: readonly unknown[]): unknown {
  const [a, ...rest] = xs;
  if (typeof a === 'number') return xs.reduce((s: number, x) => s + (typeof x === 'number' ? x : 0), 0);
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return a;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(a)) out[k] = sumNumbers([(a as Record<string, unknown>)[k], ...rest.map((x) => (x as Record<string, unknown> | null)?.[k])]);
  return out;
}

/** The chunks' anomalies as one analysis counts them: counts added; a file's damage told by its last example, the analysis's by its first (Anomalies.merge, PacketStats.anomaliesWith), frames counted on. */
function mergedAnomalies(states: readonly ChunkState[], frameOff: readonly number[]): Report['anomalies'] {
  const byCode = new Map<string, { code: string; count: number; first: string }>();
  states.forEach((s, k) => {
    for (const a of s.anomalies as Report['anomalies']) {
      const first = a.first.replace(/\bframe (\d+)/g, (_, f: string) => `frame ${Number(f) + frameOff[k]}`);
      const m = byCode.get(a.code);
      if (m === undefined) byCode.set(a.code, { code: a.code, count: a.count, first });
      else {
        m.count += a.count;
        if ((READER_CODES.has(a.code) && first !== '') || m.first === '') m.first = first;
      }
    }
  });
  return [...byCode.values()].sort((a, b) => (a.code < b.code ? -1 : 1));
}

/** Anomalies the capture reader counts (src/capture/): the example of the last part that has one is the report's. */
const READER_CODES = new Set([
  'absurd_record_length',
  'bad_block_length',
  'bad_option_length',
  'bad_section_header',
  'bad_timestamp_fraction',
  'bad_tsresol',
  'block_length_mismatch',
  'caplen_over_block',
  'caplen_over_snaplen',
  'compressed_stream_damaged',
  'timestamp_out_of_range',
  'truncated_file',
  'unknown_interface',
  'unsupported_section_version',
  'zero_length_record',
]);

/**
 * Whether --max-flows may have counted differently in one analysis of the whole set: a chunk's
 * flow table starts empty, while one analysis still tracks, at that chunk's start, flows of the
 * chunks before it (at most what each held at its end). When no chunk refused a flow or evicted a
 * tombstone, and every chunk's fullest moment plus what the chunks before it held at their ends
 * stays under --max-flows, neither did one analysis: the limit changed nothing. Otherwise a
 * warning naming the first chunk where it may have.
 */
function maxFlowsWarning(states: readonly ChunkState[], paths: readonly string[], maxFlows: number): string | null {
  let carried = 0;
  for (let k = 0; k < states.length; k++) {
    const s = states[k];
    const refused = (s.stats as Report['stats']).flowsNotTracked + ((s.anomalies as Report['anomalies']).find((a) => a.code === 'tcp_tombstone_evicted')?.count ?? 0);
    if (refused > 0 || s.flowPeak + carried >= maxFlows)
      return `--max-flows ${maxFlows} may have been reached in ${paths[k]} (up to ${s.flowPeak} flows at once${carried > 0 ? `, and up to ${carried} flows of the chunks before it still open at its start` : ''}): one analysis of the whole set may have tracked other flows than the chunks did; analyse the set in one run, or raise --max-flows`;
    carried += s.flowsAtEnd;
  }
  return null;
}

function reportOf(
  states: readonly ChunkState[],
  paths: readonly string[],
  emitter: Emitter,
  name: string,
  m: { udpFlows: number; vantage: Vantage; missed: { bytes: number; connections: number }; frameOff: readonly number[]; base: Instant | null },
): Report {
  const linkTypes = new Map<number, number>();
  for (const s of states) for (const [lt, c] of s.linkTypes) linkTypes.set(lt, (linkTypes.get(lt) ?? 0) + c);
  const first = states.find((s) => s.first !== null)?.first ?? null;
  const last = [...states].reverse().find((s) => s.last !== null)?.last ?? null;
  const packets = states.reduce((a, s) => a + s.packets, 0);
  const options = { ...(states[0].options as unknown as Report['options']) };
  // the chunks' packet counts added up; a connection's missed bytes counted once, as its one record says
  const stats = { ...(sumNumbers(states.map((s) => s.stats)) as Report['stats']), captureMissedBytes: m.missed.bytes, captureMissedConnections: m.missed.connections };
  const anomalies = mergedAnomalies(states, m.frameOff);
  const parts = states.flatMap((s) => s.partsRead);
  // the warnings one analysis of the set writes, from the chunks' counts added up
  const warned = warnings({
    anomalies,
    linkTypes,
    checksums: ChecksumStats.merged(states.map((s) => s.checksums)).warning(),
    flowsNotTracked: stats.flowsNotTracked,
    maxFlows: options.maxFlows,
    truncatedPackets: stats.truncatedPackets,
    captureMissed: { bytes: stats.captureMissedBytes, connections: stats.captureMissedConnections },
  });
  const base = m.base;
  if (base !== null && parts.length > 1) {
    const t = (iso: string | null) => (iso === null ? -1 : nsBetween(base, instantOf(iso)));
    warned.push(
      ...partGaps(
        parts.map((p) => ({ name: p.name, packets: p.packets, firstT: t(p.first), lastT: t(p.last) })),
        Math.max(options.synTimeoutMs, options.dnsTimeoutMs) * 1e6,
      ),
    );
  }
  const maxFlows = maxFlowsWarning(states, paths, options.maxFlows);
  if (maxFlows !== null) warned.push(maxFlows);
  return {
    schema: SCHEMA_VERSION,
    input: {
      name,
      format: [...new Set(states.map((s) => s.formatLabel).filter((f) => f !== ''))].join(' + '),
      linkTypes: [...linkTypes].map(([linkType, p]) => ({ linkType, name: linkTypeName(linkType), packets: p })),
      packets,
      bytes: states.reduce((a, s) => a + s.bytes, 0),
      first: first === null ? null : isoTime(first[0], first[1]),
      last: last === null ? null : isoTime(last[0], last[1]),
      durationSec: first === null || last === null ? 0 : Math.round(nsBetween(first, last) / 1e3) / 1e6,
      ...(parts.length > 1 ? { parts } : {}),
      ...vantageOf(m.vantage),
    },
    options,
    records: emitter.kept,
    groups: emitter.groups(),
    summary: emitter.summary(m.udpFlows),
    stats,
    anomalies,
    warnings: warned,
    nextId: emitter.nextId,
  };
}
