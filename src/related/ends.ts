import { registerMark } from '../verdict/marks.js';
import type { VerdictId } from '../verdict/types.js';
import { formatIpv4, hostEnd } from '../flow/addr.js';
import { ipv4Word } from './address-map.js';

/*
 * What the linkers read of a record's endpoints and verdict, without regular expressions: a
 * record's endpoints are written one way (flow/addr.ts formatEndpoint: `10.0.2.20:80`,
 * `[fd00::20]:80`; a ping's or ARP's ends are bare addresses).
 */

/**
 * On a TCP record, the source MAC of its client's packets (HostTable's number), when the capture
 * shows one: two connections whose clients sent from different MACs are two hosts (other-family
 * links only one host's attempts). Kept with a chunk's records (src/handoff/). JSON leaves it out.
 */
export const CLIENT_MAC: unique symbol = Symbol('clientMac');
registerMark(CLIENT_MAC);

/** The record's CLIENT_MAC, or -1 when it has none. */
export function clientMacOf(r: object): number {
  return (r as Record<symbol, number | undefined>)[CLIENT_MAC] ?? -1;
}

/** Marks `r` with its client's MAC (none when `mac` < 0). */
export function setClientMac(r: object, mac: number | undefined): void {
  if (mac !== undefined && mac >= 0) (r as Record<symbol, number>)[CLIENT_MAC] = mac;
}

/** The port of a TCP/UDP endpoint as text (`80`); '' for a bare address. */
export function portPart(endpoint: string): string {
  if (endpoint.charCodeAt(0) === 91 /* [ */) {
    const end = endpoint.indexOf(']:');
    return end < 0 ? '' : endpoint.slice(end + 2);
  }
  const colon = endpoint.indexOf(':');
  return colon >= 0 && colon === endpoint.lastIndexOf(':') ? endpoint.slice(colon + 1) : '';
}

/**
 * The port of a TCP/UDP endpoint as a number, read without making a string; -1 when portPart
 * would not give its plain decimal text (a bare address, a leading zero, more than 5 digits).
 */
export function portNumber(endpoint: string): number {
  let from: number;
  if (endpoint.charCodeAt(0) === 91 /* [ */) {
    const end = endpoint.indexOf(']:');
    if (end < 0) return -1;
    from = end + 2;
  } else {
    const colon = endpoint.indexOf(':');
    if (colon < 0 || colon !== endpoint.lastIndexOf(':')) return -1;
    from = colon + 1;
  }
  return portFrom(endpoint, from);
}

/** The port written in `endpoint` from `from` to its end, as portNumber reads it; -1 when not plain decimal. */
function portFrom(endpoint: string, from: number): number {
  const n = endpoint.length - from;
  if (n < 1 || n > 5 || (n > 1 && endpoint.charCodeAt(from) === 48) /* 0 */) return -1;
  let port = 0;
  for (let i = from; i < endpoint.length; i++) {
    const c = endpoint.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    port = port * 10 + c;
  }
  return port;
}

/**
 * The code of an IPv4 endpoint (`10.0.2.20:80`): its host's word × 65,536 + its port; -1 when either
 * is none (IPv6, a bare address, or not written as formatEndpoint writes it). endpointOfCode writes
 * it back as the same text.
 */
function codeOf(word: number, port: number): number {
  return word < 0 || port < 0 || port > 65535 ? -1 : word * 65536 + port;
}

/** The port of `endpoint`, whose host ends at `end` (hostEnd's): portNumber, without looking for the colon again. */
function portAfter(endpoint: string, end: number): number {
  return end < endpoint.length && endpoint.charCodeAt(0) !== 91 /* [ */ ? portFrom(endpoint, end + 1) : portNumber(endpoint);
}

/** What endsOf reads of a record's endpoints. */
export interface Ends {
  /** The record read last. */
  record: object | null;
  /** Each end's host as an IPv4 word (-1: not one), its port (-1: none: a bare address), and its code (codeOf). */
  cWord: number;
  cPort: number;
  cCode: number;
  sWord: number;
  sPort: number;
  sCode: number;
}

const ENDS: Ends = { record: null, cWord: -1, cPort: -1, cCode: -1, sWord: -1, sPort: -1, sCode: -1 };

/**
 * The endpoints of `r` read as numbers, once a record: the linkers read each record in turn,
 * and each read its endpoints' texts again (where the host ends, the address, the port), some of
 * them twice: 0.3 s of the dense 1 GB bench capture's text run (issue #20). The object is shared
 * by all callers: read it before the next call.
 */
export function endsOf(r: { readonly client: string; readonly server: string }): Ends {
  if (ENDS.record === r) return ENDS;
  ENDS.record = r;
  const c = r.client;
  const cEnd = hostEnd(c);
  ENDS.cWord = ipv4Word(c, 0, cEnd);
  ENDS.cPort = portAfter(c, cEnd);
  ENDS.cCode = codeOf(ENDS.cWord, ENDS.cPort);
  const s = r.server;
  const sEnd = hostEnd(s);
  ENDS.sWord = ipv4Word(s, 0, sEnd);
  ENDS.sPort = portAfter(s, sEnd);
  ENDS.sCode = codeOf(ENDS.sWord, ENDS.sPort);
  return ENDS;
}

/** The endpoint text of an IPv4 endpoint's code (Ends.cCode, sCode). */
export function endpointOfCode(code: number): string {
  const port = code % 65536;
  return `${formatIpv4((code - port) / 65536)}:${port}`;
}

/** 6 for an IPv6 endpoint or address, else 4. */
export function familyOf(endpoint: string): 4 | 6 {
  return endpoint.charCodeAt(0) === 91 || endpoint.indexOf(':') !== endpoint.lastIndexOf(':') ? 6 : 4;
}

/** The client's ISN from a TCP record's key (`tcp … isn 12345 #13`), or '' when not known (key '' or `isn -`). */
export function isnOf(key: string): string {
  const at = key.indexOf(' isn ');
  if (at < 0) return '';
  const end = key.indexOf(' ', at + 5);
  const isn = end < 0 ? key.slice(at + 5) : key.slice(at + 5, end);
  return isn === '-' ? '' : isn;
}

/** TCP verdicts of a connection that never got through its handshake (nothing, or a refusal, came back). */
export const NOT_CONNECTED: ReadonlySet<VerdictId> = new Set<VerdictId>([
  'refused',
  'timeout',
  'capture-ended',
  'icmp-net-unreachable',
  'icmp-host-unreachable',
  'icmp-port-unreachable',
  'icmp-admin-prohibited',
  'icmp-unreachable',
  'ttl-exceeded',
  'handshake-incomplete',
]);

/** TCP verdicts of a connection whose handshake completed: the path and the listener worked. */
export const CONNECTED: ReadonlySet<VerdictId> = new Set<VerdictId>([
  'ok',
  'health-check',
  'closed-by-remote',
  'delayed-reset',
  'mid-stream-reset',
  'tls-alert',
  'tls-aborted',
  'http-error',
  'data-stall',
  'zero-window-stall',
  'no-response',
]);

/** "2 ms after" / "0.3 s before": a difference of capture times (seconds) before the word for the other record. */
export function afterText(d: number): string {
  const a = Math.abs(d);
  const amount = a < 1 ? `${Math.round(a * 1000)} ms` : `${Math.round(a * 10) / 10} s`;
  return d >= 0 ? `${amount} after` : `${amount} before`;
}
