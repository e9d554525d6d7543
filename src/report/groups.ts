import { HEALTHY, type By, type FlowRecord, type VerdictId } from '../verdict/types.js';
import { STORY, type Fact } from '../verdict/facts.js';
import { hostOf, portOf } from '../flow/addr.js';

/**
 * Problems alike, as one group: the same verdict, `by` and cause (causeOf), and the same server,
 * or a set of servers one client reached on one port (a load balancer's pool) or on one host (a
 * port scan). The text and HTML reports print a group as one block (its first --limit records);
 * JSON lists the groups (`groups`), every problem record names its group (`group`).
 */
export interface ProblemGroup {
  /** The id of its first record: names the group in every format. */
  id: number;
  file?: string;
  verdict: VerdictId;
  by: By;
  proto: FlowRecord['proto'];
  /** What its records have in common besides verdict and by (causeOf): equal causes, alike problems. */
  cause: string;
  count: number;
  /** ISO 8601 start of its first and of its last record. */
  first: string;
  last: string;
  /** Distinct servers (endpoints), the first GROUP_BOUNDS.listed; moreServers: others were not listed. */
  servers: string[];
  moreServers: boolean;
  /** Distinct client addresses (without port), the first GROUP_BOUNDS.listed. */
  clients: string[];
  moreClients: boolean;
  /** Ids of its records, the first GROUP_BOUNDS.ids (count has them all). */
  ids: number[];
  /** Its records are a health checker's attempts: the client, the interval of its checks (ms) when the series showed. */
  checks?: { from: string; intervalMs?: number };
  /** Problems past GROUP_BOUNDS.groups groups, of this verdict, whatever their cause and servers. */
  overflow?: boolean;
}

/** What a group holds, whatever the number of its records; and how many groups a capture has at most. */
export const GROUP_BOUNDS = { groups: 1000, listed: 64, ids: 1000, checkers: 4096, poolKeys: 65536 } as const;

/**
 * The cause of a problem, beyond its verdict and `by`, as a key: the kind of explanation (the
 * record's story), what distinguishes it within that kind (an HTTP status, a TLS alert, the side
 * that stalled), how the deciding packet was attributed, and, when a box in the path decided, which
 * box (its address or MAC). Per-server details (a server's own MAC or address) are left out, so a
 * pool of dead servers has one cause.
 */
export function causeOf(r: FlowRecord): string {
  // written as one string, part after part: an array of parts, a Set of reasons, their spread,
  // filter and join made seven objects a problem (a SYN flood's million records, issue #20)
  const s = r[STORY];
  const middle = r.by === 'middlebox';
  let out = '';
  if (s !== undefined) {
    out = s.kind;
    switch (s.kind) {
      case 'icmp-answer':
      case 'dns-icmp':
      case 'ping-icmp':
        out = and(out, s.icmp);
        if (middle) out = and(out, s.from);
        break;
      case 'ping-ttl-exceeded':
        out = and(out, s.from);
        break;
      case 'http-error':
        out = and(out, String(s.status));
        break;
      case 'tls-alert':
        out = and(and(out, s.side), String(s.desc));
        break;
      case 'data-stall':
        out = and(and(and(out, s.side), s.view), s.pmtu ? 'pmtu' : '');
        break;
      case 'zero-window':
        out = and(out, s.side);
        break;
      case 'no-response':
        out = and(out, s.acked ? 'acked' : 'not-acked');
        break;
      case 'handshake-incomplete':
        out = and(out, s.clientRst ? 'client-rst' : '');
        break;
      case 'syn-too-soon':
        out = and(out, s.clientRst === true ? 'client-rst' : '');
        break;
      case 'one-sided':
        out = and(out, s.missing);
        break;
      case 'bad-syn-ack':
        out = and(out, s.challenge === true ? 'challenge' : '');
        break;
      case 'path-forged':
      case 'path-dropped':
        out = and(out, s.what);
        break;
      default:
    }
  }
  if (r.facts !== undefined) out = withReasons(out, r.facts);
  if (middle && r.mac !== undefined) out = and(out, r.mac);
  return out;
}

