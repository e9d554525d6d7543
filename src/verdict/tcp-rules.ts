import type { By, VerdictId } from './types.js';
import type { ClassifyContext } from './context.js';
import { C2S, S2C, TcpFlow } from '../flow/tcp.js';
import { formatAddr } from '../flow/addr.js';
import { attributeIcmp, Attribution } from './attribute.js';
import { icmpName, icmpVerdict } from './icmp.js';
import { dur, macText, plural, rel, ttlText } from './format.js';
import { answered, attributeRst, host, macLine, outcome, rstLine, srv, synLine, type Outcome } from './tcp-evidence.js';

import { badSynAck, dataStall, missingDirection, oneSided, stalledSide, zeroWindowSide, zeroWindowStall } from './tcp-path.js';
import { httpError, httpErrorWhen, tlsAborted, tlsAbortedWhen, tlsAlert, tlsOf } from './tcp-app.js';

export type { Outcome } from './tcp-evidence.js';

/** Seconds the server may take to close before it is no longer "right after connect". */
const PROMPT_CLOSE_NS = 1e9;

export interface TcpRule {
  verdict: VerdictId | ((f: TcpFlow) => VerdictId);
  when: (f: TcpFlow, c: ClassifyContext) => boolean;
  describe: (f: TcpFlow, c: ClassifyContext) => Outcome;
}

// ---- facts the rules read -------------------------------------------------------------

const serverReset = (f: TcpFlow) => f.rstDir === S2C;
const serverSentData = (f: TcpFlow) => f.s.dataFirstT >= 0;
/** The first RST came before the server sent any data and before the client began closing. */
const resetWithoutData = (f: TcpFlow) => serverReset(f) && !serverSentData(f) && !f.rstAfterPeerFin;
const serverClosedFirst = (f: TcpFlow) => f.s.finT >= 0 && (f.c.finT < 0 || f.s.finT < f.c.finT) && (f.rstDir < 0 || f.s.finT < f.rst.t);
const unansweredFor = (f: TcpFlow, c: ClassifyContext) => c.captureEndT - f.lastSynT;
/** How long the client kept trying: first SYN to the end of the capture. */
const triedFor = (f: TcpFlow, c: ClassifyContext) => c.captureEndT - (f.synTimes[0] ?? f.firstT);
/**
 * Unanswered long enough to call it a timeout: the capture went on --syn-timeout after the last
 * SYN, or, once the capture has ended, the client's own retransmissions span --syn-timeout with
 * no answer to any of them (a quiet capture often ends on the last retransmission).
 */
const timedOut = (f: TcpFlow, c: ClassifyContext) => unansweredFor(f, c) >= c.synTimeoutNs || (c.atEnd && f.synCount > 1 && triedFor(f, c) >= c.synTimeoutNs);

/**
 * The TCP verdict table. First match wins, so the most specific rules come first.
 * `when` reads only facts of the flow and the context; `describe` explains the verdict.
 */
export const TCP_RULES: readonly TcpRule[] = [
  { verdict: 'one-sided', when: (f) => missingDirection(f) >= 0, describe: oneSided },
  { verdict: 'midstream', when: (f) => !f.sawSyn, describe: midstream },
  { verdict: (f) => icmpVerdict(f.icmp!)!, when: (f) => f.icmp !== null && icmpVerdict(f.icmp) !== null && !answered(f), describe: icmpUnreachable },
  { verdict: 'refused', when: (f) => !answered(f) && serverReset(f), describe: refused },
  { verdict: 'timeout', when: (f, c) => !answered(f) && timedOut(f, c), describe: timeout },
  { verdict: 'capture-ended', when: (f) => !answered(f), describe: captureEndedUnanswered },
  { verdict: 'bad-syn-ack', when: (f) => !f.established && !f.synAckAckOk, describe: badSynAck },
  { verdict: 'handshake-incomplete', when: (f, c) => !f.established && (f.rstDir === C2S || c.captureEndT - f.synAckT >= c.synTimeoutNs), describe: handshakeIncomplete },
  { verdict: 'capture-ended', when: (f) => !f.established, describe: captureEndedHalfOpen },
  { verdict: 'data-stall', when: (f) => stalledSide(f) >= 0, describe: dataStall },
  { verdict: 'zero-window-stall', when: (f, c) => zeroWindowSide(f, c) >= 0, describe: zeroWindowStall },
  { verdict: 'tls-alert', when: (f) => tlsOf(f)?.alert != null, describe: tlsAlert },
  { verdict: 'tls-aborted', when: tlsAbortedWhen, describe: tlsAborted },
  { verdict: 'http-error', when: httpErrorWhen, describe: httpError },
  { verdict: 'closed-by-remote', when: (f) => !serverSentData(f) && (serverClosedFirst(f) || (resetWithoutData(f) && f.rstGapNs < PROMPT_CLOSE_NS)), describe: closedByRemote },
  { verdict: 'delayed-reset', when: (f) => resetWithoutData(f), describe: delayedReset },
  { verdict: 'mid-stream-reset', when: (f) => f.rstDir >= 0 && f.rstAfterData && !f.rstAfterPeerFin, describe: midStreamReset },
  { verdict: 'ok', when: () => true, describe: ok },
];

