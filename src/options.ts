/** The analysis options a user can set: the timeouts and the flow-table limit. */
export interface AnalyzeOptions {
  /** An unanswered SYN is a timeout once the capture goes on this long after the first SYN (tcp-rules.ts timedOut). */
  synTimeoutMs: number;
  /** A DNS query with no response this long is dns-no-response. */
  dnsTimeoutMs: number;
  /** A request the server sends nothing back to for this long is no-response. */
  responseTimeoutMs: number;
  /** A TCP connection idle this long is final (reported, then forgotten). */
  tcpIdleMs: number;
  /** A UDP flow or DNS transaction idle this long is forgotten. */
  udpIdleMs: number;
  /** At most this many flows (TCP, DNS and UDP together) are tracked at once; more are not analysed. */
  maxFlows: number;
}

export const DEFAULT_OPTIONS: AnalyzeOptions = { synTimeoutMs: 3000, dnsTimeoutMs: 5000, responseTimeoutMs: 5000, tcpIdleMs: 300_000, udpIdleMs: 60_000, maxFlows: 250_000 };