/** `out` and `part`, a space between, an empty part left out. */
function and(out: string, part: string): string {
  if (part === '') return out;
  return out === '' ? part : `${out} ${part}`;
}

/** withReasons' list of distinct reasons (reused: most records have none, a few one or two). */
const reasons: string[] = [];

/** `out` and the distinct reasons of the attribution facts, in sorted order. */
function withReasons(out: string, facts: readonly Fact[]): string {
  reasons.length = 0;
  for (const f of facts) if (f.kind === 'attribution' && !reasons.includes(f.reason)) reasons.push(f.reason);
  if (reasons.length > 1) reasons.sort();
  for (const x of reasons) out = and(out, x);
  return out;
}

/** Verdicts of an attempt that never connected: what a health check of a dead backend gets. */
const CONNECT_FAILURES: ReadonlySet<VerdictId> = new Set<VerdictId>([
  'refused',
  'timeout',
  'icmp-net-unreachable',
  'icmp-host-unreachable',
  'icmp-port-unreachable',
  'icmp-admin-prohibited',
  'icmp-unreachable',
  'handshake-incomplete',
  'bad-syn-ack',
]);

/** A group being filled (the output shape plus what assigning records needs). */
interface Building {
  g: ProblemGroup;
  /** Its one client, while it has one (a pool or a scan is one client's). */
  client: string | null;
}

/**
 * Where the groups of one signature (verdict, by, proto and cause) are found: a key made of the
 * signature and the server was a string made, flattened and hashed for every problem.
 */
interface SigTables {
  /** server endpoint → group. */
  byServer: Map<string, Building>;
  /** client + ' ' + server port → the group of that client's pool on that port. */
  byClientPort: Map<string, Building>;
  /** client + ' ' + server host → the group of that client's scan of that host. */
  byClientHost: Map<string, Building>;
}

/**
 * Assigns each problem record to its group as records are decided, in bounded memory: at most
 * GROUP_BOUNDS.groups groups (further new ones fall into one overflow group per verdict), each
 * listing at most GROUP_BOUNDS.listed servers and clients and GROUP_BOUNDS.ids ids; its servers
 * are found by what it lists, and one client's pools and scans by at most GROUP_BOUNDS.poolKeys
 * keys in all (one client refused by every host of a /8 learns no more: its later attempts to
 * other ports and hosts start groups of their own).
 */
export class Grouper {
  private readonly list: Building[] = [];
  /** Keys in all the signatures' byClientPort and byClientHost tables. */
  private poolKeys = 0;
  /** The tables of each signature a group was listed under (no more signatures than groups). */
  private readonly bySig = new Map<string, SigTables>();
  private readonly overflow = new Map<VerdictId, Building>();
  /** client address + ' ' + server port of health-check series seen (the checker also checks that port's live servers). */
  private readonly checkers = new Set<string>();
  private readonly checkerInterval = new Map<string, number>();

  /**
   * A decided record: a problem joins its group (sets `r.group`) and the number of records its
   * group has with it is returned; a healthy record returns 0 (a health-check series is noted).
   */
  add(r: FlowRecord): number {
    if (HEALTHY.has(r.verdict)) {
      if (r.verdict === 'health-check') this.noteChecker(r);
      return 0;
    }
    const cause = causeOf(r);
    const sig = `${r.verdict}|${r.by}|${r.proto}|${cause}`;
    const tables = this.bySig.get(sig);
    const client = hostOf(r.client);
    const server = r.server;
    const port = portOf(server);
    const sHost = hostOf(server);
    let b = tables?.byServer.get(server);
    if (b === undefined && tables !== undefined) {
      const pool = tables.byClientPort.get(`${client} ${port}`);
      if (pool !== undefined && pool.client === client) b = pool;
      if (b === undefined && port >= 0) {
        const scan = tables.byClientHost.get(`${client} ${sHost}`);
        if (scan !== undefined && scan.client === client) b = scan;
      }
    }
    if (b === undefined) {
      if (this.list.length < GROUP_BOUNDS.groups) {
        b = { g: newGroup(r, cause), client };
        this.list.push(b);
      } else {
        b = this.overflow.get(r.verdict);
        if (b === undefined) {
          b = { g: { ...newGroup(r, 'other'), overflow: true }, client: null };
          this.overflow.set(r.verdict, b);
        }
      }
    }
    this.join(b, r, tables ?? sig, client, server, port, sHost);
    return b.g.count;
  }

