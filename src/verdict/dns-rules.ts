import type { By, VerdictId } from './types.js';
import type { ClassifyContext } from './context.js';
import type { DnsTxn } from '../flow/dns.js';
import { formatAddr } from '../flow/addr.js';
import { qtypeName, rcodeName } from '../decode/dns.js';
import { DNS_OPCODE, DNS_RCODE } from '../decode/enums.js';
import { Sibling } from '../flow/dns-siblings.js';
import { attributeIcmp } from './attribute.js';
import { icmpFact, icmpName, icmpVerdict } from './icmp.js';
import type { Outcome } from './tcp-rules.js';
import { macFact } from './tcp-evidence.js';
import { macRef, type DnsAnswer, type DnsOpcode, type Fact, type Story } from './facts.js';

/** A verdict of an answered lookup (its check is written from the record, see render/sentences.ts). */
export interface DnsRule {
  verdict: VerdictId;
  when: (d: DnsTxn, c: ClassifyContext) => boolean;
}

const q = (d: DnsTxn) => `${d.qname} ${qtypeName(d.qtype)}`;

const isUpdate = (d: DnsTxn) => d.opcode === DNS_OPCODE.Update;
const isNotify = (d: DnsTxn) => d.opcode === DNS_OPCODE.Notify;

/** The DNS verdict table, over one query/response pair. First match wins. */
export const DNS_RULES: readonly DnsRule[] = [
  // dynamic updates (RFC 2136): NOTAUTH is the server's own refusal (not authoritative, or the TSIG failed)
  { verdict: 'dns-update-refused', when: (d) => isUpdate(d) && (d.rcode === DNS_RCODE.Refused || d.rcode === DNS_RCODE.NotAuth) },
  { verdict: 'dns-update-error', when: (d) => isUpdate(d) && d.rcode > 0 },
  { verdict: 'dns-update-ok', when: (d) => isUpdate(d) },
  // zone change notices (RFC 1996)
  { verdict: 'dns-notify-error', when: (d) => isNotify(d) && d.rcode > 0 },
  { verdict: 'dns-notify-ok', when: (d) => isNotify(d) },
  // lookups: a failure a sibling lookup of the same client made benign (flow/dns.ts SIBLING_WAIT_NS)
  { verdict: 'dns-search-miss', when: (d) => d.sibling === Sibling.SearchMiss },
  { verdict: 'dns-other-family', when: (d) => d.sibling === Sibling.OtherFamily },
  { verdict: 'dns-nxdomain', when: (d) => d.rcode === 3 },
  { verdict: 'dns-servfail', when: (d) => d.rcode === 2 },
  { verdict: 'dns-refused', when: (d) => d.rcode === 5 },
  { verdict: 'dns-error', when: (d) => d.rcode > 0 },
  // a referral answers a query that did not ask for recursion (a resolver's iterative step); one
  // that asked for it got sent elsewhere by a server that does not recurse for it
  { verdict: 'dns-referral', when: (d) => d.rcode === 0 && d.referral && d.rd === 0 },
  { verdict: 'dns-no-recursion', when: (d) => d.rcode === 0 && d.referral },
  { verdict: 'dns-nodata', when: (d) => d.rcode === 0 && d.ancount === 0 && d.tc === 0 },
  { verdict: 'dns-ok', when: (d) => d.rcode === 0 },
];

/** The verdict alone, as classifyDns decides it (for records that are only counted). */
export function dnsVerdict(d: DnsTxn, c: ClassifyContext): VerdictId {
  if (d.answered) return answeredRule(d, c).verdict;
  const iv = d.icmp === null ? null : icmpVerdict(d.icmp);
  if (iv !== null) return iv;
  // a query the client asked again is one it gave up on, however soon the capture ended (as a SYN
  // retried for --syn-timeout is a timeout)
  return c.captureEndT - d.queryT >= c.dnsTimeoutNs || d.retriedBy(c.captureEndT) ? 'dns-no-response' : 'capture-ended';
}

/** UPDATE or NOTIFY for the records and sentences; undefined for a query. */
export function dnsOpcode(d: DnsTxn): DnsOpcode | undefined {
  return isUpdate(d) ? 'UPDATE' : isNotify(d) ? 'NOTIFY' : undefined;
}

