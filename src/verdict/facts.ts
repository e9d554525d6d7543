import { registerMark } from './marks.js';
import { describeMac } from '../oui/lookup.js';
import { formatMac } from '../flow/addr.js';
import type { VerdictId } from './verdict-ids.js';

/**
 * Evidence as data: one fact per evidence line of a record, in the order the lines are printed.
 * The verdict layer builds facts; src/render/sentences.ts turns them (and a record's Story) into
 * the sentences of `summary`, `evidence` and `check`.
 *
 * Conventions:
 *  - addresses, endpoints, names and MACs are fields of their own, never inside another string,
 *    so names from the capture's DNS can be attached to them (see DnsNames);
 *  - `t` fields are points in time in ns since the flow's first packet (the record's `t`);
 *    fields ending in `Ns` are durations in ns (what the sentence calls "x after y");
 *  - `frame` fields are 1-based frame numbers in the capture;
 *  - `ipVersion` is 4 or 6 (it decides "TTL" or "hop limit", "ARP" or "neighbour");
 *  - an optional field that does not apply is undefined, which JSON output leaves out (facts are
 *    built with every field of their kind in one order, so each kind has one shape).
 */

export type Side = 'client' | 'server';

/** A MAC address with what its OUI (or its special range) says about it. */
export interface MacRef {
  mac: string;
  /** The vendor registered for its OUI. */
  vendor?: string;
  /** VRRP/HSRP virtual router, multicast, locally administered. */
  note?: string;
}

/** What the RST's timing is measured from (see the rst fact). */
export type RstAfter = 'syn' | 'syn-ack' | 'handshake' | 'client-last' | 'peer-last' | 'client-hello' | 'start';

export type CertProblem = { problem: 'self-signed' } | { problem: 'expired'; on: string } | { problem: 'not-yet-valid'; until: string } | { problem: 'name-mismatch'; names: string[]; sni: string };

