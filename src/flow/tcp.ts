import { looksLikeHttpRequest } from '../decode/http.js';
import { DecodedPacket, TCP_FLAG } from '../decode/packet.js';
import { copyAddr, flowHash, tunnelNote } from './addr.js';
import { flatten } from '../memory.js';
import { C2S, FlowEndpoints, NS_PLACEHOLDER, S2C } from './endpoints.js';
import { ChainedTable } from './chained-table.js';
import type { ServerProfile } from './hosts.js';
import { clientOptBits, HandshakeFp } from './server-profile.js';
import type { AppSniffer } from './app.js';
import { SEG, SeqTracker, seqAdd } from './seq.js';
import { Exchange } from './exchange.js';
import { onlyTimestamps, readTcpOptions, TcpOptions } from '../decode/tcp-options.js';
import { EP, stepEndpointStates, synThenRst, zeekConnState, type ConnState, type EndpointState } from './conn-state.js';

export { C2S, S2C } from './endpoints.js';

/** Zeek-style history letters: upper case from the client, lower case from the server. */
const HIST = { SYN: 0, SYNACK: 1, ACK: 2, DATA: 3, FIN: 4, RST: 5 } as const;
const HIST_LETTERS = ['S', 'H', 'A', 'D', 'F', 'R'];
/**
 * History texts by TcpFlow.histOrder, made once each: a capture has a few dozen kinds of
 * connection, and the text, asked twice a described record (its state, its history), was a rope
 * of one-letter strings each time (17 MB of the dense 102 MB benchmark capture's ndjson run). Bounded:
 * 12 letters of 12 kinds could make millions.
 */
const HISTORY_TEXT = new Map<number, string>();
const MAX_HISTORY_TEXTS = 4096;

const NO_SYNS: readonly number[] = Object.freeze([]);
const firstAndLater = (first: number, later: readonly number[] | null): number[] => (later === null ? [first] : [first, ...later]);
/** Scratch for the options of the segment being read (one reader at a time). */
const OPTS = new TcpOptions();

/** How much earlier than its SYN a SYN-ACK may be captured and still be matched to it (see adoptsSyn). */
export const REORDER_NS = 1e9;

/** Facts about one side's RST, or ICMP error, that decided a flow. */
export class DecidingPacket {
  declare frame: number;
  declare t: number;
  declare ttl: number;
  declare mac: number;
  declare flags: number;
  declare seq: number;
  declare ack: number;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.frame = 0;
    this.t = 0;
    this.ttl = 0;
    this.mac = -1;
    this.flags = 0;
    this.seq = 0;
    this.ack = 0;
  }
}

export class IcmpHit {
  frame = 0;
  t = 0;
  ttl = 0;
  mac = -1;
  type = 0;
  code = 0;
  version = 4;
  from: Uint32Array;
  constructor(pkt: DecodedPacket, frame: number, t: number) {
    this.frame = frame;
    this.t = t;
    this.ttl = pkt.ttl;
    this.mac = pkt.srcMac;
    this.type = pkt.icmpType;
    this.code = pkt.icmpCode;
    this.version = pkt.ipVersion;
    this.from = copyAddr(pkt.src);
  }
}

/** What one side of a connection did (Zeek keeps TCP state per endpoint the same way). */
export class Endpoint {
  // reset() sets the first values; the initialisers are placeholders that keep all the fields in
  // the object (as TcpFlow's: 8 of the 18 were in a property array)
  packets: number = 0;
  /** Payload bytes, as the headers declare them. */
  bytes: number = 0;
  /** TTLs of this side's packets other than RSTs (256 / -1 when none). */
  ttlMin: number = 0;
  ttlMax: number = 0;
  /** Source MAC of this side's first packet (-1 none). */
  mac: number = 0;
  dataFirstT: number = NS_PLACEHOLDER;
  dataFirstFrame: number = 0;
  finT: number = NS_PLACEHOLDER;
  finFrame: number = 0;
  /** Time of this side's last packet other than a RST (-1 none). */
  lastT: number = NS_PLACEHOLDER;
  /** End (seq + length) of the furthest data this side sent, or -1 before its first data. */
  seqEnd: number = 0;
  /**
   * Next sequence number this side would send: the furthest seq + length (+1 for SYN, +1 for FIN)
   * of its packets other than RSTs, or -1 before the first. What the tombstone keeps to recognise
   * the stragglers of a closed connection (#22; #17's sequence tracking may take this over).
   */
  nextSeq: number = 0;
  /** Highest ACK this side sent (meaningful once ackSeen). */
  ackMax: number = 0;
  ackSeen: boolean = false;
  /** The segment this side keeps retransmitting (null until its first retransmission). */
  stall: Stall | null = null;
  /** This side's zero-window spells (null until its first zero window). */
  zero: ZeroWindow | null = null;
  /** Zeek's TCP endpoint state (conn-state.ts) and the one before it. */
  state: EndpointState = 0;
  prevState: EndpointState = 0;

