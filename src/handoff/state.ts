import { readFileSync, writeFileSync } from 'node:fs';
import { InputError } from '../errors.js';
import { formatAddr, formatEndpoint, hostOf } from '../flow/addr.js';
import { L4, type DecodedPacket } from '../decode/packet.js';
import { ICMP6 } from '../decode/enums.js';
import { STORY } from '../verdict/facts.js';
import type { FlowRecord } from '../verdict/types.js';
import type { ChecksumCounts } from '../report/checksums.js';

/**
 * The state a process hands on when a rotated set is split across processes (src/handoff/): its
 * chunk's records, each with when and how it was decided and what it shares with other flows,
 * and, in a pcapng file beside it, the packets of every flow whose record may depend on what came
 * before the chunk or on what comes after it. `pcapdiag merge` reads the states in order.
 */
export const STATE_VERSION = 2;

/** A timestamp: whole seconds since the epoch and nanoseconds within the second. */
export type Instant = [sec: number, nsec: number];

/** One decided record of a chunk. */
export interface StateRecord {
  /** The record as the chunk's own analysis wrote it (frames and `t` counted within the chunk), with its story. */
  r: FlowRecord & { story?: unknown };
  /** Frame (within the chunk) of the packet being read when it was decided; 0 at the chunk's end. */
  at: number;
  /** Analyzer.stage when it was decided. */
  stage: number;
  /** Capture times, ns since the chunk's first packet: its first and last packets, and when it was decided. */
  startNs: number;
  lastNs: number;
  decidedNs: number;
  /** What it shares with other flows (keysOf). */
  keys: string[];
  /** Its packets are in the state's pcapng. */
  saved: boolean;
  /** A TCP record that began a new conversation (its 4-tuple's first, or one reused after it closed). */
  conv?: boolean;
  /** What its connection told about where the capture was taken (verdict/vantage.ts noteVantage's code). */
  vantage?: number;
  /** TCP bytes of its connection acknowledged but never captured (lifecycle.ts CAPTURE_MISSED). */
  missed?: number;
  /** The source MAC of its client's packets (related/ends.ts CLIENT_MAC). */
  clientMac?: number;
  /**
   * Not a record: packets of a flow the chunk decided nothing about (a UDP flow with no ICMP error
   * yet, an ICMP error about a flow it never saw) near its start or end, by their tuple key.
   */
  loose?: string;
}

export interface ChunkState {
  version: number;
  /** The parts this chunk read, in order, with their packets and first and last packet times. */
  parts: string[];
  partsRead: { name: string; packets: number; first: string | null; last: string | null }[];
  /** The timers the chunk was analysed with: every chunk of a set must use the same. */
  options: Record<string, number>;
  packets: number;
  bytes: number;
  /** First and last packet timestamps (null when the chunk has no packet). */
  first: Instant | null;
  last: Instant | null;
  /** A pcapng statistics block's end time, when later than the last packet. */
  statsEnd: Instant | null;
  formatLabel: string;
  linkTypes: [number, number][];
  /** Frames (within the chunk) and capture times (ns since its first packet) of the packets the analysis swept at. */
  sweeps: [frame: number, tNs: number][];
  /** Frames of the packets in the pcapng, in order, and the ones among them only there for what they teach about MACs. */
  savedFrames: number[];
  learnOnly: number[];
  /** Frames of the packets that changed what the chunk knew of a MAC (all of them in the pcapng). */
  learn: number[];
  records: StateRecord[];
  /** The chunk's report, for its stats, anomalies and warnings. */
  stats: unknown;
  anomalies: unknown;
  warnings: string[];
  udpFlows: number;
  /** UDP flows (not DNS) the chunk counted in `udpFlows`, by tuple key, for the tuples whose packets are in the pcapng. */
  udpCounts: [key: string, flows: number][];
  /** Wrong checksums and their senders, for the merged warning. */
  checksums: ChecksumCounts;
  /** Most flows tracked at once (--max-flows counts them), and how many were still tracked after the last packet. */
  flowPeak: number;
  flowsAtEnd: number;
}

/** The two ends of a flow in one order, whichever sent first. */
function canon(a: string, b: string): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

/** Records of these kinds share one key: pings (hop memory), ARP and neighbour discovery. Few, always replayed. */
export const ALWAYS = 'always';

/** The key that names a record's packets: its 5-tuple, or ALWAYS. */
export function tupleKey(r: Pick<FlowRecord, 'proto' | 'client' | 'server' | 'transport'>): string {
  if (r.proto === 'icmp' || r.proto === 'arp') return ALWAYS;
  const p = r.proto === 'dns' ? (r.transport ?? 'udp') : r.proto;
  return `${p}|${canon(r.client, r.server)}`;
}

