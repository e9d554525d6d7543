import { describe, expect, it } from 'vitest';
import { Recent, Relater, type Found, type Linker } from '../src/related/relate.js';
import { otherFamily } from '../src/related/other-family.js';
import { sameHost } from '../src/related/same-host.js';
import { CONNECTED, NOT_CONNECTED, clientMacOf, familyOf, portNumber, portPart, setClientMac } from '../src/related/ends.js';
import { hostEnd, hostOf } from '../src/flow/addr.js';
import { AddressMap } from '../src/related/address-map.js';
import { CAUSE, type Cause } from '../src/verdict/facts.js';
import type { FlowRecord, VerdictId } from '../src/verdict/types.js';

// other-family and same-host keep what they remember of each record in typed-array columns by
// handle (relate.ts Handles), not an object each (issue #20's twentieth pass). The linkers as they
// were, with entry objects, are kept below as the oracle: on random streams of lookups, connections
// and pings that pass every bound (16,384 keys, 4 entries a key, windows of 30 and 120 s, a third
// port of a name) both give every record the same links and causes, whatever handles are reused.

/** A random stream's records, built twice alike: the linkers write on the records they relate. */
function stream(seed: number, count: number, o: { names: number; clients: number; jumpSec: number }): () => FlowRecord[] {
  let s = seed;
  const rnd = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const v4 = (n: number) => `10.2.${(n >> 8) & 255}.${n & 255}`;
  const v6 = (n: number) => `fd00::2:${n.toString(16)}`;
  const specs: { kind: 'dns' | 'tcp' | 'ping'; t: number; a: number; b: number; c: number; d: number; e: number }[] = [];
  let t = 0;
  for (let i = 0; i < count; i++) {
    t += rnd(100) === 0 ? o.jumpSec : rnd(50) / 1000;
    const roll = rnd(10);
    specs.push({ kind: roll < 2 ? 'dns' : roll < 9 ? 'tcp' : 'ping', t, a: rnd(o.names), b: rnd(o.clients), c: rnd(2), d: rnd(16), e: rnd(7) });
  }
  const tcpVerdicts: VerdictId[] = ['ok', 'ok', 'ok', 'closed-by-remote', 'refused', 'timeout', 'icmp-port-unreachable', 'delayed-reset'];
  return () =>
    specs.map((x, i): FlowRecord => {
      const r: FlowRecord = {
        type: 'flow',
        id: i + 1,
        key: '',
        proto: 'tcp',
        client: '',
        server: '',
        verdict: 'ok',
        by: 'server',
        start: '',
        t: x.t,
        duration: 0.01,
        summary: '',
        evidence: [],
        check: '',
        frame: 0,
        firstFrame: i + 1,
        packets: 3,
      };
      const name = `svc${x.a}.example.test.`;
      const six = x.c === 1;
      const client = six ? `fd00::1:${x.b.toString(16)}` : `10.0.1.${x.b & 255}`;
      const server = six ? v6(x.a) : v4(x.a);
      if (x.kind === 'dns') {
        r.proto = 'dns';
        r.verdict = 'dns-ok';
        r.client = '10.0.1.10:40000';
        r.server = '10.0.2.53:53';
        r.query = name;
        r.rcode = x.e === 0 ? 'NXDOMAIN' : 'NOERROR';
        r.answers = [`A ${v4(x.a)}`, `AAAA ${v6(x.a)}`];
      } else if (x.kind === 'ping') {
        r.proto = 'icmp';
        r.verdict = x.d < 8 ? 'ping-ok' : 'ping-no-reply';
        r.client = client;
        r.server = server;
      } else {
        // ports 80 and 443 mostly, and now and then a third (other-family keeps keys for two a name)
        const port = x.d < 7 ? 80 : x.d < 15 ? 443 : 8443;
        r.client = six ? `[${client}]:${40000 + x.e}` : `${client}:${40000 + x.e}`;
        r.server = six ? `[${server}]:${port}` : `${server}:${port}`;
        r.verdict = tcpVerdicts[(x.d + x.e) % tcpVerdicts.length];
        if (x.e < 3) setClientMac(r, 0x0200_0000_0000 + x.e);
      }
      return r;
    });
}