  constructor() {
    this.reset();
  }

  /** Nothing seen yet. */
  reset(): void {
    this.packets = 0;
    this.bytes = 0;
    this.ttlMin = 256;
    this.ttlMax = -1;
    this.mac = -1;
    this.dataFirstT = -1;
    this.dataFirstFrame = 0;
    this.finT = -1;
    this.finFrame = 0;
    this.lastT = -1;
    this.seqEnd = -1;
    this.nextSeq = -1;
    this.ackMax = 0;
    this.ackSeen = false;
    this.stall = null;
    this.zero = null;
    this.state = EP.INACTIVE;
    this.prevState = EP.INACTIVE;
  }
}

/**
 * The segment one side keeps retransmitting: its seq, how many times, length, DF, first frame and
 * time. Made at a side's first retransmission: most connections have none, and these facts were
 * most of an Endpoint's size.
 */
export class Stall {
  seq = -1;
  count = 0;
  len = 0;
  df = 0;
  frame = 0;
  t = 0;
  lastT = 0;
  /** The other side acknowledged the retransmitted segment after all. */
  acked = false;
}

/** One side advertising a zero window: since when (-1 not now), and its longest such spell. Made at its first zero window. */
export class ZeroWindow {
  since = -1;
  sinceFrame = 0;
  longestNs = 0;
  frame = 0;
  t = 0;
}

/**
 * What a flow reads of a part it has not needed yet: a side and its sequence space before its
 * first packet, the request/response turns before the client's first bytes, the deciding RST before
 * one, the SYN-ACK's fingerprint before one. Shared by every flow and never written (not frozen:
 * a frozen object has a map of its own, which would make the reads of every flow's parts
 * polymorphic): a flow makes its own at its first write (TcpFlow.seqOf and the like). A flow of
 * a SYN flood never gets a server side (a heap snapshot of 100,000 such flows: 245 → 186 MB).
 */
export const UNSEEN_ENDPOINT = new Endpoint();
export const UNSEEN_SEQ = new SeqTracker();
export const UNSEEN_XCHG = new Exchange();
export const UNSEEN_RST = new DecidingPacket();
export const UNSEEN_FP = new HandshakeFp();

/**
 * One TCP connection attempt: a 5-tuple plus the ISN of its first SYN. Every field is a fact
 * observed in packets (capture time, in ns since the capture's first record); the verdict
 * layer turns them into an outcome.
 */
export class TcpFlow extends FlowEndpoints {
  // Every field but the parts made at their first write (ep, rst, fp, seqs, xchg) is set by
  // init(), for a new object and for a reused one alike: the first values are there, in one
  // list. The initialisers here are placeholders of each field's type, there for V8: it sizes an
  // object by the fields its class defines, and the 43 fields that only init() assigned
  // (declared, not initialised) lived outside it, in a property array (one more load per
  // access, and a new flow's array grown three fields at a time).

  /** Next flow in the same hash bucket. */
  nextInBucket: TcpFlow | null = null;
  /** Its place in the order flows were inserted into the table (ChainedTable). */
  inserted: number = 0;
  hash: number = 0;
  /** True when the SYN was seen; otherwise the roles are guessed and the flow is midstream. */
  sawSyn: boolean = false;
  isn: number = 0;
  firstFrame: number = 0;
  firstSec: number = 0;
  firstNsec: number = 0;
  firstT: number = NS_PLACEHOLDER;
  lastT: number = NS_PLACEHOLDER;
  lastFrame: number = 0;

  /**
   * The client's and the server's side (side(C2S) is the client's), UNSEEN_ENDPOINT before a packet
   * of that side: fields of the flow, not an array of its own (one object less to fetch from memory
   * a packet).
   */
  private epC: Endpoint = UNSEEN_ENDPOINT;
  private epS: Endpoint = UNSEEN_ENDPOINT;
  /** Destination MAC of the client's packets: the gateway, when the server is routed. */
  cDstMac: number = 0;
  /** History letters seen: bits 0–5 from the client, 8–13 from the server (HIST). */
  private histSeen: number = 0;
  /** The same letters in order of first appearance, 4 bits each (HIST index + 1, +8 from the server). */
  private histOrder: number = 0;

