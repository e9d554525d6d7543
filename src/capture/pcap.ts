import { InputError } from '../errors.js';
import { isDecodableLinkType, linkTypeName } from './linktypes.js';
import { READ_RECORD, type CaptureRecord, type Cursor } from './record.js';

// Layouts and numbers are `const enum`s: tsc inlines them (see decode/fields.ts for why).

/** Classic pcap magic numbers, read in the file's byte order. */
export const enum PCAP_MAGIC {
  US = 0xa1b2c3d4,
  NS = 0xa1b23c4d,
  KUZNETZOV = 0xa1b2cd34,
}

/** The file header (pcap-savefile(5)): offsets of its fields and its length. */
export const enum PCAP_HEADER {
  MAGIC = 0,
  VERSION_MAJOR = 4,
  VERSION_MINOR = 6,
  THISZONE = 8,
  SIGFIGS = 12,
  SNAPLEN = 16,
  LINKTYPE = 20,
  LEN = 24,
}

/** A record header: offsets of its fields; Kuznetzov's patched format adds 8 bytes (ifindex, protocol, type, pad). */
export const enum PCAP_RECORD {
  TS_SEC = 0,
  TS_FRAC = 4,
  CAPLEN = 8,
  ORIGLEN = 12,
  LEN = 16,
  LEN_KUZNETZOV = 24,
}

/** A record longer than this is not a packet but damage (tcpdump's own limit is 256 KiB). */
export const MAX_RECORD = 256 * 1024;

export function isPcapMagic(m: number): boolean {
  return m === PCAP_MAGIC.US || m === PCAP_MAGIC.NS || m === PCAP_MAGIC.KUZNETZOV;
}

/**
 * Classic pcap (µs or ns timestamps, either byte order, Kuznetzov's patched records): the file
 * header's settings, and `next()` for its records. The bytes and the bookkeeping shared with
 * pcapng (frame numbers, anomalies, link-type counts) are the reader's, passed in as `r`.
 */
export class PcapFormat {
  readonly le: boolean;
  readonly nsResolution: boolean;
  readonly recHeaderLen: number;
  readonly linkType: number;
  readonly snaplen: number;
  readonly label: string;

  /** Reads the 24-byte file header at dv[off..); throws InputError for a version or link type pcapdiag cannot read. */
  constructor(dv: DataView, off: number, le: boolean, magic: number) {
    const major = dv.getUint16(off + PCAP_HEADER.VERSION_MAJOR, le);
    const minor = dv.getUint16(off + PCAP_HEADER.VERSION_MINOR, le);
    if (major !== 2) throw new InputError(`unsupported pcap version ${major}.${minor}`);
    this.le = le;
    this.nsResolution = magic === PCAP_MAGIC.NS;
    this.recHeaderLen = magic === PCAP_MAGIC.KUZNETZOV ? PCAP_RECORD.LEN_KUZNETZOV : PCAP_RECORD.LEN;
    this.snaplen = dv.getUint32(off + PCAP_HEADER.SNAPLEN, le);
    this.linkType = dv.getUint32(off + PCAP_HEADER.LINKTYPE, le) & 0xffff;
    this.label = `pcap (${this.nsResolution ? 'ns' : 'µs'}, ${le ? 'little' : 'big'}-endian${magic === PCAP_MAGIC.KUZNETZOV ? ', Kuznetzov' : ''})`;
    if (!isDecodableLinkType(this.linkType)) {
      throw new InputError(`unsupported link type ${this.linkType} (${linkTypeName(this.linkType)})`);
    }
  }

  /** Fills `rec` with the record at r.start: READ_RECORD, or what r.needOrEnd / r.finish say. */
  next(r: Cursor, rec: CaptureRecord): number {
    const hl = this.recHeaderLen;
    const have = r.end - r.start;
    if (have < hl) {
      if (r.eof) {
        if (have > 0) r.truncatedAtEnd(`record header cut short (${have} of ${hl} bytes)`);
        return r.finish();
      }
      return r.needOrEnd(hl);
    }
    const dv = r.dv;
    const s = r.start;
    const le = this.le;
    const capLen = dv.getUint32(s + PCAP_RECORD.CAPLEN, le);
    const origLen = dv.getUint32(s + PCAP_RECORD.ORIGLEN, le);
    if (capLen > MAX_RECORD) {
      r.anomalies.add('absurd_record_length', `record ${r.frame + 1} at byte ${r.consumedBase + s}: captured length ${capLen} exceeds ${MAX_RECORD}; the rest of the file is unreadable`);
      return r.finish();
    }
    if (have < hl + capLen) {
      if (r.eof) {
        r.truncatedAtEnd(`last record cut short (${have - hl} of ${capLen} bytes)`);
        return r.finish();
      }
      return r.needOrEnd(hl + capLen);
    }
    if (this.snaplen > 0 && capLen > this.snaplen) {
      r.anomalies.add('caplen_over_snaplen', `record ${r.frame + 1}: captured length ${capLen} > snaplen ${this.snaplen}`);
    }
    if (capLen === 0) r.anomalies.add('zero_length_record', `record ${r.frame + 1} has no bytes`);
    rec.frame = ++r.frame;
    const sec = dv.getUint32(s + PCAP_RECORD.TS_SEC, le);
    const frac = dv.getUint32(s + PCAP_RECORD.TS_FRAC, le);
    rec.tsSec = sec;
    rec.tsNsec = this.nsResolution ? frac : frac * 1000;
    if (rec.tsNsec >= 1e9) {
      r.anomalies.add('bad_timestamp_fraction', `record ${rec.frame}: fraction ${frac} out of range`);
      rec.tsSec += Math.floor(rec.tsNsec / 1e9);
      rec.tsNsec %= 1e9;
    }
    rec.capLen = capLen;
    rec.origLen = origLen < capLen ? capLen : origLen;
    rec.linkType = this.linkType;
    rec.ifIndex = 0;
    rec.data = r.buf;
    rec.off = s + hl;
    rec.end = s + hl + capLen;
    r.start = rec.end;
    r.countLinkType(rec.linkType);
    return READ_RECORD;
  }
}
