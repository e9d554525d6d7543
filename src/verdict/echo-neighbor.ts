import type { FlowRecord } from './types.js';
import type { ClassifyContext } from './context.js';
import type { EchoFlow } from '../flow/echo.js';
import type { NeighborAsk, NeighborConflict } from '../flow/neighbor.js';
import { formatAddr, formatMac } from '../flow/addr.js';
import { icmpFact, icmpName, icmpVerdict, loopFacts, type IcmpKind } from './icmp.js';
import { hopsFrom } from './format.js';
import { macFact, outcome } from './tcp-evidence.js';
import { macRef, type Fact } from './facts.js';
import { base } from './classify.js';
import { echoKey, neighborKey } from './key.js';

/** A ping: ping-ok, ping-no-reply, ttl-exceeded, or the unreachable verdict of the ICMP error that answered it. */
export function echoRecord(f: EchoFlow, c: ClassifyContext): FlowRecord {
  const target = formatAddr(f.version, f.sAddr);
  const client = formatAddr(f.version, f.cAddr);
  const ping = f.version === 4 ? 'ping' : 'ping -6';
  const sent: Fact = { kind: 'echo-requests', frame: f.firstFrame, count: f.sent, spanNs: f.lastRequestT - f.firstT, ttl: f.requestTtl, ipVersion: f.version };
  let r: FlowRecord;
  if (f.answered > 0) {
    const avg = f.rttSum / f.answered;
    const o = outcome(
      'server',
      { kind: 'ping-ok', target, sent: f.sent, answered: f.answered, rttMinNs: f.rttMin, rttAvgNs: avg, rttMaxNs: f.rttMax },
      [sent, { kind: 'echo-reply', frame: f.firstReplyFrame, ttl: f.replyTtl, hops: hopsFrom(f.replyTtl), ipVersion: f.version, lost: Math.max(0, f.sent - f.answered) }],
      f.firstReplyFrame,
      f.replyMac,
      f.replyTtl,
    );
    r = base(c, 'ping-ok', o, f.firstT, f.lastT, f.tunnel) as FlowRecord;
    r.echo = { sent: f.sent, answered: f.answered, rttMinMs: ms(f.rttMin), rttAvgMs: ms(avg), rttMaxMs: ms(f.rttMax) };
  } else if (f.error !== null) {
    const e = f.error;
    const from = formatAddr(f.version, e.from);
    const hit: IcmpKind = { version: f.version, type: e.type, code: e.code };
    const verdict = icmpVerdict(hit);
    const facts = [sent, icmpFact({ version: f.version, type: e.type, code: e.code, frame: e.frame, ttl: e.ttl }, from, e.t - f.firstT, f.errors)];
    facts.push(...macFact(c, e.mac, 'sender'));
    if (verdict === 'ttl-exceeded') {
      const ttl = e.requestTtl >= 0 ? e.requestTtl : f.requestTtl;
      const loop = loopFacts(c, target, from, ttl, e.ttl, f.version);
      facts.push(...loop.facts);
      const o = outcome('middlebox', { kind: 'ping-ttl-exceeded', from, target, ping, ttl, loop: loop.loop }, facts, e.frame, e.mac, e.ttl);
      r = base(c, 'ttl-exceeded', o, f.firstT, f.lastT, f.tunnel) as FlowRecord;
    } else {
      const o = outcome(from === target ? 'server' : 'middlebox', { kind: 'ping-icmp', from, target, ping, icmp: icmpName(hit) }, facts, e.frame, e.mac, e.ttl);
      r = base(c, verdict ?? 'ping-no-reply', o, f.firstT, f.lastT, f.tunnel) as FlowRecord;
    }
    r.echo = { sent: f.sent, answered: 0 };
  } else if (f.sent < 2 && c.captureEndT - f.lastRequestT < 1e9) {
    const o = outcome('unknown', { kind: 'ping-too-soon', target, waitedNs: c.captureEndT - f.lastRequestT }, [sent], 0, -1);
    r = base(c, 'capture-ended', o, f.firstT, f.lastT, f.tunnel) as FlowRecord;
    r.echo = { sent: f.sent, answered: 0 };
  } else {
    const facts: Fact[] = [sent, { kind: 'echo-no-reply', waitedNs: c.captureEndT - f.lastRequestT }];
    if (f.dstMac >= 0) facts.push({ kind: 'sent-to', what: 'requests', gateway: c.hosts.isRouterMac(f.dstMac), ...macRef(f.dstMac) });
    const o = outcome('unknown', { kind: 'ping-no-reply', target, sent: f.sent }, facts, 0, f.dstMac);
    o.macRole = 'next-hop';
    r = base(c, 'ping-no-reply', o, f.firstT, f.lastT, f.tunnel) as FlowRecord;
    r.echo = { sent: f.sent, answered: 0 };
  }
  r.proto = 'icmp';
  r.client = client;
  r.server = target;
  r.firstFrame = f.firstFrame;
  r.packets = f.sent + f.answered + f.errors;
  r.key = echoKey(r, f);
  return r;
}

function ms(ns: number): number {
  return Math.round(ns / 1e3) / 1e3;
}

export function neighborNoReplyRecord(a: NeighborAsk, c: ClassifyContext): FlowRecord {
  const target = formatAddr(a.version, a.target);
  const asker = formatAddr(a.version, a.askerIp);
  const facts: Fact[] = [
    { kind: 'neighbor-solicit', ipVersion: a.version, target, asker, ...macRef(a.askerMac), count: a.count, frames: a.frames.slice(), spanNs: a.lastT - a.firstT },
    { kind: 'neighbor-no-reply', ipVersion: a.version, waitedNs: c.captureEndT - a.lastT },
  ];
  const o = outcome('unknown', { kind: 'arp-no-reply', target, asker }, facts, 0, -1);
  const r = base(c, 'arp-no-reply', o, a.firstT, a.lastT, null) as FlowRecord;
  r.proto = 'arp';
  r.client = asker;
  r.server = target;
  r.firstFrame = a.firstFrame;
  r.packets = a.count;
  r.key = neighborKey(r, 'who-has');
  return r;
}

export function neighborConflictRecord(k: NeighborConflict, c: ClassifyContext): FlowRecord {
  const addr = formatAddr(k.version, k.addr);
  const [first, second] = k.claims;
  const facts: Fact[] = k.claims.map(([mac, frame, t]) => ({ kind: 'neighbor-claim', ipVersion: k.version, frame, t: t - first[2], addr, ...macRef(mac) }));
  const o = outcome('unknown', { kind: 'arp-conflict', addr, first: formatMac(first[0]), second: formatMac(second[0]) }, facts, second[1], second[0]);
  const r = base(c, 'arp-conflict', o, first[2], second[2], null) as FlowRecord;
  r.proto = 'arp';
  r.client = k.asker !== null ? formatAddr(k.version, k.asker) : formatMac(first[0]);
  r.server = addr;
  r.firstFrame = first[1];
  r.packets = k.claims.length;
  r.key = neighborKey(r, 'conflict');
  return r;
}