  synCount: number = 0;
  lastSynT: number = NS_PLACEHOLDER;
  /**
   * Time and frame of the first SYN (-1 and 0 before it), and of up to 15 retransmissions after it
   * (they keep the ISN; null while there are none). Fields, not a list from the first SYN on: two
   * arrays a connection lived as long as the flow, long enough to be promoted (~110 bytes a
   * connection); synTimes and synFrames make the lists when a record is described.
   */
  firstSynT: number = NS_PLACEHOLDER;
  firstSynFrame: number = 0;
  private laterSynTimes: number[] | null = null;
  private laterSynFrames: number[] | null = null;
  synAckFrame: number = 0;
  synAckT: number = NS_PLACEHOLDER;
  synAckTtl: number = 0;
  synAckCount: number = 0;
  synAckAckOk: boolean = false;
  /** The server side of the handshake as its first SYN-ACK showed it (compared across connections: attribute.ts); UNSEEN_FP before it. */
  private fpOwn: HandshakeFp = UNSEEN_FP;
  /** The first SYN-ACK's sequence (the server's ISN) and acknowledgement numbers. */
  serverIsn: number = 0;
  synAckAck: number = 0;
  hsAckFrame: number = 0;
  hsAckT: number = NS_PLACEHOLDER;
  /**
   * The server's first answer to the SYN that was a plain ACK rather than a SYN-ACK (a challenge
   * ACK, RFC 5961: it still holds an older connection on these ports): its frame (0 none), time
   * and ACK number; and the client's RST answering it (RFC 9293: a RST with seq = that ACK, which
   * leaves the client in SYN-SENT, retrying its SYN), 0 none. That RST is not the flow's RST.
   */
  challengeFrame: number = 0;
  challengeT: number = NS_PLACEHOLDER;
  challengeAck: number = 0;
  challengeRstFrame: number = 0;
  /** RSTs from the client without ACK set: they do not show that the client saw a SYN-ACK. */
  cBareRsts: number = 0;
  /** First RST and its direction (-1 none). */
  rstDir: number = 0;
  rstCount: number = 0;
  /** UNSEEN_RST before the first. */
  private rstOwn: DecidingPacket = UNSEEN_RST;
  /** Gap between the RST and the last packet from the other side, ns. */
  rstGapNs: number = NS_PLACEHOLDER;
  /** Whether data had flowed (either way) before the RST. */
  rstAfterData: boolean = false;
  /** Whether the RST sender's peer had already sent FIN. */
  rstAfterPeerFin: boolean = false;
  icmp: IcmpHit | null = null;
  icmpCount: number = 0;
  /** For port 53: DNS-over-TCP stream reassembly state per direction. */
  dnsStream: DnsStream[] | null = null;
  /** The server's profile across connections (TTLs, fastest handshake), updated by this flow. */
  profile: ServerProfile | null = null;
  profileKey: number | string = 0;
  /** The first flow seen on its 4-tuple (a new TCP conversation, as tshark counts them). */
  firstOfConversation: boolean = false;
  /** TLS or HTTP read from the first application bytes (null before any data, or when not sniffed). */
  app: AppSniffer | null = null;
  /** No more application bytes are needed (sniffed, or not TLS/HTTP). */
  appDone: boolean = false;
  /** An ICMP fragmentation-needed / packet-too-big quoting this flow was seen. */
  sawPmtuIcmp: boolean = false;

  /** The tunnel its first packet came through (VXLAN, GRE, …), for the evidence; null when none. */
  tunnel: string | null = null;

  /** Each direction's sequence space (seq.ts): seq(C2S) is what the client sent; UNSEEN_SEQ before a packet of that direction (fields, as epC and epS). */
  private seqC: SeqTracker = UNSEEN_SEQ;
  private seqS: SeqTracker = UNSEEN_SEQ;
  /** Request/response turns (exchange.ts); UNSEEN_XCHG before the client's first bytes. */
  private xchgOwn: Exchange = UNSEEN_XCHG;

  constructor(pkt: DecodedPacket, frame: number, sec: number, nsec: number, t: number, hash: number, clientIsSrc: boolean, sawSyn: boolean) {
    super();
    this.setEndpointsOf(pkt, clientIsSrc);
    this.init(pkt, frame, sec, nsec, t, hash, sawSyn);
  }

  /**
   * Makes this object the flow that `pkt` begins, as the constructor would, forgetting the flow
   * it was (which must be out of every table and reported). See FreeList.
   */
  reuse(pkt: DecodedPacket, frame: number, sec: number, nsec: number, t: number, hash: number, clientIsSrc: boolean, sawSyn: boolean): void {
    this.setEndpointsOf(pkt, clientIsSrc);
    // the parts the flow it was had made are kept for the next (none written to the UNSEEN ones)
    if (this.epC !== UNSEEN_ENDPOINT) this.epC.reset();
    if (this.epS !== UNSEEN_ENDPOINT) this.epS.reset();
    if (this.rstOwn !== UNSEEN_RST) this.rstOwn.reset();
    if (this.seqC !== UNSEEN_SEQ) this.seqC.reset();
    if (this.seqS !== UNSEEN_SEQ) this.seqS.reset();
    if (this.xchgOwn !== UNSEEN_XCHG) this.xchgOwn.reset();
    if (this.fpOwn !== UNSEEN_FP) this.fpOwn.reset();
    this.init(pkt, frame, sec, nsec, t, hash, sawSyn);
  }

