import { isIPv4, isIPv6 } from 'node:net';
import { UsageError } from '../errors.js';
import { readTextFile } from './text-file.js';
import { HEALTHY, VERDICT_IDS, type FlowRecord, type VerdictId } from '../verdict/types.js';
import { hostOf, portOf } from '../flow/addr.js';

/**
 * `--expect FILE`: one rule per line, `#` starts a comment:
 *
 *     tcp 10.0.2.20:443 ok
 *     tcp *:5432 refused            # must stay closed
 *     udp 10.0.2.20:9999 icmp-port-unreachable
 *     dns www.example.test dns-ok
 *     dns *.internal.test problem
 *     tcp [fd00:2::20]:80 ok|closed-by-remote
 *     tcp 10.0.2.20:443 ok ttfb<200ms
 *
 * The second word is the server as `host:port` (`*` for any host or any port; IPv6 in brackets),
 * or for dns the query name (`*.` matches any subdomain; `*` any name). The third is a verdict,
 * several joined by `|`, or `problem` (any verdict but the healthy ones) or `healthy` (ok, dns-ok and the other healthy verdicts, HEALTHY in verdict/types.ts). Every
 * flow that matches must have one of them, and at least one flow must match. An optional fourth
 * word bounds response times (TCP): `ttfb<200ms`, `response<=1s`, several joined by `,`; `ttfb`
 * is the record's ttfbMs (the slowest request's wait for its answer's first byte), `response` its
 * responseMs (the first request's). A matching flow without that time (nothing asked and
 * answered) breaks the rule.
 */
export interface ExpectRule {
  line: number;
  text: string;
  proto: 'tcp' | 'udp' | 'dns';
  matches: (r: FlowRecord) => boolean;
  allowed: (v: VerdictId) => boolean;
  /** Response-time bounds: a reason the record breaks them, or null. */
  timing: (r: FlowRecord) => string | null;
}

export interface ExpectResult {
  rule: string;
  line: number;
  ok: boolean;
  /** Why it failed, in one line. */
  message: string;
  matched: number;
  /** Ids of the records that broke it. */
  records: number[];
}

/** The largest --expect file read, and the most rules: each rule is tested against every record. */
export const MAX_EXPECT_BYTES = 1 << 20;
export const MAX_EXPECT_RULES = 10_000;

export function loadExpectations(path: string): ExpectRule[] {
  const text = readTextFile(path, 'expectations', MAX_EXPECT_BYTES);
  return parseExpectations(text, path);
}

export function parseExpectations(text: string, name: string): ExpectRule[] {
  const rules: ExpectRule[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    if (rules.length === MAX_EXPECT_RULES) throw new UsageError(`${name} line ${i + 1}: more than ${MAX_EXPECT_RULES.toLocaleString('en-US')} rules`);
    const fail = (why: string): never => {
      throw new UsageError(`${name} line ${i + 1}: ${why}: '${line}' (expected e.g. 'tcp 10.0.2.20:443 ok' or 'dns www.example.test dns-ok')`);
    };
    const w = line.split(/\s+/);
    if (w.length !== 3 && w.length !== 4) fail('a rule is three words (protocol, server or name, verdict) and optional time bounds (ttfb<200ms)');
    const [proto, target, verdicts] = w;
    const timing = w.length === 4 ? timeBounds(w[3], fail) : () => null;
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'dns') fail(`unknown protocol '${proto}' (tcp, udp or dns)`);
    const allowed = verdictSet(verdicts, fail);
    const matches = proto === 'dns' ? nameMatcher(target) : serverMatcher(proto, target, fail);
    rules.push({ line: i + 1, text: line, proto: proto as ExpectRule['proto'], matches, allowed, timing });
  });
  // a gate that checks nothing would always pass: the file is likely not the one meant
  if (rules.length === 0) throw new UsageError(`${name}: no rules in it (only blank lines and comments): expected lines like 'tcp 10.0.2.20:443 ok'`);
  return rules;
}

function verdictSet(s: string, fail: (why: string) => never): (v: VerdictId) => boolean {
  const set = new Set<string>();
  let problem = false;
  let healthy = false;
  for (const v of s.split('|')) {
    if (v === 'problem') problem = true;
    else if (v === 'healthy') healthy = true;
    else if ((VERDICT_IDS as readonly string[]).includes(v)) set.add(v);
    else fail(`unknown verdict '${v}' (one of ${VERDICT_IDS.join(', ')}, problem, healthy)`);
  }
  return (v) => set.has(v) || (problem && !HEALTHY.has(v)) || (healthy && HEALTHY.has(v));
}

