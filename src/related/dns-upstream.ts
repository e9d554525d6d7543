import type { FlowRecord, VerdictId } from '../verdict/types.js';
import { hostOf } from '../flow/addr.js';
import { Recent, type Linker } from './relate.js';

/**
 * DNS chains: a resolver's SERVFAIL tied to its own failing queries upstream in the same capture
 * (a capture taken on the resolver's host, or on a link both legs cross). An upstream query is the
 * resolver's when it asks for the same name, or for one of its ancestors (a resolver minimising
 * its queries asks `lame.test.` before `www.lame.test.`), while the client's query was waiting:
 * from the client's query to the SERVFAIL. Queries sent from the resolver's own address are
 * preferred; when there are none, those from any other address of the capture count (a resolver
 * with several addresses sends from another one than it answers on).
 */

/** What a failed upstream query or a SERVFAIL leaves for the other to find. */
interface Entry {
  /** Seconds from the capture's first packet: the query, and the response (or the query when none). */
  t: number;
  end: number;
  id: number;
  clientHost: string;
  serverHost: string;
  server: string;
  query: string;
  qtype: string;
  verdict: VerdictId;
  rcode: string | undefined;
}

/** Upstream outcomes that can make a resolver fail. */
const UPSTREAM_FAILURES: ReadonlySet<VerdictId> = new Set<VerdictId>([
  'dns-refused',
  'dns-servfail',
  'dns-no-response',
  'dns-error',
  'dns-no-recursion',
  'icmp-net-unreachable',
  'icmp-host-unreachable',
  'icmp-port-unreachable',
  'icmp-admin-prohibited',
  'icmp-unreachable',
]);

/** How long a resolver may work on one client query (its own retries and timeouts), in seconds. */
const WINDOW_SEC = 30;
/** Slack on the window's edges for clocks rounded to the microsecond. */
const SLACK_SEC = 1e-6;

/** `www.lame.test.` → `www.lame.test.`, `lame.test.`, `test.` (not the root). */
function selfAndAncestors(name: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < name.length - 1) {
    out.push(name.slice(i));
    const dot = name.indexOf('.', i);
    if (dot < 0) break;
    i = dot + 1;
  }
  return out;
}

function entryOf(r: FlowRecord): Entry {
  return {
    t: r.t,
    end: r.t + r.duration,
    id: r.id,
    clientHost: hostOf(r.client),
    serverHost: hostOf(r.server),
    server: r.server,
    query: r.query ?? '',
    qtype: r.qtype ?? '',
    verdict: r.verdict,
    rcode: r.rcode,
  };
}

/** The upstream failure as the SERVFAIL's reason. */
function upstreamWhy(u: Entry): string {
  const asked = `${u.clientHost}'s own query for ${u.query} ${u.qtype} to ${u.server}`;
  switch (u.verdict) {
    case 'dns-refused':
      return `${asked} was answered REFUSED: ${u.serverHost} does not serve the zone it was delegated (a lame delegation), or refuses the resolver`;
    case 'dns-servfail':
      return `${asked} was answered SERVFAIL: that server fails too`;
    case 'dns-no-response':
      return `${asked} got no answer: ${u.serverHost} is down or unreachable from the resolver`;
    case 'dns-no-recursion':
      return `${asked} got a referral instead of an answer: the forwarder does not recurse for the resolver`;
    case 'dns-error':
      return `${asked} was answered ${u.rcode ?? 'with an error'}`;
    default:
      return `${asked} was answered with an ICMP error (${u.verdict})`;
  }
}

/** The SERVFAIL as the upstream failure's consequence. */
function servfailWhy(s: Entry): string {
  return `this failure is why ${s.serverHost} answered SERVFAIL to ${s.clientHost} for ${s.query} ${s.qtype}`;
}

/** Whether `u` is one of the resolver's queries while it worked on the client's query `s`. */
function during(u: Entry, s: Entry): boolean {
  return u.id !== s.id && u.clientHost !== s.clientHost && u.t >= s.t - SLACK_SEC && u.t <= s.end + SLACK_SEC;
}

/** The entries of `list` sent from the resolver's address, or all of them when none was. */
function fromResolver(list: Entry[], resolverHost: string): Entry[] {
  const own = list.filter((u) => u.clientHost === resolverHost);
  return own.length > 0 ? own : list;
}

export function dnsUpstreamLinker(): Linker {
  /** Failed upstream queries, by their name. */
  const failures = new Recent<Entry>(WINDOW_SEC, 10_000, 16);
  /** SERVFAILs, by their name and its ancestors. */
  const servfails = new Recent<Entry>(WINDOW_SEC, 10_000, 16);
  return {
    protos: ['dns'],
    relate(r, found) {
      if (r.proto !== 'dns' || r.query === undefined || r.opcode !== undefined || r.client === '' || r.server === '') return;
      // most lookups are neither: nothing to key or remember
      const servfail = r.verdict === 'dns-servfail';
      if (!servfail && !UPSTREAM_FAILURES.has(r.verdict)) return;
      const name = r.query.toLowerCase();
      const e = entryOf(r);
      if (servfail) {
        const candidates: Entry[] = [];
        for (const key of selfAndAncestors(name)) for (const u of failures.get(key, r.t)) if (during(u, e)) candidates.push(u);
        for (const u of fromResolver(candidates, e.serverHost)) found(u.id, 'dns-upstream', upstreamWhy(u), servfailWhy(e));
        for (const key of selfAndAncestors(name)) servfails.add(key, e);
      }
      if (UPSTREAM_FAILURES.has(r.verdict)) {
        // a SERVFAIL decided before this failure (in an earlier batch, or earlier in this one)
        for (const s of servfails.get(name, r.t)) if (during(e, s)) found(s.id, 'dns-upstream', servfailWhy(s), upstreamWhy(e));
        failures.add(name, e);
      }
    },
  };
}
