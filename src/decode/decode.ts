import { DecodedPacket, DecodeStatus } from './packet.js';
import { decodeLink, ETHERTYPE, LinkResult } from './link.js';
import { decodeIpv4, decodeIpv6 } from './ip.js';
import { decodeArp, decodeTransport } from './transport.js';
import type { CaptureRecord } from '../capture/record.js';

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

  decode(rec: CaptureRecord, pkt: DecodedPacket): void {
    if (rec.data !== this.buf) {
      this.buf = rec.data;
      this.dv = new DataView(rec.data.buffer, rec.data.byteOffset, rec.data.byteLength);
      this.u8 = rec.data;
    }
    pkt.reset();
    const dv = this.dv;
    const u8 = this.u8;
    let st = decodeLink(rec.linkType, pkt, dv, u8, rec.off, rec.end, this.link);
    if (st !== DecodeStatus.Ok) {
      pkt.status = st;
      return;
    }
    const off = this.link.off;
    switch (this.link.etherType) {
      case ETHERTYPE.IPV4:
        st = decodeIpv4(pkt, dv, u8, off, rec.end);
        break;
      case ETHERTYPE.IPV6:
        st = decodeIpv6(pkt, dv, u8, off, rec.end);
        break;
      case ETHERTYPE.ARP:
        pkt.status = decodeArp(pkt, dv, u8, off, rec.end);
        return;
      default:
        pkt.status = DecodeStatus.Unsupported;
        return;
    }
    if (st !== DecodeStatus.Ok) {
      pkt.status = st;
      return;
    }
    if (pkt.fragment) return;
    pkt.status = decodeTransport(pkt, dv, u8);
  }
}
