import { DecodedPacket, DecodeStatus, L4 } from './packet.js';
import { decapsulate, TUNNEL, unwrapLink } from './tunnel.js';
import { decodeLink, LinkResult } from './link.js';
import { decodeIpv4, decodeIpv6, Ipv6Upper } from './ip.js';
import { decodeArp, decodeTransport } from './transport.js';
import { ETHERTYPE } from './enums.js';
import type { CaptureRecord } from '../capture/record.js';

/** Tunnels inside tunnels followed before the rest is taken as damage (or an attack). */
const MAX_TUNNEL_DEPTH = 4;

/**
 * Decodes one record into the reused `pkt`: link → network → transport. Application data
 * (DNS) is left in place for the flow layer, which decodes it only on port 53.
 */
export class PacketDecoder {
  private buf: Buffer | null = null;
  /** A view over the buffer of the last decoded record (for the flow layer's DNS reads too). */
  dv!: DataView;
  private u8!: Uint8Array;
  private readonly link = new LinkResult();
  private readonly upper = new Ipv6Upper();

  decode(rec: CaptureRecord, pkt: DecodedPacket): void {
    if (rec.data !== this.buf) {
      this.buf = rec.data;
      this.dv = new DataView(rec.data.buffer, rec.data.byteOffset, rec.data.byteLength);
      this.u8 = rec.data;
    }
    pkt.reset();
    const dv = this.dv;
    const u8 = this.u8;
    const link = this.link;
    let st = decodeLink(rec.linkType, pkt, dv, u8, rec.off, rec.end, link);
    let end = rec.end;
    for (let depth = 0; st === DecodeStatus.Ok; depth++) {
      st = this.network(pkt, link.etherType, link.off, end);
      if (st !== DecodeStatus.Ok || pkt.l4 === L4.Arp || pkt.fragment) break;
      st = decodeTransport(pkt, dv, u8, pkt.l4Off, pkt.ipEnd, this.upper);
      if (st !== DecodeStatus.Ok) break;
      // a tunnel: decode the packet it carries in place of this one, naming the outermost tunnel
      const outer = pkt.tunnel;
      const outerId = pkt.tunnelId;
      const version = pkt.ipVersion;
      const udp = pkt.l4 === L4.Udp;
      const inner = decapsulate(pkt, dv, u8, udp ? pkt.payloadOff : pkt.l4Off, udp ? pkt.payloadOff + pkt.payloadLen : pkt.ipEnd, link);
      if (inner === DecodeStatus.Unsupported) break;
      if (inner !== DecodeStatus.Ok || depth === MAX_TUNNEL_DEPTH) {
        if (pkt.anomaly === '') pkt.anomaly = inner === DecodeStatus.Ok ? 'tunnel_too_deep' : 'tunnel_header_damaged';
        break; // the carrier itself decoded fine: analyse it as it is
      }
      if (outer !== TUNNEL.None) {
        pkt.tunnel = outer;
        pkt.tunnelId = outerId;
      } else if (version !== 0) {
        pkt.tunnelVersion = version;
        pkt.tunnelSrc.set(pkt.src);
        pkt.tunnelDst.set(pkt.dst);
      }
      end = pkt.ipEnd;
      pkt.resetNetwork();
    }
    pkt.status = st;
  }

  /** The network layer at `off`: IPv4, IPv6 or ARP, through MPLS and PPPoE. */
  private network(pkt: DecodedPacket, etherType: number, off: number, end: number): number {
    const dv = this.dv;
    const u8 = this.u8;
    switch (etherType) {
      case ETHERTYPE.IPV4:
        return decodeIpv4(pkt, dv, u8, off, end);
      case ETHERTYPE.IPV6:
        return decodeIpv6(pkt, dv, u8, off, end, this.upper);
      case ETHERTYPE.ARP:
        return decodeArp(pkt, dv, u8, off, end);
    }
    const st = unwrapLink(pkt, dv, u8, etherType, off, end, this.link);
    if (st !== DecodeStatus.Ok) return st;
    if (this.link.etherType !== ETHERTYPE.IPV4 && this.link.etherType !== ETHERTYPE.IPV6) return DecodeStatus.Unsupported;
    return this.network(pkt, this.link.etherType, this.link.off, end);
  }
}
