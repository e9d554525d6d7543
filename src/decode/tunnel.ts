import { DecodedPacket, DecodeStatus, L4 } from './packet.js';
import { LinkResult, MAX_VLAN_TAGS, readMac } from './link.js';
import { ETHERTYPE, IPPROTO, PPP_PROTO, UDP_PORT } from './enums.js';
import { ERSPAN_II, ERSPAN_III, ETH, GENEVE, GRE, GRE_FLAG, MPLS, PPPOE, VLAN_TAG, VXLAN } from './fields.js';

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

/** MPLS labels followed before the stack is taken as damage. */
const MAX_MPLS_LABELS = 16;

/**
 * An inner Ethernet frame at u8[off..end): its MACs replace the outer ones and `out` gets its
 * ethertype (802.1Q tags followed) and network offset.
 */
function innerEthernet(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number, out: LinkResult): number {
  if (end - off < ETH.LEN) return DecodeStatus.Truncated;
  pkt.dstMac = readMac(u8, off + ETH.DST);
  pkt.srcMac = readMac(u8, off + ETH.SRC);
  let type = dv.getUint16(off + ETH.TYPE);
  off += ETH.LEN;
  for (let tags = 0; type === ETHERTYPE.VLAN || type === ETHERTYPE.QINQ; tags++) {
    if (end - off < VLAN_TAG.LEN) return DecodeStatus.Truncated;
    if (tags === MAX_VLAN_TAGS) return DecodeStatus.Malformed;
    type = dv.getUint16(off + VLAN_TAG.TYPE);
    off += VLAN_TAG.LEN;
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
  if (proto === ETHERTYPE.TEB) return innerEthernet(pkt, dv, u8, off, end, out);
  if (proto === ETHERTYPE.IPV4 || proto === ETHERTYPE.IPV6 || proto === ETHERTYPE.MPLS) return innerIp(pkt, proto, off, out);
  return DecodeStatus.Unsupported;
}

/**
 * If the decoded packet carries another one (VXLAN, GENEVE, GRE, IP in IP), sets pkt.tunnel and
 * pkt.tunnelId, and `out` to the inner packet's ethertype and offset; returns Ok. Returns
 * Unsupported when it carries none, or Truncated/Malformed for a damaged tunnel header.
 * u8[off..end) is what carries it: the UDP payload for UDP, else the IP payload.
 */
export function decapsulate(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number, out: LinkResult): number {
  if (pkt.l4 === L4.Udp) {
    if (pkt.dstPort === UDP_PORT.VXLAN) {
      if (end - off < VXLAN.LEN) return DecodeStatus.Truncated;
      if ((u8[off + VXLAN.FLAGS] & VXLAN.FLAG_VNI) === 0) return DecodeStatus.Unsupported; // no valid VNI: not VXLAN
      pkt.tunnel = TUNNEL.Vxlan;
      pkt.tunnelId = dv.getUint32(off + VXLAN.VNI) >>> 8;
      return innerEthernet(pkt, dv, u8, off + VXLAN.LEN, end, out);
    }
    if (pkt.dstPort === UDP_PORT.GENEVE) {
      if (end - off < GENEVE.MIN_LEN) return DecodeStatus.Truncated;
      if (u8[off + GENEVE.VER_OPT_LEN] >> 6 !== 0) return DecodeStatus.Unsupported; // version 0 only
      const hlen = GENEVE.MIN_LEN + (u8[off + GENEVE.VER_OPT_LEN] & 0x3f) * 4;
      if (end - off < hlen) return DecodeStatus.Truncated;
      pkt.tunnel = TUNNEL.Geneve;
      pkt.tunnelId = dv.getUint32(off + GENEVE.VNI) >>> 8;
      return carried(pkt, dv, u8, dv.getUint16(off + GENEVE.PROTOCOL), off + hlen, end, out);
    }
    return DecodeStatus.Unsupported;
  }
  if (pkt.l4 !== L4.None || pkt.fragment) return DecodeStatus.Unsupported;
  switch (pkt.ipProto) {
    case IPPROTO.IPIP:
      pkt.tunnel = TUNNEL.IpInIp;
      return innerIp(pkt, ETHERTYPE.IPV4, off, out);
    case IPPROTO.IPV6:
      pkt.tunnel = TUNNEL.Ipv6InIp;
      return innerIp(pkt, ETHERTYPE.IPV6, off, out);
    case IPPROTO.GRE:
      return gre(pkt, dv, u8, off, end, out);
  }
  return DecodeStatus.Unsupported;
}

/** GRE (RFC 2784/2890; version 0 only), with ERSPAN types I, II and III. */
function gre(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number, out: LinkResult): number {
  if (end - off < GRE.MIN_LEN) return DecodeStatus.Truncated;
  const flags = u8[off + GRE.FLAGS];
  if ((u8[off + GRE.VERSION] & GRE.VERSION_MASK) !== 0) return DecodeStatus.Unsupported; // version 1 is PPTP's PPP
  const proto = dv.getUint16(off + GRE.PROTOCOL);
  let h = off + GRE.MIN_LEN;
  if (flags & GRE_FLAG.CHECKSUM_OR_ROUTING) h += GRE.OPTION_LEN; // checksum (and offset, RFC 1701 routing)
  let key = -1;
  if (flags & GRE_FLAG.KEY) {
    if (end - h < GRE.OPTION_LEN) return DecodeStatus.Truncated;
    key = dv.getUint32(h);
    h += GRE.OPTION_LEN;
  }
  const hasSeq = (flags & GRE_FLAG.SEQUENCE) !== 0;
  if (hasSeq) h += GRE.OPTION_LEN;
  if (h > end) return DecodeStatus.Truncated;
  pkt.tunnel = TUNNEL.Gre;
  pkt.tunnelId = key;
  if (proto === ETHERTYPE.ERSPAN_II) {
    if (!hasSeq) {
      // type I: no ERSPAN header, the mirrored frame follows the GRE header
      pkt.tunnel = TUNNEL.ErspanI;
      pkt.tunnelId = -1;
      return innerEthernet(pkt, dv, u8, h, end, out);
    }
    if (end - h < ERSPAN_II.LEN) return DecodeStatus.Truncated;
    pkt.tunnel = TUNNEL.ErspanII;
    pkt.tunnelId = dv.getUint16(h + ERSPAN_II.SESSION) & ERSPAN_II.SESSION_MASK;
    return innerEthernet(pkt, dv, u8, h + ERSPAN_II.LEN, end, out);
  }
  if (proto === ETHERTYPE.ERSPAN_III) {
    if (end - h < ERSPAN_III.LEN) return DecodeStatus.Truncated;
    pkt.tunnel = TUNNEL.ErspanIII;
    pkt.tunnelId = dv.getUint16(h + ERSPAN_III.SESSION) & ERSPAN_III.SESSION_MASK;
    const sub = u8[h + ERSPAN_III.FLAGS] & ERSPAN_III.FLAG_O ? ERSPAN_III.PLATFORM_SUBHEADER_LEN : 0; // a platform-specific subheader follows
    return innerEthernet(pkt, dv, u8, h + ERSPAN_III.LEN + sub, end, out);
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
  if (etherType === ETHERTYPE.MPLS || etherType === ETHERTYPE.MPLS_MULTICAST) {
    for (let n = 0; ; n++) {
      if (end - off < MPLS.ENTRY_LEN) return DecodeStatus.Truncated;
      if (n === MAX_MPLS_LABELS) {
        pkt.anomaly = 'mpls_stack_too_deep';
        return DecodeStatus.Malformed;
      }
      const entry = dv.getUint32(off);
      if (pkt.tunnel === TUNNEL.None || pkt.tunnel === TUNNEL.Mpls) {
        pkt.tunnel = TUNNEL.Mpls;
        if (n === 0) pkt.tunnelId = entry >>> MPLS.LABEL_SHIFT;
      }
      off += MPLS.ENTRY_LEN;
      if (entry & MPLS.BOTTOM_OF_STACK) break;
    }
    if (end - off < 1) return DecodeStatus.Truncated;
    const v = u8[off] >> 4;
    if (v === 4) return innerIp(pkt, ETHERTYPE.IPV4, off, out);
    if (v === 6) return innerIp(pkt, ETHERTYPE.IPV6, off, out);
    if (v === 0 && end - off >= MPLS.CONTROL_WORD_LEN) return innerEthernet(pkt, dv, u8, off + MPLS.CONTROL_WORD_LEN, end, out);
    return DecodeStatus.Unsupported;
  }
  if (etherType === ETHERTYPE.PPPOE_SESSION) {
    if (end - off < PPPOE.LEN) return DecodeStatus.Truncated;
    if (pkt.tunnel === TUNNEL.None) {
      pkt.tunnel = TUNNEL.Pppoe;
      pkt.tunnelId = dv.getUint16(off + PPPOE.SESSION);
    }
    const ppp = dv.getUint16(off + PPPOE.PPP_PROTOCOL);
    out.off = off + PPPOE.LEN;
    if (ppp === PPP_PROTO.IPV4) out.etherType = ETHERTYPE.IPV4;
    else if (ppp === PPP_PROTO.IPV6) out.etherType = ETHERTYPE.IPV6;
    else return DecodeStatus.Unsupported;
    return DecodeStatus.Ok;
  }
  return DecodeStatus.Unsupported;
}
