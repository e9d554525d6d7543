import type { ClassifyContext } from './context.js';
import { C2S, S2C, type Stall, type TcpFlow } from '../flow/tcp.js';
import { dur, plural, rel, ttlText } from './format.js';
import { host, macLine, outcome, srv, synLine, type Outcome } from './tcp-evidence.js';

/** Retransmissions of one segment, with nothing acknowledging it, that make a stall. */
export const STALL_RETRANSMISSIONS = 3;
/** A zero window held this long stalls the sender. */
export const ZERO_WINDOW_NS = 5e9;
/** A stalled segment at least this long (payload bytes) may be too big for the path. */
const BIG_SEGMENT = 1200;

/** The direction the capture is missing: S2C when only the client was seen, C2S when only the server; -1 otherwise. */
export function missingDirection(f: TcpFlow): number {
  if (f.sawSyn && f.s.packets === 0 && f.c.packets > f.synCount) return S2C;
  if (!f.sawSyn && f.synAckT >= 0 && f.c.packets === 0) return C2S;
  return -1;
}

export function oneSided(f: TcpFlow): Outcome {
  const missing = missingDirection(f);
  const ev: string[] = [];
  let summary: string;
  if (missing === S2C) {
    ev.push(synLine(f), `then ${plural(f.c.packets - f.synCount, 'more packet')} from the client (ACKs${f.c.bytes > 0 ? `, ${plural(f.c.bytes, 'byte')} of data` : ''}): it saw a SYN-ACK this capture never did`);
    summary = `the capture saw only the client's side of the connection to ${srv(f)}: the server's packets took another path`;
  } else {
    ev.push(`SYN-ACK #${f.synAckFrame} from ${srv(f)} with no SYN before it, and nothing at all from the client (${plural(f.s.packets, 'server packet')})`);
    summary = `the capture saw only the server's side of the connection to ${srv(f)}: the client's packets took another path`;
  }
  return outcome('unknown', summary, ev,
    'Not a failure of the connection but of the capture point: routing is asymmetric here, or the mirror/SPAN port copies one direction only. Capture where both directions pass (on the client or the server), or mirror both directions.',
    f.firstFrame, -1);
}

export function badSynAck(f: TcpFlow, c: ClassifyContext): Outcome {
  const expected = (f.isn + 1) >>> 0;
  const ev = [synLine(f), `SYN-ACK #${f.synAckFrame} ${rel(f.synAckT - f.firstT)}${f.synAckCount > 1 ? `, sent ${f.synAckCount}×` : ''}, ${ttlText(f.synAckTtl, f.version)}: it acknowledges ${f.synAckAck}, not the client's ISN+1 = ${expected}`];
  if (f.rstDir === C2S) ev.push(`the client answered with RST #${f.rst.frame}${f.rstCount > 1 ? ` (${f.rstCount} RSTs in all)` : ''}, as RFC 9293 requires for an unacceptable ACK`);
  if (f.synCount > 1) ev.push(`the client kept retrying: ${plural(f.synCount, 'SYN')}`);
  ev.push(...macLine(c, f.s.mac, 'server'));
  return outcome('unknown', `${srv(f)}'s SYN-ACK does not acknowledge the client's SYN, so the handshake cannot complete`, ev,
    `Something answers from stale state for an older connection on the same ports: a firewall, NAT or load balancer that rewrites or remembers sequence numbers (check its session table and sequence randomisation), or the server itself (\`ss -tan '( sport = :${f.sPort} )'\` on ${host(f)}). A capture on the server side shows which.`,
    f.synAckFrame, f.s.mac);
}

/** The side whose data died (C2S or S2C), or -1. */
export function stalledSide(f: TcpFlow): number {
  for (let dir = C2S; dir <= S2C; dir++) {
    const st = f.ep[dir].stall;
    if (st !== null && st.count >= STALL_RETRANSMISSIONS && !st.acked) return dir;
  }
  return -1;
}

/** A sequence number relative to its side's ISN, as Wireshark shows them (raw when the ISN was not seen). */
function relSeq(f: TcpFlow, dir: number, seq: number): number {
  if (dir === C2S) return f.sawSyn ? (seq - f.isn) >>> 0 : seq;
  return f.synAckT >= 0 ? (seq - f.serverIsn) >>> 0 : seq;
}

/** Only big segments that may not fragment die, small ones got through, and no ICMP said why. */
function looksLikePmtuBlackHole(f: TcpFlow, st: Stall, dir: number): boolean {
  const peer = f.ep[1 - dir];
  const smallAcked = peer.ackSeen && ((peer.ackMax - ((dir === C2S ? f.isn : 0) + 1)) | 0) > 0;
  return st.len >= BIG_SEGMENT && st.df === 1 && !f.sawPmtuIcmp && (dir !== C2S || smallAcked);
}