/** Relates the records in batches of 1–40, as sweeps hand them on; returns what each record was given. */
function relate(linker: Linker, records: FlowRecord[]): string[] {
  const rel = new Relater([linker]);
  let s = 7;
  for (let i = 0; i < records.length;) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const n = 1 + ((s >>> 8) % 40);
    rel.relate(records.slice(i, i + n));
    i += n;
  }
  return records.map((r) => `${r.id} ${JSON.stringify(r.related ?? [])} ${JSON.stringify(r[CAUSE] ?? null)}`);
}

describe('linkers with their entries in columns', () => {
  for (const [what, make, was] of [
    ['other-family', otherFamily, otherFamilyAsItWas],
    ['same-host', sameHost, sameHostAsItWas],
  ] as const) {
    it(`${what}: the same links and causes as with an entry object each`, () => {
      const configs = [
        // few names: keys of many entries, shifted out past 4, and windows passed
        { seed: 1, count: 20000, o: { names: 30, clients: 4, jumpSec: 40 } },
        // more keys than the 16,384 kept: the oldest evicted (and same-host's host pairs likewise)
        { seed: 2, count: 60000, o: { names: 12000, clients: 3, jumpSec: 5 } },
        // long quiet gaps: whole tables forgotten by the passes
        { seed: 3, count: 20000, o: { names: 400, clients: 20, jumpSec: 130 } },
      ];
      let links = 0;
      for (const c of configs) {
        const build = stream(c.seed, c.count, c.o);
        const linker = make();
        const now = relate(linker, build());
        const then = relate(was(), build());
        expect(now).toEqual(then);
        // and every handle taken is held by a table: none leaked, whatever became of its record
        expect(linker.unheld?.()).toBe(0);
        links += now.filter((l) => !l.includes(' [] ')).length;
      }
      // the streams make links (a test that compares no links compares nothing)
      expect(links).toBeGreaterThan(1000);
    });
  }
});

// ---- the linkers as they were before issue #20's twentieth pass, kept as the oracle ------------

