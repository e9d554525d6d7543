import type { Cause, CAUSE, Fact, Story, STORY } from './facts.js';

// the verdict ids live in their own module so that facts.ts can name them without a cycle
export { VERDICT_IDS, type VerdictId } from './verdict-ids.js';
import type { VerdictId } from './verdict-ids.js';

/** Verdicts that are not problems. */
export const HEALTHY: ReadonlySet<VerdictId> = new Set<VerdictId>(['ok', 'dns-ok', 'ping-ok', 'health-check', 'dns-search-miss', 'dns-other-family', 'dns-referral', 'dns-update-ok', 'dns-notify-ok']);

export type By = 'server' | 'client' | 'middlebox' | 'unknown';

/**
 * How two records are related (src/related/): a proxy's front and back legs, the two legs of a
 * NAT, the two address families of one name (happy eyeballs), a resolver's answer and its own
 * failing upstream queries, other flows to the same host that tell this one's cause.
 */
export const RELATED_KINDS = ['proxy-leg', 'nat-leg', 'other-family', 'dns-upstream', 'same-host'] as const;
export type RelatedKind = (typeof RELATED_KINDS)[number];

/** One related record: its id, how it is related, and what that tells about this record. */
export interface Related {
  id: number;
  kind: RelatedKind;
  why: string;
}

/** One analysed connection attempt or DNS transaction, as every renderer receives it. */
export interface FlowRecord {
  type: 'flow';
  /** The capture it came from (the name given on the command line; <stdin> for '-'). */
  file?: string;
  /**
   * 1-based, in order of decision (records decided together in order of start time), numbered on
   * over the captures of a run. Records a --filter leaves out take their ids too, so an id names
   * the same flow with or without a filter.
   */
  id: number;
  /**
   * Names the flow within its capture, whatever the filter, output format or other captures
   * (format in verdict/key.ts), e.g. `tcp 10.0.1.10:53600 10.0.2.20:83 isn 12345 #13`.
   */
  key: string;
  /** A Wireshark/tshark display filter selecting the flow's packets (wireshark.ts); set on records that are shown. */
  wireshark?: string;
  proto: 'tcp' | 'udp' | 'dns' | 'icmp' | 'arp';
  client: string;
  server: string;
  verdict: VerdictId;
  by: By;
  /** ISO 8601 UTC, nanosecond digits. */
  start: string;
  /** Seconds from the capture's first packet to this flow's first packet. */
  t: number;
  /** Seconds from the flow's first to its last packet. */
  duration: number;
  /** One-line explanation of the verdict. */
  summary: string;
  evidence: string[];
  /** What to check next. Empty for healthy flows. */
  check: string;
  /**
   * The evidence as data, one fact per evidence line (see facts.ts); summary, evidence and check
   * are written from these (src/render/sentences.ts). Absent on records that are only counted.
   */
  facts?: Fact[];
  /** What the summary and check are made from (not in JSON output: a symbol key). */
  [STORY]?: Story;
  /** Frame number of the packet that decided the verdict (0 when none, e.g. a timeout). */
  frame: number;
  firstFrame: number;
  packets: number;
  /** MAC of the responder or deciding packet's sender, with its vendor and role, when known. */
  mac?: string;
  vendor?: string;
  /**
   * What `mac` is to the deciding packet: `sender` (the host with this MAC made it), `gateway` (a
   * router with this MAC made it itself: it arrived unrouted), `via-gateway` (it was routed here
   * through this router from further away: the vendor says nothing about who made it),
   * `next-hop` (nothing answered: where the client's packets went).
   */
  macRole?: MacRole;
  /** TCP only: Zeek-style connection state and history. */
  state?: string;
  history?: string;
  /** DNS only. */
  query?: string;
  qtype?: string;
  rcode?: string;
  transport?: 'udp' | 'tcp';
  answers?: string[];
  attempt?: number;
  /** DNS: UPDATE or NOTIFY (absent for a query, a lookup); query is then the zone. */
  opcode?: 'UPDATE' | 'NOTIFY';
  /** TLS as read from the handshake: server name, chosen (or offered) version, first alert. */
  tls?: { sni?: string; version?: string; alert?: string };
  /** HTTP/1.x: the first request line and response status. */
  http?: { request?: string; status?: number; server?: string };
  /**
   * TCP: ms from the client's first request to the first byte of the answer (TLS: ClientHello to
   * ServerHello; HTTP: request to status line), and from a request to its answer's first byte for
   * the slowest of the connection's turns. Absent when nothing was asked and answered.
   */
  responseMs?: number;
  ttfbMs?: number;
  /** Ping: echo requests sent and answered, round-trip times in ms. */
  echo?: { sent: number; answered: number; rttMinMs?: number; rttAvgMs?: number; rttMaxMs?: number };
  /** Names the capture's DNS answers gave the client and server addresses. */
  clientName?: string;
  serverName?: string;
  /** A problem: the id of its group (the first record of the problems alike, see report/groups.ts). */
  group?: number;
  /** Several vantage points (--vantages): what each capture saw of this flow, client side first. */
  vantages?: VantagePart[];
  /** Other records of the capture that tell this one's cause (at most MAX_RELATED, src/related/relate.ts). */
  related?: Related[];
  /** What a related record tells of this one's cause, for its summary and check (not in JSON output: a symbol key). */
  [CAUSE]?: Cause;
}

export type MacRole = 'sender' | 'gateway' | 'via-gateway' | 'next-hop';

/** What a record's `vantages` part says of one capture. */
export interface VantagePart {
  file: string;
  /** The flow as this capture named it (its own key: addresses after a NAT differ); absent when it saw none of its packets. */
  key?: string;
  /** What this capture alone concluded; absent when it saw none of its packets. */
  verdict?: VerdictId;
  by?: FlowRecord['by'];
  packets: number;
  /** Frame numbers in this capture of the flow's packets (the first MAX_FRAMES). */
  frames: number[];
  /** What this capture saw: its own summary, or that it saw none of the flow's packets. */
  saw: string;
}
