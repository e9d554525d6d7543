import { HEALTHY, type FlowRecord, type MacRole, type VerdictId } from './types.js';
import type { ClassifyContext } from './context.js';
import { connState, type TcpFlow } from '../flow/tcp.js';
import type { DnsTxn } from '../flow/dns.js';
import type { UdpFlow } from '../flow/udp.js';
import { formatMac, formatAddr } from '../flow/addr.js';
import { isoTime } from '../capture/time.js';
import { ruleVerdict, tcpRule, type Outcome, type TcpRule } from './tcp-rules.js';
import { classifyDns, dnsOpcode, dnsVerdict } from './dns-rules.js';
import { attributeIcmp } from './attribute.js';
import { icmpFact, icmpName, icmpVerdict, loopFacts } from './icmp.js';
import { qtypeName, rcodeName } from '../decode/dns.js';
import { hopsFrom, vendorOf } from './format.js';
import { applyBox } from './box.js';
import { appFacts } from './tcp-app.js';
import { macFact } from './tcp-evidence.js';
import { assertNoNegativeTimes, STORY, type Fact } from './facts.js';
import { alertName } from '../flow/app.js';
import { tlsVersionName } from '../decode/tls.js';
import { dnsKey, tcpKey, udpKey } from './key.js';
import { responseTimes } from './tcp-response.js';
import { MARKS } from './marks.js';

function absTime(c: ClassifyContext, t: number): string {
  const totalNs = c.captureStartNsec + t;
  const sec = c.captureStartSec + Math.floor(totalNs / 1e9);
  const nsec = Math.round(totalNs - Math.floor(totalNs / 1e9) * 1e9);
  return nsec >= 1e9 ? isoTime(sec + 1, nsec - 1e9) : isoTime(sec, nsec);
}

const CHECK_TIMES = process.env.PCAPDIAG_CHECK_TIMES === '1';

export function base(c: ClassifyContext, verdict: VerdictId, o: Outcome, startT: number, endT: number, tunnel: string | null): Omit<FlowRecord, 'proto' | 'client' | 'server' | 'firstFrame' | 'packets'> {
  // no clock of the flow layer goes back (FlowTracker.observe, onTcp), so no record starts before
  // the capture, lasts a negative time or holds a negative time in a fact: checked on every
  // described record whenever PCAPDIAG_CHECK_TIMES=1, which every test run sets (vitest.config.ts)
  if (CHECK_TIMES) {
    if (!(startT >= 0 && endT >= startT)) throw new Error(`internal: a ${verdict} record from ${startT} ns to ${endT} ns`);
    assertNoNegativeTimes(o.facts, verdict);
  }
  if (tunnel !== null) o.facts.push(tunnelFact(tunnel));
  // summary, evidence and check are written from the facts when the record is shown (DnsNames.label)
  const r: Omit<FlowRecord, 'proto' | 'client' | 'server' | 'firstFrame' | 'packets'> = {
    type: 'flow',
    id: 0,
    key: '',
    verdict,
    by: o.by,
    start: absTime(c, startT),
    t: round6(startT / 1e9),
    duration: round6((endT - startT) / 1e9),
    summary: '',
    evidence: NO_EVIDENCE,
    check: '',
    facts: o.facts,
    frame: o.frame,
  };
  r[STORY] = o.story;
  // every mark a record may take (verdict/marks.ts) is its own property from the start, undefined
  // until set, while the record is small. V8 turns an object into a dictionary when a keyed store
  // (as a symbol-keyed one is) adds a property to it once its fields outside the object fill what
  // it has there and number more than 12 (or than its fields inside, if more): the fields added
  // below put a connection's record past that, and every healthy one of an ndjson run was a
  // dictionary once described() copied its marks onto it, each read of it a hash lookup (#20)
  for (let i = 0; i < MARKS.length; i++) (r as Record<symbol, unknown>)[MARKS[i]] = undefined;
  if (o.mac >= 0) {
    r.mac = formatMac(o.mac);
    const v = vendorOf(o.mac);
    if (v !== undefined) r.vendor = v;
    r.macRole = o.macRole ?? macRoleOf(c, o.mac, o.ttl ?? -1);
  }
  return r;
}