  private init(pkt: DecodedPacket, frame: number, sec: number, nsec: number, t: number, hash: number, sawSyn: boolean): void {
    this.nextInBucket = null;
    this.hash = hash;
    this.sawSyn = sawSyn;
    this.isn = sawSyn ? pkt.seq : 0;
    this.firstFrame = frame;
    this.firstSec = sec;
    this.firstNsec = nsec;
    this.firstT = t;
    this.lastT = t;
    this.lastFrame = frame;
    this.cDstMac = -1;
    this.histSeen = 0;
    this.histOrder = 0;
    this.synCount = 0;
    this.lastSynT = 0;
    this.firstSynT = -1;
    this.firstSynFrame = 0;
    this.laterSynTimes = null;
    this.laterSynFrames = null;
    this.synAckFrame = 0;
    this.synAckT = -1;
    this.synAckTtl = 0;
    this.synAckCount = 0;
    this.synAckAckOk = true;
    this.serverIsn = 0;
    this.synAckAck = 0;
    this.hsAckFrame = 0;
    this.hsAckT = -1;
    this.challengeFrame = 0;
    this.challengeT = 0;
    this.challengeAck = 0;
    this.challengeRstFrame = 0;
    this.cBareRsts = 0;
    this.rstDir = -1;
    this.rstCount = 0;
    this.rstGapNs = 0;
    this.rstAfterData = false;
    this.rstAfterPeerFin = false;
    this.icmp = null;
    this.icmpCount = 0;
    this.dnsStream = null;
    this.profile = null;
    this.profileKey = 0;
    this.firstOfConversation = false;
    this.app = null;
    this.appDone = false;
    this.sawPmtuIcmp = false;
    this.tunnel = tunnelNote(pkt);
  }

  /** 0 if the packet goes client→server, 1 if server→client, -1 if it is not this flow's. */
  direction(pkt: DecodedPacket): number {
    return this.directionOf(pkt.ipVersion, pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort);
  }

  /** Over: FINs both ways, or a RST that ended it (not one the connection went on after for over a second). */
  get closed(): boolean {
    return (this.rstDir >= 0 && this.lastT - this.rst.t < 1e9) || (this.c.finT >= 0 && this.s.finT >= 0);
  }

  /** The first RST's facts (UNSEEN_RST's placeholders before one: rstDir -1). */
  get rst(): DecidingPacket {
    return this.rstOwn;
  }

  /** Direction `dir`'s sequence space: seq(C2S) is what the client sent. */
  seq(dir: number): SeqTracker {
    return dir === C2S ? this.seqC : this.seqS;
  }

  /** Request/response turns. */
  get xchg(): Exchange {
    return this.xchgOwn;
  }

  /** The server side of the handshake as its first SYN-ACK showed it (its placeholders before one). */
  get fp(): HandshakeFp {
    return this.fpOwn;
  }

  /** The side sending in direction `dir` (side(C2S) is the client), UNSEEN_ENDPOINT before its first packet. */
  side(dir: number): Endpoint {
    return dir === C2S ? this.epC : this.epS;
  }

  /** The side sending in direction `dir`, made at its first packet. */
  private endpointOf(dir: number): Endpoint {
    const e = this.side(dir);
    if (e !== UNSEEN_ENDPOINT) return e;
    return dir === C2S ? (this.epC = new Endpoint()) : (this.epS = new Endpoint());
  }

  /** Direction `dir`'s sequence space, made at its first write. */
  private seqOf(dir: number): SeqTracker {
    const s = this.seq(dir);
    if (s !== UNSEEN_SEQ) return s;
    return dir === C2S ? (this.seqC = new SeqTracker()) : (this.seqS = new SeqTracker());
  }

  /** The client's side. */
  get c(): Endpoint {
    return this.epC;
  }

  /** The server's side. */
  get s(): Endpoint {
    return this.epS;
  }

  get established(): boolean {
    return this.hsAckT >= 0;
  }

  private mark(dir: number, letter: number): void {
    const bit = 1 << (letter + 8 * dir);
    if ((this.histSeen & bit) === 0) {
      this.histSeen |= bit;
      // at most 12 letters of 4 bits: 48 bits, exact in a double
      this.histOrder = this.histOrder * 16 + letter + 1 + 8 * dir;
    }
  }

