import type { DecodedPacket } from '../decode/packet.js';
import { flowHash, tunnelNote } from './addr.js';
import { FlowEndpoints } from './endpoints.js';
import { ChainedTable } from './chained-table.js';
import { IcmpHit } from './tcp.js';
import { TimerQueue } from './timer-queue.js';

/** A UDP conversation other than DNS; the first sender is the client. Reported only when an ICMP error answers it. */
export class UdpFlow extends FlowEndpoints {
  nextInBucket: UdpFlow | null = null;
  /** Its place in the order flows were inserted into the table (ChainedTable). */
  inserted = 0;
  readonly firstFrame: number;
  readonly firstSec: number;
  readonly firstNsec: number;
  readonly firstT: number;
  lastT: number;
  readonly packets = [0, 0];
  icmp: IcmpHit | null = null;
  icmpCount = 0;
  /** TTL of the client's first datagram (a traceroute probe's TTL). */
  readonly firstTtl: number;
  reported = false;

  /** The tunnel its first packet came through (VXLAN, GRE, …), for the evidence; null when none. */
  readonly tunnel: string | null;

  constructor(
    pkt: DecodedPacket,
    readonly hash: number,
    frame: number,
    sec: number,
    nsec: number,
    t: number,
  ) {
    super();
    this.setEndpointsOf(pkt, true);
    this.tunnel = tunnelNote(pkt);
    this.firstFrame = frame;
    this.firstSec = sec;
    this.firstNsec = nsec;
    this.firstT = t;
    this.lastT = t;
    this.firstTtl = pkt.ttl;
  }
}

export class UdpTable extends ChainedTable<UdpFlow> {
  /**
   * When each flow is next worth a sweep's look (lifecycle.ts udpDueAt): a new flow and one an ICMP
   * error answered are touched; a packet only makes a flow idle later, so it is not (the sweep that
   * finds it not idle yet schedules it again). The sweeps read every UDP flow each second of
   * capture before: 46 % of a run over a million one-datagram flows (issue #20).
   */
  readonly timers = new TimerQueue<UdpFlow>();

  /** Adds the packet to its flow; returns the flow when the packet began a new one, else null (also when --max-flows is reached). */
  observe(pkt: DecodedPacket, frame: number, sec: number, nsec: number, t: number): UdpFlow | null {
    const hash = flowHash(pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort);
    for (let f = this.head(hash); f !== null; f = f.nextInBucket) {
      const dir = f.directionOf(pkt.ipVersion, pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort);
      if (dir >= 0) {
        f.packets[dir]++;
        f.lastT = t;
        return null;
      }
    }
    if (this.budget.full || this.chainFull(hash, 'UDP flow', frame)) {
      this.budget.dropped++;
      return null;
    }
    const f = new UdpFlow(pkt, hash, frame, sec, nsec, t);
    f.packets[0] = 1;
    this.insert(f);
    this.timers.touch(f);
    return f;
  }

  find(version: number, a: Uint32Array, ap: number, b: Uint32Array, bp: number): UdpFlow | null {
    const hash = flowHash(a, ap, b, bp);
    for (let f = this.head(hash); f !== null; f = f.nextInBucket) if (f.directionOf(version, a, ap, b, bp) >= 0) return f;
    return null;
  }
}