/**
 * What a record's MAC is to its deciding packet (FlowRecord.macRole): a packet that arrived with an
 * initial TTL was made by the box with that MAC (a gateway's when it is a router); a routed one came
 * through it from further away. Without the packet's TTL, a router's MAC is taken as the way in.
 */
export function macRoleOf(c: ClassifyContext, mac: number, ttl: number): MacRole {
  const gateway = c.hosts.isGatewayMac(mac);
  if (ttl > 0) return hopsFrom(ttl) !== 0 ? 'via-gateway' : gateway ? 'gateway' : 'sender';
  return gateway ? 'via-gateway' : 'sender';
}

/** Shared by records not yet described (replaced, never changed). */
const NO_EVIDENCE: string[] = [];

/** "VXLAN VNI 100 between 10.0.0.1 and 10.0.0.2" (the flow layer's words) as a fact with the two addresses as fields. */
function tunnelFact(tunnel: string): Fact {
  const at = tunnel.indexOf(' between ');
  if (at < 0) return { kind: 'tunnel', tunnel, between: undefined };
  const ends = tunnel.slice(at + 9);
  const and = ends.indexOf(' and ');
  if (and < 0) return { kind: 'tunnel', tunnel, between: undefined };
  return { kind: 'tunnel', tunnel: tunnel.slice(0, at), between: [ends.slice(0, and), ends.slice(and + 5)] };
}

const APP_VERDICTS: ReadonlySet<VerdictId> = new Set<VerdictId>(['tls-alert', 'tls-aborted', 'http-error']);

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

// Records are built by adding fields to base()'s object in one fixed order, not by spreading it
// into a new literal: a spread of this many fields gives every record its own hidden class, which
// made building and serialising them several times slower.

export function tcpRecord(f: TcpFlow, c: ClassifyContext): FlowRecord {
  const rule = tcpRule(f, c);
  const verdict = ruleVerdict(rule, f);
  const later = c.describeLater(verdict);
  if (later || !c.describe(verdict)) {
    // endpoints and duration: read by a health-check series (health.ts), a --filter, and the
    // linkers of related records (src/related/: a working connection proves a host up, a fallback
    // worked, a NAT leg)
    const r = countedTcp(verdict, f.clientText, f.serverText, f.firstFrame, f.firstT, round6((f.lastT - f.firstT) / 1e9));
    if (later) {
      // what the linkers read of a described connection (its ISN: nat-leg.ts)
      r.key = tcpKey(r, f);
      (r as Later)[LATER] = f;
      (r as Later)[LATER_CONTEXT] = c;
      (r as Later)[LATER_RULE] = rule;
    }
    return r;
  }
  return describedTcp(f, c, rule, verdict);
}

/** `key`: the record's key when it was made already (a record described later: see described). */
function describedTcp(f: TcpFlow, c: ClassifyContext, rule: TcpRule, verdict: VerdictId, key?: string): FlowRecord {
  const client = f.clientText;
  const server = f.serverText;
  const outcome = rule.describe(f, c);
  if (!HEALTHY.has(verdict)) applyBox(f, c, outcome);
  // the deciding packet's TTL, when the rule did not say: the server side's, for its MAC
  if (outcome.ttl === undefined && outcome.mac >= 0 && outcome.mac === f.s.mac && f.s.ttlMax >= 0) outcome.ttl = f.s.ttlMax;
  // the TLS/HTTP lines, for verdicts that do not already explain them
  if (f.app !== null && !APP_VERDICTS.has(verdict)) outcome.facts.push(...appFacts(f, c));
  const r = base(c, verdict, outcome, f.firstT, f.lastT, f.tunnel) as FlowRecord;
  r.proto = 'tcp';
  r.client = client;
  r.server = server;
  r.firstFrame = f.firstFrame;
  r.packets = f.c.packets + f.s.packets;
  r.state = connState(f);
  r.history = f.history;
  r.key = key ?? tcpKey(r, f);
  addAppFields(r, f);
  const rt = responseTimes(f);
  if (rt.responseMs !== undefined) r.responseMs = rt.responseMs;
  if (rt.ttfbMs !== undefined) r.ttfbMs = rt.ttfbMs;
  return r;
}

