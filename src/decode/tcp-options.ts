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
  /**
   * The options' kinds in the order they came, NOPs included (p0f's "layout": Linux's SYN-ACK is
   * MSS, SACK-permitted, timestamps, NOP, window scale; other stacks order them otherwise), as a
   * number: one digit of base LAYOUT_BASE per option (optionLayoutText spells it), the first
   * option the most significant; at most MAX_LAYOUT options (later ones are not counted).
   */
  layout = 0;

  reset(): void {
    this.layout = 0;
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
  let n = 0;
  while (p < end) {
    const kind = u8[p];
    if (kind === TCP_OPT.END) return true;
    if (n < MAX_LAYOUT) {
      o.layout = o.layout * LAYOUT_BASE + layoutDigit(kind);
      n++;
    }
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

/** Options counted in a layout: 12 digits of base 8 stay exact in a double (2^36). */
export const MAX_LAYOUT = 12;
const LAYOUT_BASE = 8;
/** One layout digit per option kind (0 is never used, so leading options are not lost). */
const LAYOUT_NAMES = ['', 'nop', 'mss', 'ws', 'sok', 'sack', 'ts', '?'] as const;

function layoutDigit(kind: number): number {
  switch (kind) {
    case TCP_OPT.NOP:
      return 1;
    case TCP_OPT.MSS:
      return 2;
    case TCP_OPT.WSCALE:
      return 3;
    case TCP_OPT.SACK_OK:
      return 4;
    case TCP_OPT.SACK:
      return 5;
    case TCP_OPT.TIMESTAMPS:
      return 6;
    default:
      return 7;
  }
}

/** A layout as p0f writes it: "mss,sok,ts,nop,ws" ("" for no options). */
export function optionLayoutText(layout: number): string {
  const names: string[] = [];
  for (let l = layout; l > 0; l = Math.floor(l / LAYOUT_BASE)) names.unshift(LAYOUT_NAMES[l % LAYOUT_BASE]);
  return names.join(',');
}

/**
 * Whether the options are only Linux's usual NOP, NOP, timestamps (12 bytes): nothing the flow
 * layer needs, so the walk can be skipped on most segments of a busy connection.
 */
export function onlyTimestamps(u8: Uint8Array, tcpOff: number, end: number): boolean {
  const p = tcpOff + TCP.MIN_LEN;
  return end - p === 12 && u8[p] === TCP_OPT.NOP && u8[p + 1] === TCP_OPT.NOP && u8[p + 2] === TCP_OPT.TIMESTAMPS;
}
