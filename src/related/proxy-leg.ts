import type { FlowRecord, VerdictId } from '../verdict/types.js';
import { Recent, type Found, type Linker } from './relate.js';
import { afterText } from './ends.js';
import { hostOf } from '../flow/addr.js';
import { connectionFailedText as failedText } from '../render/sentences.js';

/*
 * A proxy's front and back legs: a client's connection to the proxy (the front leg) and the
 * proxy's own connection to its upstream (the back leg), recognised by the proxy's address (the
 * front leg's server host is the back leg's client host) and by time (the back leg starts while
 * the front leg is open). Only failures are linked: a back leg that failed (refused, unanswered,
 * ICMP, reset) explains a front leg that got a 502/503/504 or was reset, and the front leg's
 * summary and check then point at the upstream, not at the proxy.
 */

/** How long legs are remembered (s of capture time): a request waits on its upstream at most this long. */
const WINDOW_SEC = 120;
/** Proxies remembered, and legs per proxy. */
const MAX_PROXIES = 4096;
const PER_PROXY = 16;
/** A back leg may start this much before the front leg's first packet is seen (clock granularity). */
const SLACK_SEC = 0.001;

/** Verdicts of a back leg that explain its front leg's failure. */
const BACK_FAILED: ReadonlySet<VerdictId> = new Set<VerdictId>([
  'refused',
  'timeout',
  'capture-ended',
  'icmp-net-unreachable',
  'icmp-host-unreachable',
  'icmp-port-unreachable',
  'icmp-admin-prohibited',
  'icmp-unreachable',
  'handshake-incomplete',
  'closed-by-remote',
  'delayed-reset',
  'mid-stream-reset',
  'no-response',
]);

/** Verdicts of a front leg that a failed back leg explains (http-error only for 502/503/504). */
const FRONT_FAILED: ReadonlySet<VerdictId> = new Set<VerdictId>(['http-error', 'closed-by-remote', 'delayed-reset', 'mid-stream-reset', 'no-response']);

interface Leg {
  t: number;
  end: number;
  id: number;
  /** Front: the proxy's endpoint (its server); back: the upstream's endpoint. */
  server: string;
  client: string;
  verdict: VerdictId;
  status: number;
}

function isFront(r: FlowRecord): boolean {
  if (!FRONT_FAILED.has(r.verdict)) return false;
  if (r.verdict !== 'http-error') return r.by === 'server';
  const s = r.http?.status ?? 0;
  return s >= 502 && s <= 504;
}

/**
 * Whether `back` can be a proxy's connection onward for `front`: not to the proxy's own listening
 * endpoint, and not the front leg's two endpoints the other way round (one connection whose
 * sides were guessed two ways, as in a split handshake).
 */
function isBackOf(back: Leg, front: Leg): boolean {
  return back.server !== front.server && back.server !== front.client && back.client !== front.server;
}

function frontText(f: Leg): string {
  return f.status > 0 ? `HTTP ${f.status} to ${f.client}` : `the connection from ${f.client} (${f.verdict})`;
}

export function proxyLeg(): Linker {
  /** Failed front legs by the proxy's host. */
  const fronts = new Recent<Leg>(WINDOW_SEC, MAX_PROXIES, PER_PROXY);
  /** Failed back legs by the proxy's host (their client). */
  const backs = new Recent<Leg>(WINDOW_SEC, MAX_PROXIES, PER_PROXY);

  const link = (found: Found, front: Leg, back: Leg, frontIsHere: boolean) => {
    const proxy = hostOf(front.server);
    const onFront = `the proxy's own connection to its upstream ${back.server} ${failedText(back.verdict)} (it started ${afterText(back.t - front.t)} this one): the upstream, not the proxy, is the cause`;
    const onBack = `${proxy} is a proxy: this failure made it answer ${frontText(front)}`;
    const cause = { kind: 'upstream', id: back.id, proxy: front.server, upstream: back.server, verdict: back.verdict } as const;
    if (frontIsHere) found(back.id, 'proxy-leg', onFront, onBack, cause);
    else found(front.id, 'proxy-leg', onBack, onFront, undefined, cause);
  };

  return {
    protos: ['tcp'],
    relate(r, found) {
      if (r.proto !== 'tcp' || r.client === '' || r.server === '') return;
      const front = isFront(r);
      const back = BACK_FAILED.has(r.verdict);
      if (!front && !back) return;
      const leg: Leg = { t: r.t, end: r.t + r.duration, id: r.id, server: r.server, client: r.client, verdict: r.verdict, status: r.http?.status ?? 0 };
      if (front) {
        // back legs of this proxy that started while this front leg was open
        for (const b of backs.get(hostOf(r.server), r.t)) {
          if (b.t >= leg.t - SLACK_SEC && b.t <= leg.end && isBackOf(b, leg)) link(found, leg, b, true);
        }
        fronts.add(hostOf(r.server), leg);
      }
      if (back) {
        const proxy = hostOf(r.client);
        // front legs of the proxy open when this back leg started
        for (const f of fronts.get(proxy, r.t)) {
          if (f.id !== r.id && r.t >= f.t - SLACK_SEC && r.t <= f.end && isBackOf(leg, f)) link(found, f, leg, false);
        }
        backs.add(proxy, leg);
      }
    },
  };
}
