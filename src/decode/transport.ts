import { DecodedPacket, DecodeStatus, L4 } from './packet.js';
import { Ipv6Upper, walkIpv6Extensions } from './ip.js';
import { onesSum, pseudoHeaderSum } from './checksum.js';
import { readMac } from './link.js';
import { ARP_HW, ETHERTYPE, ICMP4, icmp4Quotes, ICMP6, icmp6Quotes, IPPROTO } from './enums.js';
import { ARP, DNS, ETH, ICMP, IPV4, IPV4_FRAG, IPV6, ND, TCP, UDP } from './fields.js';

/**
 * Decodes TCP, UDP, ICMP or ICMPv6 at u8[off..end) (pkt.l4Off..pkt.ipEnd: the IP payload in the
 * capture; pkt.ipWireEnd is where the IP header says it ends). Non-first fragments stop before
 * this. `upper` is scratch for the IPv6 packet an ICMPv6 error quotes.
 */
export function decodeTransport(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number, upper: Ipv6Upper): number {
  const wireEnd = pkt.ipWireEnd;
  switch (pkt.ipProto) {
    case IPPROTO.TCP: {
      if (end - off < TCP.MIN_LEN) return DecodeStatus.Truncated;
      const doff = (u8[off + TCP.DATA_OFF] >> 4) * 4;
      if (doff < TCP.MIN_LEN) {
        pkt.anomaly = 'bad_tcp_header_length';
        return DecodeStatus.Malformed;
      }
      pkt.l4 = L4.Tcp;
      pkt.srcPort = dv.getUint16(off + TCP.SRC_PORT);
      pkt.dstPort = dv.getUint16(off + TCP.DST_PORT);
      pkt.seq = dv.getUint32(off + TCP.SEQ);
      pkt.ack = dv.getUint32(off + TCP.ACK);
      pkt.tcpFlags = u8[off + TCP.FLAGS];
      pkt.window = dv.getUint16(off + TCP.WINDOW);
      const pOff = off + doff;
      pkt.payloadOff = pOff < end ? pOff : end;
      pkt.payloadLen = end > pOff ? end - pOff : 0;
      pkt.payloadWireLen = wireEnd > pOff ? wireEnd - pOff : 0;
      if (end - off < doff) return DecodeStatus.Truncated;
      // segments that carry data are not summed: that was a tenth of a busy capture's run, and the
      // checksum only tells offload (which shows on every packet the host sends, empty ones too)
      if (end === wireEnd && pOff === end) checkL4Sum(pkt, dv, u8, off, end, IPPROTO.TCP);
      return DecodeStatus.Ok;
    }
    case IPPROTO.UDP: {
      if (end - off < UDP.LEN) return DecodeStatus.Truncated;
      pkt.l4 = L4.Udp;
      pkt.srcPort = dv.getUint16(off + UDP.SRC_PORT);
      pkt.dstPort = dv.getUint16(off + UDP.DST_PORT);
      const ulen = dv.getUint16(off + UDP.LENGTH);
      let udpEnd = wireEnd;
      if (ulen >= UDP.LEN && off + ulen < wireEnd) udpEnd = off + ulen;
      else if (ulen < UDP.LEN && ulen !== 0) pkt.anomaly = 'bad_udp_length';
      pkt.payloadOff = off + UDP.LEN;
      pkt.payloadWireLen = udpEnd - off - UDP.LEN;
      const capEnd = udpEnd < end ? udpEnd : end;
      pkt.payloadLen = capEnd - off - UDP.LEN;
      if (end === wireEnd && dv.getUint16(off + UDP.CSUM) !== 0) checkL4Sum(pkt, dv, u8, off, udpEnd, IPPROTO.UDP);
      return DecodeStatus.Ok;
    }
    case IPPROTO.ICMP: {
      if (end - off < ICMP.LEN) return DecodeStatus.Truncated;
      pkt.l4 = L4.Icmp4;
      const type = (pkt.icmpType = u8[off + ICMP.TYPE]);
      pkt.icmpCode = u8[off + ICMP.CODE];
      if (end === wireEnd && pkt.fragmented === 0 && onesSum(dv, u8, off, end, 0) !== 0xffff) pkt.badChecksum |= 2;
      if (type === ICMP4.EchoRequest || type === ICMP4.EchoReply) echoFields(pkt, dv, off);
      else if (icmp4Quotes(type)) decodeQuote4(pkt, dv, u8, off + ICMP.BODY, end);
      return DecodeStatus.Ok;
    }
    case IPPROTO.ICMPV6: {
      if (end - off < ICMP.LEN) return DecodeStatus.Truncated;
      pkt.l4 = L4.Icmp6;
      const type = (pkt.icmpType = u8[off + ICMP.TYPE]);
      pkt.icmpCode = u8[off + ICMP.CODE];
      if (end === wireEnd) checkL4Sum(pkt, dv, u8, off, end, IPPROTO.ICMPV6);
      if (type === ICMP6.EchoRequest || type === ICMP6.EchoReply) echoFields(pkt, dv, off);
      else if ((type === ICMP6.NeighborSolicitation || type === ICMP6.NeighborAdvertisement) && end - off >= ND.MIN_LEN) {
        for (let i = 0; i < 4; i++) pkt.ndTarget[i] = dv.getUint32(off + ND.TARGET + 4 * i);
      } else if (icmp6Quotes(type)) decodeQuote6(pkt, dv, u8, off + ICMP.BODY, end, upper);
      return DecodeStatus.Ok;
    }
    default:
      return DecodeStatus.Ok;
  }
}

