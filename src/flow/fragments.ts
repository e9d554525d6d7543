import type { Anomalies } from '../capture/damage.js';
import { CaptureRecord } from '../capture/record.js';
import type { DecodedPacket } from '../decode/packet.js';
import { IPV4, IPV4_FRAG, IPV6, IPV6_FRAG } from '../decode/fields.js';

/**
 * IPv4 and IPv6 fragment reassembly, bounded in memory and time as a Linux host bounds it
 * (net.ipv4.ipfrag_time = 30 s, ipfrag_high_thresh = 4 MB), with RFC 5722's rule for both
 * versions: fragments that overlap make the whole datagram void (an exact duplicate is only
 * counted). Only the fragment path allocates; a packet that is not a fragment never comes here.
 *
 * A completed datagram is handed back as a capture record of its own (the first fragment's link
 * header, the IP header with the fragment fields cleared, the whole payload), numbered and
 * stamped as the fragment that completed it, as Wireshark's "Reassembled in" frame.
 */

/** A datagram whose fragments do not all arrive within this much capture time is given up (Linux's ipfrag_time). */
export const FRAG_TIMEOUT_NS = 30e9;
/** Datagrams in reassembly at once; past it the oldest is given up. */
export const FRAG_MAX_DATAGRAMS = 1024;
/** Fragment payload bytes held at once (Linux's ipfrag_high_thresh); past it the oldest datagrams are given up. */
export const FRAG_MAX_BYTES = 4 * 1024 * 1024;
/** Fragments of one datagram; more is an attack (a 64 KB datagram in 8-byte pieces), and the datagram is given up. */
export const FRAG_MAX_PIECES = 128;
/** The largest IP payload a datagram can carry. */
const MAX_DATAGRAM = 65535;

/** Why a datagram was not reassembled. */
export type FragFailure = 'missing' | 'overlap' | 'too-big' | 'too-many' | 'evicted';

class Piece {
  constructor(
    /** Offset and end of this fragment's bytes in the datagram's payload. */
    readonly off: number,
    readonly end: number,
    readonly data: Buffer,
  ) {}
}

/** Fragments missing from a datagram, as fragment numbers counted from 1. */
export interface FragmentsMissing {
  /** The fragments that never arrived: first and last number of each run. */
  runs: [number, number][];
  /** How many fragments the datagram had, or null when its last fragment never arrived. */
  of: number | null;
  /** Frames of the fragments that did arrive. */
  frames: number[];
}

/** One datagram in reassembly (or given up). */
export class FragDatagram {
  readonly pieces: Piece[] = [];
  readonly frames: number[] = [];
  /** Payload length, known once the last fragment (more-fragments clear) arrived; -1 before. */
  total = -1;
  /** The first fragment's link header and IP header (IPv6: the fixed header), and its link type. */
  head: Buffer | null = null;
  linkLen = 0;
  linkType = 0;
  /** Upper-layer protocol (IPv6: the fragment header's next header, from any fragment). */
  proto = -1;
  held = 0;
  /** Set when given up. */
  failure: FragFailure | null = null;
  done = false;

  constructor(
    readonly key: string,
    readonly version: number,
    /** Capture time of the first fragment seen (the timeout runs from it). */
    readonly firstT: number,
  ) {}

  /** The fragments that never arrived, judging sizes from the first one (senders cut every fragment but the last to one size). */
  missing(): FragmentsMissing {
    const ps = this.pieces;
    const size = ps.length > 0 ? Math.max(8, ps[0].off === 0 ? ps[0].end : Math.max(...ps.map((p) => p.end - p.off))) : 8;
    const runs: [number, number][] = [];
    let at = 0;
    const gap = (from: number, to: number) => {
      if (to <= from) return;
      const a = Math.floor(from / size) + 1;
      const b = Math.max(a, Math.ceil(to / size));
      runs.push([a, b]);
    };
    for (const p of ps) {
      gap(at, p.off);
      if (p.end > at) at = p.end;
    }
    let of: number | null = null;
    if (this.total >= 0) {
      gap(at, this.total);
      of = Math.max(1, Math.ceil(this.total / size));
    } else runs.push([Math.floor(at / size) + 1, Math.floor(at / size) + 1]);
    return { runs, of, frames: this.frames.slice() };
  }
}

/** What the reassembler counted, for the report's stats. */
export interface FragCounts {
  fragments: number;
  reassembled: number;
  incomplete: number;
}

/**
 * The reassembly table. `add` takes each fragment (pkt.fragmented set) with its record and
 * returns the reassembled datagram's record when the fragment completed one, else null.
 * `expire(t)` gives up datagrams past the timeout; `finish()` those still open at the end.
 */
