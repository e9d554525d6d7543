import type { AnalyzeOptions } from '../options.js';
import type { FlowRecord } from '../verdict/types.js';
import type { ProblemGroup } from './groups.js';

/**
 * Version of the `json` / `ndjson` output (schema/). Bumped on breaking changes: 2 put the records
 * of all captures in one list labelled by `file`, with one summary per capture in `files`.
 */
export const SCHEMA_VERSION = 2;

/** What the analysis of one capture found. */
export interface Report {
  schema: number;
  input: {
    name: string;
    format: string;
    linkTypes: { linkType: number; name: string; packets: number }[];
    packets: number;
    bytes: number;
    /** ISO 8601 of the first and last packet, null when there were none. */
    first: string | null;
    last: string | null;
    durationSec: number;
    /** The files of a capture read in parts (a rotated set), in the order read; absent for one file. */
    parts?: { name: string; packets: number; first: string | null; last: string | null }[];
    /** Where the capture was taken, judged from TTLs (absent when no connection showed both sides). */
    vantage?: string;
    /** Captures correlated as vantage points of one network (--vantages): each one's clock offset from the first and what they share. */
    vantages?: VantageClock[];
  };
  options: AnalyzeOptions;
  records: FlowRecord[];
  /** Every problem's group of problems alike (report/groups.ts), in the order of their first records. */
  groups: ProblemGroup[];
  summary: {
    verdicts: Record<string, number>;
    problems: number;
    tcpConnections: number;
    tcpConversations: number;
    dnsTransactions: number;
    udpFlows: number;
  };
  stats: {
    decodedIp: number;
    notIp: number;
    truncatedPackets: number;
    malformedPackets: number;
    badIpChecksums: number;
    badTransportChecksums: number;
    icmpErrorsUnmatched: number;
    unsupportedLinkPackets: number;
    /** New flows not tracked because --max-flows was reached. */
    flowsNotTracked: number;
    /** TCP payload bytes a receiver acknowledged that the capture never saw, and the connections with any. */
    captureMissedBytes: number;
    captureMissedConnections: number;
    /** IP fragments seen (IPv4 and IPv6), the datagrams reassembled from them, and those that never completed (a fragment lost, overlapping fragments, the bounds). */
    ipFragments: number;
    reassembledDatagrams: number;
    incompleteDatagrams: number;
  };
  anomalies: { code: string; count: number; first: string }[];
  warnings: string[];
  /**
   * The id the next capture's first record takes (records of several captures are numbered on).
   * Every decided record takes an id, the ones a filter rejects too, so an id names the same flow
   * with or without a filter. Not part of the output (fileReport leaves it out).
   */
  nextId: number;
}

/** How the captures' clocks and packets relate, per capture (report.input.vantages). */
export interface VantageClock {
  name: string;
  /** This capture's clock minus the first capture's, ms (0 for the first). */
  clockOffsetMs: number;
  /**
   * The capture this one's offset was estimated from, when not the first (three or more
   * captures: each is estimated from the capture it shares the most matched packets with, and the
   * offsets add up along that chain); matchedPackets, sharedFlows and transitMs are then between
   * this capture and that one.
   */
  via?: string;
  /** How the offset was estimated (src/vantage/match.ts ClockOffset); 'reference' for the first capture. */
  method: 'reference' | 'both-ways' | 'one-way' | 'same-hop' | 'none';
  /** Packets found in both this capture and the first (or `via`). */
  matchedPackets: number;
  /** Flows found in both. */
  sharedFlows: number;
  /** Upper bound of one-way transit between the two capture points, ms. */
  transitMs: number;
}