  /** Zeek-style history, e.g. "ShADadFf": built when a record asks, not per packet. */
  get history(): string {
    const order = this.histOrder;
    const known = HISTORY_TEXT.get(order);
    if (known !== undefined) return known;
    let s = '';
    for (let o = order; o > 0; o = Math.floor(o / 16)) {
      const code = (o % 16) - 1;
      const ch = HIST_LETTERS[code & 7];
      s = (code >= 8 ? ch.toLowerCase() : ch) + s;
    }
    if (HISTORY_TEXT.size < MAX_HISTORY_TEXTS) HISTORY_TEXT.set(order, flatten(s));
    return s;
  }

  /** Folds one packet of this flow into the facts (`u8`: the captured bytes pkt's offsets index). */
  observe(pkt: DecodedPacket, u8: Uint8Array, dir: number, frame: number, t: number): void {
    const flags = pkt.tcpFlags;
    this.lastT = t;
    this.lastFrame = frame;
    const ep = this.endpointOf(dir);
    // without SYN, FIN or RST, only a side still inactive changes state (stepEndpointStates): most
    // packets of a connection are neither, and skip the call. It writes the other side only in a
    // state that side's own packets led to (SYN_SENT, RESET): never UNSEEN_ENDPOINT, INACTIVE.
    if ((flags & (TCP_FLAG.SYN | TCP_FLAG.FIN | TCP_FLAG.RST)) !== 0 || ep.state === EP.INACTIVE) stepEndpointStates(ep, this.side(1 - dir), dir === C2S, flags, pkt.payloadWireLen);
    ep.packets++;
    ep.bytes += pkt.payloadWireLen;
    if (ep.mac < 0) ep.mac = pkt.srcMac;
    if (dir === C2S && this.cDstMac < 0) this.cDstMac = pkt.dstMac;
    if (flags & TCP_FLAG.RST) {
      this.mark(dir, HIST.RST);
      this.noteRst(pkt, dir, frame, t);
      return;
    }
    if (pkt.ttl < ep.ttlMin) ep.ttlMin = pkt.ttl;
    if (pkt.ttl > ep.ttlMax) ep.ttlMax = pkt.ttl;
    const next = (pkt.seq + pkt.payloadWireLen + (flags & TCP_FLAG.SYN ? 1 : 0) + (flags & TCP_FLAG.FIN ? 1 : 0)) >>> 0;
    if (ep.nextSeq < 0 || ((next - ep.nextSeq) | 0) > 0) ep.nextSeq = next;
    if (flags & TCP_FLAG.ACK) this.noteAck(pkt, dir, ep, frame, t);
    if (pkt.payloadWireLen > 0) noteData(pkt, ep, frame, t);
    this.trackSeq(pkt, u8, dir, frame, t);
    const prof = this.profile;
    if (dir === S2C && prof !== null) {
      if (pkt.ttl < prof.ttlMin) prof.ttlMin = pkt.ttl;
      if (pkt.ttl > prof.ttlMax) prof.ttlMax = pkt.ttl;
    }
    if (dir === C2S) this.fromClient(pkt, flags, frame, t);
    else this.fromServer(pkt, flags, frame, t);
    if (pkt.payloadWireLen > 0) {
      this.mark(dir, HIST.DATA);
      if (ep.dataFirstT < 0) {
        ep.dataFirstT = t;
        ep.dataFirstFrame = frame;
        if (dir === S2C && prof !== null) prof.noteServed(this.sPort, t);
      }
    }
    if (flags & TCP_FLAG.FIN && ep.finT < 0) {
      this.mark(dir, HIST.FIN);
      ep.finT = t;
      ep.finFrame = frame;
    }
    ep.lastT = t;
  }

  /** ACK number and window of a non-RST packet: progress for the peer's stall, zero-window spells. */
  private noteAck(pkt: DecodedPacket, dir: number, ep: Endpoint, frame: number, t: number): void {
    if (!ep.ackSeen || ((pkt.ack - ep.ackMax) | 0) > 0) {
      ep.ackMax = pkt.ack;
      ep.ackSeen = true;
    }
    const st = this.side(1 - dir).stall; // null on UNSEEN_ENDPOINT
    if (st !== null && !st.acked && ((pkt.ack - st.seq) | 0) > 0) st.acked = true;
    if (pkt.tcpFlags & TCP_FLAG.SYN) return;
    if (pkt.window === 0) {
      const z = (ep.zero ??= new ZeroWindow());
      if (z.since < 0) {
        z.since = t;
        z.sinceFrame = frame;
      }
    } else if (ep.zero !== null && ep.zero.since >= 0) {
      endZeroSpell(ep.zero, t);
    }
  }