export type Fact =
  // ---- TCP handshake
  /** The client's SYN(s): frames and times (ns since the first SYN) of the first few, and how many in all. */
  | { kind: 'syn'; frames: number[]; t: number; times: number[]; count: number }
  | { kind: 'syn-ack'; frame: number; t: number; count: number; ttl: number; hops: number; ipVersion: number; ack?: number; expectedAck?: number }
  /** A SYN-ACK, then the capture ended waitedNs later. */
  | { kind: 'syn-ack-then-end'; frame: number; t: number; waitedNs: number }
  | { kind: 'syn-ack-not-for-isn' }
  | { kind: 'no-final-ack'; waitedNs: number }
  /** Handshake completed at t (frame: the client's ACK, when shown). */
  | { kind: 'handshake'; t: number; frame?: number }
  /** A healthy handshake: done after t, with the SYN-ACK's frame and time. */
  | { kind: 'handshake-time'; t: number; synAckFrame: number; synAckT: number }
  | { kind: 'no-syn'; frame: number }
  | { kind: 'client-side-only'; packets: number; bytes: number }
  | { kind: 'server-side-only'; frame: number; server: string; packets: number }
  | { kind: 'client-rst-bad-ack'; frame: number; count: number }
  /** The server answered the SYN with a plain ACK acknowledging `ack` (a challenge ACK); rstFrame: the client's RST answering it. */
  | { kind: 'challenge-ack'; frame: number; t: number; ack: number; expectedAck: number; rstFrame?: number }
  | { kind: 'syn-retries'; count: number }
  | { kind: 'no-reply'; triedNs: number; afterLastSynNs: number }
  // ---- closing
  /** A RST (flags e.g. "RST+ACK"), afterNs after the point `after` names; gapNs: since the client's last packet (after = 'handshake'). */
  | { kind: 'rst'; frame: number; t: number; flags: string; from: Side; ttl: number; hops: number; ipVersion: number; ackMismatch: boolean; after: RstAfter; afterNs: number; gapNs?: number; closing?: boolean }
  | { kind: 'then-rst'; frame: number; from: Side; t: number }
  | { kind: 'fin'; from: Side; frame: number; after: 'handshake' | 'client-hello'; afterNs: number }
  // ---- data
  | { kind: 'client-data'; frame: number; bytes: number; unanswered: boolean }
  | { kind: 'data'; clientBytes: number; serverBytes: number }
  | { kind: 'stall'; side: Side; seq: number; len: number; df: boolean; count: number; frame: number; t: number; spanNs: number }
  | { kind: 'pmtu'; peer: Side; ackedSeq: number }
  | { kind: 'zero-window'; side: Side; frame: number; t: number; durationNs: number; until?: 'connection-end' | 'capture-end' }
  /** The client's first request (new bytes after the handshake) and whether the server's stack acknowledged it. */
  | { kind: 'request'; frame: number; t: number; bytes: number }
  | { kind: 'request-acked'; frame: number; afterNs: number }
  | { kind: 'request-not-acked' }
  /** No byte from the server for waitedNs after the request's last byte, until the client gave up or the end. */
  | { kind: 'no-answer'; waitedNs: number; until: 'client-fin' | 'client-rst' | 'connection-end' | 'capture-end'; frame?: number }
  /** The first request's answer time, and the slowest of `turns` request/response turns. */
  | { kind: 'response-time'; firstNs: number; requestFrame: number; responseFrame: number; slowestNs: number; slowestRequestFrame: number; slowestResponseFrame: number; turns: number }
  /** The receiver acknowledged `bytes` of this side's data that the capture never saw (first shown by `frame`). */
  | { kind: 'capture-missed'; side: Side; bytes: number; frame: number }
  /** Segments of this side's seen twice (count/bytes, first at frame), holes a retransmission repaired, the peer's duplicate ACKs. */
  | { kind: 'retransmissions'; side: Side; count: number; bytes: number; frame: number; repaired: number; dupAcks: number }
  /** The sender's bytes from seq never reached the receiver: a gap revealed at frame, unfilled and unacknowledged for waitedNs. */
  | { kind: 'hole'; side: Side; receiver: Side; seq: number; bytes: number; holes: number; frame: number; t: number; waitedNs: number; dupAcks: number; sacks: number }
  /** Only segments up to maxSeg bytes arrived, though the receiver offered MSS mss. */
  | { kind: 'pmtu-receiver'; side: Side; receiver: Side; maxSeg: number; mss: number }
  /** The stalled segment's repeats: spacing from the first gap to the last (doubling: the sender's RTO backoff). */
  /** The options each side's SYN offered (absent MSS / window scale: not offered). */
  | { kind: 'tcp-options'; client: SynOptions; server: SynOptions }
  /** The sender's segments never exceeded maxSeg (count times at that size) though the receiver's SYN offered MSS `offered`: clamped in the path. */
  | { kind: 'mss-clamp'; side: Side; receiver: Side; offered: number; maxSeg: number; count: number }
  | { kind: 'rto-backoff'; side: Side; count: number; firstGapNs: number; lastGapNs: number }
  // ---- who sent it
  | { kind: 'attribution'; reason: 'initial-ttl-via-router'; ttl: number; ipVersion: number; mac: string; vendor?: string; note?: string }
  | { kind: 'attribution'; reason: 'ttl-differs'; ttl: number; hops: number; ipVersion: number; min: number; max: number; whose: 'this-connection' | 'other-connections' }
  | { kind: 'attribution'; reason: 'faster-than-rtt'; afterSynNs: number; rttNs: number }
  | { kind: 'attribution'; reason: 'ttl-matches'; ipVersion: number; whose: 'this-connection' | 'other-connections' }
  | { kind: 'attribution'; reason: 'icmp-not-from-server'; from: string }
  /**
   * A box in the path answered the handshake (SYN-ACK #frame, `box`) for `server`, whose own
   * SYN-ACKs in `conns` other connections (the first #ownFrame) look like `own`; mac: where the
   * box's SYN-ACK came from (gateway: a router, or the MAC that brings the server's routed packets;
   * sameMac: the MAC of `own` too); stackDiffers: another option layout, MSS or window scale.
   */
  | {
      kind: 'attribution';
      reason: 'handshake-by-box';
      frame: number;
      ipVersion: number;
      box: HandshakeView;
      mac: string;
      vendor?: string;
      note?: string;
      gateway: boolean;
      server: string;
      own: HandshakeView;
      conns: number;
      ownFrame: number;
      sameMac: boolean;
      stackDiffers: boolean;
    }
  /** The SYNs' endpoint (address:port) accepted `accepted` other connections in the second before the first SYN, the last nearestNs before it, and none after. */
  | { kind: 'port-accepted'; endpoint: string; accepted: number; nearestNs: number }
  /** The deciding packet came from (or went to) the LAN's gateway. */
  | { kind: 'gateway'; mac: string; vendor?: string; note?: string }
  | { kind: 'mac'; role: 'sender' | 'server' | 'client'; mac: string; vendor?: string; note?: string }
  /** Unanswered SYNs or echo requests went to this MAC (gateway: a router's). */
  | { kind: 'sent-to'; what: 'SYNs' | 'requests'; gateway: boolean; mac: string; vendor?: string; note?: string }
  /** An ICMP error from `from` (message: "ICMP port unreachable (type 3 code 3)"); t/ttl absent when only mentioned; errors: how many in all, when more than one. */
  | { kind: 'icmp'; frame: number; from: string; type: number; code: number; ipVersion: number; message: string; t?: number; ttl?: number; hops?: number; errors?: number }
  | { kind: 'capture-ended'; after: 'syn' | 'query'; gapNs: number; timeoutNs: number }
  | { kind: 'tunnel'; tunnel: string; between?: [string, string] }
  | { kind: 'probe-series'; intervalNs: number; jitterPct: number }
  // ---- TLS and HTTP
  | { kind: 'tls-client-hello'; frame: number; sni?: string; offered: string[] }
  | { kind: 'tls-server-hello'; frame: number; version: string }
  /** Dates are UTC days, YYYY-MM-DD ('?' when unreadable); issuer absent when self-signed. */
  | { kind: 'tls-certificate'; frame: number; subject: string; issuer?: string; validFrom: string; validTo: string; names: string[]; chain: number }
  | { kind: 'tls-certificate-problems'; problems: CertProblem[] }
  /** level 2 fatal, 1 warning; desc -1 for an encrypted alert (then no alert name). */
  | { kind: 'tls-alert'; frame: number; from: Side; t: number; level: number; desc: number; alert?: string }
  | { kind: 'http-request'; frame: number; method: string; path: string }
  | { kind: 'http-response'; frame: number; status: number; reason?: string; server?: string }
  // ---- UDP and DNS
  | { kind: 'udp-datagrams'; frame: number; sent: number; received: number }
  /** opcode: absent for a query (a lookup); for an UPDATE, query is the zone and qtype SOA. */
  | { kind: 'dns-query'; frame: number; query: string; qtype: string; id: number; transport: 'udp' | 'tcp'; attempt: number; opcode?: DnsOpcode }
  | { kind: 'dns-query-missing'; id: number }
  | { kind: 'dns-no-response'; waitedNs: number }
  /**
   * The answer came in IP fragments and not all arrived: the frames that did, the fragments that
   * never did (runs of fragment numbers from 1), of how many (absent when the last one never came),
   * and why the datagram was given up (flow/fragments.ts FragFailure).
   */
  | { kind: 'dns-answer-fragmented'; frames: number[]; missing: [number, number][]; of?: number; failure: string }
  | { kind: 'dns-response'; frame: number; rcode: string; afterNs?: number; answerCount: number; truncated: boolean }
  /** value: the address for A/AAAA, the name for CNAME and the like, absent for other types. */
  | { kind: 'dns-answers'; answers: DnsAnswer[] }
  | { kind: 'dns-duplicates'; count: number }
  /** The lookup that makes a failure benign: the stem (or expansion) of a search-list walk, or the name's other address family; afterNs from this response to its. */
  | { kind: 'dns-sibling'; why: 'search-miss' | 'other-family'; frame: number; query: string; qtype: string; gapNs: number; earlier: boolean }
  /** A referral: no answer, no AA bit, the zone's name servers in the authority section; rd: the query asked for recursion; ra: the server offers it. */
  | { kind: 'dns-referral'; rd: boolean; ra: boolean }
  /** The client asked the same server the same question again (frame, afterNs after this query) with no answer to this one. */
  | { kind: 'dns-retried'; frame: number; afterNs: number }
  // ---- ping
  | { kind: 'echo-requests'; frame: number; count: number; spanNs: number; ttl: number; ipVersion: number }
  | { kind: 'echo-reply'; frame: number; ttl: number; hops: number; ipVersion: number; lost: number }
  | { kind: 'echo-no-reply'; waitedNs: number }
  | { kind: 'routing-loop'; target: string; routers: LoopHop[] }
  /** A probe sent with `ttl` ran out at `router`, only `hops` away: it went round a loop. */
  | { kind: 'ttl-spent'; ttl: number; router: string; hops: number; ipVersion: number }
  // ---- ARP / neighbour discovery (mac, vendor, note: the asker's or the claimed MAC)
  | { kind: 'neighbor-solicit'; ipVersion: number; target: string; asker: string; mac: string; vendor?: string; note?: string; count: number; frames: number[]; spanNs: number }
  | { kind: 'neighbor-no-reply'; ipVersion: number; waitedNs: number }
  | { kind: 'neighbor-claim'; ipVersion: number; frame: number; t: number; addr: string; mac: string; vendor?: string; note?: string }
  // ---- several vantage points (src/vantage/correlate.ts): where each packet was last seen
  /**
   * Packets (what: SYN, SYN-ACK, RST, data segment…) that left `from` as fromFile saw and never reached `to` as toFile saw it; frames in fromFile.
   * With three or more captures along the path (PathSegment): the points in between that saw them pass, those that did not, and the segment they died in.
   */
  | ({ kind: 'path-lost'; what: string; frames: number[]; count: number; dir: 'to-server' | 'to-client'; from: string; to: string; fromFile: string; toFile: string } & PathSegment)
  /** Packets `file` saw arrive as if from `claimed`, which otherFile (nearer `claimed`) never saw it send; with three or more captures, where they first appear (PathSegment). */
  | ({ kind: 'path-forged'; what: string; frames: number[]; count: number; dir: 'to-server' | 'to-client'; claimed: string; file: string; otherFile: string } & PathSegment)
  /** A NAT between the captures: the client's (or server's) endpoint `before` in beforeFile is `after` in afterFile (two neighbouring points along the path). */
  | { kind: 'path-nat'; side: Side; before: string; after: string; beforeFile: string; afterFile: string }
  /** Every packet of the flow was seen at every point (files, in path order from the client); transitNs: median time from the first to the last (after the clock offsets). */
  | { kind: 'path-intact'; packets: number; files: string[]; transitNs: number }
  /**
   * A box between the captures rewrites TCP sequence numbers (src/vantage/fallback.ts): it adds
   * toServer to the client's packets' seq on their way to the server (farFile's minus nearFile's)
   * and toClient to the server's on their way back (nearFile's minus farFile's), mod 2^32, and
   * takes as much from the acknowledgements (absent: no packet that way to tell); packets: matched through it, segments of them by
   * payload. proxy: it answered the client's handshake itself, the SYN-ACK (frame in nearFile)
   * earlierNs before the server saw any SYN (frame in farFile): a SYN proxy; nearFrames/farFrames:
   * the packets of its two handshakes with no copy on the other side (not judged lost or forged).
   */
  | { kind: 'path-seq'; toServer?: number; toClient?: number; packets: number; segments: number; nearFile: string; farFile: string; proxy?: { synAck: number; syn: number; earlierNs: number; nearFrames: number[]; farFrames: number[] } };

