import type { FlowRecord, VerdictId } from '../verdict/types.js';
import { Recent, type Found, type Linker } from './relate.js';
import { CONNECTED } from './ends.js';
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

interface Seen {
  t: number;
  id: number;
  /** For TCP, the server endpoint. */
  server: string;
  verdict: VerdictId;
  /** A failed ping already tied to a working connection (one is proof enough: not to every later one). */
  done: boolean;
}

const last = <T>(list: readonly T[]): T | undefined => (list.length > 0 ? list[list.length - 1] : undefined);

export function sameHost(): Linker {
  /** One the Recents no longer hold, to be filled in for a later record (see Recent's `dropped`). */
  let spare: Seen | null = null;
  const dropped = (e: Seen) => {
    spare = e;
  };
  const seen = (r: FlowRecord): Seen => {
    const e = spare;
    if (e === null) return { t: r.t, id: r.id, server: r.server, verdict: r.verdict, done: false };
    spare = null;
    e.t = r.t;
    e.id = r.id;
    e.server = r.server;
    e.verdict = r.verdict;
    e.done = false;
    return e;
  };
  /** All by client host and server host. */
  const pingsFailed = new Recent<Seen>(WINDOW_SEC, MAX_KEYS, PER_KEY, dropped);
  const pingsOk = new Recent<Seen>(WINDOW_SEC, MAX_KEYS, 1, dropped);
  const tcpOk = new Recent<Seen>(WINDOW_SEC, MAX_KEYS, 1, dropped);
  const tcpFailed = new Recent<Seen>(WINDOW_SEC, MAX_KEYS, PER_KEY, dropped);

  /** `ping` failed and `tcp` worked, or `ping` worked and `tcp` failed. */
  const link = (found: Found, ping: Seen, tcp: Seen, pingIsHere: boolean) => {
    const host = hostOf(tcp.server);
    if (ping.verdict === 'ping-no-reply') {
      ping.done = true;
      const onPing = `TCP from the same client to ${tcp.server} worked: ${host} is up, only ICMP echo is dropped (by it or on the way)`;
      const onTcp = `ping from the same client to ${host} got no reply: ICMP echo is dropped, the host is up`;
      const cause = { kind: 'host-up', id: tcp.id, via: tcp.server } as const;
      if (pingIsHere) found(tcp.id, 'same-host', onPing, onTcp, cause);
      else found(ping.id, 'same-host', onTcp, onPing, undefined, cause);
      return;
    }
    const onTcp = `${host} answers the same client's ping: the host is up and reachable, the port is the problem`;
    const onPing = `TCP from the same client to ${tcp.server} failed (${tcp.verdict}) though the host answers ping: the port is the problem`;
    const cause = { kind: 'host-answers-ping', id: ping.id, host } as const;
    if (pingIsHere) found(tcp.id, 'same-host', onPing, onTcp, undefined, cause);
    else found(ping.id, 'same-host', onTcp, onPing, cause);
  };

  return {
    protos: ['icmp', 'tcp'],
    relate(r, found) {
      if (r.client === '' || r.server === '') return;
      if (r.proto === 'icmp') {
        const failed = r.verdict === 'ping-no-reply';
        if (!failed && r.verdict !== 'ping-ok') return;
        const key = `${r.client} ${r.server}`;
        const here = seen(r);
        if (failed) {
          const tcp = last(tcpOk.get(key, r.t));
          if (tcp !== undefined) link(found, here, tcp, true);
          else pingsFailed.add(key, here);
        } else {
          for (const tcp of tcpFailed.get(key, r.t)) link(found, here, tcp, true);
          pingsOk.add(key, here);
        }
        return;
      }
      if (r.proto !== 'tcp') return;
      const ok = CONNECTED.has(r.verdict);
      if (!ok && !TCP_FAILED.has(r.verdict)) return;
      const key = `${hostOf(r.client)} ${hostOf(r.server)}`;
      const here = seen(r);
      if (ok) {
        for (const ping of pingsFailed.get(key, r.t)) if (!ping.done) link(found, ping, here, false);
        tcpOk.add(key, here);
      } else {
        const ping = last(pingsOk.get(key, r.t));
        if (ping !== undefined) link(found, ping, here, false);
        tcpFailed.add(key, here);
      }
    },
  };
}
