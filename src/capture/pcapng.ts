import { InputError } from '../errors.js';
import { clampTime, ticksToTime } from './time.js';
import { READ_END, READ_NEED_MORE, READ_RECORD, type CaptureRecord, type Cursor } from './record.js';

// Layouts and numbers are `const enum`s: tsc inlines them (see decode/fields.ts for why).

/** Block types (pcapng draft §4), as read in the section's byte order (the SHB's reads the same either way). */
export const enum BLOCK {
  SHB = 0x0a0d0d0a,
  IDB = 1,
  PB = 2,
  SPB = 3,
  NRB = 4,
  ISB = 5,
  EPB = 6,
}
/** The SHB's byte-order magic. */
export const PCAPNG_BOM = 0x1a2b3c4d;

/** Every block: type, total length, body, and the total length again. */
export const enum BLOCK_HDR {
  TYPE = 0,
  LEN = 4,
  BODY = 8,
  MIN_LEN = 12,
}
/** Section Header Block (§4.1). */
export const enum SHB {
  BOM = 8,
  VERSION_MAJOR = 12,
  VERSION_MINOR = 14,
  SECTION_LEN = 16,
  OPTIONS = 24,
  MIN_LEN = 28,
}
/** Interface Description Block (§4.2). */
export const enum IDB {
  LINKTYPE = 8,
  RESERVED = 10,
  SNAPLEN = 12,
  OPTIONS = 16,
  MIN_LEN = 20,
}
/** Enhanced Packet Block (§4.3). */
export const enum EPB {
  IF_ID = 8,
  TS_HIGH = 12,
  TS_LOW = 16,
  CAPLEN = 20,
  ORIGLEN = 24,
  DATA = 28,
  MIN_LEN = 32,
}
/** Simple Packet Block (§4.4): no interface (the first), no timestamp. */
export const enum SPB {
  ORIGLEN = 8,
  DATA = 12,
  MIN_LEN = 16,
}
/** Obsolete Packet Block (appendix A): a 16-bit interface id and a drop count. */
export const enum PB {
  IF_ID = 8,
  DROPS = 10,
  TS_HIGH = 12,
  TS_LOW = 16,
  CAPLEN = 20,
  ORIGLEN = 24,
  DATA = 28,
  MIN_LEN = 32,
}
/** Interface Statistics Block (§4.6). */
export const enum ISB {
  IF_ID = 8,
  TS_HIGH = 12,
  TS_LOW = 16,
  OPTIONS = 20,
  MIN_LEN = 24,
}
/** Option header (code, length, value padded to 32 bits) and the IDB options pcapdiag reads. */
export const enum OPTION {
  CODE = 0,
  LEN = 2,
  VALUE = 4,
  END = 0,
  IF_NAME = 2,
  IF_TSRESOL = 9,
  IF_TSOFFSET = 14,
}

/** A pcapng block longer than this is taken as damage. */
const MAX_BLOCK = 16 * 1024 * 1024;

/** The least length a block of `type` can have with all its fixed fields (BLOCK_HDR.MIN_LEN for other types). */
function minBlockLen(type: number): number {
  switch (type) {
    case BLOCK.EPB:
      return EPB.MIN_LEN;
    case BLOCK.PB:
      return PB.MIN_LEN;
    case BLOCK.SPB:
      return SPB.MIN_LEN;
    case BLOCK.ISB:
      return ISB.MIN_LEN;
    case BLOCK.IDB:
      return IDB.MIN_LEN;
    default:
      return BLOCK_HDR.MIN_LEN;
  }
}

function blockName(type: number): string {
  switch (type) {
    case BLOCK.EPB:
      return 'EPB';
    case BLOCK.PB:
      return 'PB';
    case BLOCK.SPB:
      return 'SPB';
    case BLOCK.ISB:
      return 'ISB';
    case BLOCK.IDB:
      return 'IDB';
    default:
      return `block type ${type}`;
  }
}

interface Iface {
  linkType: number;
  snaplen: number;
  ticksPerSec: number;
  tsOffsetSec: number;
  name: string;
}