/**
 * Where along a path of three or more captures a packet was last (or first) seen: only when
 * there are points between the two ends of the fact. `passed`: captures in between that saw it
 * (their frames); `missed`: captures in between that did not; `between`: the two neighbouring
 * points, in the packet's direction of travel, it died (or was made) between.
 */
export interface PathSegment {
  passed?: { file: string; frames: number[] }[];
  missed?: string[];
  between?: [string, string];
}

export type FactKind = Fact['kind'];

export interface SynOptions {
  mss?: number;
  wscale?: number;
  sack: boolean;
  timestamps: boolean;
}

/** One server-side handshake as a SYN-ACK showed it (options: the layout as p0f writes it, "mss,sok,ts,nop,ws"). */
export interface HandshakeView {
  ttl: number;
  hops: number;
  window: number;
  mss?: number;
  wscale?: number;
  options: string;
  timestamps: boolean;
}

/** The DNS opcodes followed besides a query (a lookup). */
export type DnsOpcode = 'UPDATE' | 'NOTIFY';

export interface DnsAnswer {
  type: string;
  value?: string;
}

export interface LoopHop {
  router: string;
  ttls: number[];
}

/**
 * What the summary and the check are made from, besides the record's own fields (verdict, by,
 * client, server, query, …) and its facts: one variant per way a verdict is explained. Kept on
 * the record under the STORY symbol, which JSON output leaves out.
 */
