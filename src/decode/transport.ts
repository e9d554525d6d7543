import { DecodedPacket, DecodeStatus, L4 } from './packet.js';
import { IPPROTO, lastExtProto, walkIpv6Extensions } from './ip.js';
import { onesSum, pseudoHeaderSum } from './checksum.js';
import { readMac } from './link.js';

/** ICMPv4 types whose body quotes the offending datagram (RFC 792). */
function icmp4Quotes(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}
/** ICMPv6 error types 1-4 quote the offending packet (RFC 4443). */
function icmp6Quotes(type: number): boolean {
  return type >= 1 && type <= 4;
}

/** Decodes TCP, UDP, ICMP or ICMPv6 at pkt.l4Off. Non-first fragments stop before this. */
export function decodeTransport(pkt: DecodedPacket, dv: DataView, u8: Uint8Array): number {
  const off = pkt.l4Off;
  const end = pkt.ipEnd;
  const wireEnd = pkt.ipWireEnd;
  switch (pkt.ipProto) {
    case IPPROTO.TCP: {
      if (end - off < 20) return DecodeStatus.Truncated;
      const doff = (u8[off + 12] >> 4) * 4;
      if (doff < 20) {
        pkt.anomaly = 'bad_tcp_header_length';
        return DecodeStatus.Malformed;
      }
      pkt.l4 = L4.Tcp;
      pkt.srcPort = dv.getUint16(off);
      pkt.dstPort = dv.getUint16(off + 2);
      pkt.seq = dv.getUint32(off + 4);
      pkt.ack = dv.getUint32(off + 8);
      pkt.tcpFlags = u8[off + 13];
      pkt.window = dv.getUint16(off + 14);
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
      if (end - off < 8) return DecodeStatus.Truncated;
      pkt.l4 = L4.Udp;
      pkt.srcPort = dv.getUint16(off);
      pkt.dstPort = dv.getUint16(off + 2);
      const ulen = dv.getUint16(off + 4);
      let udpEnd = wireEnd;
      if (ulen >= 8 && off + ulen < wireEnd) udpEnd = off + ulen;
      else if (ulen < 8 && ulen !== 0) pkt.anomaly = 'bad_udp_length';
      pkt.payloadOff = off + 8;
      pkt.payloadWireLen = udpEnd - off - 8;
      const capEnd = udpEnd < end ? udpEnd : end;
      pkt.payloadLen = capEnd - off - 8;
      if (end === wireEnd && dv.getUint16(off + 6) !== 0) checkL4Sum(pkt, dv, u8, off, udpEnd, IPPROTO.UDP);
      return DecodeStatus.Ok;
    }
    case IPPROTO.ICMP: {
      if (end - off < 8) return DecodeStatus.Truncated;
      pkt.l4 = L4.Icmp4;
      pkt.icmpType = u8[off];
      pkt.icmpCode = u8[off + 1];
      if (end === wireEnd && onesSum(dv, u8, off, end, 0) !== 0xffff) pkt.badChecksum |= 2;
      if (pkt.icmpType === 8 || pkt.icmpType === 0) echoFields(pkt, dv, off);
      else if (icmp4Quotes(pkt.icmpType)) decodeQuote4(pkt, dv, u8, off + 8, end);
      return DecodeStatus.Ok;
    }
    case IPPROTO.ICMPV6: {
      if (end - off < 8) return DecodeStatus.Truncated;
      pkt.l4 = L4.Icmp6;
      pkt.icmpType = u8[off];
      pkt.icmpCode = u8[off + 1];
      if (end === wireEnd) checkL4Sum(pkt, dv, u8, off, end, IPPROTO.ICMPV6);
      if (pkt.icmpType === 128 || pkt.icmpType === 129) echoFields(pkt, dv, off);
      else if ((pkt.icmpType === 135 || pkt.icmpType === 136) && end - off >= 24) {
        for (let i = 0; i < 4; i++) pkt.ndTarget[i] = dv.getUint32(off + 8 + 4 * i);
      } else if (icmp6Quotes(pkt.icmpType)) decodeQuote6(pkt, dv, u8, off + 8, end);
      return DecodeStatus.Ok;
    }
    default:
      return DecodeStatus.Ok;
  }
}

