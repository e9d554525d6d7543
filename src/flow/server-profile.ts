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

/** One kind of server-side handshake seen for a server address, and in how many connections. */
export class FpClass {
  readonly fp = new HandshakeFp();
  /** 0: a slot of a recycled profile (ServerProfile.reset), not a kind seen. */
  conns = 0;
  /** Frame of the first SYN-ACK of this kind. */
  frame = 0;

  /** The same kind of answer: TTL, MAC, MSS, window scale, layout, timestamps (not the window: it follows the client's MSS). */
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

/** The last ACCEPTS_KEPT times (ns) a server port answered a SYN with a SYN-ACK. */
export class PortAccepts {
  /** -1: a slot of a recycled profile (ServerProfile.reset), no port. */
  port = -1;
  /**
   * A ring of ACCEPTS_KEPT times (ns), of doubles from the start: a Float64Array of 8 took ~250
   * bytes with its buffer (10,000 of them on the dense 1 GB bench capture), this ~110.
   */
  readonly times: number[] = new Array<number>(ACCEPTS_KEPT).fill(0.5);
  /** How many times were ever written (the ring holds the last ACCEPTS_KEPT). */
  n = 0;
  /** Capture time of the last accept (to pick the port to forget). */
  lastT = -1;
  /** Capture time of the latest first byte of data the server sent on a connection to this port (-1 none). */
  servedT = -1;

  add(t: number): void {
    this.times[this.n % ACCEPTS_KEPT] = t;
    this.n++;
    this.lastT = t;
  }
}

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
  /**
   * The kinds of server-side handshake seen (at most MAX_FP_CLASSES; made at the first SYN-ACK).
   * Those of a recycled profile stay, unused (conns 0), until filled again in order.
   */
  fps: FpClass[] | null = null;
  /** Recent accepts per server port (at most MAX_PORTS); unused ones of a recycled profile have port -1. */
  ports: PortAccepts[] | null = null;

  /**
   * Makes this a new server's profile, keeping its objects (HostTable hands forgotten profiles out
   * again): on a client's capture of thousands of servers, profiles were forgotten and made anew
   * all the time, 1.5 KB each (the arrays, kinds and accept rings) that had lived long enough to
   * be collected only by a full collection.
   */
  reset(): void {
    this.ttlMin = 256;
    this.ttlMax = -1;
    this.minRttNs = -1;
    this.refs = 0;
    this.idleSeq = 0;
    if (this.fps !== null) for (const c of this.fps) c.conns = 0;
    if (this.ports !== null) for (const p of this.ports) p.port = -1;
  }

  /** A connection's first SYN-ACK: its handshake kind, and an accept on its port at t. */
  noteSynAck(fp: HandshakeFp, port: number, t: number, frame: number): void {
    const fps = (this.fps ??= []);
    let cls: FpClass | null = null;
    let unused: FpClass | null = null;
    // indexed loops: for…of here made an iterator result per step in a heap profile of the dense bench run
    for (let i = 0; i < fps.length; i++) {
      const c = fps[i];
      if (c.conns === 0) unused ??= c;
      else if (c.matches(fp)) cls = c;
    }
    if (cls === null && (unused !== null || fps.length < MAX_FP_CLASSES)) {
      if (unused === null) {
        cls = new FpClass();
        fps.push(cls);
      } else cls = unused;
      cls.fp.copy(fp);
      cls.frame = frame;
    }
    if (cls !== null) cls.conns++;
    const ports = (this.ports ??= []);
    let pa: PortAccepts | null = null;
    let unusedPort: PortAccepts | null = null;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i];
      if (p.port === port) pa = p;
      else if (p.port === -1) unusedPort ??= p;
    }
    if (pa === null) {
      if (unusedPort !== null) pa = unusedPort;
      else if (ports.length < MAX_PORTS) {
        pa = new PortAccepts();
        ports.push(pa);
      } else {
        // forget the port accepted longest ago
        pa = ports[0];
        for (const p of ports) if (p.lastT < pa.lastT) pa = p;
      }
      pa.n = 0;
      pa.servedT = -1;
      pa.port = port;
    }
    pa.add(t);
  }

  /** A connection to `port` got its first byte of data from the server at t: the application serves. */
  noteServed(port: number, t: number): void {
    if (this.ports === null) return;
    const ports = this.ports;
    for (let i = 0; i < ports.length; i++) if (ports[i].port === port && t > ports[i].servedT) ports[i].servedT = t;
  }

  /** When the application on `port` last began answering a connection (-1 never seen). */
  servedOn(port: number): number {
    if (this.ports === null) return -1;
    for (const p of this.ports) if (p.port === port) return p.servedT;
    return -1;
  }

  /** Accepts on `port` in [from, to] (ns), and the one nearest `at`: [count, nearest time or -1]. */
  acceptsOn(port: number, from: number, to: number, at: number): [number, number] {
    if (this.ports === null) return [0, -1];
    for (const p of this.ports) {
      if (p.port !== port) continue;
      let count = 0;
      let nearest = -1;
      const kept = Math.min(p.n, ACCEPTS_KEPT);
      for (let i = 0; i < kept; i++) {
        const t = p.times[i];
        if (t < from || t > to) continue;
        count++;
        if (nearest < 0 || Math.abs(t - at) < Math.abs(nearest - at)) nearest = t;
      }
      return [count, nearest];
    }
    return [0, -1];
  }
}