/** The first rule that matches the flow. */
export function tcpRule(f: TcpFlow, c: ClassifyContext): TcpRule {
  for (const rule of TCP_RULES) if (rule.when(f, c)) return rule;
  throw new Error('unreachable: the last TCP rule matches every flow');
}

export function ruleVerdict(rule: TcpRule, f: TcpFlow): VerdictId {
  return typeof rule.verdict === 'function' ? rule.verdict(f) : rule.verdict;
}

// ---- one describe function per verdict -------------------------------------------------------

function midstream(f: TcpFlow): Outcome {
  return outcome('unknown', `connection was already open when the capture started (${plural(f.c.packets + f.s.packets, 'packet')} seen, no SYN)`,
    [`first packet #${f.firstFrame} is not a SYN; client and server guessed from the ports`],
    'Start the capture before the connection opens to see its handshake.', f.firstFrame, f.s.mac);
}

function icmpUnreachable(f: TcpFlow, c: ClassifyContext): Outcome {
  const hit = f.icmp!;
  const a = attributeIcmp(f.sAddr, hit);
  const from = formatAddr(hit.version, hit.from);
  const ev = [synLine(f), `${icmpName(hit)} #${hit.frame} from ${from} ${rel(hit.t - f.firstT)}, ${ttlText(hit.ttl, hit.version)}`, ...a.why, ...macLine(c, hit.mac, 'sender')];
  const v = icmpVerdict(hit)!;
  return outcome(a.by, `${from} answered the SYN to ${srv(f)} with ${icmpName(hit)}`, ev, icmpCheck(v, from, srv(f), a.by === 'server', 'tcp'), hit.frame, hit.mac);
}

export function icmpCheck(v: VerdictId, from: string, target: string, fromTarget: boolean, proto: string): string {
  switch (v) {
    case 'icmp-admin-prohibited':
      return `A firewall REJECT rule on ${from} blocks ${target}: look at \`iptables -L -n -v\` / \`nft list ruleset\` there (or the cloud security group / ACL).`;
    case 'icmp-port-unreachable':
      return fromTarget
        ? proto === 'tcp'
          ? `The host rejects ${target} with ICMP (a REJECT rule with icmp-port-unreachable): check \`iptables -L -n -v\` / \`nft list ruleset\` on it.`
          : `Nothing listens on ${target}: run \`ss -lunp\` on the server and check the service is up.`
        : `${from} rejects ${target} on behalf of the server: look for a REJECT rule there (\`iptables -L -n -v\` / \`nft list ruleset\`).`;
    case 'icmp-host-unreachable':
      return `${from} cannot reach the host: it is down or does not answer ARP/neighbour discovery on its LAN. Check it is up, and \`ip neigh\` on ${from}.`;
    case 'ttl-exceeded':
      return `The packet's TTL ran out at ${from}: the path to ${target} is longer than the TTL, or it loops. Run \`traceroute -T ${target}\` and look for repeated hops; compare \`ip route get\` on the routers it names.`;
    case 'icmp-net-unreachable':
      return `${from} has no route to ${target}: check \`ip route\` on ${from} and the route the client uses.`;
    default:
      return `${from} says ${target} is unreachable: check routing and firewall rules on ${from}.`;
  }
}

