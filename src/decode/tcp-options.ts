import { TCP, TCP_OPT } from './fields.js';

/** At most four SACK blocks fit in the 40 bytes of options (RFC 2018 §3). */
export const MAX_SACK_BLOCKS = 4;

/**
 * The options of one TCP header, as read by readTcpOptions into one reused object: numbers and a
 * preallocated array only, so reading them allocates nothing.
 */
export class TcpOptions {
  /** MSS option value, or -1 when absent. */
  mss = -1;
  /** Window scale shift, or -1 when absent. */
  wscale = -1;
  sackOk = false;
  timestamps = false;
  /** SACK blocks read into sack[0..2*sackBlocks): left edge, right edge (u32 sequence numbers). */
  sackBlocks = 0;
  readonly sack = new Float64Array(2 * MAX_SACK_BLOCKS);

  reset(): void {
    this.mss = -1;
    this.wscale = -1;
    this.sackOk = false;
    this.timestamps = false;
    this.sackBlocks = 0;
  }
}

/**
 * Reads the options of the TCP header at u8[tcpOff..) whose options end at `end` (the data
 * offset, clamped to the captured bytes). A length field that runs past the end or is below 2
 * stops the walk: what was read before it stays. Returns false when the options were damaged.
 */
export function readTcpOptions(u8: Uint8Array, tcpOff: number, end: number, o: TcpOptions): boolean {
  o.reset();
  let p = tcpOff + TCP.MIN_LEN;
  while (p < end) {
    const kind = u8[p];
    if (kind === TCP_OPT.END) return true;
    if (kind === TCP_OPT.NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) return false;
    const len = u8[p + 1];
    if (len < 2 || p + len > end) return false;
    switch (kind) {
      case TCP_OPT.MSS:
        if (len === 4) o.mss = (u8[p + 2] << 8) | u8[p + 3];
        break;
      case TCP_OPT.WSCALE:
        if (len === 3) o.wscale = u8[p + 2];
        break;
      case TCP_OPT.SACK_OK:
        o.sackOk = true;
        break;
      case TCP_OPT.TIMESTAMPS:
        o.timestamps = true;
        break;
      case TCP_OPT.SACK: {
        const n = Math.min((len - 2) >> 3, MAX_SACK_BLOCKS);
        for (let i = 0; i < n; i++) {
          const b = p + 2 + 8 * i;
          o.sack[2 * i] = ((u8[b] << 24) | (u8[b + 1] << 16) | (u8[b + 2] << 8) | u8[b + 3]) >>> 0;
          o.sack[2 * i + 1] = ((u8[b + 4] << 24) | (u8[b + 5] << 16) | (u8[b + 6] << 8) | u8[b + 7]) >>> 0;
        }
        o.sackBlocks = n;
        break;
      }
    }
    p += len;
  }
  return true;
}

/**
 * Whether the options are only Linux's usual NOP, NOP, timestamps (12 bytes): nothing the flow
 * layer needs, so the walk can be skipped on most segments of a busy connection.
 */
export function onlyTimestamps(u8: Uint8Array, tcpOff: number, end: number): boolean {
  const p = tcpOff + TCP.MIN_LEN;
  return end - p === 12 && u8[p] === TCP_OPT.NOP && u8[p + 1] === TCP_OPT.NOP && u8[p + 2] === TCP_OPT.TIMESTAMPS;
}
