import { DecodedPacket, DecodeStatus } from './packet.js';
import { onesSum } from './checksum.js';

export const IPPROTO = { HOPOPTS: 0, ICMP: 1, TCP: 6, UDP: 17, ROUTING: 43, FRAGMENT: 44, ESP: 50, AH: 51, ICMPV6: 58, NONE: 59, DSTOPTS: 60, MOBILITY: 135, HIP: 139, SHIM6: 140 } as const;

/** IPv6 extension headers walked before giving up (RFC 8200 allows few; more is an attack). */
const MAX_EXT_HEADERS = 16;

/**
 * IPv4 at u8[off..end). Fills addresses, TTL, protocol and the payload bounds, trimming
 * Ethernet padding by the total length. Non-first fragments set `fragment`.
 */
export function decodeIpv4(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number): number {
  if (end - off < 20) return DecodeStatus.Truncated;
  const vihl = u8[off];
  if (vihl >> 4 !== 4) {
    pkt.anomaly = 'bad_ip_version';
    return DecodeStatus.Malformed;
  }
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) {
    pkt.anomaly = 'bad_ipv4_header_length';
    return DecodeStatus.Malformed;
  }
  if (end - off < ihl) return DecodeStatus.Truncated;
  let total = dv.getUint16(off + 2);
  if (total === 0) total = end - off; // TCP segmentation offload: the length is filled in by the NIC
  else if (total < ihl) {
    pkt.anomaly = 'bad_ipv4_total_length';
    return DecodeStatus.Malformed;
  }
  pkt.ipVersion = 4;
  pkt.ipOff = off;
  pkt.ipWireEnd = off + total;
  pkt.ipEnd = off + total < end ? off + total : end;
  pkt.ttl = u8[off + 8];
  pkt.ipProto = u8[off + 9];
  pkt.ipId = dv.getUint16(off + 4);
  const frag = dv.getUint16(off + 6);
  pkt.dontFragment = (frag >> 14) & 1;
  pkt.fragment = (frag & 0x1fff) !== 0 ? 1 : 0;
  pkt.src[0] = dv.getUint32(off + 12);
  pkt.dst[0] = dv.getUint32(off + 16);
  pkt.src[1] = pkt.src[2] = pkt.src[3] = 0;
  pkt.dst[1] = pkt.dst[2] = pkt.dst[3] = 0;
  if (onesSum(dv, u8, off, off + ihl, 0) !== 0xffff) pkt.badChecksum |= 1;
  pkt.l4Off = off + ihl;
  return DecodeStatus.Ok;
}

/** IPv6 at u8[off..end), walking extension headers to the upper-layer protocol. */
export function decodeIpv6(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number): number {
  if (end - off < 40) return DecodeStatus.Truncated;
  if (u8[off] >> 4 !== 6) {
    pkt.anomaly = 'bad_ip_version';
    return DecodeStatus.Malformed;
  }
  let plen = dv.getUint16(off + 4);
  if (plen === 0) plen = end - off - 40; // jumbogram or offload
  pkt.ipVersion = 6;
  pkt.ipOff = off;
  pkt.ipWireEnd = off + 40 + plen;
  pkt.ipEnd = pkt.ipWireEnd < end ? pkt.ipWireEnd : end;
  pkt.ttl = u8[off + 7];
  for (let i = 0; i < 4; i++) {
    pkt.src[i] = dv.getUint32(off + 8 + 4 * i);
    pkt.dst[i] = dv.getUint32(off + 24 + 4 * i);
  }
  const r = walkIpv6Extensions(dv, u8, off + 40, pkt.ipEnd, u8[off + 6]);
  if (r < 0) {
    if (r === -DecodeStatus.Malformed) pkt.anomaly = 'bad_ipv6_extension_header';
    return -r;
  }
  pkt.ipProto = extProto;
  pkt.fragment = extFragment;
  pkt.l4Off = r;
  return DecodeStatus.Ok;
}

let extProto = 0;
let extFragment = 0;

/** Upper-layer protocol found by the last walkIpv6Extensions call. */
export function lastExtProto(): number {
  return extProto;
}

/**
 * Walks IPv6 extension headers starting at `off` with next-header `nh`. Returns the offset of
 * the upper-layer header (protocol left in `extProto`, non-first fragment in `extFragment`),
 * or a negative DecodeStatus.
 */
export function walkIpv6Extensions(dv: DataView, u8: Uint8Array, off: number, end: number, nh: number): number {
  extFragment = 0;
  for (let i = 0; i < MAX_EXT_HEADERS; i++) {
    switch (nh) {
      case IPPROTO.HOPOPTS:
      case IPPROTO.ROUTING:
      case IPPROTO.DSTOPTS:
      case IPPROTO.MOBILITY:
      case IPPROTO.HIP:
      case IPPROTO.SHIM6: {
        if (end - off < 8) return -DecodeStatus.Truncated;
        const len = (u8[off + 1] + 1) * 8;
        nh = u8[off];
        off += len;
        if (off > end) return -DecodeStatus.Truncated;
        break;
      }
      case IPPROTO.AH: {
        if (end - off < 8) return -DecodeStatus.Truncated;
        const len = (u8[off + 1] + 2) * 4;
        nh = u8[off];
        off += len;
        if (off > end) return -DecodeStatus.Truncated;
        break;
      }
      case IPPROTO.FRAGMENT: {
        if (end - off < 8) return -DecodeStatus.Truncated;
        nh = u8[off];
        if ((dv.getUint16(off + 2) & 0xfff8) !== 0) {
          extFragment = 1;
          extProto = nh;
          return off + 8;
        }
        off += 8;
        break;
      }
      default:
        extProto = nh;
        return off;
    }
  }
  return -DecodeStatus.Malformed;
}