function refused(f: TcpFlow, c: ClassifyContext): Outcome {
  const a = attributeRst(f, c);
  const lastSyn = f.synTimes[f.synTimes.length - 1] ?? f.firstT;
  const ev = [synLine(f), rstLine(f, `${dur(f.rst.t - lastSyn)} after the SYN`), ...a.why, ...macLine(c, f.rst.mac, 'sender', a.why)];
  const check = a.by === 'middlebox'
    ? `A box in the path answered for ${host(f)}: look for a REJECT --reject-with tcp-reset rule or a load balancer with no backend on the gateway${f.rst.mac >= 0 ? ` (${macText(f.rst.mac)})` : ''}; compare with a capture on the server.`
    : `Is anything listening on ${srv(f)}? Run \`ss -ltnp\` on the server and check the service is bound to that address and port, not 127.0.0.1.`;
  return outcome(a.by, `${srv(f)} refused the connection: RST in answer to the SYN`, ev, check, f.rst.frame, f.rst.mac);
}

function timeout(f: TcpFlow, c: ClassifyContext): Outcome {
  const after = unansweredFor(f, c) < 1e6 ? 'the capture ended with the last SYN' : `the capture went on ${dur(unansweredFor(f, c))} after the last SYN`;
  const ev = [synLine(f), `no reply at all in ${dur(triedFor(f, c))}; ${after}`];
  if (f.icmp !== null) ev.push(`${icmpName(f.icmp)} #${f.icmp.frame} from ${formatAddr(f.icmp.version, f.icmp.from)}`);
  if (f.cDstMac >= 0) ev.push(`the SYNs went to ${c.hosts.isRouterMac(f.cDstMac) ? 'gateway' : 'MAC'} ${macText(f.cDstMac)}`);
  return outcome('unknown', `SYN to ${srv(f)} got no answer (${plural(f.synCount, 'SYN')})`, ev,
    `Nothing answered: a firewall or security group is probably dropping SYNs to ${srv(f)}, or the host is down. Try \`nc -zv ${host(f)} ${f.sPort}\` from the client and \`traceroute -T -p ${f.sPort} ${host(f)}\`; check DROP rules (\`iptables -L -n -v\`, \`nft list ruleset\`) and security groups.`,
    0, f.cDstMac);
}

function captureEndedUnanswered(f: TcpFlow, c: ClassifyContext): Outcome {
  const gap = unansweredFor(f, c);
  const ended = gap < 1e6 ? 'the capture ended with the last SYN' : `the capture ended ${dur(gap)} after the last SYN`;
  return outcome('unknown', `SYN to ${srv(f)} unanswered, but ${ended}: too soon to call it a timeout`,
    [synLine(f), `${ended} (a timeout needs ${dur(c.synTimeoutNs)} without an answer)`],
    `Inconclusive: capture for longer (at least ${dur(c.synTimeoutNs)} after the last SYN).`, 0, -1);
}

function handshakeIncomplete(f: TcpFlow, c: ClassifyContext): Outcome {
  const ev = [synLine(f), `SYN-ACK #${f.synAckFrame} ${rel(f.synAckT - f.firstT)}${f.synAckCount > 1 ? `, sent ${f.synAckCount}×` : ''}, ${ttlText(f.synAckTtl, f.version)}`];
  if (!f.synAckAckOk) ev.push("the SYN-ACK does not acknowledge the client's ISN (stale state on a middlebox or the server)");
  let summary: string;
  let by: By = 'unknown';
  if (f.rstDir === C2S) {
    ev.push(rstLine(f, `${dur(f.rst.t - f.synAckT)} after the SYN-ACK`));
    summary = `the client answered ${srv(f)}'s SYN-ACK with a RST`;
    by = 'client';
  } else {
    ev.push(`the client never sent the final ACK (capture went on ${dur(c.captureEndT - f.synAckT)})`);
    summary = `${srv(f)} answered with SYN-ACK, but the handshake never completed`;
  }
  ev.push(...macLine(c, f.s.mac, 'server'));
  return outcome(by, summary, ev,
    'The SYN-ACK did not reach the client, or the client rejected it: look for asymmetric routing or a stateful firewall dropping the return path; capture on both sides.',
    f.synAckFrame, f.s.mac);
}

function captureEndedHalfOpen(f: TcpFlow, c: ClassifyContext): Outcome {
  return outcome('unknown', `SYN-ACK from ${srv(f)} seen, but the capture ended before the handshake could complete`,
    [synLine(f), `SYN-ACK #${f.synAckFrame} ${rel(f.synAckT - f.firstT)}; capture ended ${dur(c.captureEndT - f.synAckT)} later`],
    `Inconclusive: capture for longer.`, f.synAckFrame, f.s.mac);
}

