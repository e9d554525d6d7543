import type { FlowRecord } from './types.js';
import type { ClassifyContext } from './context.js';
import type { EchoFlow } from '../flow/echo.js';
import type { NeighborAsk, NeighborConflict } from '../flow/neighbor.js';
import { formatAddr, formatMac } from '../flow/addr.js';
import { icmpName, icmpVerdict, type IcmpKind } from './icmp.js';
import { dur, macText, plural, rel, ttlText } from './format.js';
import { macLine, outcome } from './tcp-evidence.js';
import { base } from './classify.js';
import { echoKey, neighborKey } from './key.js';

/** Routers that answered traceroute-style probes, per destination: the routing-loop detector. */
export class HopMemory {
  private readonly byTarget = new Map<string, Map<string, number[]>>();

  /** Notes `router` answering a probe with `ttl` to `target`; returns the loop description once a router repeats. */
  note(target: string, router: string, ttl: number): string | null {
    let hops = this.byTarget.get(target);
    if (hops === undefined) {
      if (this.byTarget.size >= 4096) return null;
      hops = new Map();
      this.byTarget.set(target, hops);
    }
    const ttls = hops.get(router) ?? [];
    if (ttl >= 0 && !ttls.includes(ttl)) ttls.push(ttl);
    hops.set(router, ttls);
    if (![...hops.values()].some((l) => l.length > 1)) return null;
    return [...hops].map(([r, l]) => `${r} at TTL ${l.sort((a, b) => a - b).join(', ')}`).join('; ');
  }
}

