import type { DecodedPacket } from '../decode/packet.js';
import { copyAddr, formatAddr } from './addr.js';
import { ICMP6 } from '../decode/enums.js';

/** Neighbour requests (ARP who-has, IPv6 neighbour solicitations) for one address from one asker. */
export class NeighborAsk {
  count = 0;
  readonly frames: number[] = [];
  lastT: number;
  answered = false;
  constructor(
    readonly version: number,
    readonly target: Uint32Array,
    readonly askerMac: number,
    readonly askerIp: Uint32Array,
    readonly firstFrame: number,
    readonly firstT: number,
  ) {
    this.lastT = firstT;
  }
}

/** Two or more MACs that answered for one address. */
export class NeighborConflict {
  constructor(
    readonly version: number,
    readonly addr: Uint32Array,
    /** [mac, frame, time] of each claimant, in order of first claim. */
    readonly claims: [number, number, number][],
    readonly asker: Uint32Array | null,
  ) {}
}

/** Addresses whose claimants, and last askers, are remembered (a flood of forged replies or of requests cannot grow them further). */
const MAX_CLAIMED = 65536;

/**
 * ARP and IPv6 neighbour discovery: who asked for which address and whether anyone answered,
 * and which MACs claimed each address. Answers and announcements (a reply, a gratuitous ARP, a
 * neighbour advertisement) are claims; two MACs claiming one address is a conflict, reported once.
 */
export class NeighborTable {
  /** Asks by target address, then by the asker's MAC. */
  private readonly asks = new Map<string, Map<number, NeighborAsk>>();
  private readonly claims = new Map<string, [number, number, number][]>();
  private readonly conflicts: NeighborConflict[] = [];
  /** Who asked last for an address (for the conflict's evidence); as many addresses as `claims`. */
  private readonly lastAsker = new Map<string, Uint32Array>();

  /** ARP for IPv4 over Ethernet. */
  arp(pkt: DecodedPacket, frame: number, t: number): void {
    const sender = v4(pkt.arpSenderIp);
    if (pkt.arpOp === 1 && pkt.arpSenderIp !== pkt.arpTargetIp && pkt.arpSenderIp !== 0) {
      this.ask(4, v4(pkt.arpTargetIp), pkt.arpSenderMac, sender, frame, t);
    } else if (pkt.arpOp === 2 || (pkt.arpOp === 1 && pkt.arpSenderIp === pkt.arpTargetIp)) {
      this.claim(4, sender, pkt.arpSenderMac, frame, t);
    }
  }

  /** IPv6 neighbour solicitation (135) or advertisement (136); duplicate address detection (from ::) is not a question. */
  nd(pkt: DecodedPacket, frame: number, t: number): void {
    if (pkt.srcMac < 0) return;
    if (pkt.icmpType === ICMP6.NeighborSolicitation && !isZero(pkt.src)) this.ask(6, copyAddr(pkt.ndTarget), pkt.srcMac, copyAddr(pkt.src), frame, t);
    else if (pkt.icmpType === ICMP6.NeighborAdvertisement) this.claim(6, copyAddr(pkt.ndTarget), pkt.srcMac, frame, t);
  }

  private ask(version: number, target: Uint32Array, mac: number, from: Uint32Array, frame: number, t: number): void {
    const tk = formatAddr(version, target);
    let byMac = this.asks.get(tk);
    if (byMac === undefined) {
      byMac = new Map();
      this.asks.set(tk, byMac);
    }
    let a = byMac.get(mac);
    if (a === undefined || a.answered) {
      a = new NeighborAsk(version, target, mac, from, frame, t);
      byMac.set(mac, a);
    }
    a.count++;
    a.lastT = t;
    if (a.frames.length < 8) a.frames.push(frame);
    if (this.lastAsker.size < MAX_CLAIMED || this.lastAsker.has(tk)) this.lastAsker.set(tk, from);
  }

  private claim(version: number, addr: Uint32Array, mac: number, frame: number, t: number): void {
    const k = formatAddr(version, addr);
    for (const a of this.asks.get(k)?.values() ?? []) a.answered = true;
    let list = this.claims.get(k);
    if (list === undefined) {
      if (this.claims.size >= MAX_CLAIMED) return;
      list = [];
      this.claims.set(k, list);
    }
    if (list.some((c) => c[0] === mac)) return;
    list.push([mac, frame, t]);
    // the second claimant makes the conflict, once: claims only grow, so length 2 is reached once
    if (list.length === 2) this.conflicts.push(new NeighborConflict(version, addr, list, this.lastAsker.get(k) ?? null));
  }

  /** Conflicts found since the last call (each address once). */
  takeConflicts(): NeighborConflict[] {
    return this.conflicts.splice(0, this.conflicts.length);
  }

  /**
   * Unanswered asks whose last request waited `waitNs`; at the end of the capture (`atEnd`), also
   * those repeated (the asker itself gave up waiting for the earlier ones).
   */
  takeUnanswered(now: number, waitNs: number, atEnd: boolean): NeighborAsk[] {
    const out: NeighborAsk[] = [];
    for (const [target, byMac] of this.asks) {
      for (const [mac, a] of byMac) {
        if (a.answered) {
          if (now - a.lastT >= waitNs) byMac.delete(mac);
        } else if (now - a.lastT >= waitNs || (atEnd && a.count >= 2)) {
          out.push(a);
          byMac.delete(mac);
        }
      }
      if (byMac.size === 0) this.asks.delete(target);
    }
    return out;
  }
}

function v4(ip: number): Uint32Array {
  const a = new Uint32Array(4);
  a[0] = ip;
  return a;
}

function isZero(a: Uint32Array): boolean {
  return a[0] === 0 && a[1] === 0 && a[2] === 0 && a[3] === 0;
}