/** The record's tls and http fields, and their evidence lines unless the verdict's own lines include them. */
function addAppFields(r: FlowRecord, f: TcpFlow): void {
  const tls = f.app?.tls ?? null;
  if (tls !== null && tls.clientHelloFrame > 0) {
    r.tls = {};
    if (tls.sni !== '') r.tls.sni = tls.sni;
    r.tls.version = tlsVersionName(tls.version !== 0 ? tls.version : Math.max(...tls.offered));
    if (tls.alert !== null) r.tls.alert = alertName(tls.alert);
  }
  const http = f.app?.http ?? null;
  if (http !== null && (http.method !== '' || http.status > 0)) {
    r.http = {};
    if (http.method !== '') r.http.request = `${http.method} ${http.path}`;
    if (http.status > 0) r.http.status = http.status;
    if (http.server !== '') r.http.server = http.server;
  }
}

/**
 * A record that is only counted: what counting, --filter, the linkers and the names from DNS read
 * (verdict, time, duration; a lookup's name, transport, rcode and answers: countedDns), without
 * sentences. The endpoints are written only when something reads them ('' otherwise): formatting
 * them for every healthy flow was 7 % of a run.
 */
function countedTcp(verdict: VerdictId, client: string, server: string, firstFrame: number, t: number, duration: number): FlowRecord {
  return { type: 'flow', id: 0, key: '', verdict, by: 'unknown', start: '', t: round6(t / 1e9), duration, summary: '', evidence: NO_EVIDENCE, check: '', frame: 0, proto: 'tcp', client, server, firstFrame, packets: 0 };
}

/**
 * A lookup's counted record: countedTcp()'s fields and the lookup's, in one literal (rcode and
 * answers undefined when there are none). Added one by one, they moved every such record's
 * fields out of the object, into a second one made for them: half the records of the dense
 * bench capture. Never written out (a record that is shown is described: described()).
 */
function countedDns(verdict: VerdictId, d: DnsTxn, client: string, server: string): FlowRecord {
  return {
    type: 'flow',
    id: 0,
    key: '',
    verdict,
    by: 'unknown',
    start: '',
    t: round6(d.firstT / 1e9),
    duration: 0,
    summary: '',
    evidence: NO_EVIDENCE,
    check: '',
    frame: 0,
    proto: 'dns',
    client,
    server,
    firstFrame: dnsFirstFrame(d),
    packets: 0,
    query: d.qname,
    qtype: qtypeName(d.qtype),
    transport: d.transport,
    rcode: d.rcode >= 0 ? rcodeName(d.rcode) : undefined,
    answers: d.answers.length > 0 ? d.answers : undefined,
  };
}

export function dnsRecord(d: DnsTxn, c: ClassifyContext): FlowRecord {
  const bare = dnsVerdict(d, c);
  const later = c.describeLater(bare);
  if (later || !c.describe(bare)) {
    // the endpoints of a failed lookup are read by the linkers (src/related/dns-upstream.ts), and
    // of every record described later
    const text = later || c.filtering || !HEALTHY.has(bare);
    const r = countedDns(bare, d, text ? d.clientText : '', text ? d.serverText : '');
    if (later) {
      // what the linkers read of a described lookup
      const opcode = dnsOpcode(d);
      if (opcode !== undefined) r.opcode = opcode;
      (r as Later)[LATER] = d;
      (r as Later)[LATER_CONTEXT] = c;
    }
    return r;
  }
  return describedDns(d, c);
}

const dnsFirstFrame = (d: DnsTxn): number => (d.queryFrame > 0 ? d.queryFrame : d.respFrame);

function describedDns(d: DnsTxn, c: ClassifyContext): FlowRecord {
  const { verdict, outcome } = classifyDns(d, c);
  const r = base(c, verdict, outcome, d.firstT, d.respT >= 0 ? d.respT : d.firstT, d.tunnel) as FlowRecord;
  r.proto = 'dns';
  r.client = d.clientText;
  r.server = d.serverText;
  r.firstFrame = dnsFirstFrame(d);
  r.packets = (d.queryT >= 0 ? 1 : 0) + (d.respT >= 0 ? 1 : 0);
  r.query = d.qname;
  r.qtype = qtypeName(d.qtype);
  r.transport = d.transport;
  r.attempt = d.attempt;
  const opcode = dnsOpcode(d);
  if (opcode !== undefined) r.opcode = opcode;
  if (d.rcode >= 0) r.rcode = rcodeName(d.rcode);
  if (d.answers.length > 0) r.answers = d.answers;
  r.key = dnsKey(r, d);
  return r;
}

