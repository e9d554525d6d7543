import { DecodedPacket, DecodeStatus } from './packet.js';
import { LINKTYPE } from '../capture/linktypes.js';
import { ARPHRD, BSD_AF, ETHERTYPE, PPP_HDLC_BYTE, PPP_PROTO } from './enums.js';
import { C_HDLC, ETH, NULL_HDR, PPP_HDLC, PPPOE, SLL, SLL2, VLAN_TAG } from './fields.js';

/** More tags than this is damage (or an attack), not a network. */
export const MAX_VLAN_TAGS = 8;

/** Result of link decoding: the ethertype of the network layer and where it starts. */
export class LinkResult {
  etherType = 0;
  off = 0;
}

/** The 6-byte MAC at u8[o..o+6) as a 48-bit number (the caller has checked o + 6 ≤ end). */
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
      if (end - off < SLL.LEN) return DecodeStatus.Truncated;
      const addrLen = dv.getUint16(off + SLL.ADDR_LEN);
      if (dv.getUint16(off + SLL.HA_TYPE) === ARPHRD.Ether && addrLen === ETH.ADDR_LEN) pkt.srcMac = readMac(u8, off + SLL.ADDR);
      else if (addrLen > SLL.ADDR_MAX) pkt.anomaly = 'sll_address_too_long';
      return etherOrVlan(pkt, dv, off + SLL.LEN, end, dv.getUint16(off + SLL.PROTOCOL), out);
    }
    case LINKTYPE.LINUX_SLL2: {
      if (end - off < SLL2.LEN) return DecodeStatus.Truncated;
      const addrLen = u8[off + SLL2.ADDR_LEN];
      if (dv.getUint16(off + SLL2.HA_TYPE) === ARPHRD.Ether && addrLen === ETH.ADDR_LEN) pkt.srcMac = readMac(u8, off + SLL2.ADDR);
      else if (addrLen > SLL.ADDR_MAX) pkt.anomaly = 'sll_address_too_long';
      return etherOrVlan(pkt, dv, off + SLL2.LEN, end, dv.getUint16(off + SLL2.PROTOCOL), out);
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (end - off < NULL_HDR.LEN) return DecodeStatus.Truncated;
      // NULL is in the capturing host's byte order, LOOP in network order: accept either.
      const be = dv.getUint32(off + NULL_HDR.FAMILY);
      const af = be < 256 ? be : dv.getUint32(off + NULL_HDR.FAMILY, true);
      out.off = off + NULL_HDR.LEN;
      if (af === BSD_AF.INET) out.etherType = ETHERTYPE.IPV4;
      else if (af === BSD_AF.INET6_LINUX || af === BSD_AF.INET6_NETBSD || af === BSD_AF.INET6_FREEBSD || af === BSD_AF.INET6_DARWIN) out.etherType = ETHERTYPE.IPV6;
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
      if (end - off >= PPP_HDLC.LEN && u8[off + PPP_HDLC.ADDRESS] === PPP_HDLC_BYTE.Address && u8[off + PPP_HDLC.CONTROL] === PPP_HDLC_BYTE.Control) off += PPP_HDLC.LEN;
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
      if (end - off < PPPOE.LEN) return DecodeStatus.Truncated;
      return pppProtocol(dv.getUint16(off + PPPOE.PPP_PROTOCOL), off + PPPOE.LEN, out);
    case LINKTYPE.C_HDLC: // address, control, then an ethertype
      if (end - off < C_HDLC.LEN) return DecodeStatus.Truncated;
      return etherOrVlan(pkt, dv, off + C_HDLC.LEN, end, dv.getUint16(off + C_HDLC.PROTOCOL), out);
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

/** PPP protocol numbers: IPv4, IPv6 and MPLS; anything else (LCP, IPCP…) is not IP. */
export function pppProtocol(proto: number, off: number, out: LinkResult): number {
  out.off = off;
  if (proto === PPP_PROTO.IPV4) out.etherType = ETHERTYPE.IPV4;
  else if (proto === PPP_PROTO.IPV6) out.etherType = ETHERTYPE.IPV6;
  else if (proto === PPP_PROTO.MPLS)
    out.etherType = ETHERTYPE.MPLS; // the label stack is unwrapped next
  else return DecodeStatus.Unsupported;
  return DecodeStatus.Ok;
}

function decodeEthernet(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number, out: LinkResult): number {
  if (end - off < ETH.LEN) return DecodeStatus.Truncated;
  pkt.dstMac = readMac(u8, off + ETH.DST);
  pkt.srcMac = readMac(u8, off + ETH.SRC);
  return etherOrVlan(pkt, dv, off + ETH.LEN, end, dv.getUint16(off + ETH.TYPE), out);
}

/** Follows 802.1Q / 802.1ad tags from an ethertype at `off`. */
function etherOrVlan(pkt: DecodedPacket, dv: DataView, off: number, end: number, type: number, out: LinkResult): number {
  while (type === ETHERTYPE.VLAN || type === ETHERTYPE.QINQ || type === ETHERTYPE.QINQ_OLD) {
    if (end - off < VLAN_TAG.LEN) return DecodeStatus.Truncated;
    if (pkt.vlanDepth === MAX_VLAN_TAGS) {
      pkt.anomaly = 'vlan_too_deep';
      return DecodeStatus.Malformed;
    }
    if (pkt.vlanDepth === 0) pkt.outerVlan = dv.getUint16(off + VLAN_TAG.TCI) & VLAN_TAG.ID_MASK;
    pkt.vlanDepth++;
    type = dv.getUint16(off + VLAN_TAG.TYPE);
    off += VLAN_TAG.LEN;
  }
  out.etherType = type;
  out.off = off;
  return DecodeStatus.Ok;
}
