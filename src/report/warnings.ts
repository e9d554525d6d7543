import { isDecodableLinkType, linkTypeName } from '../capture/linktypes.js';
import type { Report } from './report.js';

/** Anomalies that mean part of the file could not be read. */
const DAMAGE = new Set(['truncated_file', 'compressed_stream_damaged', 'bad_block_length', 'absurd_record_length', 'bad_section_header', 'unsupported_section_version']);

/** What the warnings are made from. */
export interface WarningFacts {
  anomalies: Report['anomalies'];
  /** Packets per link type. */
  linkTypes: ReadonlyMap<number, number>;
  /** The wrong-checksum warning (ChecksumStats.warning), or null. */
  checksums: string | null;
  flowsNotTracked: number;
  maxFlows: number;
  truncatedPackets: number;
  /** TCP bytes acknowledged by a receiver that the capture never saw, and in how many connections. */
  captureMissed: { bytes: number; connections: number };
}

/** The report's warnings: what makes its verdicts less complete or less sure. */
export function warnings(f: WarningFacts): string[] {
  const w: string[] = [];
  for (const d of f.anomalies) if (DAMAGE.has(d.code)) w.push(`damaged capture: ${d.first}; verdicts cover what was readable`);
  for (const [lt, n] of f.linkTypes) {
    if (!isDecodableLinkType(lt)) w.push(`${n} packet${n === 1 ? '' : 's'} with unsupported link type ${lt} (${linkTypeName(lt)}) counted but not analysed`);
  }
  if (f.checksums !== null) w.push(f.checksums);
  const dropped = f.flowsNotTracked;
  if (dropped > 0) {
    w.push(`flow table full (--max-flows ${f.maxFlows}): ${dropped} new flow${dropped === 1 ? ' was' : 's were'} not tracked, so their packets were counted but not analysed; raise --max-flows if memory allows`);
  }
  const dns = f.anomalies.find((a) => a.code === 'dns_malformed');
  if (dns !== undefined) w.push(`${dns.count} DNS message${dns.count === 1 ? '' : 's'} too short or malformed to read, not counted as lookups (first: ${dns.first})`);
  const gap = f.anomalies.find((a) => a.code === 'dns_tcp_gap');
  if (gap !== undefined) w.push(`${gap.count} DNS-over-TCP stream${gap.count === 1 ? '' : 's'} with bytes missing from the capture: the rest of each was not read (first: ${gap.first})`);
  const cert = f.anomalies.find((a) => a.code === 'tls_certificate_unchecked');
  if (cert !== undefined)
    w.push(`${cert.count} certificate${cert.count === 1 ? '' : 's'} naming ${cert.count === 1 ? 'itself' : 'themselves'} as issuer not checked for a valid self-signature, so not called self-signed (first: ${cert.first})`);
  const cut = f.truncatedPackets;
  const m = f.captureMissed;
  if (m.connections > 0) {
    w.push(
      `the capture missed packets: ${m.bytes} TCP byte${m.bytes === 1 ? '' : 's'} in ${m.connections} connection${m.connections === 1 ? ' were' : 's were'} acknowledged by the receiver but never captured (capture drops: a full capture buffer, or a tap that missed them), not losses in the network`,
    );
  }
  if (cut > 0) w.push(`${cut} packet${cut === 1 ? '' : 's'} cut short by the snapshot length before their headers ended`);
  return w;
}