const TIME_FIELDS = { ttfb: 'ttfbMs', response: 'responseMs' } as const;

/** `ttfb<200ms,response<=1s` → the first bound a record breaks, as a reason, or null. */
function timeBounds(s: string, fail: (why: string) => never): (r: FlowRecord) => string | null {
  const checks = s.split(',').map((part) => {
    const m = /^(ttfb|response)(<=|<)(\d+(?:\.\d+)?)(ms|s)$/.exec(part);
    if (m === null) fail(`'${part}' is not a time bound (e.g. ttfb<200ms, response<=1s)`);
    const [, name, op, num, unit] = m;
    const limitMs = parseFloat(num) * (unit === 's' ? 1000 : 1);
    const field = TIME_FIELDS[name as keyof typeof TIME_FIELDS];
    return (r: FlowRecord): string | null => {
      const v = r[field];
      if (v === undefined) return `no ${name} measured (nothing asked and answered)`;
      return (op === '<' ? v < limitMs : v <= limitMs) ? null : `${name} ${v} ms`;
    };
  });
  return (r) => {
    for (const c of checks) {
      const why = c(r);
      if (why !== null) return why;
    }
    return null;
  };
}

function serverMatcher(proto: string, target: string, fail: (why: string) => never): (r: FlowRecord) => boolean {
  const m = /^\[([^\]]+)\]:(\d+|\*)$/.exec(target) ?? /^([^:]+):(\d+|\*)$/.exec(target);
  if (m === null) fail(`expected the server as host:port, *:port or host:* (IPv6 in brackets), not '${target}'`);
  const [, host, port] = m;
  if (host.includes('%')) fail(`'${host}': a scoped IPv6 address (%zone) is not matched: give the address alone`);
  if (host !== '*' && !isIPv4(host) && !isIPv6(host)) fail(`'${host}' is not an IP address (names are not resolved; use a dns rule for names)`);
  if (port !== '*' && Number(port) > 65535) fail(`port ${port} is out of range`);
  const wantPort = port === '*' ? null : Number(port);
  // an IPv6 address as written in the rule or as the record writes it (FD00:0002::20 is fd00:2::20)
  let sameHost = (h: string) => h === host;
  if (isIPv6(host)) {
    const seen = new Map<string, string>();
    const want = ipv6Text(host);
    sameHost = (h) => {
      let canon = seen.get(h);
      if (canon === undefined) seen.set(h, (canon = isIPv6(h) ? ipv6Text(h) : h));
      return canon === want;
    };
  }
  return (r) => r.proto === proto && (host === '*' || sameHost(hostOf(r.server))) && (wantPort === null || portOf(r.server) === wantPort);
}

/** One text for each IPv6 address, however it is written (lower case, zeros compressed: the URL standard's). */
const ipv6Text = (a: string) => new URL(`http://[${a}]/`).hostname;

function nameMatcher(target: string): (r: FlowRecord) => boolean {
  const t = target.toLowerCase().replace(/\.$/, '');
  if (t === '*') return (r) => r.proto === 'dns';
  if (t.startsWith('*.')) {
    const suffix = t.slice(1);
    return (r) => r.proto === 'dns' && (r.query ?? '').toLowerCase().replace(/\.$/, '').endsWith(suffix);
  }
  return (r) => r.proto === 'dns' && (r.query ?? '').toLowerCase().replace(/\.$/, '') === t;
}

export function checkExpectations(rules: readonly ExpectRule[], records: readonly FlowRecord[]): ExpectResult[] {
  return rules.map((rule) => {
    const matched = records.filter(rule.matches);
    const broken = matched.filter((r) => !rule.allowed(r.verdict) || rule.timing(r) !== null);
    const base = { rule: rule.text, line: rule.line, matched: matched.length, records: broken.map((r) => r.id) };
    if (matched.length === 0) return { ...base, ok: false, message: `expected ${rule.text}, but no such flow is in the capture` };
    if (broken.length > 0) {
      const got = [...new Set(broken.map((r) => (rule.allowed(r.verdict) ? `${r.verdict} with ${rule.timing(r) ?? ''}` : r.verdict)))].join(', ');
      return { ...base, ok: false, message: `expected ${rule.text}, got ${got} in ${broken.length} of ${matched.length} flow${matched.length === 1 ? '' : 's'}` };
    }
    return { ...base, ok: true, message: `${rule.text}: ${matched.length} flow${matched.length === 1 ? '' : 's'} as expected` };
  });
}