  /** Sequence space, SACK, duplicate ACKs and request/response turns (seq.ts, exchange.ts). */
  private trackSeq(pkt: DecodedPacket, u8: Uint8Array, dir: number, frame: number, t: number): void {
    const flags = pkt.tcpFlags;
    const me = this.seqOf(dir);
    const optEnd = pkt.payloadOff;
    let sacks = 0;
    if (optEnd - pkt.l4Off > 20 && ((flags & TCP_FLAG.SYN) !== 0 || !onlyTimestamps(u8, pkt.l4Off, optEnd))) {
      readTcpOptions(u8, pkt.l4Off, optEnd, OPTS);
      if (flags & TCP_FLAG.SYN) me.synOptions(OPTS);
      sacks = OPTS.sackBlocks;
    }
    if (dir === S2C && (flags & TCP_FLAG.SYN) !== 0 && (flags & TCP_FLAG.ACK) !== 0 && this.synAckT < 0) {
      const cs = this.seqC;
      const clientOpts = this.sawSyn ? clientOptBits(cs.mss, cs.wscale, cs.sackOk, cs.timestamps) : -1;
      if (this.fpOwn === UNSEEN_FP) this.fpOwn = new HandshakeFp();
      this.fpOwn.set(pkt.ttl, pkt.srcMac, pkt.window, optEnd - pkt.l4Off > 20 ? OPTS : null, clientOpts);
    }
    const len = pkt.payloadWireLen;
    if (flags & TCP_FLAG.SYN) me.syn(pkt.seq);
    else if (len > 0 || (flags & TCP_FLAG.FIN) !== 0) {
      const kind = me.data(pkt.seq, len, (flags & TCP_FLAG.FIN) !== 0, frame, t);
      if (kind === SEG.New && len > 0) {
        // a later turn that begins with an HTTP/1.x request line must be answered too (tcp-response.ts)
        if (dir === C2S) {
          const x = this.xchgOwn !== UNSEEN_XCHG ? this.xchgOwn : (this.xchgOwn = new Exchange());
          x.request(len, seqAdd(pkt.seq, len), frame, t, x.waitT < 0 && x.turns > 0 && looksLikeHttpRequest(u8, pkt.payloadOff, pkt.payloadOff + pkt.payloadLen) ? 1 : 0);
        }
        // response and serverAck write only while a turn waits (waitT >= 0): never to UNSEEN_XCHG
        else this.xchgOwn.response(frame, t);
      }
    }
    if (flags & TCP_FLAG.ACK) {
      // a side not started yet (no packet of its own) takes no ACK or SACK (SeqTracker.ack): the
      // placeholder serves a capture of one direction
      const peer = this.seq(1 - dir);
      const unseen = peer.unseenBytes;
      peer.ack(pkt.ack, pkt.window, len === 0 && (flags & (TCP_FLAG.SYN | TCP_FLAG.FIN)) === 0, frame);
      for (let i = 0; i < sacks; i++) peer.sack(OPTS.sack[2 * i], OPTS.sack[2 * i + 1], frame, t);
      if (dir === S2C) this.xchgOwn.serverAck(pkt.ack, frame, t);
      // the client acknowledged server bytes the capture missed: the server did answer
      else if (peer.unseenBytes > unseen) this.xchgOwn.response(frame, t);
    }
  }

  /** How long `ep` has advertised a zero window, counting a spell still open at `now`. */
  zeroWindowNs(ep: Endpoint, now: number): number {
    const z = ep.zero;
    if (z === null) return 0;
    const open = z.since >= 0 ? now - z.since : 0;
    return open > z.longestNs ? open : z.longestNs;
  }

  /** A SYN of this attempt: the first, or a retransmission with the same ISN. */
  noteSyn(frame: number, t: number): void {
    this.synCount++;
    this.lastSynT = t;
    if (this.synCount === 1) {
      this.firstSynT = t;
      this.firstSynFrame = frame;
    } else if (this.laterSynTimes === null || this.laterSynFrames === null) {
      this.laterSynTimes = [t];
      this.laterSynFrames = [frame];
    } else if (this.laterSynTimes.length < 15) {
      this.laterSynTimes.push(t);
      this.laterSynFrames.push(frame);
    }
  }

  /** Times of the SYNs kept (the first 16), in order; made anew each call. */
  get synTimes(): readonly number[] {
    return this.synCount === 0 ? NO_SYNS : firstAndLater(this.firstSynT, this.laterSynTimes);
  }

  /** Frames of the SYNs kept, as synTimes. */
  get synFrames(): readonly number[] {
    return this.synCount === 0 ? NO_SYNS : firstAndLater(this.firstSynFrame, this.laterSynFrames);
  }

