import type { DecodedPacket } from '../decode/packet.js';
import { icmpVerdict } from '../verdict/icmp.js';
import { flowHash } from './addr.js';
import { IcmpHit, type TcpTable } from './tcp.js';
import { NO_TOMBSTONE, type TcpTombstones } from './tombstones.js';
import type { DnsTable } from './dns.js';
import { RETIRED } from './dns-tombstones.js';
import type { UdpTable } from './udp.js';
import type { EchoTable } from './echo.js';
import type { TimerQueue } from './timer-queue.js';
import type { TcpFlow } from './tcp.js';
import type { LoopDetector } from './loops.js';
import { ICMP4, ICMP4_UNREACH, ICMP6, IPPROTO, UDP_PORT } from '../decode/enums.js';

/** The tables an ICMP error may belong to (the flow tracker is one). */
export interface IcmpTargets {
  readonly tcp: TcpTable;
  /** Touched when an ICMP error changes a TCP flow (its finality may change: timer-queue.ts). */
  readonly tcpTimers: TimerQueue<TcpFlow>;
  readonly tombstones: TcpTombstones;
  readonly dns: DnsTable;
  readonly udp: UdpTable;
  readonly echo: EchoTable;
  readonly loops: LoopDetector;
}

/** A time exceeded for a probe sent with `probeTtl` (-1 unknown): the loop detector's input. */
function noteHop(on: IcmpTargets, pkt: DecodedPacket, probeTtl: number): void {
  const v = pkt.quoteVersion;
  if (pkt.icmpType === (v === 4 ? ICMP4.TimeExceeded : ICMP6.TimeExceeded) && pkt.icmpCode === 0) on.loops.note(v, pkt.quoteDst, pkt.src, probeTtl);
}

/**
 * Links an ICMP error (unreachable, time exceeded, packet too big) to the ping, TCP connection,
 * DNS lookup or UDP flow of the packet it quotes, where it becomes evidence. Returns whether one
 * was found: an ICMP error for a reported connection (its retransmitted SYN) is linked to it but
 * changes nothing.
 */
export function linkIcmpError(on: IcmpTargets, pkt: DecodedPacket, frame: number, t: number): boolean {
  if (pkt.quoteEchoId >= 0 && on.echo.error(pkt, frame, t)) {
    noteHop(on, pkt, on.echo.lastProbeTtl);
    return true;
  }
  if (pkt.quoteSrcPort < 0) return false;
  const v = pkt.quoteVersion;
  if (pkt.quoteProto === IPPROTO.TCP) {
    const f = on.tcp.findByEndpoints(v, pkt.quoteSrc, pkt.quoteSrcPort, pkt.quoteDst, pkt.quoteDstPort);
    if (f !== null) {
      f.icmpCount++;
      noteHop(on, pkt, f.c.ttlMax);
      if ((v === 4 && pkt.icmpType === ICMP4.DestUnreachable && pkt.icmpCode === ICMP4_UNREACH.FragNeeded) || (v === 6 && pkt.icmpType === ICMP6.PacketTooBig)) f.sawPmtuIcmp = true;
      // an unreachable replaces an earlier ICMP error that gives no verdict (time exceeded, too big)
      if (f.icmp === null || (icmpVerdict(f.icmp) === null && pkt.icmpType === (v === 4 ? ICMP4.DestUnreachable : ICMP6.DestUnreachable))) f.icmp = new IcmpHit(pkt, frame, t);
      on.tcpTimers.touch(f);
      return true;
    }
    const hash = flowHash(pkt.quoteSrc, pkt.quoteSrcPort, pkt.quoteDst, pkt.quoteDstPort);
    return on.tombstones.find(v, pkt.quoteSrc, pkt.quoteSrcPort, pkt.quoteDst, pkt.quoteDstPort, hash) !== NO_TOMBSTONE;
  }
  if (pkt.quoteProto === IPPROTO.UDP) {
    if (pkt.quoteDstPort === UDP_PORT.DNS && pkt.quoteDnsId >= 0) {
      const d = on.dns.findNewest(v, 'udp', pkt.quoteSrc, pkt.quoteSrcPort, pkt.quoteDst, pkt.quoteDstPort, pkt.quoteDnsId);
      if (d === RETIRED) return true;
      if (d !== null) {
        if (d.icmp === null) d.icmp = new IcmpHit(pkt, frame, t);
        on.dns.timers.touch(d);
        return true;
      }
    }
    const u = on.udp.find(v, pkt.quoteSrc, pkt.quoteSrcPort, pkt.quoteDst, pkt.quoteDstPort);
    if (u !== null) {
      u.icmpCount++;
      noteHop(on, pkt, u.firstTtl);
      if (u.icmp === null) u.icmp = new IcmpHit(pkt, frame, t);
      on.udp.timers.touch(u);
      return true;
    }
  }
  return false;
}