/**
 * What a record shares with other flows, so that one's record may depend on the other's packets:
 * its packets (5-tuple: tombstones, a new attempt on the same ports, DNS ids), the server's
 * profile (TCP: TTLs and round trip over its connections), the health-check series (client host
 * → server), DNS retries (query, client, server). Records sharing a key within a chunk are
 * replayed together; see src/handoff/merge.ts for the horizons.
 */
export function keysOf(r: FlowRecord): string[] {
  const t = tupleKey(r);
  if (t === ALWAYS) return [ALWAYS];
  // a time exceeded feeds the routing-loop detector, which remembers every probe's router
  const keys = r.verdict === 'ttl-exceeded' ? [ALWAYS, t] : [t];
  if (r.proto === 'tcp') keys.push(`server|${hostOf(r.server)}`, `health|${hostOf(r.client)}>${r.server}`);
  // a lookup's verdict may hang on any other lookup near it in time: the client's search-list
  // steps and other family (dns-search-miss, dns-other-family), a resolver's upstream queries
  if (r.proto === 'dns') keys.push(`dns|${r.query ?? ''}|${r.qtype ?? ''}|${r.transport ?? ''}|${hostOf(r.client)}|${hostOf(r.server)}`, 'dns|*');
  return keys;
}

/** The tuple key of a packet (ALWAYS for pings, ICMP errors about them, ARP and ND), or null for others. */
export function packetKey(pkt: DecodedPacket): string | null {
  const v = pkt.ipVersion;
  if (v === 0) return pkt.l4 === L4.Arp ? ALWAYS : null;
  switch (pkt.l4) {
    case L4.Tcp:
      return `tcp|${canon(formatEndpoint(v, pkt.src, pkt.srcPort), formatEndpoint(v, pkt.dst, pkt.dstPort))}`;
    case L4.Udp:
      return `udp|${canon(formatEndpoint(v, pkt.src, pkt.srcPort), formatEndpoint(v, pkt.dst, pkt.dstPort))}`;
    case L4.Icmp4:
    case L4.Icmp6: {
      if (pkt.icmpId >= 0) return ALWAYS;
      if (pkt.l4 === L4.Icmp6 && (pkt.icmpType === ICMP6.NeighborSolicitation || pkt.icmpType === ICMP6.NeighborAdvertisement)) return ALWAYS;
      if (pkt.quoteVersion === 0) return null;
      const qv = pkt.quoteVersion;
      if (pkt.quoteProto === 6 || pkt.quoteProto === 17) {
        if (pkt.quoteSrcPort < 0) return null;
        return `${pkt.quoteProto === 6 ? 'tcp' : 'udp'}|${canon(formatEndpoint(qv, pkt.quoteSrc, pkt.quoteSrcPort), formatEndpoint(qv, pkt.quoteDst, pkt.quoteDstPort))}`;
      }
      return pkt.quoteEchoId >= 0 || pkt.quoteProto === 1 || pkt.quoteProto === 58 ? ALWAYS : `other|${formatAddr(qv, pkt.quoteSrc)}`;
    }
  }
  return null;
}

/** A record as JSON keeps it, with its story (a symbol key JSON leaves out) as `story`. */
export function recordToJson(r: FlowRecord): FlowRecord & { story?: unknown } {
  const story = r[STORY];
  return story === undefined ? { ...r } : { ...r, story };
}

/** The record back from JSON, its story under the symbol again. */
export function recordFromJson(j: FlowRecord & { story?: unknown }): FlowRecord {
  const { story, ...r } = j;
  const out = r;
  if (story !== undefined) (out as unknown as Record<symbol, unknown>)[STORY] = story;
  return out;
}

export function writeState(path: string, s: ChunkState): void {
  try {
    writeFileSync(path, JSON.stringify(s));
  } catch (e) {
    throw new InputError(`cannot write ${path}: ${(e as Error).message}`);
  }
}

/** The pcapng file beside a state file: `chunk1.json` → `chunk1.pcapng`. */
export function packetsPath(statePath: string): string {
  return statePath.replace(/(\.json)?$/, '.pcapng');
}

export function readState(path: string): ChunkState {
  let s: ChunkState;
  try {
    s = JSON.parse(readFileSync(path, 'utf8')) as ChunkState;
  } catch (e) {
    throw new InputError(`${path}: not a pcapdiag state file (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof s !== 'object' || s === null || s.version !== STATE_VERSION || !Array.isArray(s.records)) throw new InputError(`${path}: not a pcapdiag state file of version ${STATE_VERSION} (written by pcapdiag --state-out)`);
  return s;
}