export type Story =
  | { kind: 'midstream'; packets: number }
  /** loop: a time exceeded in a routing loop (verdict/icmp.ts loopFacts). */
  | { kind: 'icmp-answer'; proto: 'tcp' | 'udp'; from: string; icmp: string; loop?: boolean }
  /** checkedEveryNs: one of a health checker's steady series of attempts (verdict/health.ts). */
  | { kind: 'refused'; host: string; rstMac?: MacRef; checkedEveryNs?: number }
  /** backlog: the port accepted other connections around these SYNs (a listen queue overflowing). */
  | { kind: 'timeout'; host: string; port: number; syns: number; backlog?: boolean }
  /** gapNs: from the first SYN to the end of the capture, or to the client's own RST (clientRst). */
  | { kind: 'syn-too-soon'; gapNs: number; timeoutNs: number; clientRst?: boolean }
  | { kind: 'handshake-incomplete'; clientRst: boolean }
  | { kind: 'half-open-at-end' }
  /** box: a box in the path answered the handshake in the server's place (verdict/box.ts). */
  | { kind: 'closed-by-remote'; box?: boolean }
  | { kind: 'delayed-reset'; gapNs: number }
  | { kind: 'mid-stream-reset'; rstT: number }
  | { kind: 'connected' }
  | { kind: 'one-sided'; missing: Side }
  /** challenge: the answer was a plain ACK, not a SYN-ACK. */
  | { kind: 'bad-syn-ack'; host: string; port: number; challenge?: boolean }
  | { kind: 'data-stall'; side: Side; count: number; len: number; pmtu: boolean; host: string; port: number; view: 'sender' | 'receiver'; bytes: number }
  | { kind: 'no-response'; acked: boolean; waitedNs: number; host: string; port: number; box?: boolean }
  | { kind: 'zero-window'; side: Side; durationNs: number; host: string }
  | { kind: 'tls-alert'; side: Side; sni?: string; alert?: string; desc: number; certProblems: CertProblem[]; host: string; port: number }
  | { kind: 'tls-aborted'; sni?: string; host: string; port: number }
  | { kind: 'http-error'; request?: string; path: string; status: number; reason?: string; server?: string; responseT: number }
  | { kind: 'health-check'; from: string; intervalNs: number }
  | { kind: 'dns-icmp'; query: string; server: string; from: string; icmp: string; target: string; opcode?: DnsOpcode }
  /** retriedNs: the client asked again this long after the query (it gave up on it), when the capture ended before --dns-timeout. */
  | { kind: 'dns-no-response'; query: string; server: string; timeoutNs: number; transport: string; port: number; qname: string; opcode?: DnsOpcode; retriedNs?: number }
  | { kind: 'dns-fragments-lost'; query: string; server: string; qname: string; failure: string }
  | { kind: 'dns-unanswered'; query: string; server: string; opcode?: DnsOpcode }
  /** sibling: the lookup that made a failure benign (dns-search-miss, dns-other-family). */
  | { kind: 'dns-answered'; query: string; qname: string; qtype: string; server: string; rcode: string; opcode?: DnsOpcode; sibling?: { query: string; qtype: string } }
  | { kind: 'ping-ok'; target: string; sent: number; answered: number; rttMinNs: number; rttAvgNs: number; rttMaxNs: number }
  | { kind: 'ping-ttl-exceeded'; from: string; target: string; ping: string; ttl: number; loop: boolean }
  | { kind: 'ping-icmp'; from: string; target: string; ping: string; icmp: string }
  | { kind: 'ping-too-soon'; target: string; waitedNs: number }
  | { kind: 'ping-no-reply'; target: string; sent: number }
  | { kind: 'arp-no-reply'; target: string; asker: string }
  | { kind: 'arp-conflict'; addr: string; first: string; second: string }
  // ---- several vantage points: proven, not inferred
  // between: the two neighbouring captures the box is between (three or more captures along the path)
  | { kind: 'path-forged'; host: string; server: string; what: string; between?: [string, string] }
  | { kind: 'path-dropped'; host: string; port: number; server: string; what: string; between?: [string, string] }
  | { kind: 'path-return'; host: string; server: string; client: string; between?: [string, string] }
  /** A SYN proxy between the captures completed the client's handshake; the server then refused the proxy's SYN (rst: frame in file). */
  | { kind: 'path-proxy-refused'; host: string; port: number; server: string; rst: number; file: string; between?: [string, string] };

