import { DecodedPacket, DecodeStatus, L4 } from './packet.js';
import { ETHERTYPE, LinkResult, readMac } from './link.js';

/**
 * Tunnels and encapsulations, decapsulated so that the inner flows are analysed (AWS VPC Traffic
 * Mirroring delivers VXLAN; ERSPAN is how switches mirror remote ports):
 *
 * - over UDP: VXLAN (port 4789), GENEVE (6081);
 * - over IP: GRE (protocol 47; carrying IP, Ethernet, ERSPAN types I/II/III or MPLS), IP in IP (4),
 *   IPv6 in IP (41);
 * - between link and network layer: MPLS label stacks (ethertype 0x8847/0x8848) and PPPoE
 *   sessions (0x8864).
 *
 * `TUNNEL` numbers name them in DecodedPacket.tunnel (numbers, not strings, so nothing is
 * allocated per packet); `tunnelName` turns them into words for the evidence.
 */
export const TUNNEL = { None: 0, Vxlan: 1, Geneve: 2, Gre: 3, ErspanI: 4, ErspanII: 5, ErspanIII: 6, IpInIp: 7, Ipv6InIp: 8, Mpls: 9, Pppoe: 10 } as const;

const NAMES = ['', 'VXLAN', 'GENEVE', 'GRE', 'ERSPAN type I', 'ERSPAN type II', 'ERSPAN type III', 'IP in IP', 'IPv6 in IP', 'MPLS', 'PPPoE'];
const ID_NAMES = ['', 'VNI', 'VNI', 'key', '', 'session', 'session', '', '', 'label', 'session'];

export function tunnelName(kind: number, id: number): string {
  return id >= 0 && ID_NAMES[kind] !== '' ? `${NAMES[kind]} ${ID_NAMES[kind]} ${id}` : NAMES[kind];
}

export const ETHERTYPE_MPLS = 0x8847;
export const ETHERTYPE_MPLS_MULTICAST = 0x8848;
export const ETHERTYPE_PPPOE_SESSION = 0x8864;
const ETHERTYPE_TEB = 0x6558; // transparent Ethernet bridging
const ETHERTYPE_ERSPAN_II = 0x88be;
const ETHERTYPE_ERSPAN_III = 0x22eb;
export const UDP_PORT_VXLAN = 4789;
export const UDP_PORT_GENEVE = 6081;
/** MPLS labels followed before the stack is taken as damage. */
const MAX_MPLS_LABELS = 16;

/**
 * An inner Ethernet frame at u8[off..end): its MACs replace the outer ones and `out` gets its
 * ethertype (802.1Q tags followed) and network offset.
 */
function innerEthernet(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number, out: LinkResult): number {
  if (end - off < 14) return DecodeStatus.Truncated;
  pkt.dstMac = readMac(u8, off);
  pkt.srcMac = readMac(u8, off + 6);
  let type = dv.getUint16(off + 12);
  off += 14;
  for (let tags = 0; type === ETHERTYPE.VLAN || type === ETHERTYPE.QINQ; tags++) {
    if (end - off < 4) return DecodeStatus.Truncated;
    if (tags === 8) return DecodeStatus.Malformed;
    type = dv.getUint16(off + 2);
    off += 4;
  }
  out.etherType = type;
  out.off = off;
  return DecodeStatus.Ok;
}

/** An inner IP packet with no link layer of its own: its MACs are unknown. */
function innerIp(pkt: DecodedPacket, etherType: number, off: number, out: LinkResult): number {
  pkt.srcMac = -1;
  pkt.dstMac = -1;
  out.etherType = etherType;
  out.off = off;
  return DecodeStatus.Ok;
}

/** What a carried protocol type (GRE, GENEVE) names: inner Ethernet, IPv4 or IPv6. */
function carried(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, proto: number, off: number, end: number, out: LinkResult): number {
  if (proto === ETHERTYPE_TEB) return innerEthernet(pkt, dv, u8, off, end, out);
  if (proto === ETHERTYPE.IPV4 || proto === ETHERTYPE.IPV6 || proto === ETHERTYPE_MPLS) return innerIp(pkt, proto, off, out);
  return DecodeStatus.Unsupported;
}

/**
 * If the decoded packet carries another one (VXLAN, GENEVE, GRE, IP in IP), sets pkt.tunnel and
 * pkt.tunnelId, and `out` to the inner packet's ethertype and offset; returns Ok. Returns
 * Unsupported when it carries none, or Truncated/Malformed for a damaged tunnel header.
 */
