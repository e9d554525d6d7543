import type { TcpOptions } from '../decode/tcp-options.js';

/**
 * What the server side of one handshake looked like: the SYN-ACK's TTL / hop limit, the MAC it came
 * from, its window, MSS, window scale, option layout and timestamps, and which options the client's
 * SYN had offered (a stack only echoes window scale, SACK and timestamps when offered, so layouts
 * compare only between handshakes whose clients offered the same). Written once per connection,
 * at its first SYN-ACK; the fields are numbers only.
 */
export class HandshakeFp {
  /** -1 until a SYN-ACK was seen. */
  ttl = -1;
  mac = -1;
  window = -1;
  mss = -1;
  wscale = -1;
  /** TcpOptions.layout (0: no options). */
  layout = 0;
  ts = false;
  /** Bits of the options the client's SYN offered (CLIENT_OPT), -1 when its SYN was not seen. */
  clientOpts = -1;

  reset(): void {
    this.ttl = -1;
    this.mac = -1;
    this.window = -1;
    this.mss = -1;
    this.wscale = -1;
    this.layout = 0;
    this.ts = false;
    this.clientOpts = -1;
  }

  /** The same fields as `o`: field by field, not Object.assign's generic walk of the keys (once per new kind of handshake). */
  copy(o: HandshakeFp): void {
    this.ttl = o.ttl;
    this.mac = o.mac;
    this.window = o.window;
    this.mss = o.mss;
    this.wscale = o.wscale;
    this.layout = o.layout;
    this.ts = o.ts;
    this.clientOpts = o.clientOpts;
  }

  /** The SYN-ACK's fields; `o` its options (null when it had none). */
  set(ttl: number, mac: number, window: number, o: TcpOptions | null, clientOpts: number): void {
    this.ttl = ttl;
    this.mac = mac;
    this.window = window;
    this.mss = o === null ? -1 : o.mss;
    this.wscale = o === null ? -1 : o.wscale;
    this.layout = o === null ? 0 : o.layout;
    this.ts = o === null ? false : o.timestamps;
    this.clientOpts = clientOpts;
  }
}

/** Bits of HandshakeFp.clientOpts. */
export const CLIENT_OPT = { MSS: 1, WSCALE: 2, SACK: 4, TS: 8 } as const;

export function clientOptBits(mss: number, wscale: number, sack: boolean, ts: boolean): number {
  return (mss >= 0 ? CLIENT_OPT.MSS : 0) | (wscale >= 0 ? CLIENT_OPT.WSCALE : 0) | (sack ? CLIENT_OPT.SACK : 0) | (ts ? CLIENT_OPT.TS : 0);
}

/** One kind of server-side handshake seen for a server address, and in how many connections (ServerProfile.kinds). */
export class FpClass {
  readonly fp = new HandshakeFp();
  /** 0: a slot of a recycled profile (ServerProfile.reset), not a kind seen. */
  conns = 0;
  /** Frame of the first SYN-ACK of this kind. */
  frame = 0;

  /** The same kind of answer: TTL, MAC, MSS, window scale, layout, timestamps (not the window: it follows the client's MSS). ServerProfile.noteSynAck matches the same on its words. */
  matches(o: HandshakeFp): boolean {
    const f = this.fp;
    return f.ttl === o.ttl && f.mac === o.mac && f.mss === o.mss && f.wscale === o.wscale && f.layout === o.layout && f.ts === o.ts && f.clientOpts === o.clientOpts;
  }
}

/** Kinds of handshake kept per server address (a server and a box answering for it make two). */
export const MAX_FP_CLASSES = 4;
/** Ports per server address whose recent accepts are kept. */
export const MAX_PORTS = 4;
/** Accept times kept per port. */
export const ACCEPTS_KEPT = 8;

