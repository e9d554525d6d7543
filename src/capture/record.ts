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