/**
 * What another record of the capture tells about this one's cause (src/related/), kept on the
 * record under the CAUSE symbol (JSON has the link itself in `related`): the summary and check are
 * then written from it (src/render/sentences.ts), so they point at the cause, not the symptom.
 * `id`: the other record; endpoints and hosts as the records write them.
 */
export type Cause =
  /** A proxy's front leg whose connection to its upstream (the back leg) failed with `verdict`. */
  | { kind: 'upstream'; id: number; proxy: string; upstream: string; verdict: VerdictId }
  /** The same name's other address family worked from the same client (happy eyeballs): `family` failed, `other` worked. */
  | { kind: 'other-family'; id: number; name: string; family: 4 | 6; other: string }
  /** An unanswered ping to a host that TCP from the same client reached (`via`: the server endpoint). */
  | { kind: 'host-up'; id: number; via: string }
  /** A TCP connection that failed to a host that answers the same client's ping. */
  | { kind: 'host-answers-ping'; id: number; host: string }
  /** The second sighting of one connection, after (or before) a NAT on the capturing box: `before` is `after` on the other side. */
  | { kind: 'nat-leg'; id: number; side: 'client' | 'server' | 'both'; before: string; after: string; same: boolean };

/** Where a record keeps the Cause its related records tell (a symbol: JSON.stringify leaves it out). */
export const CAUSE: unique symbol = Symbol('cause');
registerMark(CAUSE);