// A profile's kinds and ports, side by side in one Float64Array (ServerProfile.words): a kind is
// KIND_WORDS numbers from KIND_AT + KIND_WORDS × slot, a port PORT_WORDS from PORT_AT + PORT_WORDS
// × slot. As objects (a kind, its HandshakeFp, a port, its ring of times, the arrays of them) they
// were a dozen objects to fetch per SYN-ACK, the MACs in boxes of their own: noteSynAck and
// noteServed were 2.7 % of the dense 1 GB bench capture's text run (issue #20).
const K_TTL = 0;
const K_MAC = 1;
const K_WINDOW = 2;
const K_MSS = 3;
const K_WSCALE = 4;
const K_LAYOUT = 5;
/** 1: timestamps, 0: none. */
const K_TS = 6;
const K_CLIENT_OPTS = 7;
/** 0: a slot of a recycled profile (reset), not a kind seen. */
const K_CONNS = 8;
/** Frame of the first SYN-ACK of this kind. */
const K_FRAME = 9;
const KIND_WORDS = 10;
/** -1: a slot of a recycled profile (reset), no port. */
const P_PORT = 0;
/** How many times were ever written (the ring holds the last ACCEPTS_KEPT). */
const P_N = 1;
/** Capture time of the last accept (to pick the port to forget). */
const P_LAST_T = 2;
/** Capture time of the latest first byte of data the server sent on a connection to this port (-1 none). */
const P_SERVED_T = 3;
/** The last ACCEPTS_KEPT times (ns) the port answered a SYN with a SYN-ACK, a ring. */
const P_TIMES = 4;
const PORT_WORDS = P_TIMES + ACCEPTS_KEPT;
const KIND_AT = 0;
const PORT_AT = KIND_AT + MAX_FP_CLASSES * KIND_WORDS;
const WORDS = PORT_AT + MAX_PORTS * PORT_WORDS;

/** What a server looks like across all its connections so far: built as packets go by. */
export class ServerProfile {
  /** TTLs of packets the server sent itself (SYN-ACKs, data; not RSTs). */
  ttlMin = 256;
  ttlMax = -1;
  /** Fastest SYN → SYN-ACK, ns (-1 when never answered). */
  minRttNs = -1;
  /** Connections that still refer to this profile; unreferenced, it is kept a while (HostTable). */
  refs = 0;
  /** While unreferenced and kept: its place in HostTable's idle order (0 otherwise). */
  idleSeq = 0;
  /** The kinds and ports (see KIND_AT, PORT_AT); made at the first SYN-ACK. */
  private words: Float64Array | null = null;
  /**
   * Slots of kinds used (at most MAX_FP_CLASSES), in the order made. Those of a recycled profile
   * stay, unused (conns 0), until filled again in order.
   */
  private kindSlots = 0;
  /** Slots of ports used (at most MAX_PORTS); unused ones of a recycled profile have port -1. */
  private portSlots = 0;

  /**
   * Makes this a new server's profile, keeping its objects (HostTable hands forgotten profiles out
   * again): on a client's capture of thousands of servers, profiles were forgotten and made anew
   * all the time, and had lived long enough to be collected only by a full collection.
   */
  reset(): void {
    this.ttlMin = 256;
    this.ttlMax = -1;
    this.minRttNs = -1;
    this.refs = 0;
    this.idleSeq = 0;
    const w = this.words;
    if (w === null) return;
    for (let i = 0; i < this.kindSlots; i++) w[KIND_AT + i * KIND_WORDS + K_CONNS] = 0;
    for (let i = 0; i < this.portSlots; i++) w[PORT_AT + i * PORT_WORDS + P_PORT] = -1;
  }

