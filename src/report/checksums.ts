import type { DecodedPacket } from '../decode/packet.js';
import { copyAddr, endpointHash, formatAddr } from '../flow/addr.js';

/** Senders of bad checksums remembered for the offload warning (a flood of distinct sources must not grow it). */
const MAX_BAD_SUM_SENDERS = 4096;

/**
 * Packets with a wrong IP or transport checksum, and who sent the transport ones: when one host
 * sent them all, it is most likely the capturing host with checksum offload.
 */
export class ChecksumStats {
  badIp = 0;
  badL4 = 0;
  /** Senders of packets with a wrong transport checksum, by network key (formatted only at the end). */
  private readonly senders = new Map<number, { version: number; addr: Uint32Array; count: number }>();

  /** A packet whose `badChecksum` bits are not 0 (bit 1: IP header, bit 2: TCP/UDP/ICMP). */
  note(pkt: DecodedPacket): void {
    if (pkt.badChecksum & 1) this.badIp++;
    if (pkt.badChecksum & 2) {
      this.badL4++;
      const key = pkt.ipVersion === 4 ? pkt.src[0] : 4294967296 + (endpointHash(pkt.src, 0) >>> 0);
      const e = this.senders.get(key);
      if (e !== undefined) e.count++;
      else if (this.senders.size < MAX_BAD_SUM_SENDERS) this.senders.set(key, { version: pkt.ipVersion, addr: copyAddr(pkt.src), count: 1 });
    }
  }

  /** The warning about wrong transport checksums, or null when there were none. */
  warning(): string | null {
    if (this.badL4 === 0) return null;
    const senders = [...this.senders.values()].sort((a, b) => b.count - a.count);
    const top = formatAddr(senders[0].version, senders[0].addr);
    const n = senders[0].count;
    const offload = senders.length === 1 ? `, all sent by ${top}: most likely checksum offload on the capturing host, harmless` : ` (most from ${top}: ${n}); if these hosts are the capturing host, it is checksum offload`;
    return `${this.badL4} packet${this.badL4 === 1 ? '' : 's'} with a wrong TCP/UDP/ICMP checksum${offload}`;
  }
}