export class FragmentReassembler {
  private readonly open = new Map<string, FragDatagram>();
  private heldBytes = 0;
  /** Capture time at which the oldest open datagram times out (Infinity when none is open). */
  nextExpiry = Infinity;
  readonly counts: FragCounts = { fragments: 0, reassembled: 0, incomplete: 0 };
  /** The record handed back for a completed datagram (reused; valid until the next add). */
  private readonly out = new CaptureRecord();

  constructor(private readonly anomalies: Anomalies | null = null) {}

  get pending(): number {
    return this.open.size;
  }

  /** Whether `pkt`, a fragment, can be reassembled: captured whole (not cut by the snap length), not inside a tunnel. */
  static takes(pkt: DecodedPacket): boolean {
    return pkt.ipEnd === pkt.ipWireEnd && pkt.tunnel === 0 && pkt.tunnelVersion === 0;
  }

  /**
   * One fragment (decoded in `pkt`; `takes(pkt)` holds) of record `rec` at capture time `t`.
   * Returns the completed datagram's record, or null; `lastDatagram` is the datagram it joined.
   */
  add(pkt: DecodedPacket, rec: CaptureRecord, t: number): CaptureRecord | null {
    this.counts.fragments++;
    this.lastDatagram = null;
    const u8 = rec.data;
    const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    let id: number, off: number, more: boolean, start: number, proto: number;
    if (pkt.ipVersion === 4) {
      const w = dv.getUint16(pkt.ipOff + IPV4.FRAG);
      id = pkt.ipId;
      off = (w & IPV4_FRAG.OFFSET_MASK) * 8;
      more = (w & IPV4_FRAG.MF) !== 0;
      start = pkt.ipOff + (u8[pkt.ipOff + IPV4.VER_IHL] & 0x0f) * 4;
      proto = pkt.ipProto;
    } else {
      const fh = pkt.fragHdrOff;
      const w = dv.getUint16(fh + IPV6_FRAG.OFFSET_FLAGS);
      id = dv.getUint32(fh + IPV6_FRAG.ID);
      off = w & IPV6_FRAG.OFFSET_MASK;
      more = (w & IPV6_FRAG.MF) !== 0;
      start = fh + IPV6_FRAG.LEN;
      proto = u8[fh + IPV6_FRAG.NEXT_HDR];
    }
    const len = pkt.ipEnd - start;
    if (more && len % 8 !== 0) {
      this.anomalies?.add('ip_fragment_malformed', `frame ${rec.frame}: a fragment other than the last is ${len} bytes, not a multiple of 8`);
      return null;
    }
    const s = pkt.src;
    const d = pkt.dst;
    // RFC 791: source, destination, protocol and id; RFC 8200: source, destination and id
    const key = `${pkt.ipVersion}|${pkt.ipVersion === 4 ? proto : ''}|${id}|${s[0]},${s[1]},${s[2]},${s[3]}|${d[0]},${d[1]},${d[2]},${d[3]}`;
    let g = this.open.get(key);
    if (g === undefined) {
      this.makeRoom(len);
      g = new FragDatagram(key, pkt.ipVersion, t);
      this.open.set(key, g);
      if (this.open.size === 1) this.nextExpiry = t + FRAG_TIMEOUT_NS;
    }
    this.lastDatagram = g;
    g.frames.push(rec.frame);
    if (g.failure !== null) return null; // given up (overlap): its later fragments are absorbed until it times out
    g.proto = proto;
    const end = off + len;
    if (end > MAX_DATAGRAM - (pkt.ipVersion === 4 ? start - pkt.ipOff : 0)) return this.giveUp(g, 'too-big', rec.frame);
    if (!more) {
      if ((g.total >= 0 && g.total !== end) || g.pieces.some((p) => p.end > end)) return this.giveUp(g, 'overlap', rec.frame);
      g.total = end;
    } else if (g.total >= 0 && end > g.total) return this.giveUp(g, 'overlap', rec.frame);
    // RFC 5722: any overlap voids the datagram; an exact duplicate is only counted
    let at = g.pieces.length;
    for (let i = 0; i < g.pieces.length; i++) {
      const p = g.pieces[i];
      if (p.off === off && p.end === end && u8.subarray(start, start + len).equals(p.data)) return null;
      if (off < p.end && p.off < end) return this.giveUp(g, 'overlap', rec.frame);
      if (p.off > off && at === g.pieces.length) at = i;
    }
    if (g.pieces.length >= FRAG_MAX_PIECES) return this.giveUp(g, 'too-many', rec.frame);
    g.pieces.splice(at, 0, new Piece(off, end, Buffer.from(u8.subarray(start, start + len))));
    g.held += len;
    this.heldBytes += len;
    if (off === 0) {
      // the link header and IP header to rebuild the datagram with (IPv6: the fixed header only,
      // the unfragmentable extension headers are dropped: nothing after reads them)
      const ipHdrEnd = pkt.ipVersion === 4 ? start : pkt.ipOff + IPV6.LEN;
      g.head = Buffer.from(u8.subarray(rec.off, ipHdrEnd));
      g.linkLen = pkt.ipOff - rec.off;
      g.linkType = rec.linkType;
    }
    if (g.total < 0 || g.head === null) return null;
    let covered = 0;
    for (const p of g.pieces) {
      if (p.off > covered) return null;
      covered = p.end;
    }
    if (covered !== g.total) return null;
    return this.complete(g, rec);
  }

