import { DecodedPacket, DecodeStatus } from './packet.js';
import { onesSum } from './checksum.js';
import { IPPROTO } from './enums.js';
import { IPV4, IPV4_FRAG, IPV6, IPV6_EXT, IPV6_FRAG } from './fields.js';

/** IPv6 extension headers walked before giving up (RFC 8200 allows few; more is an attack). */
const MAX_EXT_HEADERS = 16;

/** What walkIpv6Extensions found besides the upper-layer offset it returns (one reused object per caller). */
export class Ipv6Upper {
  /** The upper-layer protocol (the last next-header value). */
  proto = 0;
  /** 1 when a fragment header with a non-zero offset was met: no upper-layer header follows. */
  fragment = 0;
  /** Offset of a fragment header that makes this packet a fragment (offset or M flag set), else -1. */
  fragHdr = -1;
}

/**
 * IPv4 at u8[off..end). Fills addresses, TTL, protocol and the payload bounds, trimming
 * Ethernet padding by the total length. Non-first fragments set `fragment`.
 */
export function decodeIpv4(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number): number {
  if (end - off < IPV4.MIN_LEN) return DecodeStatus.Truncated;
  const vihl = u8[off + IPV4.VER_IHL];
  if (vihl >> 4 !== 4) {
    pkt.anomaly = 'bad_ip_version';
    return DecodeStatus.Malformed;
  }
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < IPV4.MIN_LEN) {
    pkt.anomaly = 'bad_ipv4_header_length';
    return DecodeStatus.Malformed;
  }
  if (end - off < ihl) return DecodeStatus.Truncated;
  let total = dv.getUint16(off + IPV4.TOTAL_LEN);
  if (total === 0)
    total = end - off; // TCP segmentation offload: the length is filled in by the NIC
  else if (total < ihl) {
    pkt.anomaly = 'bad_ipv4_total_length';
    return DecodeStatus.Malformed;
  }
  pkt.ipVersion = 4;
  pkt.ipOff = off;
  pkt.ipWireEnd = off + total;
  pkt.ipEnd = off + total < end ? off + total : end;
  pkt.ttl = u8[off + IPV4.TTL];
  pkt.ipProto = u8[off + IPV4.PROTO];
  pkt.ipId = dv.getUint16(off + IPV4.ID);
  const frag = dv.getUint16(off + IPV4.FRAG);
  pkt.dontFragment = (frag >> IPV4_FRAG.DF_SHIFT) & 1;
  pkt.fragment = (frag & IPV4_FRAG.OFFSET_MASK) !== 0 ? 1 : 0;
  pkt.fragmented = (frag & (IPV4_FRAG.OFFSET_MASK | IPV4_FRAG.MF)) !== 0 ? 1 : 0;
  pkt.src[0] = dv.getUint32(off + IPV4.SRC);
  pkt.dst[0] = dv.getUint32(off + IPV4.DST);
  pkt.src[1] = pkt.src[2] = pkt.src[3] = 0;
  pkt.dst[1] = pkt.dst[2] = pkt.dst[3] = 0;
  if (onesSum(dv, u8, off, off + ihl, 0) !== 0xffff) pkt.badChecksum |= 1;
  pkt.l4Off = off + ihl;
  return DecodeStatus.Ok;
}

/** IPv6 at u8[off..end), walking extension headers to the upper-layer protocol (`upper` is scratch). */
export function decodeIpv6(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number, upper: Ipv6Upper): number {
  if (end - off < IPV6.LEN) return DecodeStatus.Truncated;
  if (u8[off + IPV6.VER_TC_FLOW] >> 4 !== 6) {
    pkt.anomaly = 'bad_ip_version';
    return DecodeStatus.Malformed;
  }
  let plen = dv.getUint16(off + IPV6.PAYLOAD_LEN);
  if (plen === 0) plen = end - off - IPV6.LEN; // jumbogram or offload
  pkt.ipVersion = 6;
  pkt.ipOff = off;
  pkt.ipWireEnd = off + IPV6.LEN + plen;
  pkt.ipEnd = pkt.ipWireEnd < end ? pkt.ipWireEnd : end;
  pkt.ttl = u8[off + IPV6.HOP_LIMIT];
  for (let i = 0; i < 4; i++) {
    pkt.src[i] = dv.getUint32(off + IPV6.SRC + 4 * i);
    pkt.dst[i] = dv.getUint32(off + IPV6.DST + 4 * i);
  }
  const r = walkIpv6Extensions(dv, u8, off + IPV6.LEN, pkt.ipEnd, u8[off + IPV6.NEXT_HDR], upper);
  if (r < 0) {
    if (r === -DecodeStatus.Malformed) pkt.anomaly = 'bad_ipv6_extension_header';
    return -r;
  }
  pkt.ipProto = upper.proto;
  pkt.fragment = upper.fragment;
  if (upper.fragHdr >= 0) {
    pkt.fragmented = 1;
    pkt.fragHdrOff = upper.fragHdr;
  }
  pkt.l4Off = r;
  return DecodeStatus.Ok;
}

/**
 * Walks IPv6 extension headers in u8[off..end), the first one being next-header `nh`. Returns
 * the offset of the upper-layer header and fills `out` (its protocol; whether a non-first
 * fragment stopped the walk), or returns a negative DecodeStatus and leaves `out` unspecified.
 */
export function walkIpv6Extensions(dv: DataView, u8: Uint8Array, off: number, end: number, nh: number, out: Ipv6Upper): number {
  out.fragHdr = -1;
  for (let i = 0; i < MAX_EXT_HEADERS; i++) {
    switch (nh) {
      case IPPROTO.HOPOPTS:
      case IPPROTO.ROUTING:
      case IPPROTO.DSTOPTS:
      case IPPROTO.MOBILITY:
      case IPPROTO.HIP:
      case IPPROTO.SHIM6: {
        if (end - off < IPV6_EXT.MIN_LEN) return -DecodeStatus.Truncated;
        const len = (u8[off + IPV6_EXT.LEN] + 1) * 8;
        nh = u8[off + IPV6_EXT.NEXT_HDR];
        off += len;
        if (off > end) return -DecodeStatus.Truncated;
        break;
      }
      case IPPROTO.AH: {
        if (end - off < IPV6_EXT.MIN_LEN) return -DecodeStatus.Truncated;
        const len = (u8[off + IPV6_EXT.LEN] + 2) * 4;
        nh = u8[off + IPV6_EXT.NEXT_HDR];
        off += len;
        if (off > end) return -DecodeStatus.Truncated;
        break;
      }
      case IPPROTO.FRAGMENT: {
        if (end - off < IPV6_FRAG.LEN) return -DecodeStatus.Truncated;
        nh = u8[off + IPV6_FRAG.NEXT_HDR];
        const w = dv.getUint16(off + IPV6_FRAG.OFFSET_FLAGS);
        // an atomic fragment (offset 0, no more: RFC 6946) is a whole datagram
        if ((w & (IPV6_FRAG.OFFSET_MASK | IPV6_FRAG.MF)) !== 0) out.fragHdr = off;
        if ((w & IPV6_FRAG.OFFSET_MASK) !== 0) {
          out.fragment = 1;
          out.proto = nh;
          return off + IPV6_FRAG.LEN;
        }
        off += IPV6_FRAG.LEN;
        break;
      }
      default:
        out.fragment = 0;
        out.proto = nh;
        return off;
    }
  }
  return -DecodeStatus.Malformed;
}
