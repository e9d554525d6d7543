import type { Cause } from '../verdict/facts.js';
import type { FlowRecord, VerdictId } from '../verdict/types.js';
import { EndpointColumn, Handles, Recent, widened, type Found, type Linker } from './relate.js';
import { CONNECTED, NOT_CONNECTED, clientMacOf, endsOf, familyOf, portPart } from './ends.js';
import { AddressMap } from './address-map.js';
import { answerAddressAt } from '../decode/dns.js';

/*
 * Happy eyeballs (RFC 8305): a client that resolved a name to A and AAAA addresses, tried one
 * family and fell back to the other. The capture's own DNS answers name the addresses (kept here:
 * records are named only later, when shown); a failed connection of one family is linked to the
 * working connection to the same name and port in the other family that started soon after it.
 * A host's IPv4 and IPv6 addresses cannot be told to be one host from the addresses alone, so the
 * time does it: the fallback starts within MAX_GAP_SEC after the failed attempt (250-300 ms for
 * browsers and curl; a client without happy eyeballs falls back after its own connect timeout).
 * The failed one stays a problem, but its summary says which path is broken and that the
 * fallback worked. Only one host falls back: where the capture shows the clients' MACs, attempts
 * from different MACs are not linked (behind one router's MAC, the time alone still decides).
 */

/** Attempts remembered (s of capture time): a failure's record may be decided long after the fallback's. */
const WINDOW_SEC = 30;
/** The fallback starts at most this long (s) after the failed attempt. */
const MAX_GAP_SEC = 5;
/** Addresses named (as DnsNames: a resolver answering millions of names cannot grow it further). */
const MAX_NAMES = 65536;
const MAX_KEYS = 16384;
const PER_KEY = 4;

/** "www.example.test." → "www.example.test" */
const bare = (q: string) => (q.endsWith('.') ? q.slice(0, -1) : q);

/**
 * A name an A/AAAA answer gave addresses, shared by them, with the keys of the attempts to the two
 * ports last connected to (most names are connected to on one or two ports, 80 and 443: no key
 * made per record, and no map per name, which cost 11 MiB of peak RSS on the dense bench capture).
 */
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

