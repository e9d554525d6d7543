import type { CaptureRecord } from '../capture/record.js';
import { L4, type DecodedPacket } from '../decode/packet.js';
import { formatEndpoint, hostOf } from '../flow/addr.js';

/**
 * What the correlation of several vantage points (correlate.ts) needs of one packet: enough to
 * find the same packet in another capture, before or after a NAT (no addresses or ports in the
 * fingerprint: TCP sequence and acknowledgement numbers, flags, payload length and a hash of the
 * payload's first bytes, the IP ID; for UDP the payload hash, which covers a DNS message's id and
 * question), and when and where it was seen.
 */
export interface PacketSummary {
  frame: number;
  /** Capture time, ns since the capture's first packet (as records' `t`, in ns). */
  t: number;
  /** 6 or 17. */
  proto: number;
  src: string;
  dst: string;
  flags: number;
  seq: number;
  ack: number;
  len: number;
  ipId: number;
  ttl: number;
  /** FNV-1a of the first PAYLOAD_HASH_BYTES of the payload (0 when none). */
  hash: number;
}

/** Bytes of payload hashed: enough to tell segments and DNS messages apart, cheap to hash. */
const PAYLOAD_HASH_BYTES = 64;
/** Packets kept per capture for matching (~150 bytes each); the rest are counted, not matched. */
export const MAX_LOGGED_PACKETS = 2_000_000;

/** The same address or endpoint string for each value seen, so a million packets share a few thousand strings. */
class Interner {
  private readonly m = new Map<string, string>();
  get(s: string): string {
    const v = this.m.get(s);
    if (v !== undefined) return v;
    this.m.set(s, s);
    return s;
  }
}

/**
 * The TCP and UDP packets of one capture, grouped by their 5-tuple (either direction), for the
 * correlation that runs after the capture's own analysis. Bounded: at most MAX_LOGGED_PACKETS.
 */
export class PacketLog {
  /** Packets by flow key (`proto lowEndpoint highEndpoint`), in capture order. */
  readonly byFlow = new Map<string, PacketSummary[]>();
  /** Addresses seen as a source or destination of a logged packet. */
  readonly hosts = new Set<string>();
  logged = 0;
  /** Packets left out once MAX_LOGGED_PACKETS were logged. */
  dropped = 0;
  /** Absolute time of the capture's first packet (the origin of `t`): seconds and ns. */
  baseSec = -1;
  baseNsec = 0;
  private readonly strings = new Interner();

  constructor(private readonly max = MAX_LOGGED_PACKETS) {}

  /** Logs one decoded packet (called after the analysis saw it; `t` is its capture time). */
  note(pkt: DecodedPacket, rec: CaptureRecord, t: number): void {
    if (this.baseSec < 0) {
      // t of the first packet is 0: the capture's origin
      this.baseSec = rec.tsSec;
      this.baseNsec = rec.tsNsec - t;
    }
    if ((pkt.l4 !== L4.Tcp && pkt.l4 !== L4.Udp) || pkt.ipVersion === 0 || pkt.fragment !== 0 || pkt.tunnel !== 0) return;
    if (this.logged >= this.max) {
      this.dropped++;
      return;
    }
    this.logged++;
    const src = this.strings.get(formatEndpoint(pkt.ipVersion, pkt.src, pkt.srcPort));
    const dst = this.strings.get(formatEndpoint(pkt.ipVersion, pkt.dst, pkt.dstPort));
    const proto = pkt.l4 === L4.Tcp ? 6 : 17;
    const key = this.strings.get(src < dst ? `${proto} ${src} ${dst}` : `${proto} ${dst} ${src}`);
    let list = this.byFlow.get(key);
    if (list === undefined) {
      this.byFlow.set(key, (list = []));
      this.hosts.add(hostOf(src));
      this.hosts.add(hostOf(dst));
    }
    list.push({
      frame: rec.frame,
      t,
      proto,
      src,
      dst,
      flags: proto === 6 ? pkt.tcpFlags : 0,
      seq: proto === 6 ? pkt.seq >>> 0 : 0,
      ack: proto === 6 ? pkt.ack >>> 0 : 0,
      len: pkt.payloadWireLen,
      ipId: pkt.ipVersion === 4 ? pkt.ipId : 0,
      ttl: pkt.ttl,
      hash: payloadHash(rec.data, pkt.payloadOff, Math.min(pkt.payloadLen, PAYLOAD_HASH_BYTES)),
    });
  }

  /** The packets of a flow between two endpoints (either direction), between capture times from and until (ns). */
  packetsOf(proto: number, a: string, b: string, from: number, until: number): PacketSummary[] {
    const list = this.byFlow.get(a < b ? `${proto} ${a} ${b}` : `${proto} ${b} ${a}`);
    if (list === undefined) return [];
    const out: PacketSummary[] = [];
    for (const p of list) if (p.t >= from && p.t <= until) out.push(p);
    return out;
  }
}

/** 32-bit FNV-1a over data[off, off+len). */
export function payloadHash(data: Uint8Array, off: number, len: number): number {
  if (len <= 0) return 0;
  let h = 0x811c9dc5;
  for (let i = off; i < off + len; i++) h = Math.imul(h ^ data[i], 0x01000193);
  return h >>> 0;
}