export function classifyDns(d: DnsTxn, c: ClassifyContext): { verdict: VerdictId; outcome: Outcome } {
  const facts: Fact[] = [];
  const opcode = dnsOpcode(d);
  if (d.queryT >= 0) {
    const f: Fact = { kind: 'dns-query', frame: d.queryFrame, query: d.qname, qtype: qtypeName(d.qtype), id: d.id, transport: d.transport, attempt: d.attempt };
    if (opcode !== undefined) f.opcode = opcode;
    facts.push(f);
  } else facts.push({ kind: 'dns-query-missing', id: d.id });

  if (!d.answered) {
    const verdict = dnsVerdict(d, c);
    const waited = c.captureEndT - d.queryT;
    const hit = d.icmp;
    if (hit !== null && verdict !== 'dns-no-response' && verdict !== 'capture-ended') {
      const a = attributeIcmp(d.sAddr, hit);
      const from = formatAddr(hit.version, hit.from);
      facts.push(icmpFact(hit, from, hit.t - d.firstT), ...a.why);
      facts.push(...macFact(c, hit.mac, 'sender'));
      return {
        verdict,
        outcome: { by: a.by, story: { kind: 'dns-icmp', query: q(d), server: d.serverHostText, from, icmp: icmpName(hit), target: d.serverText, opcode }, facts, frame: hit.frame, mac: hit.mac, ttl: hit.ttl },
      };
    }
    if (verdict === 'dns-no-response' && d.fragments !== null) {
      // the answer's first fragment came and the rest did not: lost (or dropped) in the path
      const g = d.fragments;
      const m = g.missing();
      const failure = g.failure ?? 'missing';
      facts.push({ kind: 'dns-answer-fragmented', frames: m.frames, missing: m.runs, of: m.of ?? undefined, failure });
      facts.push({ kind: 'dns-no-response', waitedNs: waited });
      return {
        verdict: 'dns-no-response',
        outcome: { by: failure === 'missing' ? 'middlebox' : 'unknown', story: { kind: 'dns-fragments-lost', query: q(d), server: d.serverHostText, qname: d.qname, failure }, facts, frame: m.frames[0] ?? 0, mac: -1 },
      };
    }
    if (verdict === 'dns-no-response') {
      facts.push({ kind: 'dns-no-response', waitedNs: waited });
      const retried = d.retriedBy(c.captureEndT) ? d.retry() : null;
      if (retried !== null) facts.push({ kind: 'dns-retried', frame: retried.frame, afterNs: retried.t - d.queryT });
      const story: Extract<Story, { kind: 'dns-no-response' }> = {
        kind: 'dns-no-response',
        query: q(d),
        server: d.serverHostText,
        timeoutNs: c.dnsTimeoutNs,
        transport: d.transport,
        port: d.sPort,
        qname: d.qname,
        opcode,
      };
      if (retried !== null && waited < c.dnsTimeoutNs) story.retriedNs = retried.t - d.queryT;
      return { verdict: 'dns-no-response', outcome: { by: 'unknown', story, facts, frame: 0, mac: -1 } };
    }
    facts.push({ kind: 'capture-ended', after: 'query', gapNs: waited, timeoutNs: c.dnsTimeoutNs });
    return { verdict: 'capture-ended', outcome: { by: 'unknown', story: { kind: 'dns-unanswered', query: q(d), server: d.serverHostText, opcode }, facts, frame: 0, mac: -1 } };
  }

  const rc = rcodeName(d.rcode);
  facts.push({ kind: 'dns-response', frame: d.respFrame, rcode: rc, afterNs: d.queryT >= 0 ? d.respT - d.queryT : undefined, answerCount: d.ancount, truncated: d.tc !== 0 });
  if (d.answers.length > 0) facts.push({ kind: 'dns-answers', answers: d.answers.map(dnsAnswer) });
  if (d.duplicateResponses > 0) facts.push({ kind: 'dns-duplicates', count: d.duplicateResponses });
  if (d.respMac >= 0 && c.hosts.isRouterMac(d.respMac)) facts.push({ kind: 'gateway', ...macRef(d.respMac) });
  if (d.referral) facts.push({ kind: 'dns-referral', rd: d.rd !== 0, ra: d.ra !== 0 });
  const rule = answeredRule(d, c);
  const by: By = 'server';
  const story: Extract<Story, { kind: 'dns-answered' }> = { kind: 'dns-answered', query: q(d), qname: d.qname, qtype: qtypeName(d.qtype), server: d.serverHostText, rcode: rc, opcode };
  if (d.sibling !== Sibling.None) {
    const sq = qtypeName(d.siblingQtype);
    facts.push({ kind: 'dns-sibling', why: d.sibling === Sibling.SearchMiss ? 'search-miss' : 'other-family', frame: d.siblingFrame, query: d.siblingName, qtype: sq, gapNs: Math.abs(d.siblingT - d.respT), earlier: d.siblingT < d.respT });
    story.sibling = { query: d.siblingName, qtype: sq };
  }
  return { verdict: rule.verdict, outcome: { by, story, facts, frame: d.respFrame, mac: d.respMac, ttl: d.respTtl } };
}

/** "A 10.0.2.20" (as the flow layer keeps answers) as type and value. */
export function dnsAnswer(a: string): DnsAnswer {
  const sp = a.indexOf(' ');
  return sp < 0 ? { type: a, value: undefined } : { type: a.slice(0, sp), value: a.slice(sp + 1) };
}

/** The rule for an answered transaction: first match in DNS_RULES. */
export function answeredRule(d: DnsTxn, c: ClassifyContext): DnsRule {
  for (let i = 0; i < DNS_RULES.length; i++) if (DNS_RULES[i].when(d, c)) return DNS_RULES[i];
  throw new Error('unreachable: rcode is never negative once answered');
}
