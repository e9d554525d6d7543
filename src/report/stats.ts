import type { CaptureRecord } from '../capture/record.js';
import { Anomalies } from '../capture/damage.js';
import { isDecodableLinkType } from '../capture/linktypes.js';
import { DecodeStatus, L4, type DecodedPacket } from '../decode/packet.js';
import { ChecksumStats } from './checksums.js';
import type { Report } from './report.js';
import type { FragCounts } from '../flow/fragments.js';

/** What the decoder said about each packet, counted for the report's `stats` and `anomalies`. */
export class PacketStats {
  decodedIp = 0;
  notIp = 0;
  truncated = 0;
  malformed = 0;
  unsupportedLink = 0;
  readonly checksums = new ChecksumStats();
  /** The decoder's anomalies (and the flow layer's, such as dns_tcp_gap). */
  readonly anomalies = new Anomalies();

  /** One decoded packet. */
  note(pkt: DecodedPacket, rec: CaptureRecord): void {
    if (pkt.anomaly !== '') this.anomalies.add(pkt.anomaly, `frame ${rec.frame}`);
    switch (pkt.status) {
      case DecodeStatus.Truncated:
        this.truncated++;
        break;
      case DecodeStatus.Malformed:
        this.malformed++;
        break;
      case DecodeStatus.Unsupported:
        if (!isDecodableLinkType(rec.linkType)) this.unsupportedLink++;
        break;
    }
    if (pkt.ipVersion === 0) {
      if (pkt.l4 !== L4.Arp) this.notIp++;
      return;
    }
    this.decodedIp++;
    if (pkt.badChecksum !== 0) this.checksums.note(pkt);
  }

  /** The report's `anomalies`: these and the reader's (damage to the file itself), whose examples win. */
  anomaliesWith(reader: Anomalies): Report['anomalies'] {
    this.anomalies.merge(reader);
    return this.anomalies.list();
  }

  /** The report's `stats`, with the counts the flow layer keeps. */
  stats(icmpErrorsUnmatched: number, flowsNotTracked: number, missed: { bytes: number; connections: number }, frags: FragCounts): Report['stats'] {
    return {
      decodedIp: this.decodedIp,
      notIp: this.notIp,
      truncatedPackets: this.truncated,
      malformedPackets: this.malformed,
      badIpChecksums: this.checksums.badIp,
      badTransportChecksums: this.checksums.badL4,
      icmpErrorsUnmatched,
      unsupportedLinkPackets: this.unsupportedLink,
      flowsNotTracked,
      captureMissedBytes: missed.bytes,
      captureMissedConnections: missed.connections,
      ipFragments: frags.fragments,
      reassembledDatagrams: frags.reassembled,
      incompleteDatagrams: frags.incomplete,
    };
  }
}