/** A ping: ping-ok, ping-no-reply, ttl-exceeded, or the unreachable verdict of the ICMP error that answered it. */
export function echoRecord(f: EchoFlow, c: ClassifyContext, hops: HopMemory): FlowRecord {
  const target = formatAddr(f.version, f.sAddr);
  const client = formatAddr(f.version, f.cAddr);
  const name = f.version === 4 ? 'ping' : 'ping -6';
  const sentLine = `${plural(f.sent, 'echo request')} from #${f.firstFrame} over ${dur(f.lastRequestT - f.firstT)}, sent with ${f.version === 4 ? 'TTL' : 'hop limit'} ${f.requestTtl}`;
  let r: FlowRecord;
  if (f.answered > 0) {
    const avg = f.rttSum / f.answered;
    const o = outcome('server', `${target} answers ping: ${f.answered} of ${f.sent} answered, RTT ${dur(f.rttMin)} / ${dur(avg)} / ${dur(f.rttMax)} (min/avg/max)`,
      [sentLine, `first reply #${f.firstReplyFrame}, ${ttlText(f.replyTtl, f.version)}${f.answered < f.sent ? `; ${f.sent - f.answered} lost` : ''}`], '', f.firstReplyFrame, f.replyMac);
    r = base(c, 'ping-ok', o, f.firstT, f.lastT, f.tunnel) as FlowRecord;
    r.echo = { sent: f.sent, answered: f.answered, rttMinMs: ms(f.rttMin), rttAvgMs: ms(avg), rttMaxMs: ms(f.rttMax) };
  } else if (f.error !== null) {
    const e = f.error;
    const from = formatAddr(f.version, e.from);
    const hit: IcmpKind = { version: f.version, type: e.type, code: e.code };
    const verdict = icmpVerdict(hit);
    const ev = [sentLine, `${icmpName(hit)} #${e.frame} from ${from} ${rel(e.t - f.firstT)}${f.errors > 1 ? ` (${f.errors} errors in all)` : ''}, ${ttlText(e.ttl, f.version)}`];
    ev.push(...macLine(c, e.mac, 'sender'));
    if (verdict === 'ttl-exceeded') {
      const loop = hops.note(target, from, e.requestTtl);
      const ttl = e.requestTtl >= 0 ? e.requestTtl : f.requestTtl;
      if (loop !== null) ev.push(`routing loop: the same routers repeat on the way to ${target}: ${loop}`);
      const o = outcome('middlebox', `${from} dropped the ${name} to ${target}: its TTL (${ttl}) ran out there${loop !== null ? ', in a routing loop' : ''}`, ev,
        loop !== null
          ? `The routers above send ${target} back and forth: compare \`ip route get ${target}\` on each of them; a static route pointing back the way the packet came is the usual cause.`
          : `A probe with TTL ${ttl} ends at hop ${ttl} by design (traceroute). If a normal packet dies like this, the path is longer than its TTL or loops: run \`traceroute ${target}\` and look for repeated hops.`,
        e.frame, e.mac);
      r = base(c, 'ttl-exceeded', o, f.firstT, f.lastT, f.tunnel) as FlowRecord;
    } else {
      const o = outcome(from === target ? 'server' : 'middlebox', `${from} answered the ${name} to ${target} with ${icmpName(hit)}`, ev,
        `${from} says ${target} cannot be reached: check routing (\`ip route get ${target}\`) and firewall rules on ${from}.`, e.frame, e.mac);
      r = base(c, verdict ?? 'ping-no-reply', o, f.firstT, f.lastT, f.tunnel) as FlowRecord;
    }
    r.echo = { sent: f.sent, answered: 0 };
  } else if (f.sent < 2 && c.captureEndT - f.lastRequestT < 1e9) {
    const o = outcome('unknown', `echo request to ${target} unanswered, but the capture ended ${dur(c.captureEndT - f.lastRequestT)} after it: too soon to tell`,
      [sentLine], 'Inconclusive: capture for longer.', 0, -1);
    r = base(c, 'capture-ended', o, f.firstT, f.lastT, f.tunnel) as FlowRecord;
    r.echo = { sent: f.sent, answered: 0 };
  } else {
    const ev = [sentLine, `no reply and no ICMP error; the capture went on ${dur(c.captureEndT - f.lastRequestT)} after the last request`];
    if (f.dstMac >= 0) ev.push(`the requests went to ${c.hosts.isRouterMac(f.dstMac) ? 'gateway' : 'MAC'} ${macText(f.dstMac)}`);
    const o = outcome('unknown', `${target} did not answer ${plural(f.sent, 'echo request')}`, ev,
      `The host is down, or a firewall drops ICMP echo (many do, on purpose): a failed ping alone proves little. Test the service itself (\`nc -zv ${target} <port>\`, \`traceroute -T -p <port> ${target}\`) and check \`iptables -L -n -v\` / \`nft list ruleset\` for ICMP rules on the way.`,
      0, f.dstMac);
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
  const what = a.version === 4 ? 'ARP who-has' : 'neighbour solicitation';
  const frames = a.frames.map((x) => `#${x}`).join(' ');
  const ev = [`${what} for ${target} from ${asker} (${macText(a.askerMac)}) sent ${a.count}× (${frames}) over ${dur(a.lastT - a.firstT)}`,
    `no ${a.version === 4 ? "ARP reply" : "neighbour advertisement"} from anyone; ${c.captureEndT - a.lastT < 1e6 ? "the capture ended with the last one" : `the capture went on ${dur(c.captureEndT - a.lastT)} after the last one`}`];
  const o = outcome('unknown', `nobody on this LAN answers for ${target}: the host is down or not on this link`, ev,
    `${target} is off, unplugged, or in another VLAN/subnet: check the host and its switch port; \`ip neigh show ${target}\` on ${asker} shows FAILED. If ${target} should be reached through a router, ${asker}'s netmask or routes are wrong (\`ip route get ${target}\`).`,
    0, -1);
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
  const ev = k.claims.map(([mac, frame, t]) => `${k.version === 4 ? 'ARP reply' : 'neighbour advertisement'} #${frame} ${rel(t - first[2])}: ${addr} is at ${macText(mac)}`);
  const o = outcome('unknown', `two machines claim ${addr}: ${formatMac(first[0])} and ${formatMac(second[0])}`, ev,
    `An address conflict: traffic for ${addr} goes to whichever answer came last. Usual causes: a cloned VM, a static address inside the DHCP pool, or a failover (VRRP/keepalived) that both nodes think they own. Find the two hosts by their MACs in the switch's MAC table; \`arping -D ${addr}\` shows duplicates.`,
    second[1], second[0]);
  const r = base(c, 'arp-conflict', o, first[2], second[2], null) as FlowRecord;
  r.proto = 'arp';
  r.client = k.asker !== null ? formatAddr(k.version, k.asker) : formatMac(first[0]);
  r.server = addr;
  r.firstFrame = first[1];
  r.packets = k.claims.length;
  r.key = neighborKey(r, 'conflict');
  return r;
}