export function otherFamily(): Linker {
  /** Address → the name an A/AAAA answer gave it. */
  const names = new AddressMap<Named>();
  /** The attempts, in columns by handle (Handles): every connection to a named server is one, kept for WINDOW_SEC. */
  let at = new Float64Array(0);
  let ids = new Float64Array(0);
  /** The source MAC of its client's packets, -1 unknown (CLIENT_MAC). */
  let macs = new Float64Array(0);
  let families = new Uint8Array(0);
  /** 1: connected. */
  let oks = new Uint8Array(0);
  /** 1: a failed attempt already tied to its fallback (later connections to the name are not fallbacks). */
  let dones = new Uint8Array(0);
  const clients = new EndpointColumn();
  const servers = new EndpointColumn();
  const verdicts: VerdictId[] = [];
  const handles = new Handles((n) => {
    at = widened(at, n);
    ids = widened(ids, n);
    macs = widened(macs, n);
    families = widened(families, n);
    oks = widened(oks, n);
    dones = widened(dones, n);
    clients.widen(n);
    servers.widen(n);
    for (let h = verdicts.length; h < n; h++) verdicts.push('ok');
  });
  /** Attempts by name and server port. */
  const attempts = new Recent<number>(
    WINDOW_SEC,
    MAX_KEYS,
    PER_KEY,
    (h) => {
      clients.clear(h);
      servers.clear(h);
      handles.give(h);
    },
    (h) => at[h],
  );
  const attempt = (r: FlowRecord, ok: boolean): number => {
    const h = handles.take();
    at[h] = r.t;
    ids[h] = r.id;
    macs[h] = clientMacOf(r);
    families[h] = familyOf(r.server);
    oks[h] = ok ? 1 : 0;
    dones[h] = 0;
    const e = endsOf(r);
    clients.set(h, r.client, e.cCode);
    servers.set(h, r.server, e.sCode);
    verdicts[h] = r.verdict;
    return h;
  };

  const learn = (r: FlowRecord) => {
    if (r.answers === undefined || r.query === undefined || r.rcode !== 'NOERROR') return;
    /** Made at the first address this answer names anew (most answers repeat what is known). */
    let named: Named | undefined;
    const answers = r.answers;
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i];
      // the address is read where it is in the answer's text
      const from = answerAddressAt(a);
      if (from < 0) continue;
      const had = names.get(a, from, a.length);
      if (had !== undefined ? had.query === r.query : names.size >= MAX_NAMES) continue;
      named ??= { query: r.query, name: bare(r.query), port: -1, key: '', port2: -1, key2: '' };
      names.set(a, from, a.length, named);
    }
  };

  /** The name of the host of a record's server: by its IPv4 word (endsOf), else by its text (AddressMap.getHost). */
  const nameOf = (r: FlowRecord): Named | undefined => {
    const word = endsOf(r).sWord;
    if (word >= 0) return names.getV4(word);
    return names.getHost(r.server);
  };

  /**
   * The key of attempts to `named` on the port of `server`, made again only for a third port (a
   * name connected to on 80 and 443 in turn made a key for half the connections on the dense bench
   * capture: a string to make, flatten and hash for each).
   */
  const keyOf = (named: Named, server: string, port: number): string => {
    if (port < 0) return `${named.name} ${portPart(server)}`;
    if (port === named.port) return named.key;
    if (port === named.port2) return named.key2;
    named.port2 = named.port;
    named.key2 = named.key;
    named.port = port;
    named.key = `${named.name} ${port}`;
    return named.key;
  };

  /** Links the attempts of handles `failed` and `worked`. */
  const link = (found: Found, failed: number, worked: number, name: string, failedIsHere: boolean) => {
    const fam = (h: number) => `IPv${families[h]}`;
    const onFailed = `${fam(worked)} to the same name and port worked ${gapText(at[worked] - at[failed])} (${clients.get(worked)} → ${servers.get(worked)}): the fallback; only the ${fam(failed)} path is broken`;
    const onWorked = `a fallback: ${fam(failed)} to ${name} (${clients.get(failed)} → ${servers.get(failed)}) failed ${gapText(at[failed] - at[worked])} (${verdicts[failed]})`;
    const cause: Cause = { kind: 'other-family', id: ids[worked], name, family: families[failed] as 4 | 6, other: servers.get(worked) };
    if (failedIsHere) found(ids[worked], 'other-family', onFailed, onWorked, cause);
    else found(ids[failed], 'other-family', onWorked, onFailed, undefined, cause);
  };

  return {
    protos: ['dns', 'tcp'],
    unheld: () => handles.taken - attempts.entryCount,
    relate(r, found) {
      if (r.proto === 'dns') {
        learn(r);
        return;
      }
      if (r.proto !== 'tcp' || r.client === '' || r.server === '' || names.size === 0) return;
      const ok = CONNECTED.has(r.verdict);
      if (!ok && !NOT_CONNECTED.has(r.verdict)) return;
      const named = nameOf(r);
      if (named === undefined) return;
      const name = named.name;
      const key = keyOf(named, r.server, endsOf(r).sPort);
      const here = attempt(r, ok);
      const list = attempts.get(key, r.t);
      for (let i = 0; i < list.length; i++) {
        const e = list[i];
        if (families[e] === families[here] || oks[e] === oks[here] || dones[ok ? e : here] === 1) continue;
        // clients that sent from different MACs are different hosts: not one's fallback for the other
        if (macs[e] >= 0 && macs[here] >= 0 && macs[e] !== macs[here]) continue;
        // the failed attempt first, its fallback within MAX_GAP_SEC
        const gap = ok ? at[here] - at[e] : at[e] - at[here];
        if (gap < 0 || gap > MAX_GAP_SEC) continue;
        if (ok) {
          dones[e] = 1;
          link(found, e, here, name, false);
        } else {
          dones[here] = 1;
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
