import type { By } from './types.js';
import type { ClassifyContext } from './context.js';
import { hopsFrom, isInitialTtl } from './format.js';
import { macRef, type Fact } from './facts.js';
import { formatAddr, sameAddr } from '../flow/addr.js';
import type { IcmpHit } from '../flow/tcp.js';
import type { ServerProfile } from '../flow/hosts.js';

export interface Attribution {
  by: By;
  /** Why: attribution facts, one per evidence line. */
  why: Fact[];
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
  const why: Fact[] = [];
  if (isInitialTtl(ttl) && c.hosts.isRouterMac(mac)) {
    why.push({ kind: 'attribution', reason: 'initial-ttl-via-router', ttl, ipVersion: version, ...macRef(mac) });
  }
  let min = ownTtlMin;
  let max = ownTtlMax;
  let whose: 'this-connection' | 'other-connections' = 'this-connection';
  if (max < 0 && profile !== null && profile.ttlMax >= 0) {
    min = profile.ttlMin;
    max = profile.ttlMax;
    whose = 'other-connections';
  }
  const ttlDiffers = max >= 0 && (ttl < min || ttl > max);
  if (ttlDiffers) why.push({ kind: 'attribution', reason: 'ttl-differs', ttl, hops: hopsFrom(ttl), ipVersion: version, min, max, whose });
  if (sinceSynNs >= 0 && profile !== null && profile.minRttNs >= MIN_TIMED_RTT_NS && sinceSynNs * 2 < profile.minRttNs) {
    why.push({ kind: 'attribution', reason: 'faster-than-rtt', afterSynNs: sinceSynNs, rttNs: profile.minRttNs });
  }
  if (why.length > 0) return { by: 'middlebox', why };
  if (max >= 0) why.push({ kind: 'attribution', reason: 'ttl-matches', ipVersion: version, whose });
  return { by: 'server', why };
}

/** An ICMP error from the target itself is the server's; from any other address, a middlebox's. */
export function attributeIcmp(server: Uint32Array, hit: IcmpHit): Attribution {
  if (sameAddr(hit.from, server)) return { by: 'server', why: [] };
  return { by: 'middlebox', why: [{ kind: 'attribution', reason: 'icmp-not-from-server', from: formatAddr(hit.version, hit.from) }] };
}
