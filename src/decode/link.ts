import { DecodedPacket, DecodeStatus } from './packet.js';
import { LINKTYPE } from '../capture/linktypes.js';

export const ETHERTYPE = { IPV4: 0x0800, ARP: 0x0806, VLAN: 0x8100, QINQ: 0x88a8, QINQ_OLD: 0x9100, IPV6: 0x86dd } as const;

/** More tags than this is damage (or an attack), not a network. */
export const MAX_VLAN_TAGS = 8;

/** Result of link decoding: the ethertype of the network layer and where it starts. */
export class LinkResult {
  etherType = 0;
  off = 0;
}

export function readMac(u8: Uint8Array, o: number): number {
  return ((u8[o] << 8) | u8[o + 1]) * 4294967296 + (((u8[o + 2] << 24) | (u8[o + 3] << 16) | (u8[o + 4] << 8) | u8[o + 5]) >>> 0);
}

/**
 * Decodes the link layer of `linkType` in u8[off..end). Returns a DecodeStatus; on Ok,
 * `out` holds the ethertype (0x0800/0x86dd for raw IP links) and the network-layer offset.
 */
export function decodeLink(linkType: number, pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number, out: LinkResult): number {
  switch (linkType) {
    case LINKTYPE.ETHERNET:
      return decodeEthernet(pkt, dv, u8, off, end, out);
    case LINKTYPE.LINUX_SLL: {
      if (end - off < 16) return DecodeStatus.Truncated;
      const addrLen = dv.getUint16(off + 4);
      if (dv.getUint16(off + 2) === 1 && addrLen === 6) pkt.srcMac = readMac(u8, off + 6);
      else if (addrLen > 8) pkt.anomaly = 'sll_address_too_long';
      return etherOrVlan(pkt, dv, off + 16, end, dv.getUint16(off + 14), out);
    }
    case LINKTYPE.LINUX_SLL2: {
      if (end - off < 20) return DecodeStatus.Truncated;
      const addrLen = u8[off + 11];
      if (dv.getUint16(off + 8) === 1 && addrLen === 6) pkt.srcMac = readMac(u8, off + 12);
      else if (addrLen > 8) pkt.anomaly = 'sll_address_too_long';
      return etherOrVlan(pkt, dv, off + 20, end, dv.getUint16(off), out);
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (end - off < 4) return DecodeStatus.Truncated;
      // NULL is in the capturing host's byte order, LOOP in network order: accept either.
      const be = dv.getUint32(off);
      const af = be < 256 ? be : dv.getUint32(off, true);
      out.off = off + 4;
      if (af === 2) out.etherType = ETHERTYPE.IPV4;
      else if (af === 10 || af === 24 || af === 28 || af === 30) out.etherType = ETHERTYPE.IPV6;
      else return DecodeStatus.Unsupported;
      return DecodeStatus.Ok;
    }
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_BSD:
    case LINKTYPE.RAW_OPENBSD: {
      if (end - off < 1) return DecodeStatus.Truncated;
      const v = u8[off] >> 4;
      out.off = off;
      if (v === 4) out.etherType = ETHERTYPE.IPV4;
      else if (v === 6) out.etherType = ETHERTYPE.IPV6;
      else return DecodeStatus.Malformed;
      return DecodeStatus.Ok;
    }
    case LINKTYPE.PPP:
    case LINKTYPE.PPP_HDLC: {
      // [address 0xff, control 0x03,] protocol (one byte when compressed: odd)
      if (end - off >= 2 && u8[off] === 0xff && u8[off + 1] === 0x03) off += 2;
      if (end - off < 1) return DecodeStatus.Truncated;
      let proto = u8[off];
      if ((proto & 1) === 0) {
        if (end - off < 2) return DecodeStatus.Truncated;
        proto = dv.getUint16(off);
        off += 2;
      } else off += 1;
      return pppProtocol(proto, off, out);
    }
    case LINKTYPE.PPP_ETHER: // a PPPoE session header with no Ethernet before it
      if (end - off < 8) return DecodeStatus.Truncated;
      return pppProtocol(dv.getUint16(off + 6), off + 8, out);
    case LINKTYPE.C_HDLC: // address, control, then an ethertype
      if (end - off < 4) return DecodeStatus.Truncated;
      return etherOrVlan(pkt, dv, off + 4, end, dv.getUint16(off + 2), out);
    case LINKTYPE.IPV4:
      out.off = off;
      out.etherType = ETHERTYPE.IPV4;
      return DecodeStatus.Ok;
    case LINKTYPE.IPV6:
      out.off = off;
      out.etherType = ETHERTYPE.IPV6;
      return DecodeStatus.Ok;
    default:
      return DecodeStatus.Unsupported;
  }
}

/** PPP protocol numbers: IPv4 (0x21), IPv6 (0x57) and MPLS (0x281); anything else (LCP, IPCP…) is not IP. */
function pppProtocol(proto: number, off: number, out: LinkResult): number {
  out.off = off;
  if (proto === 0x0021) out.etherType = ETHERTYPE.IPV4;
  else if (proto === 0x0057) out.etherType = ETHERTYPE.IPV6;
  else if (proto === 0x0281) out.etherType = 0x8847; // MPLS unicast: the label stack is unwrapped next
  else return DecodeStatus.Unsupported;
  return DecodeStatus.Ok;
}

function decodeEthernet(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number, out: LinkResult): number {
  if (end - off < 14) return DecodeStatus.Truncated;
  pkt.dstMac = readMac(u8, off);
  pkt.srcMac = readMac(u8, off + 6);
  return etherOrVlan(pkt, dv, off + 14, end, dv.getUint16(off + 12), out);
}

/** Follows 802.1Q / 802.1ad tags from an ethertype at `off`. */
function etherOrVlan(pkt: DecodedPacket, dv: DataView, off: number, end: number, type: number, out: LinkResult): number {
  while (type === ETHERTYPE.VLAN || type === ETHERTYPE.QINQ || type === ETHERTYPE.QINQ_OLD) {
    if (end - off < 4) return DecodeStatus.Truncated;
    if (pkt.vlanDepth === MAX_VLAN_TAGS) {
      pkt.anomaly = 'vlan_too_deep';
      return DecodeStatus.Malformed;
    }
    if (pkt.vlanDepth === 0) pkt.outerVlan = dv.getUint16(off) & 0x0fff;
    pkt.vlanDepth++;
    type = dv.getUint16(off + 2);
    off += 4;
  }
  out.etherType = type;
  out.off = off;
  return DecodeStatus.Ok;
}
