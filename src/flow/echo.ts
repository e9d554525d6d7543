import type { DecodedPacket } from '../decode/packet.js';
import { copyAddr, tunnelNote } from './addr.js';

/** Echo requests remembered per ping for their round-trip time (later ones are only counted). */
const MAX_PENDING = 64;

/** An ICMP error that answered one of a ping's requests (time exceeded, unreachable). */
export class EchoError {
  constructor(
    readonly frame: number,
    readonly t: number,
    readonly type: number,
    readonly code: number,
    readonly from: Uint32Array,
    readonly ttl: number,
    readonly mac: number,
    /** TTL / hop limit of the request it answered, when that request was seen (-1 otherwise). */
    readonly requestTtl: number,
  ) {}
}

/** One ping: echo requests from one host to another with one identifier, and what answered them. */
export class EchoFlow {
  readonly version: number;
  readonly cAddr: Uint32Array;
  readonly sAddr: Uint32Array;
  readonly id: number;
  /** The tunnel its first request came through, for the evidence; null when none. */
  readonly tunnel: string | null;
  readonly firstFrame: number;
  readonly firstT: number;
  lastT: number;
  lastRequestT: number;
  sent = 0;
  answered = 0;
  rttMin = Infinity;
  rttMax = 0;
  rttSum = 0;
  requestTtl = 0;
  replyTtl = 0;
  replyMac = -1;
  /** The requester's packets went to this MAC (the gateway when the target is routed). */
  dstMac = -1;
  firstReplyFrame = 0;
  error: EchoError | null = null;
  errors = 0;
  /** seq → [time, TTL] of requests not answered yet. */
  readonly pending = new Map<number, [number, number]>();

  constructor(pkt: DecodedPacket, frame: number, t: number) {
    this.version = pkt.ipVersion;
    this.cAddr = copyAddr(pkt.src);
    this.sAddr = copyAddr(pkt.dst);
    this.id = pkt.icmpId;
    this.tunnel = tunnelNote(pkt);
    this.firstFrame = frame;
    this.firstT = this.lastT = this.lastRequestT = t;
  }
}

function key(version: number, c: Uint32Array, s: Uint32Array, id: number): string {
  return version === 4 ? `${c[0]}>${s[0]}#${id}` : `${c.join(',')}>${s.join(',')}#${id}`;
}

/** Pings in progress. Echo traffic is light next to TCP, so a Map with string keys is enough. */
export class EchoTable {
  private readonly flows = new Map<string, EchoFlow>();

  get size(): number {
    return this.flows.size;
  }

  request(pkt: DecodedPacket, frame: number, t: number): EchoFlow | null {
    const k = key(pkt.ipVersion, pkt.src, pkt.dst, pkt.icmpId);
    let f = this.flows.get(k);
    const isNew = f === undefined;
    if (f === undefined) {
      f = new EchoFlow(pkt, frame, t);
      this.flows.set(k, f);
    }
    f.sent++;
    f.lastT = f.lastRequestT = t;
    f.requestTtl = pkt.ttl;
    if (f.dstMac < 0) f.dstMac = pkt.dstMac;
    if (f.pending.size < MAX_PENDING) f.pending.set(pkt.icmpSeq, [t, pkt.ttl]);
    return isNew ? f : null;
  }

  reply(pkt: DecodedPacket, frame: number, t: number): void {
    const f = this.flows.get(key(pkt.ipVersion, pkt.dst, pkt.src, pkt.icmpId));
    if (f === undefined) return;
    const sent = f.pending.get(pkt.icmpSeq);
    if (sent === undefined) return; // a duplicate, or a reply to a request not seen
    f.pending.delete(pkt.icmpSeq);
    const rtt = t - sent[0];
    f.answered++;
    if (rtt < f.rttMin) f.rttMin = rtt;
    if (rtt > f.rttMax) f.rttMax = rtt;
    f.rttSum += rtt;
    f.lastT = t;
    f.replyTtl = pkt.ttl;
    if (f.firstReplyFrame === 0) {
      f.firstReplyFrame = frame;
      f.replyMac = pkt.srcMac;
    }
  }

  /** The TTL of the request the last error() matched (-1 when not captured). */
  lastProbeTtl = -1;

  /** An ICMP error quoting an echo request: true when it belongs to a ping in progress. */
  error(pkt: DecodedPacket, frame: number, t: number): boolean {
    const f = this.flows.get(key(pkt.quoteVersion, pkt.quoteSrc, pkt.quoteDst, pkt.quoteEchoId));
    if (f === undefined) return false;
    const req = f.pending.get(pkt.quoteEchoSeq);
    this.lastProbeTtl = req === undefined ? -1 : req[1];
    if (req !== undefined) f.pending.delete(pkt.quoteEchoSeq);
    f.errors++;
    f.lastT = t;
    if (f.error === null) f.error = new EchoError(frame, t, pkt.icmpType, pkt.icmpCode, copyAddr(pkt.src), pkt.ttl, pkt.srcMac, req === undefined ? -1 : req[1]);
    return true;
  }

  /** Pings whose last request has waited `waitNs` (all of them when `all`), removed from the table. */
  takeFinal(now: number, waitNs: number, all: boolean): EchoFlow[] {
    const out: EchoFlow[] = [];
    for (const [k, f] of this.flows) {
      if (all || now - f.lastRequestT >= waitNs) {
        out.push(f);
        this.flows.delete(k);
      }
    }
    return out;
  }
}