function echoFields(pkt: DecodedPacket, dv: DataView, off: number): void {
  pkt.icmpId = dv.getUint16(off + ICMP.ECHO_ID);
  pkt.icmpSeq = dv.getUint16(off + ICMP.ECHO_SEQ);
}

function checkL4Sum(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number, proto: number): void {
  if (pkt.fragmented !== 0) return; // the sum covers the whole datagram: checked once reassembled
  const sum = onesSum(dv, u8, off, end, pseudoHeaderSum(pkt.ipVersion, pkt.src, pkt.dst, proto, end - off));
  if (sum !== 0xffff) pkt.badChecksum |= 2;
}

/**
 * The IPv4 datagram quoted by an ICMP error at u8[off..end): its header and (RFC 792) at least
 * 8 bytes of what it carried, not the whole datagram its total length declares (smoltcp's
 * check_len would refuse these).
 */
function decodeQuote4(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number): void {
  if (end - off < IPV4.MIN_LEN || u8[off + IPV4.VER_IHL] >> 4 !== 4) {
    pkt.anomaly = 'icmp_quote_truncated';
    return;
  }
  const ihl = (u8[off + IPV4.VER_IHL] & 0x0f) * 4;
  if (ihl < IPV4.MIN_LEN || end - off < ihl) {
    pkt.anomaly = 'icmp_quote_truncated';
    return;
  }
  pkt.quoteVersion = 4;
  pkt.quoteProto = u8[off + IPV4.PROTO];
  pkt.quoteSrc[0] = dv.getUint32(off + IPV4.SRC);
  pkt.quoteDst[0] = dv.getUint32(off + IPV4.DST);
  pkt.quoteSrc[1] = pkt.quoteSrc[2] = pkt.quoteSrc[3] = 0;
  pkt.quoteDst[1] = pkt.quoteDst[2] = pkt.quoteDst[3] = 0;
  if ((dv.getUint16(off + IPV4.FRAG) & IPV4_FRAG.OFFSET_MASK) !== 0) return; // a later fragment quotes no ports
  quotedPorts(pkt, dv, off + ihl, end);
}

/** The IPv6 packet quoted by an ICMPv6 error at u8[off..end). */
function decodeQuote6(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number, upper: Ipv6Upper): void {
  if (end - off < IPV6.LEN || u8[off + IPV6.VER_TC_FLOW] >> 4 !== 6) {
    pkt.anomaly = 'icmp_quote_truncated';
    return;
  }
  for (let i = 0; i < 4; i++) {
    pkt.quoteSrc[i] = dv.getUint32(off + IPV6.SRC + 4 * i);
    pkt.quoteDst[i] = dv.getUint32(off + IPV6.DST + 4 * i);
  }
  pkt.quoteVersion = 6;
  const l4 = walkIpv6Extensions(dv, u8, off + IPV6.LEN, end, u8[off + IPV6.NEXT_HDR], upper);
  if (l4 < 0) {
    pkt.quoteProto = u8[off + IPV6.NEXT_HDR];
    return;
  }
  pkt.quoteProto = upper.proto;
  quotedPorts(pkt, dv, l4, end);
}

/** Ports (TCP/UDP, with the TCP seq or the DNS id) or echo id and sequence of the quoted transport header at [off..end). */
function quotedPorts(pkt: DecodedPacket, dv: DataView, off: number, end: number): void {
  if (pkt.quoteProto === IPPROTO.ICMP || pkt.quoteProto === IPPROTO.ICMPV6) {
    const t = end - off >= ICMP.LEN ? dv.getUint8(off + ICMP.TYPE) : -1;
    if (t === ICMP4.EchoRequest || t === ICMP6.EchoRequest) {
      pkt.quoteEchoId = dv.getUint16(off + ICMP.ECHO_ID);
      pkt.quoteEchoSeq = dv.getUint16(off + ICMP.ECHO_SEQ);
    }
    return;
  }
  if (pkt.quoteProto !== IPPROTO.TCP && pkt.quoteProto !== IPPROTO.UDP) return;
  if (end - off < TCP.DST_PORT + 2) {
    pkt.anomaly = 'icmp_quote_truncated';
    return;
  }
  pkt.quoteSrcPort = dv.getUint16(off + TCP.SRC_PORT);
  pkt.quoteDstPort = dv.getUint16(off + TCP.DST_PORT);
  if (pkt.quoteProto === IPPROTO.TCP && end - off >= TCP.SEQ + 4) pkt.quoteSeq = dv.getUint32(off + TCP.SEQ);
  else if (pkt.quoteProto === IPPROTO.UDP && end - off >= UDP.LEN + DNS.ID + 2) pkt.quoteDnsId = dv.getUint16(off + UDP.LEN + DNS.ID);
}

/** ARP for IPv4 over Ethernet at u8[off..end). */
export function decodeArp(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number): number {
  if (end - off < ARP.LEN) return DecodeStatus.Truncated;
  if (dv.getUint16(off + ARP.HTYPE) !== ARP_HW.Ethernet || dv.getUint16(off + ARP.PTYPE) !== ETHERTYPE.IPV4 || u8[off + ARP.HLEN] !== ETH.ADDR_LEN || u8[off + ARP.PLEN] !== 4) return DecodeStatus.Unsupported;
  pkt.l4 = L4.Arp;
  pkt.arpOp = dv.getUint16(off + ARP.OPER);
  pkt.arpSenderMac = readMac(u8, off + ARP.SHA);
  pkt.arpSenderIp = dv.getUint32(off + ARP.SPA);
  pkt.arpTargetIp = dv.getUint32(off + ARP.TPA);
  return DecodeStatus.Ok;
}
