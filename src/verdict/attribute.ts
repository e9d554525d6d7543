import type { By } from './types.js';
import type { ClassifyContext } from './context.js';
import { dur, hopsFrom, isInitialTtl, macText } from './format.js';
import { formatAddr, sameAddr } from '../flow/addr.js';
import type { IcmpHit } from '../flow/tcp.js';
import type { ServerProfile } from '../flow/hosts.js';

export interface Attribution {
  by: By;
  /** Why: evidence lines. */
  why: string[];
}

/**
 * Who sent a packet that claims to come from the server (a RST, a SYN-ACK): the server, or a
 * box in between. The tests, each sufficient on its own:
 *  - it arrived through a router's MAC with an initial TTL (64/128/255): nothing routed it, so
 *    the router itself made it;
 *  - its TTL differs from the TTLs of the server's own packets;
 *  - it arrived sooner after the SYN than half the fastest round trip to that server, when that
 *    round trip is MIN_TIMED_RTT_NS or more (on a shorter path, half of it is no more than the
 *    hosts' own scheduling jitter: a LAN server's RST can come faster than its last SYN-ACK did).
 */
export const MIN_TIMED_RTT_NS = 1e6;

export function attributeServerPacket(c: ClassifyContext, version: number, profile: ServerProfile | null, ttl: number, mac: number, ownTtlMin: number, ownTtlMax: number, sinceSynNs: number): Attribution {
  const name = version === 6 ? 'hop limit' : 'TTL';
  const why: string[] = [];
  if (isInitialTtl(ttl) && c.hosts.isRouterMac(mac)) {
    why.push(`${name} ${ttl} is an initial value, yet it came through router ${macText(mac)}: the router made this packet itself`);
  }
  let min = ownTtlMin;
  let max = ownTtlMax;
  let whose = "the server's other packets in this connection";
  if (max < 0 && profile !== null && profile.ttlMax >= 0) {
    min = profile.ttlMin;
    max = profile.ttlMax;
    whose = "the server's packets in other connections";
  }
  const ttlDiffers = max >= 0 && (ttl < min || ttl > max);
  if (ttlDiffers) {
    const range = min === max ? `${min}` : `${min}-${max}`;
    why.push(`${name} ${ttl} (${hopsFrom(ttl)} hops) differs from ${whose} (${name} ${range}): a box in the path sent it`);
  }
  if (sinceSynNs >= 0 && profile !== null && profile.minRttNs >= MIN_TIMED_RTT_NS && sinceSynNs * 2 < profile.minRttNs) {
    why.push(`it came ${dur(sinceSynNs)} after the SYN, faster than the ${dur(profile.minRttNs)} round trip to the server`);
  }
  if (why.length > 0) return { by: 'middlebox', why };
  if (max >= 0) why.push(`${name} matches ${whose}`);
  return { by: 'server', why };
}

/** An ICMP error from the target itself is the server's; from any other address, a middlebox's. */
export function attributeIcmp(server: Uint32Array, hit: IcmpHit): Attribution {
  if (sameAddr(hit.from, server)) return { by: 'server', why: [] };
  return { by: 'middlebox', why: [`sent by ${formatAddr(hit.version, hit.from)}, not by the server`] };
}
