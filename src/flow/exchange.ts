import { seqGe } from './seq.js';
import { NS_PLACEHOLDER } from './endpoints.js';

/**
 * A connection's request/response turns: the client sends (a request: new bytes after the server's
 * last data), the server answers (its first new bytes after them). Per turn the time to the first
 * byte of the answer; the first turn's and the slowest turn's times are kept, and the turn still
 * waiting, with whether the server's stack acknowledged it (the host is up; the application did
 * not answer). Numbers only, updated in place: no allocation per packet.
 */
export class Exchange {
  /** The turn waiting for an answer: time and frame of its first byte (-1 none), its bytes, the seq after it. */
  waitT = NS_PLACEHOLDER;
  waitFrame = 0;
  waitBytes = 0;
  waitEnd = 0;
  /** Time of the waiting turn's last new byte. */
  waitLastT = NS_PLACEHOLDER;
  /** 1 when the waiting turn begins with an HTTP/1.x request line: a request that must be answered. */
  waitHttp = 0;
  /** The server acknowledged all of the waiting turn's bytes: when, in which frame (-1 not yet). */
  waitAckT = NS_PLACEHOLDER;
  waitAckFrame = 0;
  /** Turns answered, the first one's response time, and the slowest, with their frames (-1 none). */
  turns = 0;
  firstNs = NS_PLACEHOLDER;
  firstReqFrame = 0;
  firstRespFrame = 0;
  slowestNs = NS_PLACEHOLDER;
  slowestReqFrame = 0;
  slowestRespFrame = 0;

  // the placeholders above are there for V8 (NS_PLACEHOLDER); reset() sets the first values
  constructor() {
    this.reset();
  }

  reset(): void {
    this.waitT = -1;
    this.waitFrame = 0;
    this.waitBytes = 0;
    this.waitEnd = 0;
    this.waitLastT = -1;
    this.waitHttp = 0;
    this.waitAckT = -1;
    this.waitAckFrame = 0;
    this.turns = 0;
    this.firstNs = -1;
    this.firstReqFrame = 0;
    this.firstRespFrame = 0;
    this.slowestNs = -1;
    this.slowestReqFrame = 0;
    this.slowestRespFrame = 0;
  }

  /** New bytes from the client, ending at `end`; `http` 1 when they begin an HTTP/1.x request line (read only for a turn's first bytes). */
  request(len: number, end: number, frame: number, t: number, http: number): void {
    if (this.waitT < 0) {
      this.waitT = t;
      this.waitFrame = frame;
      this.waitBytes = 0;
      this.waitHttp = http;
      this.waitAckT = -1;
    } else if (this.waitAckT >= 0) {
      this.waitAckT = -1; // more of the request: its end is not acknowledged yet
    }
    this.waitBytes += len;
    this.waitEnd = end;
    this.waitLastT = t;
  }

  /** An ACK from the server. */
  serverAck(ack: number, frame: number, t: number): void {
    if (this.waitT >= 0 && this.waitAckT < 0 && seqGe(ack, this.waitEnd)) {
      this.waitAckT = t;
      this.waitAckFrame = frame;
    }
  }

  /** New bytes from the server: the answer to the waiting turn, if one waits. */
  response(frame: number, t: number): void {
    if (this.waitT < 0) return;
    const ns = t - this.waitT;
    if (this.turns === 0) {
      this.firstNs = ns;
      this.firstReqFrame = this.waitFrame;
      this.firstRespFrame = frame;
    }
    if (ns > this.slowestNs) {
      this.slowestNs = ns;
      this.slowestReqFrame = this.waitFrame;
      this.slowestRespFrame = frame;
    }
    this.turns++;
    this.waitT = -1;
    this.waitAckT = -1;
  }
}
