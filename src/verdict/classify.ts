import type { FlowRecord, VerdictId } from './types.js';
import type { ClassifyContext } from './context.js';
import type { TcpFlow } from '../flow/tcp.js';
import type { DnsTxn } from '../flow/dns.js';
import type { UdpFlow } from '../flow/udp.js';
import { formatEndpoint, formatMac, formatAddr } from '../flow/addr.js';
import { isoTime } from '../capture/time.js';
import { classifyTcp, connState, icmpCheck, type Outcome } from './tcp-rules.js';
import { classifyDns } from './dns-rules.js';
import { attributeIcmp } from './attribute.js';
import { icmpName, icmpVerdict } from './icmp.js';
import { qtypeName, rcodeName } from '../decode/dns.js';
import { macText, rel, ttlText, vendorOf } from './format.js';

function absTime(c: ClassifyContext, t: number): string {
  const totalNs = c.captureStartNsec + t;
  const sec = c.captureStartSec + Math.floor(totalNs / 1e9);
  const nsec = Math.round(totalNs - Math.floor(totalNs / 1e9) * 1e9);
  return nsec >= 1e9 ? isoTime(sec + 1, nsec - 1e9) : isoTime(sec, nsec);
}

function base(c: ClassifyContext, verdict: VerdictId, o: Outcome, startT: number, endT: number): Omit<FlowRecord, 'proto' | 'client' | 'server' | 'firstFrame' | 'packets'> {
  const r: Omit<FlowRecord, 'proto' | 'client' | 'server' | 'firstFrame' | 'packets'> = {
    type: 'flow',
    id: 0,
    verdict,
    by: o.by,
    start: absTime(c, startT),
    t: round6(startT / 1e9),
    duration: round6((endT - startT) / 1e9),
    summary: o.summary,
    evidence: o.evidence,
    check: o.check,
    frame: o.frame,
  };
  if (o.mac >= 0) {
    r.mac = formatMac(o.mac);
    const v = vendorOf(o.mac);
    if (v !== undefined) r.vendor = v;
  }
  return r;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export function tcpRecord(f: TcpFlow, c: ClassifyContext): FlowRecord {
  const { verdict, outcome } = classifyTcp(f, c);
  return {
    ...base(c, verdict, outcome, f.firstT, f.lastT),
    proto: 'tcp',
    client: formatEndpoint(f.version, f.cAddr, f.cPort),
    server: formatEndpoint(f.version, f.sAddr, f.sPort),
    firstFrame: f.firstFrame,
    packets: f.c.packets + f.s.packets,
    state: connState(f),
    history: f.history,
  };
}

export function dnsRecord(d: DnsTxn, c: ClassifyContext): FlowRecord {
  const { verdict, outcome } = classifyDns(d, c);
  const r: FlowRecord = {
    ...base(c, verdict, outcome, d.firstT, d.respT >= 0 ? d.respT : d.firstT),
    proto: 'dns',
    client: formatEndpoint(d.version, d.cAddr, d.cPort),
    server: formatEndpoint(d.version, d.sAddr, d.sPort),
    firstFrame: d.queryFrame > 0 ? d.queryFrame : d.respFrame,
    packets: (d.queryT >= 0 ? 1 : 0) + (d.respT >= 0 ? 1 : 0),
    query: d.qname,
    qtype: qtypeName(d.qtype),
    transport: d.transport,
    attempt: d.attempt,
  };
  if (d.rcode >= 0) r.rcode = rcodeName(d.rcode);
  if (d.answers.length > 0) r.answers = d.answers;
  return r;
}

/** A UDP flow (not DNS) is reported only when an ICMP unreachable answered it. */
export function udpRecord(u: UdpFlow, c: ClassifyContext): FlowRecord | null {
  const hit = u.icmp;
  if (hit === null) return null;
  const verdict = icmpVerdict(hit);
  if (verdict === null) return null;
  const a = attributeIcmp(u.sAddr, hit);
  const from = formatAddr(hit.version, hit.from);
  const target = formatEndpoint(u.version, u.sAddr, u.sPort);
  const ev = [`first datagram #${u.firstFrame}; ${u.packets[0]} sent, ${u.packets[1]} received`,
    `${icmpName(hit)} #${hit.frame} from ${from} ${rel(hit.t - u.firstT)}, ${ttlText(hit.ttl, hit.version)}`, ...a.why];
  if (hit.mac >= 0) ev.push(`${c.hosts.isRouterMac(hit.mac) ? 'gateway' : 'sender'} ${macText(hit.mac)}`);
  const o: Outcome = { by: a.by, summary: `${from} answered UDP to ${target} with ${icmpName(hit)}`, evidence: ev,
    check: icmpCheck(verdict, from, target, a.by === 'server', 'udp'), frame: hit.frame, mac: hit.mac };
  return {
    ...base(c, verdict, o, u.firstT, u.lastT),
    proto: 'udp',
    client: formatEndpoint(u.version, u.cAddr, u.cPort),
    server: target,
    firstFrame: u.firstFrame,
    packets: u.packets[0] + u.packets[1],
  };
}
