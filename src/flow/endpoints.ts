import type { DecodedPacket } from '../decode/packet.js';
import { addressText, endpointText } from './addr.js';

/**
 * The placeholder of a class field that holds a capture time in ns (flow objects' `firstT`,
 * `lastT`…): -0, a double. V8 stores a field as its first value's kind: a small integer (up to
 * 2^31 - 1) in the object, a double in a box. A placeholder of 0 made these fields small integers
 * until the capture's clock passed 2^31 ns, 2.15 s in: then the field became a double, the class's
 * hidden class was replaced, code compiled for it was thrown away, and every object still of the
 * old one was converted when next touched. In a SYN flood that was some 43,000 live flows at once:
 * the walk that next touched them all (a resize of the flow table) took 130-330 ms instead of
 * 11 ms. A field placeholder of -0 is a double from the first object on. (-0 is 0 to every
 * comparison, and init() or reset() sets each such field before it is read.)
 */
export const NS_PLACEHOLDER = -0;

/** Direction of a packet within a flow. */
export const C2S = 0;
export const S2C = 1;

/**
 * The two endpoints of a flow, the addresses as eight int32 words in the object itself (V8 keeps
 * 32-bit integers inline) rather than two Uint32Arrays of about 220 bytes each. TCP flows, their
 * UDP flows and DNS transactions share it (tombstones keep the same words: flow/tombstones.ts).
 */
export class FlowEndpoints {
  // set by setEndpointsOf, first thing in a subclass's constructor, and again when a flow object is
  // reused. Class fields with a placeholder of their type, not `declare`d ones assigned in a method:
  // V8 sizes an object for the fields its classes define, and put 41 of a DnsTxn's 53 fields in a
  // separate property array, one more load for each (issue #20)
  version: number = 0;
  cPort: number = 0;
  sPort: number = 0;
  private c0: number = 0;
  private c1: number = 0;
  private c2: number = 0;
  private c3: number = 0;
  private s0: number = 0;
  private s1: number = 0;
  private s2: number = 0;
  private s3: number = 0;
  /** A TimerQueue's bookkeeping (flow/timer-queue.ts), 0 for a new or reused flow: every flow object is one of these. */
  timerSeq: number = 0;
  timerMark: number = 0;

  /** The endpoints of `pkt`'s flow, its source being the client when `clientIsSrc`. */
  protected setEndpointsOf(pkt: DecodedPacket, clientIsSrc: boolean): void {
    if (clientIsSrc) this.setEndpoints(pkt.ipVersion, pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort);
    else this.setEndpoints(pkt.ipVersion, pkt.dst, pkt.dstPort, pkt.src, pkt.srcPort);
  }

  /** Two hosts, without ports (0): a client and server that DNS queries go between (flow/dns.ts SeriesPair). */
  protected setAddresses(version: number, c: Uint32Array, s: Uint32Array): void {
    this.setEndpoints(version, c, 0, s, 0);
  }

  /** Whether `c` and `s` are the client's and server's addresses, ports aside. */
  hasAddresses(version: number, c: Uint32Array, s: Uint32Array): boolean {
    return version === this.version && this.isClient(c, this.cPort) && this.isServer(s, this.sPort);
  }

  private setEndpoints(version: number, c: Uint32Array, cPort: number, s: Uint32Array, sPort: number): void {
    this.timerSeq = 0;
    this.timerMark = 0;
    this.version = version;
    this.cPort = cPort;
    this.sPort = sPort;
    this.c0 = c[0] | 0;
    this.c1 = c[1] | 0;
    this.c2 = c[2] | 0;
    this.c3 = c[3] | 0;
    this.s0 = s[0] | 0;
    this.s1 = s[1] | 0;
    this.s2 = s[2] | 0;
    this.s3 = s[3] | 0;
  }

  /** Writes version, client port, server port and the eight address words (client's first) into `to` from `at` (a tombstone's slot). */
  writeEndpoints(to: Int32Array, at: number): void {
    to[at] = this.version;
    to[at + 1] = this.cPort;
    to[at + 2] = this.sPort;
    to[at + 3] = this.c0;
    to[at + 4] = this.c1;
    to[at + 5] = this.c2;
    to[at + 6] = this.c3;
    to[at + 7] = this.s0;
    to[at + 8] = this.s1;
    to[at + 9] = this.s2;
    to[at + 10] = this.s3;
  }

  /** The client's address: a copy, made when asked (for records and evidence, not per packet). */
  get cAddr(): Uint32Array {
    return Uint32Array.of(this.c0, this.c1, this.c2, this.c3);
  }

  /** The server's address: a copy, made when asked. */
  get sAddr(): Uint32Array {
    return Uint32Array.of(this.s0, this.s1, this.s2, this.s3);
  }

  /** The client's endpoint as formatEndpoint writes it, without a copy of an IPv4 address. */
  get clientText(): string {
    return endpointText(this.version, this.c0, this.c1, this.c2, this.c3, this.cPort);
  }

  /** The server's endpoint as formatEndpoint writes it. */
  get serverText(): string {
    return endpointText(this.version, this.s0, this.s1, this.s2, this.s3, this.sPort);
  }

  /** The server's address as formatAddr writes it. */
  get serverHostText(): string {
    return addressText(this.version, this.s0, this.s1, this.s2, this.s3);
  }

  isClient(a: Uint32Array, port: number): boolean {
    return port === this.cPort && (a[0] | 0) === this.c0 && (a[1] | 0) === this.c1 && (a[2] | 0) === this.c2 && (a[3] | 0) === this.c3;
  }

  isServer(a: Uint32Array, port: number): boolean {
    return port === this.sPort && (a[0] | 0) === this.s0 && (a[1] | 0) === this.s1 && (a[2] | 0) === this.s2 && (a[3] | 0) === this.s3;
  }

  /** C2S, S2C, or -1 when the endpoints (or the IP version) are not this flow's. */
  directionOf(version: number, src: Uint32Array, srcPort: number, dst: Uint32Array, dstPort: number): number {
    if (version !== this.version) return -1;
    if (this.isClient(src, srcPort) && this.isServer(dst, dstPort)) return C2S;
    if (this.isServer(src, srcPort) && this.isClient(dst, dstPort)) return S2C;
    return -1;
  }
}
