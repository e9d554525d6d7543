import { CaptureRun, type AnalyzeOptions, type Report } from '../analyze.js';
import { forEachRecordOfParts } from '../capture/parts.js';
import { openCapture } from '../capture/source.js';
import { namingInput } from '../errors.js';
import { PacketDecoder } from '../decode/decode.js';
import { DecodedPacket, L4 } from '../decode/packet.js';
import { CAPTURE_MISSED, nextSweepAfter } from '../lifecycle.js';
import { PcapngWriter } from '../render/write-pcap.js';
import type { FlowRecord } from '../verdict/types.js';
import { VANTAGE_HOPS } from '../verdict/vantage.js';
import { clientMacOf } from '../related/ends.js';
import { Components, horizonNs, isHead, isTail, joinChunk } from './closure.js';
import { ALWAYS, STATE_VERSION, keysOf, packetKey, packetsPath, recordToJson, tupleKey, writeState, type ChunkState, type Instant, type StateRecord } from './state.js';

/** ns from `a` to `b`. */
export function nsBetween(a: Instant, b: Instant): number {
  return (b[0] - a[0]) * 1e9 + (b[1] - a[1]);
}

/** An ISO 8601 time with nanosecond digits (records' `start`) as an Instant. */
export function instantOf(iso: string): Instant {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(iso);
  if (m === null) return [0, 0];
  const sec = Math.floor(Date.parse(`${m[1]}Z`) / 1000);
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  return [sec, Number(frac)];
}

/** A MAC's knowledge as one number, to see which packets change it (HostTable.observeLink). */
function macSignature(info: { v4Src: number[]; v4Dst: number[]; v6Src: number[]; v6Dst: number[]; arpIps: number[]; sentRouterAdvert: boolean } | undefined): number {
  if (info === undefined) return -1;
  return info.v4Src.length + 5 * info.v4Dst.length + 25 * info.v6Src.length + 125 * info.v6Dst.length + 625 * info.arpIps.length + (info.sentRouterAdvert ? 3125 : 0);
}

/**
 * Analyses one chunk of a rotated set (its parts, read as one capture) on its own, and writes
 * what `pcapdiag merge` needs to join it to the chunks before and after it: `statePath` (JSON)
 * and its packets beside it (packetsPath). Returns the chunk's own report.
 */
