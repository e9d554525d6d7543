import type { DecodedPacket } from '../decode/packet.js';
import { copyAddr, endpointHash, formatAddr } from '../flow/addr.js';

/** Senders of bad checksums remembered for the offload warning (a flood of distinct sources must not grow it). */
const MAX_BAD_SUM_SENDERS = 4096;

/** ChecksumStats as JSON keeps it: the senders as [IP version, address words, packets]. */
export interface ChecksumCounts {
  badIp: number;
  badL4: number;
  senders: [number, number[], number][];
}

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
      this.addSender(pkt.ipVersion, pkt.src, 1);
    }
  }

  private addSender(version: number, addr: Uint32Array, n: number): void {
    const key = version === 4 ? addr[0] : 4294967296 + (endpointHash(addr, 0) >>> 0);
    const e = this.senders.get(key);
    if (e !== undefined) e.count += n;
    else if (this.senders.size < MAX_BAD_SUM_SENDERS) this.senders.set(key, { version, addr: copyAddr(addr), count: n });
  }

  /** What the counts are, for a chunk's state (src/handoff/): the senders in the order first seen. */
  toJSON(): ChecksumCounts {
    return { badIp: this.badIp, badL4: this.badL4, senders: [...this.senders.values()].map((e) => [e.version, [...e.addr], e.count]) };
  }

  /** The counts of several chunks read one after the other, as one analysis of them all counts them. */
  static merged(chunks: readonly ChecksumCounts[]): ChecksumStats {
    const out = new ChecksumStats();
    for (const c of chunks) {
      out.badIp += c.badIp;
      out.badL4 += c.badL4;
      for (const [version, addr, n] of c.senders) out.addSender(version, Uint32Array.from(addr), n);
    }
    return out;
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