// other-family
const OF_WINDOW_SEC = 30;
const OF_MAX_GAP_SEC = 5;
const OF_MAX_NAMES = 65536;
const OF_MAX_KEYS = 16384;
const OF_PER_KEY = 4;
interface Attempt {
  t: number;
  id: number;
  family: 4 | 6;
  ok: boolean;
  client: string;
  server: string;
  verdict: VerdictId;
  /** The source MAC of its client's packets, -1 unknown (CLIENT_MAC). */
  mac: number;
  /** A failed attempt already tied to its fallback (later connections to the name are not fallbacks). */
  done: boolean;
}
const bare = (q: string) => (q.endsWith('.') ? q.slice(0, -1) : q);
interface Named {
  /** The question as asked (a later answer for the same question names the address the same). */
  query: string;
  name: string;
  /** `${name} ${port}` for `port` (-1: none yet), and for `port2`, the port before it. */
  port: number;
  key: string;
  port2: number;
  key2: string;
}
function otherFamilyAsItWas(): Linker {
  /** Address → the name an A/AAAA answer gave it. */
  const names = new AddressMap<Named>();
  /** One `attempts` no longer holds, to be filled in for a later record (see Recent's `dropped`). */
  let spare: Attempt | null = null;
  /** Attempts by name and server port. */
  const attempts = new Recent<Attempt>(OF_WINDOW_SEC, OF_MAX_KEYS, OF_PER_KEY, (e) => {
    spare = e;
  });
  const attempt = (r: FlowRecord, ok: boolean): Attempt => {
    const e = spare;
    if (e === null) return { t: r.t, id: r.id, family: familyOf(r.server), ok, client: r.client, server: r.server, verdict: r.verdict, mac: clientMacOf(r), done: false };
    spare = null;
    e.t = r.t;
    e.id = r.id;
    e.family = familyOf(r.server);
    e.ok = ok;
    e.client = r.client;
    e.server = r.server;
    e.verdict = r.verdict;
    e.mac = clientMacOf(r);
    e.done = false;
    return e;
  };

  const learn = (r: FlowRecord) => {
    if (r.answers === undefined || r.query === undefined || r.rcode !== 'NOERROR') return;
    /** Made at the first address this answer names anew (most answers repeat what is known). */
    let named: Named | undefined;
    for (const a of r.answers) {
      // the address is read where it is in the answer's text
      const from = a.startsWith('A ') ? 2 : a.startsWith('AAAA ') ? 5 : 0;
      if (from === 0 || from === a.length) continue;
      const had = names.get(a, from, a.length);
      if (had !== undefined ? had.query === r.query : names.size >= OF_MAX_NAMES) continue;
      named ??= { query: r.query, name: bare(r.query), port: -1, key: '', port2: -1, key2: '' };
      names.set(a, from, a.length, named);
    }
  };

  /** The name of the host of a server endpoint (hostOf's), read in place but for an IPv6 one. */
  const nameOf = (server: string): Named | undefined => {
    if (server.charCodeAt(0) === 91 /* [ */) {
      const host = hostOf(server);
      return names.get(host, 0, host.length);
    }
    return names.get(server, 0, hostEnd(server));
  };

  /**
   * The key of attempts to `named` on the port of `server`, made again only for a third port (a
   * name connected to on 80 and 443 in turn made a key for half the connections on the dense bench
   * capture: a string to make, flatten and hash for each).
   */
  const keyOf = (named: Named, server: string): string => {
    const port = portNumber(server);
    if (port < 0) return `${named.name} ${portPart(server)}`;
    if (port === named.port) return named.key;
    if (port === named.port2) return named.key2;
    named.port2 = named.port;
    named.key2 = named.key;
    named.port = port;
    named.key = `${named.name} ${port}`;
    return named.key;
  };

  const link = (found: Found, failed: Attempt, worked: Attempt, name: string, failedIsHere: boolean) => {
    const fam = (f: 4 | 6) => `IPv${f}`;
    const onFailed = `${fam(worked.family)} to the same name and port worked ${gapText(worked.t - failed.t)} (${worked.client} → ${worked.server}): the fallback; only the ${fam(failed.family)} path is broken`;
    const onWorked = `a fallback: ${fam(failed.family)} to ${name} (${failed.client} → ${failed.server}) failed ${gapText(failed.t - worked.t)} (${failed.verdict})`;
    const cause: Cause = { kind: 'other-family', id: worked.id, name, family: failed.family, other: worked.server };
    if (failedIsHere) found(worked.id, 'other-family', onFailed, onWorked, cause);
    else found(failed.id, 'other-family', onWorked, onFailed, undefined, cause);
  };

  return {
    protos: ['dns', 'tcp'],
    relate(r, found) {
      if (r.proto === 'dns') {
        learn(r);
        return;
      }
      if (r.proto !== 'tcp' || r.client === '' || r.server === '' || names.size === 0) return;
      const ok = CONNECTED.has(r.verdict);
      if (!ok && !NOT_CONNECTED.has(r.verdict)) return;
      const named = nameOf(r.server);
      if (named === undefined) return;
      const name = named.name;
      const key = keyOf(named, r.server);
      const here = attempt(r, ok);
      for (const e of attempts.get(key, r.t)) {
        if (e.family === here.family || e.ok === here.ok || (ok ? e.done : here.done)) continue;
        // clients that sent from different MACs are different hosts: not one's fallback for the other
        if (e.mac >= 0 && here.mac >= 0 && e.mac !== here.mac) continue;
        // the failed attempt first, its fallback within OF_MAX_GAP_SEC
        const gap = ok ? here.t - e.t : e.t - here.t;
        if (gap < 0 || gap > OF_MAX_GAP_SEC) continue;
        if (ok) {
          e.done = true;
          link(found, e, here, name, false);
        } else {
          here.done = true;
          link(found, here, e, name, true);
          break;
        }
      }
      attempts.add(key, here);
    },
  };
}
function gapText(d: number): string {
  const a = Math.abs(d);
  const amount = a < 1 ? `${Math.round(a * 1000)} ms` : `${Math.round(a * 10) / 10} s`;
  return d >= 0 ? `${amount} later` : `${amount} earlier`;
}

// same-host
const SH_WINDOW_SEC = 120;
const SH_MAX_KEYS = 16384;
const SH_PER_KEY = 4;
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
function sameHostAsItWas(): Linker {
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
  const pingsFailed = new Recent<Seen>(SH_WINDOW_SEC, SH_MAX_KEYS, SH_PER_KEY, dropped);
  const pingsOk = new Recent<Seen>(SH_WINDOW_SEC, SH_MAX_KEYS, 1, dropped);
  const tcpOk = new Recent<Seen>(SH_WINDOW_SEC, SH_MAX_KEYS, 1, dropped);
  const tcpFailed = new Recent<Seen>(SH_WINDOW_SEC, SH_MAX_KEYS, SH_PER_KEY, dropped);

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