  /** A connection's first SYN-ACK: its handshake kind, and an accept on its port at t. */
  noteSynAck(fp: HandshakeFp, port: number, t: number, frame: number): void {
    const w = (this.words ??= new Float64Array(WORDS));
    let cls = -1;
    let unused = -1;
    const ts = fp.ts ? 1 : 0;
    for (let i = 0, k = KIND_AT; i < this.kindSlots; i++, k += KIND_WORDS) {
      if (w[k + K_CONNS] === 0) {
        if (unused < 0) unused = k;
      } else if (w[k + K_TTL] === fp.ttl && w[k + K_MSS] === fp.mss && w[k + K_WSCALE] === fp.wscale && w[k + K_LAYOUT] === fp.layout && w[k + K_TS] === ts && w[k + K_CLIENT_OPTS] === fp.clientOpts && w[k + K_MAC] === fp.mac) {
        // FpClass.matches, on the words (keep the two alike); the kinds a profile holds differ (one
        // is made only when none matches)
        cls = k;
        break;
      }
    }
    if (cls < 0 && (unused >= 0 || this.kindSlots < MAX_FP_CLASSES)) {
      cls = unused >= 0 ? unused : KIND_AT + this.kindSlots++ * KIND_WORDS;
      w[cls + K_TTL] = fp.ttl;
      w[cls + K_MAC] = fp.mac;
      w[cls + K_WINDOW] = fp.window;
      w[cls + K_MSS] = fp.mss;
      w[cls + K_WSCALE] = fp.wscale;
      w[cls + K_LAYOUT] = fp.layout;
      w[cls + K_TS] = ts;
      w[cls + K_CLIENT_OPTS] = fp.clientOpts;
      w[cls + K_FRAME] = frame;
    }
    if (cls >= 0) w[cls + K_CONNS]++;
    let pa = -1;
    let unusedPort = -1;
    for (let i = 0, p = PORT_AT; i < this.portSlots; i++, p += PORT_WORDS) {
      if (w[p + P_PORT] === port) {
        pa = p;
        break;
      }
      if (w[p + P_PORT] === -1 && unusedPort < 0) unusedPort = p;
    }
    if (pa < 0) {
      if (unusedPort >= 0) pa = unusedPort;
      else if (this.portSlots < MAX_PORTS) pa = PORT_AT + this.portSlots++ * PORT_WORDS;
      else {
        // forget the port accepted longest ago
        pa = PORT_AT;
        for (let p = PORT_AT + PORT_WORDS; p < PORT_AT + MAX_PORTS * PORT_WORDS; p += PORT_WORDS) if (w[p + P_LAST_T] < w[pa + P_LAST_T]) pa = p;
      }
      w[pa + P_N] = 0;
      w[pa + P_SERVED_T] = -1;
      w[pa + P_PORT] = port;
    }
    const n = w[pa + P_N];
    w[pa + P_TIMES + (n % ACCEPTS_KEPT)] = t;
    w[pa + P_N] = n + 1;
    w[pa + P_LAST_T] = t;
  }

  /** A connection to `port` got its first byte of data from the server at t: the application serves. */
  noteServed(port: number, t: number): void {
    const w = this.words;
    if (w === null) return;
    for (let i = 0, p = PORT_AT; i < this.portSlots; i++, p += PORT_WORDS) if (w[p + P_PORT] === port && t > w[p + P_SERVED_T]) w[p + P_SERVED_T] = t;
  }

  /** When the application on `port` last began answering a connection (-1 never seen). */
  servedOn(port: number): number {
    const p = this.portAt(port);
    return p < 0 ? -1 : (this.words as Float64Array)[p + P_SERVED_T];
  }

  /** Accepts on `port` in [from, to] (ns), and the one nearest `at`: [count, nearest time or -1]. */
  acceptsOn(port: number, from: number, to: number, at: number): [number, number] {
    const p = this.portAt(port);
    if (p < 0) return [0, -1];
    const w = this.words as Float64Array;
    let count = 0;
    let nearest = -1;
    const kept = Math.min(w[p + P_N], ACCEPTS_KEPT);
    for (let i = 0; i < kept; i++) {
      const t = w[p + P_TIMES + i];
      if (t < from || t > to) continue;
      count++;
      if (nearest < 0 || Math.abs(t - at) < Math.abs(nearest - at)) nearest = t;
    }
    return [count, nearest];
  }

  /** Where the words of `port` begin (-1: not kept). */
  private portAt(port: number): number {
    const w = this.words;
    if (w === null) return -1;
    for (let i = 0, p = PORT_AT; i < this.portSlots; i++, p += PORT_WORDS) if (w[p + P_PORT] === port) return p;
    return -1;
  }

  /**
   * The kinds of server-side handshake seen (at most MAX_FP_CLASSES), as objects made for the
   * asking (verdict/box.ts, for a problem's record): null before the first SYN-ACK. The unused
   * slots of a recycled profile are among them, with conns 0.
   */
  kinds(): FpClass[] | null {
    const w = this.words;
    if (w === null) return null;
    const out: FpClass[] = [];
    for (let i = 0, k = KIND_AT; i < this.kindSlots; i++, k += KIND_WORDS) {
      const c = new FpClass();
      c.fp.ttl = w[k + K_TTL];
      c.fp.mac = w[k + K_MAC];
      c.fp.window = w[k + K_WINDOW];
      c.fp.mss = w[k + K_MSS];
      c.fp.wscale = w[k + K_WSCALE];
      c.fp.layout = w[k + K_LAYOUT];
      c.fp.ts = w[k + K_TS] === 1;
      c.fp.clientOpts = w[k + K_CLIENT_OPTS];
      c.conns = w[k + K_CONNS];
      c.frame = w[k + K_FRAME];
      out.push(c);
    }
    return out;
  }

  /** How many ports it keeps accepts of (for tests). */
  get portCount(): number {
    return this.portSlots;
  }
}
