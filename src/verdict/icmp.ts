import type { VerdictId } from './types.js';
import type { IcmpHit } from '../flow/tcp.js';
import type { Fact } from './facts.js';
import { hopsFrom } from './format.js';
import type { ClassifyContext } from './context.js';
import { spentInLoop } from '../flow/loops.js';

/** What names an ICMP message: its IP version, type and code. */
export type IcmpKind = Pick<IcmpHit, 'version' | 'type' | 'code'>;

/** Destination-unreachable codes → verdict (issue #2's table; RFC 792/1812 and RFC 4443). */
export function icmpVerdict(hit: IcmpKind): VerdictId | null {
  if (hit.version === 4) {
    if (hit.type === 11) return 'ttl-exceeded';
    if (hit.type !== 3) return null;
    switch (hit.code) {
      case 0:
      case 6:
        return 'icmp-net-unreachable';
      case 1:
      case 7:
        return 'icmp-host-unreachable';
      case 3:
        return 'icmp-port-unreachable';
      case 9:
      case 10:
      case 13:
        return 'icmp-admin-prohibited';
      default:
        return 'icmp-unreachable';
    }
  }
  if (hit.type === 3) return 'ttl-exceeded';
  if (hit.type !== 1) return null;
  switch (hit.code) {
    case 0:
      return 'icmp-net-unreachable';
    case 3:
      return 'icmp-host-unreachable';
    case 4:
      return 'icmp-port-unreachable';
    case 1:
    case 5:
    case 6:
      return 'icmp-admin-prohibited';
    default:
      return 'icmp-unreachable';
  }
}

const V4_UNREACH = [
  'net unreachable',
  'host unreachable',
  'protocol unreachable',
  'port unreachable',
  'fragmentation needed',
  'source route failed',
  'destination network unknown',
  'destination host unknown',
  'source host isolated',
  'network administratively prohibited',
  'host administratively prohibited',
  'network unreachable for TOS',
  'host unreachable for TOS',
  'communication administratively prohibited',
  'host precedence violation',
  'precedence cutoff in effect',
];
const V6_UNREACH = [
  'no route to destination',
  'communication administratively prohibited',
  'beyond scope of source address',
  'address unreachable',
  'port unreachable',
  'source address failed ingress/egress policy',
  'reject route to destination',
  'error in source routing header',
];

/** "ICMP port unreachable (type 3 code 3)". */
export function icmpName(hit: IcmpKind): string {
  if (hit.version === 4) {
    const what =
      hit.type === 3
        ? (V4_UNREACH[hit.code] ?? `unreachable code ${hit.code}`)
        : hit.type === 11
          ? 'time exceeded'
          : hit.type === 12
            ? 'parameter problem'
            : hit.type === 4
              ? 'source quench'
              : hit.type === 5
                ? 'redirect'
                : `type ${hit.type}`;
    return `ICMP ${what} (type ${hit.type} code ${hit.code})`;
  }
  const what = hit.type === 1 ? (V6_UNREACH[hit.code] ?? `unreachable code ${hit.code}`) : hit.type === 2 ? 'packet too big' : hit.type === 3 ? 'time exceeded' : hit.type === 4 ? 'parameter problem' : `type ${hit.type}`;
  return `ICMPv6 ${what} (type ${hit.type} code ${hit.code})`;
}

/** The evidence fact of an ICMP error from `from`, t ns after the flow's start (errors: how many in all, when more than one). */
export function icmpFact(hit: IcmpKind & { frame: number; ttl: number }, from: string, t: number, errors = 1): Fact {
  return { kind: 'icmp', frame: hit.frame, from, type: hit.type, code: hit.code, ipVersion: hit.version, message: icmpName(hit), t, ttl: hit.ttl, hops: hopsFrom(hit.ttl), errors: errors > 1 ? errors : undefined };
}

/**
 * The routing-loop evidence for a time exceeded from `from` (its IP TTL `errTtl`) answering a probe
 * to `target` sent with `probeTtl` (-1 unknown): the routers that answered the destination's
 * probes at repeating TTLs (any probe kind: flow/loops.ts), and a probe whose TTL ran out far
 * further than the router that dropped it is away.
 */
export function loopFacts(c: ClassifyContext, target: string, from: string, probeTtl: number, errTtl: number, ipVersion: number): { facts: Fact[]; loop: boolean } {
  const facts: Fact[] = [];
  const routers = c.loops.loop(target);
  if (routers !== null) facts.push({ kind: 'routing-loop', target, routers });
  const hops = hopsFrom(errTtl);
  const spent = spentInLoop(probeTtl, hops);
  if (spent) facts.push({ kind: 'ttl-spent', ttl: probeTtl, router: from, hops, ipVersion });
  return { facts, loop: routers !== null || spent };
}
