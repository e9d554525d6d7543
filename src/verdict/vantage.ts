import { registerMark } from './marks.js';
import type { TcpFlow } from '../flow/tcp.js';
import { hopsFrom } from './format.js';

/** Connections by where their packets arrived from: [client direct, server routed] and the other three mixes. */
export class Vantage {
  nearClient = 0;
  nearServer = 0;
  inPath = 0;
  sameLan = 0;
  clientHops = 0;
  serverHops = 0;
}

/**
 * On a TCP record, what its connection added to the capture's Vantage (noteVantage's code), so
 * that records decided apart (the chunks of a set, src/handoff/) count as one analysis counts them.
 * A symbol: JSON output leaves it out.
 */
export const VANTAGE_HOPS: unique symbol = Symbol('vantageHops');
registerMark(VANTAGE_HOPS);

/**
 * A connection seen both ways from its SYN: did each side's packets arrive with their initial TTL?
 * Returns what it counted (addVantage's code: client hops × 256 + server hops), or -1 for nothing.
 */
export function noteVantage(f: TcpFlow, v: Vantage): number {
  if (!f.sawSyn || f.c.ttlMax < 0 || f.s.ttlMax < 0) return -1;
  const code = hopsFrom(f.c.ttlMax) * 256 + hopsFrom(f.s.ttlMax);
  addVantage(v, code);
  return code;
}

/** Counts one connection of noteVantage's `code` (client hops × 256 + server hops). */
export function addVantage(v: Vantage, code: number): void {
  const ch = code >> 8;
  const sh = code & 255;
  if (ch === 0 && sh > 0) v.nearClient++;
  else if (sh === 0 && ch > 0) v.nearServer++;
  else if (ch > 0 && sh > 0) v.inPath++;
  else v.sameLan++;
  v.clientHops = Math.max(v.clientHops, ch);
  v.serverHops = Math.max(v.serverHops, sh);
}

const hops = (n: number) => `${n} hop${n === 1 ? '' : 's'}`;

/**
 * The capture point in words, from the mix that most connections show: a packet that arrives
 * with an initial TTL (64, 128, 255) was not routed on its way to the capture.
 */
export function vantageOf(v: Vantage): { vantage?: string } {
  const total = v.nearClient + v.nearServer + v.inPath + v.sameLan;
  if (total === 0) return {};
  const of = (n: number) => `${n} of ${total} connection${total === 1 ? '' : 's'}`;
  const best = Math.max(v.nearClient, v.nearServer, v.inPath, v.sameLan);
  if (best === v.nearClient) return { vantage: `near the clients: their packets arrive unrouted, the servers' after up to ${hops(v.serverHops)} (${of(v.nearClient)})` };
  if (best === v.nearServer) return { vantage: `near the servers: their packets arrive unrouted, the clients' after up to ${hops(v.clientHops)} (${of(v.nearServer)})` };
  if (best === v.inPath) return { vantage: `in the path: both sides' packets arrive routed (${of(v.inPath)})` };
  return { vantage: `on a LAN shared by client and server, or on one of them: neither side's packets were routed (${of(v.sameLan)})` };
}