  /** `r` joins `b`; its signature's tables (or the signature, when it has none yet) learn what finds `b`. */
  private join(b: Building, r: FlowRecord, tables: SigTables | string, client: string, server: string, port: number, sHost: string): void {
    const g = b.g;
    g.count++;
    if (g.count > 1) g.last = r.start;
    if (g.ids.length < GROUP_BOUNDS.ids) g.ids.push(r.id);
    r.group = g.id;
    if (g.overflow === true) return;
    let t: SigTables;
    if (typeof tables === 'string') {
      t = { byServer: new Map(), byClientPort: new Map(), byClientHost: new Map() };
      this.bySig.set(tables, t);
    } else t = tables;
    // a full list with more beyond it changes no more (and the group has had two clients, b.client is null)
    if (!g.moreClients && !g.clients.includes(client)) {
      if (g.clients.length > 0) b.client = null;
      if (g.clients.length < GROUP_BOUNDS.listed) g.clients.push(client);
      else g.moreClients = true;
    }
    if (!g.moreServers && !g.servers.includes(server)) {
      if (g.servers.length < GROUP_BOUNDS.listed) {
        g.servers.push(server);
        t.byServer.set(server, b);
      } else g.moreServers = true;
    }
    if (b.client === client) {
      const kp = `${client} ${port}`;
      if (this.poolKeys < GROUP_BOUNDS.poolKeys && !t.byClientPort.has(kp)) {
        t.byClientPort.set(kp, b);
        this.poolKeys++;
      }
      const kh = `${client} ${sHost}`;
      if (port >= 0 && this.poolKeys < GROUP_BOUNDS.poolKeys && !t.byClientHost.has(kh)) {
        t.byClientHost.set(kh, b);
        this.poolKeys++;
      }
    }
    if (g.checks === undefined && r.facts !== undefined) {
      for (const f of r.facts) if (f.kind === 'probe-series') g.checks = { from: client, intervalMs: Math.round(f.intervalNs / 1e3) / 1e3 };
    }
  }

  private noteChecker(r: FlowRecord): void {
    if (this.checkers.size >= GROUP_BOUNDS.checkers) return;
    const key = `${hostOf(r.client)} ${portOf(r.server)}`;
    this.checkers.add(key);
    if (!this.checkerInterval.has(key) && r.facts !== undefined) {
      for (const f of r.facts) if (f.kind === 'probe-series') this.checkerInterval.set(key, Math.round(f.intervalNs / 1e3) / 1e3);
    }
  }

  /** The groups so far, in the order of their first records (overflow groups last). */
  groups(): ProblemGroup[] {
    const out: ProblemGroup[] = [];
    for (const b of [...this.list, ...this.overflow.values()]) {
      const g = b.g;
      // one client whose health checks of the same port succeed elsewhere: its failing checks
      if (g.checks === undefined && g.overflow !== true && g.proto === 'tcp' && CONNECT_FAILURES.has(g.verdict) && g.clients.length === 1 && !g.moreClients) {
        const ports = new Set(g.servers.map(portOf));
        for (const p of ports) {
          const key = `${g.clients[0]} ${p}`;
          if (this.checkers.has(key)) {
            g.checks = { from: g.clients[0], intervalMs: this.checkerInterval.get(key) };
            break;
          }
        }
      }
      out.push(g);
    }
    return out;
  }
}

function newGroup(r: FlowRecord, cause: string): ProblemGroup {
  return {
    id: r.id,
    file: r.file,
    verdict: r.verdict,
    by: r.by,
    proto: r.proto,
    cause,
    count: 0,
    first: r.start,
    last: r.start,
    servers: [],
    moreServers: false,
    clients: [],
    moreClients: false,
    ids: [],
  };
}
