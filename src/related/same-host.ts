import type { FlowRecord, VerdictId } from '../verdict/types.js';
import { EndpointColumn, Handles, Recent, widened, type Found, type Linker } from './relate.js';
import { CONNECTED, endsOf } from './ends.js';
import { hostOf } from '../flow/addr.js';

/*
 * Ping and TCP to the same host from the same client, telling opposite stories: an unanswered ping
 * to a host that TCP reached (the host is up: ICMP echo is dropped, by it or on the way), or a TCP
 * connection refused or unanswered by a host that answers ping (the host is up: the port is the
 * problem). Linked both ways; the failed one's summary and check say what the other one proves.
 */

/** Records remembered (s of capture time): a ping and a connection within this are "the same moment" for the host. */
const WINDOW_SEC = 120;
const MAX_KEYS = 16384;
const PER_KEY = 4;

/** TCP failures a ping that is answered says something about (the host is up). */
const TCP_FAILED: ReadonlySet<VerdictId> = new Set<VerdictId>(['refused', 'timeout', 'icmp-port-unreachable', 'icmp-admin-prohibited']);

const last = <T>(list: readonly T[]): T | undefined => (list.length > 0 ? list[list.length - 1] : undefined);

/**
 * The key of a client's host and a server's host (endpoints, or bare addresses): two IPv4 ones as
 * their words in 4 UTF-16 units, any other pair as its text ("10.0.0.1 fd00::1"; never 4 long).
 * Working connections are remembered under it, each a new key when the capture has more pairs of
 * hosts than the keys kept (a client's capture of thousands of servers): the text key, two
 * addresses cut out of the endpoints, joined and flattened, was made for every one and promoted
 * with it, 42 of the 306 MB that outlived a young collection on the dense 1 GB bench capture (issue #20).
 */
export function hostPairKey(r: { readonly client: string; readonly server: string }): string {
  const e = endsOf(r);
  if (e.cWord >= 0 && e.sWord >= 0) return String.fromCharCode(e.cWord >>> 16, e.cWord & 0xffff, e.sWord >>> 16, e.sWord & 0xffff);
  return `${hostOf(r.client)} ${hostOf(r.server)}`;
}

export function sameHost(): Linker {
  /** What is remembered of each record, in columns by handle (Handles): every working connection is one, kept for WINDOW_SEC. */
  let at = new Float64Array(0);
  let ids = new Float64Array(0);
  /** 1: a failed ping already tied to a working connection (one is proof enough: not to every later one). */
  let dones = new Uint8Array(0);
  /** For TCP, the server endpoint. */
  const servers = new EndpointColumn();
  const verdicts: VerdictId[] = [];
  const handles = new Handles((n) => {
    at = widened(at, n);
    ids = widened(ids, n);
    dones = widened(dones, n);
    servers.widen(n);
    for (let h = verdicts.length; h < n; h++) verdicts.push('ok');
  });
  /** A record's handle given back: the Recents no longer hold it, or it was never added. */
  const release = (h: number) => {
    servers.clear(h);
    handles.give(h);
  };
  const timeOf = (h: number) => at[h];
  const seen = (r: FlowRecord): number => {
    const h = handles.take();
    at[h] = r.t;
    ids[h] = r.id;
    dones[h] = 0;
    servers.set(h, r.server, endsOf(r).sCode);
    verdicts[h] = r.verdict;
    return h;
  };
  /** All by client host and server host. */
  const pingsFailed = new Recent<number>(WINDOW_SEC, MAX_KEYS, PER_KEY, release, timeOf);
  const pingsOk = new Recent<number>(WINDOW_SEC, MAX_KEYS, 1, release, timeOf);
  const tcpOk = new Recent<number>(WINDOW_SEC, MAX_KEYS, 1, release, timeOf);
  const tcpFailed = new Recent<number>(WINDOW_SEC, MAX_KEYS, PER_KEY, release, timeOf);

  /** `ping` failed and `tcp` worked, or `ping` worked and `tcp` failed (handles). */
  const link = (found: Found, ping: number, tcp: number, pingIsHere: boolean) => {
    const server = servers.get(tcp);
    const host = hostOf(server);
    if (verdicts[ping] === 'ping-no-reply') {
      dones[ping] = 1;
      const onPing = `TCP from the same client to ${server} worked: ${host} is up, only ICMP echo is dropped (by it or on the way)`;
      const onTcp = `ping from the same client to ${host} got no reply: ICMP echo is dropped, the host is up`;
      const cause = { kind: 'host-up', id: ids[tcp], via: server } as const;
      if (pingIsHere) found(ids[tcp], 'same-host', onPing, onTcp, cause);
      else found(ids[ping], 'same-host', onTcp, onPing, undefined, cause);
      return;
    }
    const onTcp = `${host} answers the same client's ping: the host is up and reachable, the port is the problem`;
    const onPing = `TCP from the same client to ${server} failed (${verdicts[tcp]}) though the host answers ping: the port is the problem`;
    const cause = { kind: 'host-answers-ping', id: ids[ping], host } as const;
    if (pingIsHere) found(ids[tcp], 'same-host', onPing, onTcp, undefined, cause);
    else found(ids[ping], 'same-host', onTcp, onPing, cause);
  };

  return {
    protos: ['icmp', 'tcp'],
    unheld: () => handles.taken - pingsFailed.entryCount - pingsOk.entryCount - tcpOk.entryCount - tcpFailed.entryCount,
    relate(r, found) {
      if (r.client === '' || r.server === '') return;
      if (r.proto === 'icmp') {
        const failed = r.verdict === 'ping-no-reply';
        if (!failed && r.verdict !== 'ping-ok') return;
        const key = hostPairKey(r);
        const here = seen(r);
        if (failed) {
          const tcp = last(tcpOk.get(key, r.t));
          if (tcp !== undefined) {
            link(found, here, tcp, true);
            release(here);
          } else pingsFailed.add(key, here);
        } else {
          const tcps = tcpFailed.get(key, r.t);
          for (let i = 0; i < tcps.length; i++) link(found, here, tcps[i], true);
          pingsOk.add(key, here);
        }
        return;
      }
      if (r.proto !== 'tcp') return;
      const ok = CONNECTED.has(r.verdict);
      if (!ok && !TCP_FAILED.has(r.verdict)) return;
      const key = hostPairKey(r);
      const here = seen(r);
      if (ok) {
        // indexed, as every loop a record takes here: for…of made an iterator result per step
        const pings = pingsFailed.get(key, r.t);
        for (let i = 0; i < pings.length; i++) if (dones[pings[i]] === 0) link(found, pings[i], here, false);
        tcpOk.add(key, here);
      } else {
        const ping = last(pingsOk.get(key, r.t));
        if (ping !== undefined) link(found, ping, here, false);
        tcpFailed.add(key, here);
      }
    },
  };
}