  /** The datagram the last `add` put its fragment in (null when it kept none). */
  lastDatagram: FragDatagram | null = null;

  private complete(g: FragDatagram, rec: CaptureRecord): CaptureRecord {
    const head = g.head as Buffer;
    const ipLen = head.length - g.linkLen;
    const buf = Buffer.alloc(head.length + g.total);
    head.copy(buf, 0);
    for (const p of g.pieces) p.data.copy(buf, head.length + p.off);
    const ip = g.linkLen;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (g.version === 4) {
      dv.setUint16(ip + IPV4.TOTAL_LEN, ipLen + g.total);
      dv.setUint16(ip + IPV4.FRAG, dv.getUint16(ip + IPV4.FRAG) & (1 << IPV4_FRAG.DF_SHIFT));
      dv.setUint16(ip + IPV4.CSUM, 0);
      let sum = 0;
      for (let i = 0; i < ipLen; i += 2) sum += dv.getUint16(ip + i);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      dv.setUint16(ip + IPV4.CSUM, ~sum & 0xffff);
    } else {
      dv.setUint16(ip + IPV6.PAYLOAD_LEN, g.total);
      buf[ip + IPV6.NEXT_HDR] = g.proto;
    }
    this.release(g);
    g.done = true;
    this.counts.reassembled++;
    const out = this.out;
    out.frame = rec.frame;
    out.tsSec = rec.tsSec;
    out.tsNsec = rec.tsNsec;
    out.capLen = out.origLen = buf.length;
    out.linkType = g.linkType;
    out.ifIndex = rec.ifIndex;
    out.data = buf;
    out.off = 0;
    out.end = buf.length;
    return out;
  }

  private giveUp(g: FragDatagram, why: FragFailure, frame: number): null {
    if (why !== 'evicted') {
      const what = why === 'overlap' ? 'ip_fragment_overlap' : why === 'too-big' ? 'ip_fragment_too_big' : 'ip_fragments_too_many';
      this.anomalies?.add(what, `frame ${frame}`);
    }
    g.failure = why;
    this.heldBytes -= g.held;
    g.held = 0;
    g.pieces.length = 0;
    g.head = null;
    return null;
  }

  /** Gives up the oldest datagrams until one more of `len` bytes fits the bounds. */
  private makeRoom(len: number): void {
    for (const g of this.open.values()) {
      if (this.open.size < FRAG_MAX_DATAGRAMS && this.heldBytes + len <= FRAG_MAX_BYTES) return;
      if (g.failure === null) {
        this.anomalies?.add('ip_fragments_evicted', `${FRAG_MAX_DATAGRAMS} datagrams or ${FRAG_MAX_BYTES} bytes in reassembly at once; the oldest given up`);
        this.giveUp(g, 'evicted', g.frames[g.frames.length - 1]);
      }
      this.end(g);
    }
  }

  private release(g: FragDatagram): void {
    this.heldBytes -= g.held;
    g.held = 0;
    this.open.delete(g.key);
    this.resetExpiry();
  }

  /** A datagram leaves the table unfinished: counted incomplete. */
  private end(g: FragDatagram): void {
    if (g.failure === null) g.failure = 'missing';
    this.counts.incomplete++;
    this.release(g);
  }

  private resetExpiry(): void {
    const first = this.open.values().next();
    this.nextExpiry = first.done ? Infinity : first.value.firstT + FRAG_TIMEOUT_NS;
  }

  /** Gives up the datagrams whose first fragment is FRAG_TIMEOUT_NS old at capture time `t`. */
  expire(t: number): void {
    // the table is in order of first fragment: the oldest first
    for (const g of this.open.values()) {
      if (g.firstT + FRAG_TIMEOUT_NS > t) break;
      this.end(g);
    }
    this.resetExpiry();
  }

  /** The end of the capture: the datagrams still in reassembly never completed. */
  finish(): void {
    for (const g of this.open.values()) this.end(g);
    this.nextExpiry = Infinity;
  }
}