export async function analyzeChunk(parts: readonly string[], opts: AnalyzeOptions, statePath: string, name: string): Promise<Report> {
  const decided: StateRecord[] = [];
  let firstInstant: Instant | null = null;
  let lastInstant: Instant | null = null;
  const sweeps: [number, number][] = [];
  const learn: number[] = [];
  const macs = new Map<number, number>();
  let nextSweep = 0;
  // flows that may end without a record of their own: UDP (not DNS) and ICMP errors
  const quiet = new Map<string, [number, number]>();
  // UDP flows the analysis counted, by tuple key; the flow table's fill (--max-flows)
  const udpCounts = new Map<string, number>();
  let udpSeen = 0;
  let flowPeak = 0;
  // eslint-disable-next-line prefer-const -- assigned once the run exists; onFlow and onPacket read it
  let run: CaptureRun;
  const onFlow = (r: FlowRecord) => {
    const a = run.analyzer;
    const startNs = firstInstant === null ? 0 : nsBetween(firstInstant, instantOf(r.start));
    const vantage = (r as unknown as Record<symbol, number | undefined>)[VANTAGE_HOPS];
    const missed = (r as unknown as Record<symbol, number | undefined>)[CAPTURE_MISSED];
    const clientMac = clientMacOf(r);
    decided.push({
      r,
      at: a.stage === 2 ? 0 : a.packets,
      stage: a.stage,
      startNs,
      lastNs: startNs + Math.round(r.duration * 1e9),
      decidedNs: a.endT,
      keys: [],
      saved: false,
      ...(a.newConversation ? { conv: true } : {}),
      ...(vantage !== undefined ? { vantage } : {}),
      ...(missed !== undefined ? { missed } : {}),
      ...(clientMac >= 0 ? { clientMac } : {}),
    });
  };
  run = new CaptureRun(opts, {
    keep: 'none',
    onFlow,
    file: name,
    onPacket: (pkt, rec, t) => {
      if (firstInstant === null) {
        firstInstant = [rec.tsSec, rec.tsNsec];
        nextSweep = nextSweepAfter(0, rec.tsNsec);
      } else if (t >= nextSweep) {
        sweeps.push([rec.frame, t]);
        nextSweep = nextSweepAfter(t, firstInstant[1]);
      }
      lastInstant = [rec.tsSec, rec.tsNsec];
      const flows = run.analyzer.flows;
      if (flows.budget.used > flowPeak) flowPeak = flows.budget.used;
      if (flows.udpFlows !== udpSeen) {
        const key = packetKey(pkt);
        if (key !== null) udpCounts.set(key, (udpCounts.get(key) ?? 0) + flows.udpFlows - udpSeen);
        udpSeen = flows.udpFlows;
      }
      if ((pkt.l4 === L4.Udp && pkt.srcPort !== 53 && pkt.dstPort !== 53) || ((pkt.l4 === L4.Icmp4 || pkt.l4 === L4.Icmp6) && pkt.quoteVersion !== 0)) {
        const key = packetKey(pkt);
        if (key !== null && key !== ALWAYS) {
          const span = quiet.get(key);
          if (span === undefined) quiet.set(key, [t, t]);
          else span[1] = t;
        }
      }
      const hosts = run.analyzer.flows.hosts;
      let changed = false;
      for (const m of [pkt.srcMac, pkt.dstMac, pkt.arpSenderMac]) {
        if (m < 0) continue;
        const sig = macSignature(hosts.macs.get(m));
        if (macs.get(m) !== sig) {
          macs.set(m, sig);
          changed = true;
        }
      }
      if (changed) learn.push(rec.frame);
    },
  });
  for (const part of parts) {
    try {
      const source = await openCapture(part);
      try {
        await run.read(source);
      } finally {
        source.close();
      }
    } catch (e) {
      throw namingInput(part, e);
    }
  }
  const flowsAtEnd = run.analyzer.flows.budget.used;
  const checksums = run.analyzer.checksums.toJSON();
  const report = await run.finish(name);
  const endNs = firstInstant === null || lastInstant === null ? 0 : nsBetween(firstInstant, lastInstant);
  const horizon = horizonNs(opts);
  for (const d of decided) d.keys = keysOf(d.r);
  const covered = new Set(decided.map((d) => tupleKey(d.r)));
  for (const [key, [a, b]] of quiet) {
    if (covered.has(key) || (a >= horizon && b + horizon < endNs)) continue;
    decided.push({ r: { key, firstFrame: 0 } as FlowRecord, at: -1, stage: 1, startNs: a, lastNs: b, decidedNs: b, keys: [key], saved: false, loose: key });
  }
  // what must travel: the records of the head and the tail, and every record joined to them
  const comp = new Components(decided.length);
  joinChunk(decided, 0, comp, horizon);
  const seedRoots = new Set<number>();
  decided.forEach((d, i) => {
    if (isHead(d, horizon) || isTail(d, endNs, horizon) || d.keys[0] === ALWAYS) seedRoots.add(comp.find(i));
  });
  const tuples = new Set<string>();
  decided.forEach((d, i) => {
    if (seedRoots.has(comp.find(i))) {
      d.saved = true;
      tuples.add(d.loose ?? tupleKey(d.r));
    }
  });
  tuples.add(ALWAYS);
  // their packets, and those that taught what a MAC is, read again
  const out = new PcapngWriter(packetsPath(statePath));
  const savedFrames: number[] = [];
  const learnOnly: number[] = [];
  const learnSet = new Set(learn);
  const decoder = new PacketDecoder();
  const pkt = new DecodedPacket();
  try {
    await forEachRecordOfParts(parts, openCapture, (rec, names) => {
      decoder.decode(rec, pkt);
      const key = packetKey(pkt);
      const wanted = key !== null && tuples.has(key);
      if (!wanted && !learnSet.has(rec.frame)) return;
      out.packet(rec, names[rec.ifIndex], []);
      savedFrames.push(rec.frame);
      if (!wanted) learnOnly.push(rec.frame);
    });
  } finally {
    out.close();
  }
  const state: ChunkState = {
    version: STATE_VERSION,
    parts: [...parts],
    partsRead: report.input.parts ?? [{ name: parts[0], packets: report.input.packets, first: report.input.first, last: report.input.last }],
    options: { ...opts },
    packets: report.input.packets,
    bytes: report.input.bytes,
    first: firstInstant,
    last: lastInstant,
    statsEnd: run.summary.statsEnd === null ? null : [run.summary.statsEnd.tsSec, run.summary.statsEnd.tsNsec],
    formatLabel: run.summary.formatLabel,
    linkTypes: [...run.summary.linkTypes],
    sweeps,
    savedFrames,
    learnOnly,
    learn,
    records: decided.map((d) => ({ ...d, r: recordToJson(d.r) })),
    stats: report.stats,
    anomalies: report.anomalies,
    warnings: report.warnings,
    udpFlows: report.summary.udpFlows,
    udpCounts: [...udpCounts].filter(([key]) => tuples.has(key)),
    checksums,
    // a flow may be added and another forgotten at one packet: one more than seen after each
    flowPeak: flowPeak + 1,
    flowsAtEnd,
  };
  writeState(statePath, state);
  return { ...report, records: decided.filter((d) => d.loose === undefined).map((d) => d.r) };
}
