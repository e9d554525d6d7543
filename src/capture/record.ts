import type { Anomalies } from './damage.js';

/**
 * One capture record, reused for every packet (zero-copy): `data[off..end)` holds the
 * captured bytes and stays valid only until the reader's next call.
 */
export class CaptureRecord {
  /** 1-based frame number, as tshark and Wireshark count. */
  frame = 0;
  /** Timestamp: whole seconds since the epoch, and nanoseconds within that second. */
  tsSec = 0;
  tsNsec = 0;
  capLen = 0;
  origLen = 0;
  linkType = 0;
  ifIndex = 0;
  data: Buffer = Buffer.alloc(0);
  off = 0;
  end = 0;
}

/** What a reader's `next()` returned. */
export const READ_RECORD = 1;
export const READ_NEED_MORE = 0;
export const READ_END = -1;

/**
 * The buffered input as the format modules (pcap.ts, pcapng.ts) see it: unread bytes are
 * buf[start..end), and the bookkeeping every format shares (frame numbers, anomalies, link-type
 * counts, the end of input) lives here, in CaptureReader.
 */
export interface Cursor {
  readonly buf: Buffer;
  readonly dv: DataView;
  /** First unread byte; a format advances it past what it has read. */
  start: number;
  readonly end: number;
  /** No more bytes will come. */
  readonly eof: boolean;
  /** Bytes of the input before buf[0], for byte positions in messages. */
  readonly consumedBase: number;
  /** Records read so far (the last frame number). */
  frame: number;
  formatLabel: string;
  readonly anomalies: Anomalies;
  readonly interfaceNames: string[];
  /** READ_NEED_MORE (asking for `needed` bytes from start) unless at end of input: then READ_END. */
  needOrEnd(needed: number): number;
  /** Set by finish(). */
  readonly done: boolean;
  /** Ends the input: every later next() returns READ_END (which it returns). */
  finish(): number;
  /** Counts a record cut short by the end of the file. */
  truncatedAtEnd(what: string): void;
  countLinkType(linkType: number): void;
}