export function decapsulate(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, out: LinkResult): number {
  if (pkt.l4 === L4.Udp) {
    const off = pkt.payloadOff;
    const end = off + pkt.payloadLen;
    if (pkt.dstPort === UDP_PORT_VXLAN) {
      if (end - off < 8) return DecodeStatus.Truncated;
      if ((u8[off] & 0x08) === 0) return DecodeStatus.Unsupported; // no valid VNI: not VXLAN
      pkt.tunnel = TUNNEL.Vxlan;
      pkt.tunnelId = (dv.getUint32(off + 4) >>> 8);
      return innerEthernet(pkt, dv, u8, off + 8, end, out);
    }
    if (pkt.dstPort === UDP_PORT_GENEVE) {
      if (end - off < 8) return DecodeStatus.Truncated;
      if (u8[off] >> 6 !== 0) return DecodeStatus.Unsupported; // version 0 only
      const hlen = 8 + (u8[off] & 0x3f) * 4;
      if (end - off < hlen) return DecodeStatus.Truncated;
      pkt.tunnel = TUNNEL.Geneve;
      pkt.tunnelId = dv.getUint32(off + 4) >>> 8;
      return carried(pkt, dv, u8, dv.getUint16(off + 2), off + hlen, end, out);
    }
    return DecodeStatus.Unsupported;
  }
  if (pkt.l4 !== L4.None || pkt.fragment) return DecodeStatus.Unsupported;
  const off = pkt.l4Off;
  const end = pkt.ipEnd;
  switch (pkt.ipProto) {
    case 4:
      pkt.tunnel = TUNNEL.IpInIp;
      return innerIp(pkt, ETHERTYPE.IPV4, off, out);
    case 41:
      pkt.tunnel = TUNNEL.Ipv6InIp;
      return innerIp(pkt, ETHERTYPE.IPV6, off, out);
    case 47:
      return gre(pkt, dv, u8, off, end, out);
  }
  return DecodeStatus.Unsupported;
}

/** GRE (RFC 2784/2890; version 0 only), with ERSPAN types I, II and III. */
function gre(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number, out: LinkResult): number {
  if (end - off < 4) return DecodeStatus.Truncated;
  const flags = u8[off];
  if ((u8[off + 1] & 0x07) !== 0) return DecodeStatus.Unsupported; // version 1 is PPTP's PPP
  const proto = dv.getUint16(off + 2);
  let h = off + 4;
  if (flags & 0xc0) h += 4; // checksum (and offset, RFC 1701 routing)
  let key = -1;
  if (flags & 0x20) {
    if (end - h < 4) return DecodeStatus.Truncated;
    key = dv.getUint32(h);
    h += 4;
  }
  const hasSeq = (flags & 0x10) !== 0;
  if (hasSeq) h += 4;
  if (h > end) return DecodeStatus.Truncated;
  pkt.tunnel = TUNNEL.Gre;
  pkt.tunnelId = key;
  if (proto === ETHERTYPE_ERSPAN_II) {
    if (!hasSeq) {
      // type I: no ERSPAN header, the mirrored frame follows the GRE header
      pkt.tunnel = TUNNEL.ErspanI;
      pkt.tunnelId = -1;
      return innerEthernet(pkt, dv, u8, h, end, out);
    }
    if (end - h < 8) return DecodeStatus.Truncated;
    pkt.tunnel = TUNNEL.ErspanII;
    pkt.tunnelId = dv.getUint16(h + 2) & 0x03ff;
    return innerEthernet(pkt, dv, u8, h + 8, end, out);
  }
  if (proto === ETHERTYPE_ERSPAN_III) {
    if (end - h < 12) return DecodeStatus.Truncated;
    pkt.tunnel = TUNNEL.ErspanIII;
    pkt.tunnelId = dv.getUint16(h + 2) & 0x03ff;
    const sub = u8[h + 11] & 0x01 ? 8 : 0; // O bit: a platform-specific subheader follows
    return innerEthernet(pkt, dv, u8, h + 12 + sub, end, out);
  }
  return carried(pkt, dv, u8, proto, h, end, out);
}

/**
 * Link-layer encapsulations met where an ethertype is expected: an MPLS label stack (the payload
 * is taken as IPv4 or IPv6 by its first nibble, or as an Ethernet pseudowire after a zero control
 * word) or a PPPoE session header. Sets `out` to what they carry and returns Ok; Unsupported for
 * anything else.
 */
export function unwrapLink(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, etherType: number, off: number, end: number, out: LinkResult): number {
  if (etherType === ETHERTYPE_MPLS || etherType === ETHERTYPE_MPLS_MULTICAST) {
    for (let n = 0; ; n++) {
      if (end - off < 4) return DecodeStatus.Truncated;
      if (n === MAX_MPLS_LABELS) {
        pkt.anomaly = 'mpls_stack_too_deep';
        return DecodeStatus.Malformed;
      }
      const entry = dv.getUint32(off);
      if (pkt.tunnel === TUNNEL.None || pkt.tunnel === TUNNEL.Mpls) {
        pkt.tunnel = TUNNEL.Mpls;
        if (n === 0) pkt.tunnelId = entry >>> 12;
      }
      off += 4;
      if (entry & 0x100) break; // bottom of stack
    }
    if (end - off < 1) return DecodeStatus.Truncated;
    const v = u8[off] >> 4;
    if (v === 4) return innerIp(pkt, ETHERTYPE.IPV4, off, out);
    if (v === 6) return innerIp(pkt, ETHERTYPE.IPV6, off, out);
    if (v === 0 && end - off >= 4) return innerEthernet(pkt, dv, u8, off + 4, end, out);
    return DecodeStatus.Unsupported;
  }
  if (etherType === ETHERTYPE_PPPOE_SESSION) {
    if (end - off < 8) return DecodeStatus.Truncated;
    if (pkt.tunnel === TUNNEL.None) {
      pkt.tunnel = TUNNEL.Pppoe;
      pkt.tunnelId = dv.getUint16(off + 2);
    }
    const ppp = dv.getUint16(off + 6);
    out.off = off + 8;
    if (ppp === 0x0021) out.etherType = ETHERTYPE.IPV4;
    else if (ppp === 0x0057) out.etherType = ETHERTYPE.IPV6;
    else return DecodeStatus.Unsupported;
    return DecodeStatus.Ok;
  }
  return DecodeStatus.Unsupported;
}
