/** What a decoder concluded about the bytes it was given. */
export const DecodeStatus = { Ok: 0, Truncated: 1, Malformed: 2, Unsupported: 3 } as const;

/** Transport layer found in a packet. */
export const L4 = { None: 0, Tcp: 1, Udp: 2, Icmp4: 3, Icmp6: 4, Arp: 5 } as const;

export const TCP_FLAG = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;

/**
 * One packet's decoded fields. A single instance is reset and refilled for every record:
 * every field is a number (or a preallocated typed array), so V8 keeps one shape and the
 * decoders allocate nothing. Addresses are four big-endian 32-bit words; IPv4 uses word 0.
 */
export class DecodedPacket {
  status = 0;
  /** Source and destination MAC as 48-bit numbers, or -1 when the link layer has none. */
  srcMac = -1;
  dstMac = -1;
  vlanDepth = 0;
  outerVlan = -1;
  /** 0 none, 4 or 6. */
  ipVersion = 0;
  ipOff = 0;
  /** End of the IP packet inside the captured bytes (padding trimmed, snaplen respected). */
  ipEnd = 0;
  /** End of the IP packet as the IP header declares it (may lie past the captured bytes). */
  ipWireEnd = 0;
  ttl = 0;
  ipProto = 0;
  ipId = 0;
  dontFragment = 0;
  /** 1 for a non-first fragment: no transport header in it. */
  fragment = 0;
  /** 1 for any fragment of a larger datagram, the first one too (flow/fragments.ts reassembles them). */
  fragmented = 0;
  /** IPv6: offset of the fragment header (-1 when none). */
  fragHdrOff = -1;
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  l4 = 0;
  l4Off = 0;
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  tcpFlags = 0;
  window = 0;
  payloadOff = 0;
  /** Payload bytes present in the capture. */
  payloadLen = 0;
  /** Payload bytes the headers say were on the wire. */
  payloadWireLen = 0;
  icmpType = -1;
  icmpCode = -1;
  /** Echo request/reply identifier and sequence number (-1 for other ICMP messages). */
  icmpId = -1;
  icmpSeq = -1;
  /** Target address of an IPv6 neighbour solicitation or advertisement (ndTarget[0] … [3]). */
  readonly ndTarget = new Uint32Array(4);
  /** Quoted packet inside an ICMP error: 0 when absent, else its IP version. */
  quoteVersion = 0;
  quoteProto = 0;
  readonly quoteSrc = new Uint32Array(4);
  readonly quoteDst = new Uint32Array(4);
  quoteSrcPort = -1;
  quoteDstPort = -1;
  quoteSeq = -1;
  /** DNS id of a quoted UDP datagram, when enough of it was quoted (-1 otherwise). */
  quoteDnsId = -1;
  /** Identifier and sequence of a quoted ICMP echo request (-1 otherwise). */
  quoteEchoId = -1;
  quoteEchoSeq = -1;
  arpOp = 0;
  arpSenderMac = -1;
  arpSenderIp = 0;
  arpTargetIp = 0;
  /** Bit 1: IPv4 header checksum wrong; bit 2: transport checksum wrong. */
  badChecksum = 0;
  /** First anomaly code hit while decoding this packet ('' for none). */
  anomaly = '';
  /** The outermost tunnel the packet came through (TUNNEL in tunnel.ts; 0 none), its VNI/key/label/session (-1 none). */
  tunnel = 0;
  tunnelId = -1;
  /** The tunnel's outer IP endpoints (version 0 for MPLS/PPPoE, which have none). */
  tunnelVersion = 0;
  readonly tunnelSrc = new Uint32Array(4);
  readonly tunnelDst = new Uint32Array(4);

  reset(): void {
    this.srcMac = -1;
    this.dstMac = -1;
    this.vlanDepth = 0;
    this.outerVlan = -1;
    this.badChecksum = 0;
    this.anomaly = '';
    this.tunnel = 0;
    this.tunnelId = -1;
    this.tunnelVersion = 0;
    this.resetNetwork();
  }

  /** Clears the network and transport fields, before decoding the packet inside a tunnel. */
  resetNetwork(): void {
    this.status = 0;
    this.ipVersion = 0;
    this.ipOff = 0;
    this.ipEnd = 0;
    this.ipWireEnd = 0;
    this.ttl = 0;
    this.ipProto = 0;
    this.ipId = 0;
    this.dontFragment = 0;
    this.fragment = 0;
    this.fragmented = 0;
    this.fragHdrOff = -1;
    this.l4 = 0;
    this.l4Off = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.seq = 0;
    this.ack = 0;
    this.tcpFlags = 0;
    this.window = 0;
    this.payloadOff = 0;
    this.payloadLen = 0;
    this.payloadWireLen = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.icmpId = -1;
    this.icmpSeq = -1;
    this.quoteVersion = 0;
    this.quoteProto = 0;
    this.quoteSrcPort = -1;
    this.quoteDstPort = -1;
    this.quoteSeq = -1;
    this.quoteDnsId = -1;
    this.quoteEchoId = -1;
    this.quoteEchoSeq = -1;
    this.arpOp = 0;
    this.arpSenderMac = -1;
    this.arpSenderIp = 0;
    this.arpTargetIp = 0;
  }
}
