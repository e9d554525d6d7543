import { isIPv4, isIPv6 } from 'node:net';
import { UsageError } from '../errors.js';
import { readTextFile } from './text-file.js';
import { HEALTHY, VERDICT_IDS, type FlowRecord, type VerdictId } from '../verdict/types.js';
import { hostOf } from '../flow/addr.js';

/**
 * `--expect FILE`: one rule per line, `#` starts a comment:
 *
 *     tcp 10.0.2.20:443 ok
 *     tcp *:5432 refused            # must stay closed
 *     udp 10.0.2.20:9999 icmp-port-unreachable
 *     dns www.example.test dns-ok
 *     dns *.internal.test problem
 *     tcp [fd00:2::20]:80 ok|closed-by-remote
 *
 * The second word is the server as `host:port` (`*` for any host or any port; IPv6 in brackets),
 * or for dns the query name (`*.` matches any subdomain; `*` any name). The third is a verdict,
 * several joined by `|`, or `problem` (any verdict but ok/dns-ok) or `healthy` (ok/dns-ok). Every
 * flow that matches must have one of them, and at least one flow must match.
 */
export interface ExpectRule {
  line: number;
  text: string;
  proto: 'tcp' | 'udp' | 'dns';
  matches: (r: FlowRecord) => boolean;
  allowed: (v: VerdictId) => boolean;
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
    if (w.length !== 3) fail('a rule is three words: protocol, server or name, verdict');
    const [proto, target, verdicts] = w;
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'dns') fail(`unknown protocol '${proto}' (tcp, udp or dns)`);
    const allowed = verdictSet(verdicts, fail);
    const matches = proto === 'dns' ? nameMatcher(target) : serverMatcher(proto, target, fail);
    rules.push({ line: i + 1, text: line, proto: proto as ExpectRule['proto'], matches, allowed });
  });
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

function serverMatcher(proto: string, target: string, fail: (why: string) => never): (r: FlowRecord) => boolean {
  const m = /^\[([^\]]+)\]:(\d+|\*)$/.exec(target) ?? /^([^:]+):(\d+|\*)$/.exec(target);
  if (m === null) fail(`expected the server as host:port, *:port or host:* (IPv6 in brackets), not '${target}'`);
  const [, host, port] = m;
  if (host !== '*' && !isIPv4(host) && !isIPv6(host)) fail(`'${host}' is not an IP address (names are not resolved; use a dns rule for names)`);
  if (port !== '*' && Number(port) > 65535) fail(`port ${port} is out of range`);
  const wantPort = port === '*' ? null : `:${port}`;
  return (r) => r.proto === proto && (host === '*' || hostOf(r.server) === host) && (wantPort === null || r.server.endsWith(wantPort));
}

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
    const broken = matched.filter((r) => !rule.allowed(r.verdict));
    const base = { rule: rule.text, line: rule.line, matched: matched.length, records: broken.map((r) => r.id) };
    if (matched.length === 0) return { ...base, ok: false, message: `expected ${rule.text}, but no such flow is in the capture` };
    if (broken.length > 0) {
      const got = [...new Set(broken.map((r) => r.verdict))].join(', ');
      return { ...base, ok: false, message: `expected ${rule.text}, got ${got} in ${broken.length} of ${matched.length} flow${matched.length === 1 ? '' : 's'}` };
    }
    return { ...base, ok: true, message: `${rule.text}: ${matched.length} flow${matched.length === 1 ? '' : 's'} as expected` };
  });
}