  private fromClient(pkt: DecodedPacket, flags: number, frame: number, t: number): void {
    if (flags & TCP_FLAG.SYN) {
      if (!(flags & TCP_FLAG.ACK)) {
        this.mark(C2S, HIST.SYN);
        this.noteSyn(frame, t);
      }
    } else if (flags & TCP_FLAG.ACK) {
      if (this.synAckT >= 0 && this.hsAckT < 0 && this.completesHandshake(pkt)) {
        this.hsAckT = t;
        this.hsAckFrame = frame;
      }
      if (pkt.payloadWireLen === 0) this.mark(C2S, HIST.ACK);
    }
  }

  /**
   * Whether this client ACK completes the handshake: it acknowledges the SYN-ACK (the server's
   * ISN+1, or server data after it, when the bare final ACK was not captured), and no RST ended
   * the attempt before it (an ACK after the client's own RST answers nothing: urgent11 scans).
   */
  private completesHandshake(pkt: DecodedPacket): boolean {
    if (this.rstDir >= 0) return false;
    const past = (pkt.ack - this.serverIsn - 1) | 0;
    return past >= 0 && past <= this.s.bytes + 1;
  }

  /**
   * A SYN-ACK captured before its SYN (tcpdump -i any merges per-CPU buffers, so a reply can be
   * written a few µs before the packet it answers): this flow, begun by the SYN-ACK, takes the
   * client's SYN when it comes within REORDER_NS and is the SYN the SYN-ACK acknowledges.
   * Afterwards the flow is as if the SYN had come first (history "Sh…", roles, ISN).
   */
  adoptsSyn(pkt: DecodedPacket, t: number): boolean {
    if (this.sawSyn || this.synAckCount === 0 || this.c.packets > 0 || t - this.synAckT > REORDER_NS) return false;
    if ((pkt.seq + 1) >>> 0 !== this.synAckAck || this.direction(pkt) !== C2S) return false;
    this.sawSyn = true;
    this.isn = pkt.seq;
    this.synAckAckOk = true;
    this.histSeen = 0;
    this.histOrder = 0;
    this.mark(C2S, HIST.SYN);
    this.mark(S2C, HIST.SYNACK);
    // the client has sent nothing yet (c.packets is 0): its side is made here
    const c = this.endpointOf(C2S);
    const s = this.endpointOf(S2C);
    c.state = c.prevState = s.state = s.prevState = EP.INACTIVE;
    stepEndpointStates(c, s, true, TCP_FLAG.SYN, 0);
    stepEndpointStates(s, c, false, TCP_FLAG.SYN | TCP_FLAG.ACK, 0);
    return true;
  }

  private fromServer(pkt: DecodedPacket, flags: number, frame: number, t: number): void {
    if ((flags & (TCP_FLAG.SYN | TCP_FLAG.ACK)) === (TCP_FLAG.SYN | TCP_FLAG.ACK)) {
      this.mark(S2C, HIST.SYNACK);
      this.synAckCount++;
      if (this.synAckT < 0) {
        // a server-side RST+ACK before it that did not acknowledge the SYN was unacceptable to the
        // client (RFC 9293, SYN-SENT), and the server answered after all: it ended nothing (an
        // injected RST, Zeek's rst-inject-rae); forget it so that the connection's own RST counts
        if (this.rstDir === S2C && this.sawSyn && this.rstOwn.flags & TCP_FLAG.ACK && this.rstOwn.ack !== (this.isn + 1) >>> 0) {
          this.rstDir = -1;
          this.rstCount--;
          this.rstOwn.reset(); // rstDir was set: its own
        }
        this.synAckT = t;
        this.synAckFrame = frame;
        this.synAckTtl = pkt.ttl;
        this.synAckAckOk = !this.sawSyn || pkt.ack === (this.isn + 1) >>> 0;
        this.serverIsn = pkt.seq;
        this.synAckAck = pkt.ack;
        const rtt = t - this.lastSynT;
        const prof = this.profile;
        if (this.sawSyn && prof !== null && rtt >= 0 && (prof.minRttNs < 0 || rtt < prof.minRttNs)) prof.minRttNs = rtt;
        if (this.sawSyn && prof !== null) prof.noteSynAck(this.fp, this.sPort, t, frame);
      }
    } else if (flags & TCP_FLAG.ACK && pkt.payloadWireLen === 0) {
      this.mark(S2C, HIST.ACK);
      // not an ACK of this SYN (ISN+1: its SYN-ACK was then lost from the capture) but of something older
      if (this.sawSyn && this.synAckT < 0 && this.challengeFrame === 0 && (flags & TCP_FLAG.FIN) === 0 && pkt.ack !== (this.isn + 1) >>> 0) {
        this.challengeFrame = frame;
        this.challengeT = t;
        this.challengeAck = pkt.ack;
      }
    }
  }