/**
 * pcapng: per-section byte order, several sections and interfaces, EPB/SPB/PB; other blocks
 * skipped. Every block's length is checked against the fixed fields of its type before any of
 * them is read; a block too short for them is the anomaly `bad_block_length` and is skipped.
 */
export class PcapngFormat {
  /** Byte order of the current section. */
  private le = true;
  private ifaces: Iface[] = [];
  private sectionCount = 0;
  private lastSec = 0;
  private lastNsec = 0;
  /** Latest interface-statistics time (null if none): the capture ran at least until then. */
  statsEnd: { tsSec: number; tsNsec: number } | null = null;

  next(r: Cursor, rec: CaptureRecord): number {
    for (;;) {
      if (r.done) return READ_END;
      const have = r.end - r.start;
      if (have < BLOCK_HDR.MIN_LEN) {
        if (r.eof) {
          // (the first bytes of a section header only: the file ends before it says what it is)
          if (this.sectionCount === 0) throw new InputError(`not a capture file: pcapng section header cut short (${have} bytes)`);
          if (have > 0) r.truncatedAtEnd(`block header cut short (${have} bytes)`);
          return r.finish();
        }
        return r.needOrEnd(BLOCK_HDR.MIN_LEN);
      }
      const dv = r.dv;
      const s = r.start;
      if (dv.getUint32(s + BLOCK_HDR.TYPE, false) === BLOCK.SHB) {
        if (!this.readSectionHeader(r)) return r.eof ? r.finish() : READ_NEED_MORE;
        continue;
      }
      if (this.sectionCount === 0) throw new InputError('not a capture file: pcapng without a section header');
      const le = this.le;
      const type = dv.getUint32(s + BLOCK_HDR.TYPE, le);
      const len = dv.getUint32(s + BLOCK_HDR.LEN, le);
      if (len < BLOCK_HDR.MIN_LEN || len % 4 !== 0 || len > MAX_BLOCK) {
        r.anomalies.add('bad_block_length', `block at byte ${r.consumedBase + s}: length ${len} is invalid; the rest of the file is unreadable`);
        return r.finish();
      }
      if (have < len) {
        if (r.eof) {
          r.truncatedAtEnd(`last block cut short (${have} of ${len} bytes)`);
          return r.finish();
        }
        return r.needOrEnd(len);
      }
      if (dv.getUint32(s + len - 4, le) !== len) {
        r.anomalies.add('block_length_mismatch', `block at byte ${r.consumedBase + s}: trailing length differs from leading length ${len}`);
      }
      r.start = s + len;
      const min = minBlockLen(type);
      if (len < min) {
        r.anomalies.add('bad_block_length', `${blockName(type)} at byte ${r.consumedBase + s}: length ${len} is under the ${min} bytes of its fixed fields; skipped`);
        continue;
      }
      switch (type) {
        case BLOCK.IDB:
          this.readInterface(r, s, len);
          break;
        case BLOCK.EPB:
          if (this.readPacket(r, rec, s, len, EPB.DATA, dv.getUint32(s + EPB.IF_ID, le), dv.getUint32(s + EPB.TS_HIGH, le), dv.getUint32(s + EPB.TS_LOW, le), dv.getUint32(s + EPB.CAPLEN, le), dv.getUint32(s + EPB.ORIGLEN, le)))
            return READ_RECORD;
          break;
        case BLOCK.PB:
          if (this.readPacket(r, rec, s, len, PB.DATA, dv.getUint16(s + PB.IF_ID, le), dv.getUint32(s + PB.TS_HIGH, le), dv.getUint32(s + PB.TS_LOW, le), dv.getUint32(s + PB.CAPLEN, le), dv.getUint32(s + PB.ORIGLEN, le)))
            return READ_RECORD;
          break;
        case BLOCK.SPB:
          if (this.readSimplePacket(r, rec, s, len)) return READ_RECORD;
          break;
        case BLOCK.ISB:
          this.readStatistics(r, s);
          break;
        default:
          break; // NRB, DSB, custom and unknown blocks carry nothing pcapdiag needs
      }
    }
  }

