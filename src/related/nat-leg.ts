import type { Cause } from '../verdict/facts.js';
import type { VerdictId } from '../verdict/types.js';
import { Recent, type Found, type Linker } from './relate.js';
import { CONNECTED, isnOf } from './ends.js';

/*
 * The two legs of one NATed connection seen in one capture (a capture on the NAT box with
 * `tcpdump -i any`, or a mirror of both sides of a firewall): a TCP connection before and after
 * the translation, with the client's ISN unchanged (NAT rewrites addresses and ports, not sequence
 * numbers) and starting at the same moment. Linked both ways with the translation; the later leg
 * is marked as the same connection, so it is not read as a second, separate problem. Records
 * without the ISN (their SYN not captured; healthy records only counted, which the text report
 * does not show) are not paired: ports alone pair strangers on a busy capture.
 */

/** Legs remembered (s of capture time); the two legs of a SYN are microseconds apart. */
const WINDOW_SEC = 2;
/** The two legs' first packets at most this far apart (s), with the ISN to confirm it. */
const MAX_SKEW_SEC = 1;
/** ISNs remembered: connections opened within WINDOW_SEC beyond this many are not paired. */
const MAX_KEYS = 16384;
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

  const matches = (a: Leg, b: Leg): boolean => {
    if (a.id === b.id) return false;
    return a.isn === b.isn && Math.abs(a.t - b.t) <= MAX_SKEW_SEC;
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
    protos: ['tcp'],
    relate(r, found) {
      if (r.proto !== 'tcp' || r.verdict === 'midstream') return;
      // records only counted have no key: healthy flows the report does not show (text output)
      const isn = isnOf(r.key);
      // ISN 0: crafted traffic (scapy's default), where every connection has it
      if (isn === '' || isn === '0') return;
      const leg: Leg = { t: r.t, firstFrame: r.firstFrame, id: r.id, client: r.client, server: r.server, isn, verdict: r.verdict };
      linked.length = 0;
      consider(byIsn.get(isn, r.t), leg, found);
      byIsn.add(isn, leg);
    },
  };
}