function closedByRemote(f: TcpFlow, c: ClassifyContext): Outcome {
  const hs = `handshake done at ${rel(f.hsAckT - f.firstT)} (#${f.hsAckFrame})`;
  const ev = [hs];
  if (f.c.dataFirstT >= 0) ev.push(`client sent ${plural(f.c.bytes, 'byte')} from #${f.c.dataFirstFrame}`);
  let frame: number;
  let mac: number;
  let by: By = 'server';
  if (serverClosedFirst(f)) {
    ev.push(`server FIN #${f.s.finFrame} ${dur(f.s.finT - f.hsAckT)} after the handshake, without sending any data`);
    frame = f.s.finFrame;
    mac = f.s.mac;
  } else {
    const a = attributeRst(f, c);
    by = a.by;
    ev.push(rstLine(f, `${dur(f.rst.t - f.hsAckT)} after the handshake, ${dur(f.rstGapNs)} after the client's last packet, without sending any data`), ...a.why);
    frame = f.rst.frame;
    mac = f.rst.mac;
  }
  ev.push(...macLine(c, mac, 'server', ev));
  return outcome(by, `${srv(f)} accepted the connection, then closed it without a word`, ev,
    `The service accepts and drops: look at its logs and at access rules (hosts.deny / tcpwrappers), connection limits (maxconn, ulimit), or a load balancer with no healthy backend.`,
    frame, mac);
}

function delayedReset(f: TcpFlow, c: ClassifyContext): Outcome {
  const a = attributeRst(f, c);
  const ev = [`handshake done at ${rel(f.hsAckT - f.firstT)} (#${f.hsAckFrame})`];
  if (f.c.dataFirstT >= 0) ev.push(`client sent ${plural(f.c.bytes, 'byte')} from #${f.c.dataFirstFrame}; the server sent nothing back`);
  ev.push(rstLine(f, `${dur(f.rstGapNs)} after the client's last packet`), ...a.why, ...macLine(c, f.rst.mac, 'sender', a.why));
  const who = a.by === 'middlebox' ? 'a box in the path' : srv(f);
  return outcome(a.by, `${who} reset the connection ${dur(f.rstGapNs)} after the client's last packet, before any reply`, ev,
    `Something waited, then reset: a load balancer or firewall inspection/idle policy (on an F5, the virtual server's profiles and iRules), or a server-side proxy timing out. Compare with a capture taken next to the server.`,
    f.rst.frame, f.rst.mac);
}

function midStreamReset(f: TcpFlow, c: ClassifyContext): Outcome {
  let a: Attribution;
  if (f.rstDir === S2C) a = attributeRst(f, c);
  else a = { by: 'client', why: [] };
  const ev = [`handshake done at ${rel(f.hsAckT - f.firstT)}`, `data: ${plural(f.c.bytes, 'byte')} client→server, ${plural(f.s.bytes, 'byte')} server→client`,
    rstLine(f, `at ${rel(f.rst.t - f.firstT)}, ${dur(f.rstGapNs)} after the other side's last packet`), ...a.why, ...macLine(c, f.rst.mac, 'sender', a.why)];
  const side = a.by === 'client' ? 'the client' : a.by === 'middlebox' ? 'a box in the path' : 'the server';
  return outcome(a.by, `${side} reset the connection to ${srv(f)} after data flowed`, ev,
    a.by === 'middlebox'
      ? 'A middlebox cut the connection: check firewall/load-balancer idle timeouts and session tables.'
      : `Look at ${side === 'the client' ? "the client's" : "the server's"} application logs around ${rel(f.rst.t - f.firstT)} (crash, abort, timeout), and at idle timeouts in the path.`,
    f.rst.frame, f.rst.mac);
}

function ok(f: TcpFlow, c: ClassifyContext): Outcome {
  const ev = [`handshake ${dur(f.hsAckT - f.firstT)} (SYN-ACK #${f.synAckFrame} ${rel(f.synAckT - f.firstT)})`,
    `data: ${plural(f.c.bytes, 'byte')} client→server, ${plural(f.s.bytes, 'byte')} server→client`];
  if (f.rstDir >= 0) ev.push(`closed with ${rstLine(f, `at ${rel(f.rst.t - f.firstT)}`)}`);
  ev.push(...macLine(c, f.s.mac, 'server'));
  return outcome('server', `connected to ${srv(f)}`, ev, '', f.synAckFrame, f.s.mac);
}