  /** Reads an SHB at r.start. Returns false if more bytes are needed (and asks for them). */
  private readSectionHeader(r: Cursor): boolean {
    const dv = r.dv;
    const s = r.start;
    let le: boolean;
    if (dv.getUint32(s + SHB.BOM, false) === PCAPNG_BOM) le = false;
    else if (dv.getUint32(s + SHB.BOM, true) === PCAPNG_BOM) le = true;
    else {
      if (this.sectionCount === 0) throw new InputError('not a capture file: pcapng section header with a bad byte-order magic');
      r.anomalies.add('bad_section_header', `section header at byte ${r.consumedBase + s} has a bad byte-order magic; the rest of the file is unreadable`);
      r.finish();
      return true;
    }
    const len = dv.getUint32(s + BLOCK_HDR.LEN, le);
    if (len < SHB.MIN_LEN || len % 4 !== 0 || len > MAX_BLOCK) {
      if (this.sectionCount === 0) throw new InputError(`not a capture file: pcapng section header length ${len} is invalid`);
      const why = len < SHB.MIN_LEN ? `is under the ${SHB.MIN_LEN} bytes of its fixed fields` : 'is invalid';
      r.anomalies.add('bad_block_length', `section header at byte ${r.consumedBase + s}: length ${len} ${why}; the rest of the file is unreadable`);
      r.finish();
      return true;
    }
    if (r.end - s < len) {
      if (r.eof) {
        if (this.sectionCount === 0) throw new InputError('not a capture file: pcapng section header cut short');
        r.truncatedAtEnd(`section header cut short`);
        r.finish();
        return true;
      }
      r.needOrEnd(len);
      return false;
    }
    const major = dv.getUint16(s + SHB.VERSION_MAJOR, le);
    if (major !== 1) {
      if (this.sectionCount === 0) throw new InputError(`unsupported pcapng version ${major}.${dv.getUint16(s + SHB.VERSION_MINOR, le)}`);
      r.anomalies.add('unsupported_section_version', `section at byte ${r.consumedBase + s} has version ${major}; skipped to the end`);
      r.finish();
      return true;
    }
    this.le = le;
    this.sectionCount++;
    this.ifaces = [];
    r.formatLabel = this.sectionCount === 1 ? `pcapng (${le ? 'little' : 'big'}-endian)` : `pcapng (${this.sectionCount} sections)`;
    r.start = s + len;
    return true;
  }

  private readInterface(r: Cursor, s: number, len: number): void {
    const dv = r.dv;
    const le = this.le;
    const iface: Iface = {
      linkType: dv.getUint16(s + IDB.LINKTYPE, le),
      snaplen: dv.getUint32(s + IDB.SNAPLEN, le),
      ticksPerSec: 1_000_000,
      tsOffsetSec: 0,
      name: '',
    };
    let o = s + IDB.OPTIONS;
    const optEnd = s + len - 4;
    while (o + OPTION.VALUE <= optEnd) {
      const code = dv.getUint16(o + OPTION.CODE, le);
      const olen = dv.getUint16(o + OPTION.LEN, le);
      const v = o + OPTION.VALUE;
      if (code === OPTION.END) break;
      if (v + olen > optEnd) {
        r.anomalies.add('bad_option_length', `interface ${this.ifaces.length}: option ${code} overruns its block`);
        break;
      }
      if (code === OPTION.IF_NAME && olen > 0) iface.name = r.buf.toString('utf8', v, v + Math.min(olen, 256));
      else if (code === OPTION.IF_TSRESOL && olen >= 1) {
        const res = r.buf[v];
        const exp = res & 0x7f;
        const tps = res & 0x80 ? 2 ** exp : 10 ** exp;
        if (tps >= 1 && tps <= 1e18 && Number.isFinite(tps)) iface.ticksPerSec = tps;
        else r.anomalies.add('bad_tsresol', `interface ${this.ifaces.length}: if_tsresol ${res} is unusable`);
      } else if (code === OPTION.IF_TSOFFSET && olen >= 8) {
        const hi = dv.getInt32(le ? v + 4 : v, le);
        const lo = dv.getUint32(le ? v : v + 4, le);
        iface.tsOffsetSec = hi * 4294967296 + lo;
      }
      o = v + ((olen + 3) & ~3);
    }
    this.ifaces.push(iface);
    r.interfaceNames.push(iface.name);
  }