export function dataStall(f: TcpFlow): Outcome {
  const dir = stalledSide(f);
  const st = f.ep[dir].stall!;
  const who = dir === C2S ? 'client' : 'server';
  const ev = [`handshake done at ${rel(f.hsAckT - f.firstT)} (#${f.hsAckFrame})`,
    `the ${who}'s segment at seq ${relSeq(f, dir, st.seq)} (${plural(st.len, 'byte')}${st.df ? ', DF set' : ''}) was retransmitted ${st.count}× from #${st.frame} ${rel(st.t - f.firstT)} over ${dur(st.lastT - st.t)}, and never acknowledged`];
  const pmtu = looksLikePmtuBlackHole(f, st, dir);
  let summary = `data from the ${who} to ${dir === C2S ? srv(f) : 'the client'} stopped getting through: the same segment retransmitted ${st.count}× with no ACK`;
  let check = `Packets are lost one way after the handshake: look for a firewall or IPS dropping mid-connection (state table full, idle timeout), or a link dropping; \`traceroute -T -p ${f.sPort} ${host(f)}\` and a capture on the server side show where they die.`;
  if (pmtu) {
    const peer = f.ep[1 - dir];
    ev.push(`smaller packets got through (the ${dir === C2S ? 'server' : 'client'} acknowledged up to seq ${relSeq(f, dir, peer.ackMax)}), and no ICMP fragmentation-needed or packet-too-big arrived for this connection`);
    summary = `PMTU black hole: the ${who}'s full-size segments (${st.len} bytes, DF) to ${dir === C2S ? srv(f) : 'the client'} die in the path and no ICMP says why`;
    check = `A link in the path has a smaller MTU and the ICMP "fragmentation needed" / "packet too big" errors are dropped: find it with \`tracepath ${host(f)}\` or \`ping -M do -s 1472 ${host(f)}\`; allow ICMP type 3 code 4 (ICMPv6 type 2) through the firewalls, or clamp the MSS (\`iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\`).`;
  }
  return outcome(pmtu ? 'middlebox' : 'unknown', summary, ev, check, st.frame, dir === C2S ? f.cDstMac : -1);
}

/** The side that held a zero window for ZERO_WINDOW_NS or more (C2S or S2C), or -1. */
export function zeroWindowSide(f: TcpFlow, c: ClassifyContext): number {
  for (let dir = S2C; dir >= C2S; dir--) if (f.zeroWindowNs(f.ep[dir], zeroEnd(f, c)) >= ZERO_WINDOW_NS) return dir;
  return -1;
}

/** A zero-window spell still open lasts until the connection's last packet (or the capture's end while it is open). */
function zeroEnd(f: TcpFlow, c: ClassifyContext): number {
  return f.closed ? f.lastT : c.captureEndT;
}

export function zeroWindowStall(f: TcpFlow, c: ClassifyContext): Outcome {
  const dir = zeroWindowSide(f, c);
  const ep = f.ep[dir];
  const z = ep.zero!;
  const ns = f.zeroWindowNs(ep, zeroEnd(f, c));
  const open = z.since >= 0 && zeroEnd(f, c) - z.since >= z.longestNs;
  const frame = open ? z.sinceFrame : z.frame;
  const from = open ? z.since : z.t;
  const who = dir === S2C ? 'server' : 'client';
  const ev = [`handshake done at ${rel(f.hsAckT - f.firstT)} (#${f.hsAckFrame})`,
    `the ${who} advertised a zero window from #${frame} ${rel(from - f.firstT)} for ${dur(ns)}${open ? (f.closed ? ', until the connection ended' : ', still at the end of the capture') : ''}`,
    `data: ${plural(f.c.bytes, 'byte')} client→server, ${plural(f.s.bytes, 'byte')} server→client`];
  if (f.rstDir >= 0) ev.push(`then a RST #${f.rst.frame} from the ${f.rstDir === S2C ? 'server side' : 'client'} ${rel(f.rst.t - f.firstT)}`);
  return outcome(dir === S2C ? 'server' : 'client', `the ${who} stopped reading: its receive window stayed at zero for ${dur(ns)}`, ev,
    `The ${who} application is not reading its socket (blocked, overloaded or hung): look at it with \`ss -tmi\` (a full Recv-Q) on ${dir === S2C ? host(f) : 'the client'}, its thread dumps and logs. The network is fine.`,
    frame, dir === S2C ? f.s.mac : f.c.mac);
}
