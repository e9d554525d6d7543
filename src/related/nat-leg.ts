import type { Cause } from '../verdict/facts.js';
import type { VerdictId } from '../verdict/types.js';
import { Recent, type Found, type Linker } from './relate.js';
import { CONNECTED, hostPart, isnOf, portPart } from './ends.js';

/*
 * The two legs of one NATed connection seen in one capture (a capture on the NAT box with
 * `tcpdump -i any`, or a mirror of both sides of a firewall): a TCP connection before and after
 * the translation, with the client's ISN unchanged (NAT rewrites addresses and ports, not sequence
 * numbers) and starting at the same moment. Linked both ways with the translation; the later leg
 * is marked as the same connection, so it is not read as a second, separate problem.
 */

/** Legs remembered (s of capture time); the two legs of a SYN are microseconds apart. */
const WINDOW_SEC = 2;
/** The two legs' first packets at most this far apart (s), with the ISN to confirm it. */
const MAX_SKEW_SEC = 1;
/** Without the ISN (its SYN not captured, or a record only counted), ports must match and the legs start this close. */
const MAX_SKEW_NO_ISN_SEC = 0.05;
const MAX_KEYS = 65536;
const PER_KEY = 4;

interface Leg {
  t: number;
  firstFrame: number;
  id: number;
  client: string;
  server: string;
  isn: string;
  verdict: VerdictId;
}

/** SNAT: the client side changed; DNAT: the server side; both. */
function sideOf(pre: Leg, post: Leg): 'client' | 'server' | 'both' | null {
  const c = pre.client !== post.client;
  const s = pre.server !== post.server;
  return c && s ? 'both' : c ? 'client' : s ? 'server' : null;
}

function translation(pre: Leg, post: Leg, side: 'client' | 'server' | 'both'): { before: string; after: string; nat: string } {
  if (side === 'client') return { before: pre.client, after: post.client, nat: 'SNAT' };
  if (side === 'server') return { before: pre.server, after: post.server, nat: 'DNAT' };
  return { before: `${pre.client} → ${pre.server}`, after: `${post.client} → ${post.server}`, nat: 'NAT' };
}

export function natLeg(): Linker {
  const byIsn = new Recent<Leg>(WINDOW_SEC, MAX_KEYS, PER_KEY);
  const byPorts = new Recent<Leg>(WINDOW_SEC, MAX_KEYS, PER_KEY);

  const matches = (a: Leg, b: Leg): boolean => {
    if (a.id === b.id) return false;
    const skew = Math.abs(a.t - b.t);
    if (a.isn !== '' && b.isn !== '') return a.isn === b.isn && skew <= MAX_SKEW_SEC;
    // no ISN to compare: same ports on both sides and one side's host unchanged
    return skew <= MAX_SKEW_NO_ISN_SEC && (hostPart(a.client) === hostPart(b.client) || hostPart(a.server) === hostPart(b.server));
  };

  /** Ids linked for the record being related (reused: no allocation per record). */
  const linked: number[] = [];

  const consider = (list: readonly Leg[], leg: Leg, found: Found) => {
    for (const e of list) {
      if (linked.includes(e.id) || !matches(e, leg)) continue;
      const earlier = e.t < leg.t || (e.t === leg.t && e.firstFrame < leg.firstFrame);
      const pre = earlier ? e : leg;
      const post = earlier ? leg : e;
      const side = sideOf(pre, post);
      if (side === null) continue;
      linked.push(e.id);
      const tr = translation(pre, post, side);
      const same = pre.verdict === post.verdict || (CONNECTED.has(pre.verdict) && CONNECTED.has(post.verdict));
      const onPre = `the same connection after the ${tr.nat}: ${tr.before} is ${tr.after} there`;
      const onPost = `the same connection before the ${tr.nat}: ${tr.after} is ${tr.before} there${same ? '; one connection seen twice, not two' : ''}`;
      const cause: Cause = { kind: 'nat-leg', id: pre.id, side, before: tr.before, after: tr.after, same };
      if (post === leg) found(pre.id, 'nat-leg', onPost, onPre, cause);
      else found(post.id, 'nat-leg', onPre, onPost, undefined, cause);
    }
  };

  return {
    relate(r, found) {
      if (r.proto !== 'tcp' || r.client === '' || r.server === '' || r.verdict === 'midstream') return;
      const leg: Leg = { t: r.t, firstFrame: r.firstFrame, id: r.id, client: r.client, server: r.server, isn: isnOf(r.key), verdict: r.verdict };
      const ports = `${portPart(r.client)}>${portPart(r.server)}`;
      linked.length = 0;
      if (leg.isn !== '') consider(byIsn.get(leg.isn, r.t), leg, found);
      consider(byPorts.get(ports, r.t), leg, found);
      if (leg.isn !== '') byIsn.add(leg.isn, leg);
      byPorts.add(ports, leg);
    },
  };
}