/**
 * Every point in time (`t`, `times`) and duration (`…Ns`) of a record's facts is >= 0: evidence
 * such as "RST … -3064.441 ms after the SYN-ACK" is a bug of the verdict layer, never of the
 * capture (a flow's clock never goes back: FlowTracker.onTcp). Checked on every described TCP
 * record (classify.ts tcpRecord), so a violation fails loudly, with the fact, instead of printing nonsense.
 */
export function assertNoNegativeTimes(facts: readonly Fact[], verdict: string): void {
  for (const f of facts) {
    const o = f as unknown as Record<string, unknown>;
    for (const k in o) {
      if (k !== 't' && k !== 'times' && !k.endsWith('Ns')) continue;
      const v = o[k];
      const bad = typeof v === 'number' ? !(v >= 0) : Array.isArray(v) && v.some((x) => typeof x === 'number' && !(x >= 0));
      if (bad) throw new Error(`internal: negative time in the ${f.kind} fact of a ${verdict} record: ${k} = ${JSON.stringify(v)}`);
    }
  }
}

/** Where a described record keeps its Story (a symbol: JSON.stringify leaves it out). */
export const STORY: unique symbol = Symbol('story');

/** A MAC (as a 48-bit number) with its vendor and note. */
export function macRef(mac: number): MacRef {
  const d = describeMac(mac);
  return { mac: formatMac(mac), vendor: d.vendor ?? undefined, note: d.note ?? undefined };
}

/** "00:01:d7:2a:10:01 = F5 Inc.", with the notes for virtual-router and locally administered MACs. */
export function macRefText(m: { mac: string; vendor?: string; note?: string }): string {
  if (m.vendor === undefined) return m.note === undefined ? m.mac : `${m.mac} = ${m.note}`;
  return m.note === undefined ? `${m.mac} = ${m.vendor}` : `${m.mac} = ${m.vendor}, ${m.note}`;
}

/** The gateway a record's deciding packet came through, as "MAC = vendor", if a fact names one. */
export function gatewayOf(r: { facts?: readonly Fact[] }): string | undefined {
  if (r.facts === undefined) return undefined;
  for (const f of r.facts) if (f.kind === 'gateway') return macRefText(f);
  return undefined;
}

/** Whether an earlier fact already names this MAC (then its "gateway"/"sender" line is left out). */
export function namesMac(facts: readonly Fact[], mac: string): boolean {
  for (const f of facts) {
    if ((f.kind === 'gateway' || f.kind === 'mac' || f.kind === 'sent-to' || f.kind === 'neighbor-solicit' || f.kind === 'neighbor-claim') && f.mac === mac) return true;
    if (f.kind === 'attribution' && (f.reason === 'initial-ttl-via-router' || f.reason === 'handshake-by-box') && f.mac === mac) return true;
  }
  return false;
}