  private noteRst(pkt: DecodedPacket, dir: number, frame: number, t: number): void {
    if (dir === C2S && !(pkt.tcpFlags & TCP_FLAG.ACK)) {
      this.cBareRsts++;
      // the client's RFC 9293 answer to a challenge ACK: it stays in SYN-SENT and retries its SYN
      if (this.challengeFrame > 0 && this.synAckT < 0 && this.rstDir < 0 && pkt.seq === this.challengeAck) {
        if (this.challengeRstFrame === 0) this.challengeRstFrame = frame;
        return;
      }
    }
    this.rstCount++;
    if (this.rstDir >= 0) return;
    this.rstDir = dir;
    const r = this.rstOwn !== UNSEEN_RST ? this.rstOwn : (this.rstOwn = new DecidingPacket());
    r.frame = frame;
    r.t = t;
    r.ttl = pkt.ttl;
    r.mac = pkt.srcMac;
    r.flags = pkt.tcpFlags;
    r.seq = pkt.seq;
    r.ack = pkt.ack;
    const peer = this.side(1 - dir);
    this.rstGapNs = peer.lastT >= 0 ? t - peer.lastT : t - this.firstT;
    this.rstAfterData = this.c.dataFirstT >= 0 || this.s.dataFirstT >= 0;
    this.rstAfterPeerFin = peer.finT >= 0;
    if (pkt.payloadWireLen > 0) this.mark(dir, HIST.DATA);
  }
}

/** Data from one side: a new segment moves seqEnd on; one wholly below it is a retransmission. */
function noteData(pkt: DecodedPacket, ep: Endpoint, frame: number, t: number): void {
  const end = (pkt.seq + pkt.payloadWireLen) >>> 0;
  if (ep.seqEnd < 0 || ((end - ep.seqEnd) | 0) > 0) {
    ep.seqEnd = end;
    return;
  }
  const st = (ep.stall ??= new Stall());
  if (pkt.seq === st.seq && !st.acked) {
    st.count++;
    st.lastT = t;
    return;
  }
  if (st.count >= 3 && !st.acked) return; // keep the first segment that died
  st.seq = pkt.seq;
  st.count = 1;
  st.len = pkt.payloadWireLen;
  st.df = pkt.ipVersion === 6 ? 1 : pkt.dontFragment;
  st.frame = frame;
  st.t = st.lastT = t;
  st.acked = false;
}

function endZeroSpell(z: ZeroWindow, t: number): void {
  const d = t - z.since;
  if (d > z.longestNs) {
    z.longestNs = d;
    z.frame = z.sinceFrame;
    z.t = z.since;
  }
  z.since = -1;
}

/** Reassembles one direction of a DNS-over-TCP stream (in order only; a gap drops the partial message). */
export class DnsStream {
  nextSeq = -1;
  buf: Buffer = Buffer.alloc(0);
}

/** All TCP attempts being tracked, by a direction-free hash of the 4-tuple. */
export class TcpTable extends ChainedTable<TcpFlow> {
  /**
   * The flow last found or inserted (null once removed), and `dir`, the direction of the packet
   * found last in its flow. Most packets of a busy capture belong to the flow of the packet
   * before (58 % on a bulk capture): recentOf tells without hashing the 4-tuple or a Map lookup.
   */
  private recent: TcpFlow | null = null;
  dir = -1;

  /** The flow of `pkt` when it is the one last found or inserted (its direction then in `dir`), else null. */
  recentOf(pkt: DecodedPacket): TcpFlow | null {
    const r = this.recent;
    if (r === null) return null;
    const d = r.direction(pkt);
    if (d < 0) return null;
    this.dir = d;
    return r;
  }

  /** The flow of `pkt` (its direction then in `dir`), or null. */
  find(pkt: DecodedPacket, hash: number): TcpFlow | null {
    for (let f = this.head(hash); f !== null; f = f.nextInBucket) {
      const d = f.direction(pkt);
      if (d >= 0) {
        this.recent = f;
        this.dir = d;
        return f;
      }
    }
    return null;
  }

  override insert(item: TcpFlow): void {
    super.insert(item);
    this.recent = item;
  }

  override remove(item: TcpFlow): boolean {
    if (item === this.recent) this.recent = null;
    return super.remove(item);
  }

  /** The flow with these two endpoints, either way round (for ICMP quotes). */
  findByEndpoints(version: number, a: Uint32Array, aPort: number, b: Uint32Array, bPort: number): TcpFlow | null {
    const hash = flowHash(a, aPort, b, bPort);
    for (let f = this.head(hash); f !== null; f = f.nextInBucket) if (f.directionOf(version, a, aPort, b, bPort) >= 0) return f;
    return null;
  }
}

/** A flow's conn_state, from its endpoints' Zeek states (the client is Zeek's originator). */
export function connState(f: TcpFlow): ConnState {
  return zeekConnState(f.c.state, f.s.state, f.c.bytes === 0 && f.s.bytes === 0, synThenRst(f.history));
}