/**
 * On a record built to be described later (ClassifyContext.describeLater), its flow, the context
 * it was decided in and, for TCP, the rule that decided it. Symbols, as the other marks on
 * records: JSON leaves them out.
 */
const LATER = Symbol('describeLater');
const LATER_CONTEXT = Symbol('describeLaterContext');
const LATER_RULE = Symbol('describeLaterRule');
type Later = FlowRecord & { [LATER]?: TcpFlow | DnsTxn; [LATER_CONTEXT]?: ClassifyContext; [LATER_RULE]?: TcpRule };

/**
 * `r` described, when it was built to be described later: the record its flow gives, with the
 * verdict it was decided with and what it took since (its id, its links, its marks). Any other
 * record as it is.
 *
 * The flow is as the sweep left it. By the time the batch is emitted a reported flow may have been
 * taken out of its tables and given to its free list, with the fields that tie it to other objects
 * cleared (a TCP flow's server profile and DNS stream, a lookup's retry series), but it is not
 * reused: no packet is read between a batch's decisions and its emit. The descriptions of healthy
 * verdicts (the `ok` rule, answered lookups) read none of those fields; a test compares every
 * fixture's records described now and later (test/describe-later.test.ts).
 */
export function described(r: FlowRecord): FlowRecord {
  const f = (r as Later)[LATER];
  const c = (r as Later)[LATER_CONTEXT];
  if (f === undefined || c === undefined) return r;
  const rule = (r as Later)[LATER_RULE];
  const full = rule !== undefined ? describedTcp(f as TcpFlow, c, rule, r.verdict, r.key) : describedDns(f as DnsTxn, c);
  // checked whenever PCAPDIAG_CHECK_TIMES=1, as every test run sets (see base)
  if (CHECK_TIMES && full.verdict !== r.verdict) throw new Error(`internal: record #${r.id} decided ${r.verdict}, described ${full.verdict}`);
  full.id = r.id;
  if (r.related !== undefined) full.related = r.related;
  const from = r as unknown as Record<symbol, unknown>;
  const to = full as unknown as Record<symbol, unknown>;
  for (let i = 0; i < MARKS.length; i++) {
    const v = from[MARKS[i]];
    if (v !== undefined) to[MARKS[i]] = v;
  }
  // a mark no module registered would be left behind here (and in production, silently)
  if (CHECK_TIMES) {
    for (const mark of Object.getOwnPropertySymbols(r)) {
      if (mark !== LATER && mark !== LATER_CONTEXT && mark !== LATER_RULE && !MARKS.includes(mark)) throw new Error(`internal: record #${r.id} has a mark not registered (verdict/marks.ts): ${String(mark)}`);
    }
  }
  return full;
}

/** A UDP flow (not DNS) is reported only when an ICMP unreachable answered it. */
export function udpRecord(u: UdpFlow, c: ClassifyContext): FlowRecord | null {
  const hit = u.icmp;
  if (hit === null) return null;
  const verdict = icmpVerdict(hit);
  if (verdict === null) return null;
  const a = attributeIcmp(u.sAddr, hit);
  const from = formatAddr(hit.version, hit.from);
  const facts: Fact[] = [{ kind: 'udp-datagrams', frame: u.firstFrame, sent: u.packets[0], received: u.packets[1] }, icmpFact(hit, from, hit.t - u.firstT), ...a.why];
  facts.push(...macFact(c, hit.mac, 'sender'));
  const loop = verdict === 'ttl-exceeded' ? loopFacts(c, u.serverHostText, from, u.firstTtl, hit.ttl, u.version) : null;
  if (loop !== null) facts.push(...loop.facts);
  const o: Outcome = { by: a.by, story: { kind: 'icmp-answer', proto: 'udp', from, icmp: icmpName(hit), loop: loop?.loop }, facts, frame: hit.frame, mac: hit.mac, ttl: hit.ttl, macRole: undefined };
  const r = base(c, verdict, o, u.firstT, u.lastT, u.tunnel) as FlowRecord;
  r.proto = 'udp';
  r.client = u.clientText;
  r.server = u.serverText;
  r.firstFrame = u.firstFrame;
  r.packets = u.packets[0] + u.packets[1];
  r.key = udpKey(r);
  return r;
}