function echoFields(pkt: DecodedPacket, dv: DataView, off: number): void {
  pkt.icmpId = dv.getUint16(off + 4);
  pkt.icmpSeq = dv.getUint16(off + 6);
}

function checkL4Sum(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number, proto: number): void {
  const sum = onesSum(dv, u8, off, end, pseudoHeaderSum(pkt.ipVersion, pkt.src, pkt.dst, proto, end - off));
  if (sum !== 0xffff) pkt.badChecksum |= 2;
}

/** The IPv4 datagram quoted by an ICMP error: header plus (RFC 792) at least 8 bytes of it. */
function decodeQuote4(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number): void {
  if (end - off < 20 || u8[off] >> 4 !== 4) {
    pkt.anomaly = 'icmp_quote_truncated';
    return;
  }
  const ihl = (u8[off] & 0x0f) * 4;
  if (ihl < 20 || end - off < ihl) {
    pkt.anomaly = 'icmp_quote_truncated';
    return;
  }
  pkt.quoteVersion = 4;
  pkt.quoteProto = u8[off + 9];
  pkt.quoteSrc[0] = dv.getUint32(off + 12);
  pkt.quoteDst[0] = dv.getUint32(off + 16);
  pkt.quoteSrc[1] = pkt.quoteSrc[2] = pkt.quoteSrc[3] = 0;
  pkt.quoteDst[1] = pkt.quoteDst[2] = pkt.quoteDst[3] = 0;
  if ((dv.getUint16(off + 6) & 0x1fff) !== 0) return; // a later fragment quotes no ports
  quotedPorts(pkt, dv, off + ihl, end);
}

function decodeQuote6(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number): void {
  if (end - off < 40 || u8[off] >> 4 !== 6) {
    pkt.anomaly = 'icmp_quote_truncated';
    return;
  }
  for (let i = 0; i < 4; i++) {
    pkt.quoteSrc[i] = dv.getUint32(off + 8 + 4 * i);
    pkt.quoteDst[i] = dv.getUint32(off + 24 + 4 * i);
  }
  pkt.quoteVersion = 6;
  const l4 = walkIpv6Extensions(dv, u8, off + 40, end, u8[off + 6]);
  if (l4 < 0) {
    pkt.quoteProto = u8[off + 6];
    return;
  }
  pkt.quoteProto = lastExtProto();
  quotedPorts(pkt, dv, l4, end);
}

function quotedPorts(pkt: DecodedPacket, dv: DataView, off: number, end: number): void {
  if (pkt.quoteProto === IPPROTO.ICMP || pkt.quoteProto === IPPROTO.ICMPV6) {
    const t = end - off >= 8 ? dv.getUint8(off) : -1;
    if (t === 8 || t === 128) {
      pkt.quoteEchoId = dv.getUint16(off + 4);
      pkt.quoteEchoSeq = dv.getUint16(off + 6);
    }
    return;
  }
  if (pkt.quoteProto !== IPPROTO.TCP && pkt.quoteProto !== IPPROTO.UDP) return;
  if (end - off < 4) {
    pkt.anomaly = 'icmp_quote_truncated';
    return;
  }
  pkt.quoteSrcPort = dv.getUint16(off);
  pkt.quoteDstPort = dv.getUint16(off + 2);
  if (pkt.quoteProto === IPPROTO.TCP && end - off >= 8) pkt.quoteSeq = dv.getUint32(off + 4);
  else if (pkt.quoteProto === IPPROTO.UDP && end - off >= 10) pkt.quoteDnsId = dv.getUint16(off + 8);
}

/** ARP for IPv4 over Ethernet. */
export function decodeArp(pkt: DecodedPacket, dv: DataView, u8: Uint8Array, off: number, end: number): number {
  if (end - off < 28) return DecodeStatus.Truncated;
  if (dv.getUint16(off) !== 1 || dv.getUint16(off + 2) !== 0x0800 || u8[off + 4] !== 6 || u8[off + 5] !== 4) return DecodeStatus.Unsupported;
  pkt.l4 = L4.Arp;
  pkt.arpOp = dv.getUint16(off + 6);
  pkt.arpSenderMac = readMac(u8, off + 8);
  pkt.arpSenderIp = dv.getUint32(off + 14);
  pkt.arpTargetIp = dv.getUint32(off + 24);
  return DecodeStatus.Ok;
}
