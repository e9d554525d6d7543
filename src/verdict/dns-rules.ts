import type { By, VerdictId } from './types.js';
import type { ClassifyContext } from './context.js';
import type { DnsTxn } from '../flow/dns.js';
import { formatAddr, formatEndpoint } from '../flow/addr.js';
import { qtypeName, rcodeName } from '../decode/dns.js';
import { attributeIcmp } from './attribute.js';
import { icmpName, icmpVerdict } from './icmp.js';
import { icmpCheck, type Outcome } from './tcp-rules.js';
import { dur, macText, rel, ttlText } from './format.js';
import { macLine } from './tcp-evidence.js';

export interface DnsRule {
  verdict: VerdictId;
  when: (d: DnsTxn, c: ClassifyContext) => boolean;
  check: (d: DnsTxn) => string;
}

const q = (d: DnsTxn) => `${d.qname} ${qtypeName(d.qtype)}`;
const server = (d: DnsTxn) => formatAddr(d.version, d.sAddr);

/** The DNS verdict table, over one query/response pair. First match wins. */
export const DNS_RULES: readonly DnsRule[] = [
  { verdict: 'dns-nxdomain', when: (d) => d.rcode === 3,
    check: (d) => `${d.qname} does not exist: check the spelling, the search domains in /etc/resolv.conf, and the zone on the server (\`dig @${server(d)} ${d.qname}\`).` },
  { verdict: 'dns-servfail', when: (d) => d.rcode === 2,
    check: (d) => `${server(d)} could not resolve it: its upstream/forwarders are unreachable, or DNSSEC validation failed. Try \`dig @${server(d)} ${d.qname} +trace\` and the server's logs.` },
  { verdict: 'dns-refused', when: (d) => d.rcode === 5,
    check: (d) => `${server(d)} refuses to answer this client or this zone: check its allow-query / recursion ACLs, or whether the client uses the right resolver.` },
  { verdict: 'dns-error', when: (d) => d.rcode > 0, check: (d) => `${server(d)} answered ${rcodeName(d.rcode)} to ${q(d)}: check the query and the server's logs.` },
  { verdict: 'dns-nodata', when: (d) => d.rcode === 0 && d.ancount === 0 && d.tc === 0,
    check: (d) => `${d.qname} exists but has no ${qtypeName(d.qtype)} record: check the zone, or whether the client should ask for another type (A vs AAAA).` },
  { verdict: 'dns-ok', when: (d) => d.rcode === 0, check: () => '' },
];

/** The verdict alone, as classifyDns decides it (for records that are only counted). */
export function dnsVerdict(d: DnsTxn, c: ClassifyContext): VerdictId {
  if (d.answered) return answeredRule(d, c).verdict;
  const iv = d.icmp === null ? null : icmpVerdict(d.icmp);
  if (iv !== null) return iv;
  return c.captureEndT - d.queryT >= c.dnsTimeoutNs ? 'dns-no-response' : 'capture-ended';
}

export function classifyDns(d: DnsTxn, c: ClassifyContext): { verdict: VerdictId; outcome: Outcome } {
  const ev: string[] = [];
  const retry = d.attempt > 1 ? ` (attempt ${d.attempt})` : '';
  if (d.queryT >= 0) ev.push(`query #${d.queryFrame} ${q(d)} id 0x${d.id.toString(16).padStart(4, '0')} over ${d.transport.toUpperCase()}${retry}`);
  else ev.push(`query not captured (it was sent before the capture started); response id 0x${d.id.toString(16).padStart(4, '0')}`);

  if (!d.answered) {
    const verdict = dnsVerdict(d, c);
    const waited = c.captureEndT - d.queryT;
    const hit = d.icmp;
    if (hit !== null && verdict !== 'dns-no-response' && verdict !== 'capture-ended') {
      const a = attributeIcmp(d.sAddr, hit);
      const from = formatAddr(hit.version, hit.from);
      ev.push(`${icmpName(hit)} #${hit.frame} from ${from} ${rel(hit.t - d.firstT)}, ${ttlText(hit.ttl, hit.version)}`, ...a.why);
      ev.push(...macLine(c, hit.mac, 'sender'));
      return { verdict, outcome: { by: a.by, summary: `DNS query ${q(d)} to ${server(d)} answered with ${icmpName(hit)}`, evidence: ev,
        check: verdict === 'icmp-port-unreachable' && a.by === 'server' ? `No DNS server listens on ${formatEndpoint(d.version, d.sAddr, d.sPort)}: is the resolver address right, and is the service running (\`ss -lunp\`)?` : icmpCheck(verdict, from, formatEndpoint(d.version, d.sAddr, d.sPort), a.by === 'server', 'udp'),
        frame: hit.frame, mac: hit.mac } };
    }
    if (verdict === 'dns-no-response') {
      ev.push(`no response; the capture went on ${dur(waited)} after the query`);
      return { verdict: 'dns-no-response', outcome: { by: 'unknown', summary: `no answer from ${server(d)} to ${q(d)}`, evidence: ev,
        check: `${server(d)} did not answer within ${dur(c.dnsTimeoutNs)}: the server is down, unreachable, or a firewall drops DNS (${d.transport.toUpperCase()} ${d.sPort}). Try \`dig @${server(d)} ${d.qname}\` from the client.`,
        frame: 0, mac: -1 } };
    }
    ev.push(`the capture ended ${dur(waited)} after the query (timeout needs ${dur(c.dnsTimeoutNs)})`);
    return { verdict: 'capture-ended', outcome: { by: 'unknown', summary: `DNS query ${q(d)} to ${server(d)} unanswered when the capture ended`, evidence: ev,
      check: 'Inconclusive: capture for longer.', frame: 0, mac: -1 } };
  }

  const rc = rcodeName(d.rcode);
  const after = d.queryT >= 0 ? ` after ${dur(d.respT - d.queryT)}` : '';
  ev.push(`response #${d.respFrame} ${rc}${after}, ${d.ancount} answer${d.ancount === 1 ? '' : 's'}${d.tc ? ', truncated (TC)' : ''}`);
  if (d.answers.length > 0) ev.push(`answers: ${d.answers.join(', ')}`);
  if (d.duplicateResponses > 0) ev.push(`${d.duplicateResponses} duplicate response(s)`);
  if (d.respMac >= 0 && c.hosts.isRouterMac(d.respMac)) ev.push(`gateway ${macText(d.respMac)}`);
  const rule = answeredRule(d, c);
  const by: By = 'server';
  const summary = rule.verdict === 'dns-ok' ? `${q(d)} resolved by ${server(d)}` : `${server(d)} answered ${rc} for ${q(d)}`;
  return { verdict: rule.verdict, outcome: { by, summary, evidence: ev, check: rule.check(d), frame: d.respFrame, mac: d.respMac } };
}

/** The rule for an answered transaction: first match in DNS_RULES. */
export function answeredRule(d: DnsTxn, c: ClassifyContext): DnsRule {
  for (const rule of DNS_RULES) if (rule.when(d, c)) return rule;
  throw new Error('unreachable: rcode is never negative once answered');
}