  /** An EPB or PB of `len` ≥ its MIN_LEN bytes at `s`, its data at s + dataOff. */
  private readPacket(r: Cursor, rec: CaptureRecord, s: number, len: number, dataOff: number, ifId: number, tsHi: number, tsLo: number, capLen: number, origLen: number): boolean {
    const iface = this.ifaces[ifId];
    if (iface === undefined) {
      r.anomalies.add('unknown_interface', `packet block at byte ${r.consumedBase + s} names interface ${ifId}, which was not described`);
      return false;
    }
    const room = len - 4 - dataOff;
    if (capLen > room) {
      r.anomalies.add('caplen_over_block', `packet block at byte ${r.consumedBase + s}: captured length ${capLen} exceeds the block`);
      capLen = room;
    }
    if (iface.snaplen > 0 && capLen > iface.snaplen) r.anomalies.add('caplen_over_snaplen', `record ${r.frame + 1}: captured length ${capLen} > snaplen ${iface.snaplen}`);
    if (capLen === 0) r.anomalies.add('zero_length_record', `record ${r.frame + 1} has no bytes`);
    ticksToTime(tsHi, tsLo, iface.ticksPerSec, rec);
    rec.tsSec += iface.tsOffsetSec;
    if (!clampTime(rec))
      r.anomalies.add('timestamp_out_of_range', r.anomalies.count('timestamp_out_of_range') === 0 ? `record ${r.frame + 1}: its time (with the interface's if_tsoffset) is outside years 0000–9999; taken as the nearest of them` : undefined);
    this.lastSec = rec.tsSec;
    this.lastNsec = rec.tsNsec;
    this.fill(r, rec, iface, ifId, s + dataOff, capLen, origLen);
    return true;
  }

  /**
   * Interface statistics: the time they were taken (the end of the capture, for the final ISB
   * that dumpcap writes) tells how long the capture went on after its last packet.
   */
  private readStatistics(r: Cursor, s: number): void {
    const dv = r.dv;
    const iface = this.ifaces[dv.getUint32(s + ISB.IF_ID, this.le)];
    if (iface === undefined) return;
    const t = { tsSec: 0, tsNsec: 0 };
    ticksToTime(dv.getUint32(s + ISB.TS_HIGH, this.le), dv.getUint32(s + ISB.TS_LOW, this.le), iface.ticksPerSec, t);
    t.tsSec += iface.tsOffsetSec;
    clampTime(t);
    if (this.statsEnd === null || t.tsSec > this.statsEnd.tsSec || (t.tsSec === this.statsEnd.tsSec && t.tsNsec > this.statsEnd.tsNsec)) this.statsEnd = t;
  }

  private readSimplePacket(r: Cursor, rec: CaptureRecord, s: number, len: number): boolean {
    const iface = this.ifaces[0];
    if (iface === undefined) {
      r.anomalies.add('unknown_interface', `simple packet block at byte ${r.consumedBase + s} before any interface description`);
      return false;
    }
    const origLen = r.dv.getUint32(s + SPB.ORIGLEN, this.le);
    let capLen = Math.min(origLen, len - SPB.MIN_LEN);
    if (iface.snaplen > 0 && capLen > iface.snaplen) capLen = iface.snaplen;
    rec.tsSec = this.lastSec; // SPBs carry no timestamp
    rec.tsNsec = this.lastNsec;
    this.fill(r, rec, iface, 0, s + SPB.DATA, capLen, origLen);
    return true;
  }

  private fill(r: Cursor, rec: CaptureRecord, iface: Iface, ifId: number, off: number, capLen: number, origLen: number): void {
    rec.frame = ++r.frame;
    rec.capLen = capLen;
    rec.origLen = origLen < capLen ? capLen : origLen;
    rec.linkType = iface.linkType;
    rec.ifIndex = ifId;
    rec.data = r.buf;
    rec.off = off;
    rec.end = off + capLen;
    r.countLinkType(iface.linkType);
  }
}
