import { formatAddr } from './addr.js';

/** A router that answered time exceeded for probes to one destination, and the probes' TTLs. */
interface LoopRouter {
  router: string;
  ttls: number[];
}

/** Destinations, routers per destination and TTLs per router remembered (an ICMP flood cannot grow it past these). */
const MAX_TARGETS = 4096;
const MAX_ROUTERS = 64;
const MAX_TTLS = 32;

/**
 * The routing-loop detector, fed by every ICMP time exceeded that quotes a probe of a tracked
 * flow (ping, TCP SYN, UDP: traceroute of any kind), with the TTL the probe was sent with as
 * captured. A router that answers for one destination at two different TTLs saw the packet twice:
 * the path loops through it (traceroute's repeated hops).
 */
export class LoopDetector {
  private readonly byTarget = new Map<string, Map<string, number[]>>();

  /** `router` answered time exceeded for a probe to `target` sent with `probeTtl` (-1 unknown: ignored). */
  note(version: number, target: Uint32Array, router: Uint32Array, probeTtl: number): void {
    if (probeTtl < 0) return;
    const tk = formatAddr(version, target);
    let hops = this.byTarget.get(tk);
    if (hops === undefined) {
      if (this.byTarget.size >= MAX_TARGETS) return;
      hops = new Map();
      this.byTarget.set(tk, hops);
    }
    const rk = formatAddr(version, router);
    let ttls = hops.get(rk);
    if (ttls === undefined) {
      if (hops.size >= MAX_ROUTERS) return;
      ttls = [];
      hops.set(rk, ttls);
    }
    if (ttls.length < MAX_TTLS && !ttls.includes(probeTtl)) ttls.push(probeTtl);
  }

  /** The routers that answered for `target` and their TTLs (ascending), when one answered at two TTLs; else null. */
  loop(target: string): LoopRouter[] | null {
    const hops = this.byTarget.get(target);
    if (hops === undefined || ![...hops.values()].some((l) => l.length > 1)) return null;
    return [...hops].map(([router, l]) => ({ router, ttls: l.slice().sort((a, b) => a - b) })).sort((a, b) => a.ttls[0] - b.ttls[0]);
  }
}

/**
 * A probe sent with `probeTtl` ran out at a router `hops` away (judged from its ICMP error's TTL):
 * far more hops than the router is away means the packet went round a loop (a TTL-64 ping that
 * dies one hop away), not that the path is long.
 */
export function spentInLoop(probeTtl: number, hops: number): boolean {
  return probeTtl >= 8 && hops >= 0 && probeTtl > 2 * (hops + 1) + 2;
}
