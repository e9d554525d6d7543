import { CaptureRecord } from './record.js';
import { InputError } from '../errors.js';
import { Anomalies } from './damage.js';
import { ticksToTime } from './time.js';
import { isDecodableLinkType, linkTypeName } from './linktypes.js';
import type { ByteSource } from './source.js';

/** What `next()` returned. */
export const READ_RECORD = 1;
export const READ_NEED_MORE = 0;
export const READ_END = -1;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_MAGIC_KUZNETZOV = 0xa1b2cd34;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const BLOCK_IDB = 1;
const BLOCK_PB = 2;
const BLOCK_SPB = 3;
const BLOCK_ISB = 5;
const BLOCK_EPB = 6;

/** A record longer than this is not a packet but damage (tcpdump's own limit is 256 KiB). */
export const MAX_RECORD = 256 * 1024;
/** A pcapng block longer than this is taken as damage. */
const MAX_BLOCK = 16 * 1024 * 1024;
const INITIAL_CAPACITY = 1024 * 1024;

interface Iface {
  linkType: number;
  snaplen: number;
  ticksPerSec: number;
  tsOffsetSec: number;
  name: string;
}

type Format = 'pcap' | 'pcapng';

/**
 * Reads classic pcap (µs/ns, either byte order) and pcapng (per-section byte order, several
 * sections and interfaces, EPB/SPB/PB; other blocks skipped) from one reused buffer that the
 * caller fills through `writable()`/`commit()`. Never throws on damage after the file header:
 * damage is counted in `anomalies` and, where the rest cannot be trusted, ends the input.
 */
export class CaptureReader {
  buf: Buffer = Buffer.allocUnsafe(INITIAL_CAPACITY);
  private dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private start = 0;
  private end = 0;
  private eof = false;
  private need = 0;
  /** Bytes of the input consumed before `start`. */
  private consumedBase = 0;

  format: Format | null = null;
  /** pcap: nanosecond timestamps; byte order of the header. */
  private le = true;
  private nsResolution = false;
  private recHeaderLen = 16;
  private pcapLinkType = 0;
  private pcapSnaplen = 0;
  private ifaces: Iface[] = [];
  private sectionCount = 0;
  private lastSec = 0;
  private lastNsec = 0;
  private frame = 0;
  private done = false;

  readonly anomalies = new Anomalies();
  private readonly linkTypeCounts = new Map<number, number>();
  /** Records of one link type in a row, not yet added to linkTypeCounts (one Map update per run, not per record). */
  private runLinkType = -1;
  private runCount = 0;
  /** pcapng interface names, in order of appearance (raw, unescaped). */
  readonly interfaceNames: string[] = [];
  /** Format description for the report header, e.g. "pcap (µs, little-endian)". */
  formatLabel = '';

  /** Bytes of input read so far. */
  get bytesRead(): number {
    return this.consumedBase + this.end;
  }

  /** Free space to read into: [offset, length]. Compacts or grows the buffer as needed. */
  writable(): [number, number] {
    const pending = this.end - this.start;
    const want = Math.max(this.need, 64 * 1024);
    if (this.start > 0 && (this.buf.length - this.end < want || pending === 0)) {
      this.buf.copy(this.buf, 0, this.start, this.end);
      this.consumedBase += this.start;
      this.start = 0;
      this.end = pending;
    }
    if (this.buf.length - this.start < this.need) {
      let cap = this.buf.length;
      while (cap < this.need) cap *= 2;
      const nb = Buffer.allocUnsafe(cap);
      this.buf.copy(nb, 0, this.start, this.end);
      this.consumedBase += this.start;
      this.end -= this.start;
      this.start = 0;
      this.buf = nb;
      this.dv = new DataView(nb.buffer, nb.byteOffset, nb.byteLength);
    }
    return [this.end, this.buf.length - this.end];
  }

  /** `n` bytes were written at the offset `writable()` gave; 0 means end of input. */
  commit(n: number): void {
    if (n === 0) this.eof = true;
    else this.end += n;
  }

  /** Fills `rec` with the next record. */
  next(rec: CaptureRecord): number {
    if (this.done) return READ_END;
    if (this.format === null && !this.readFileHeader()) return READ_NEED_MORE; // readFileHeader throws at EOF
    return this.format === 'pcap' ? this.nextPcap(rec) : this.nextPcapng(rec);
  }

  private needOrEnd(needed: number): number {
    if (!this.eof) {
      this.need = needed;
      return READ_NEED_MORE;
    }
    return READ_END;
  }

  private avail(): number {
    return this.end - this.start;
  }

  private readFileHeader(): boolean {
    const have = this.avail();
    if (have < 4) {
      if (this.eof) {
        if (have === 0) throw new InputError('empty input: no capture data');
        throw new InputError(`not a capture file: only ${have} bytes`);
      }
      this.need = 4;
      return false;
    }
    const magicBE = this.dv.getUint32(this.start, false);
    const magicLE = this.dv.getUint32(this.start, true);
    if (magicBE === PCAPNG_SHB) {
      this.format = 'pcapng';
      this.formatLabel = 'pcapng';
      return true;
    }
    let le: boolean;
    let magic: number;
    if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS || magicLE === PCAP_MAGIC_KUZNETZOV) {
      le = true;
      magic = magicLE;
    } else if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS || magicBE === PCAP_MAGIC_KUZNETZOV) {
      le = false;
      magic = magicBE;
    } else {
      throw new InputError(`not a capture file: unknown magic ${hex(this.buf, this.start, 4)} (expected pcap or pcapng)`);
    }
    if (have < 24) {
      if (this.eof) throw new InputError(`not a capture file: pcap header cut short (${have} of 24 bytes)`);
      this.need = 24;
      return false;
    }
    const major = this.dv.getUint16(this.start + 4, le);
    const minor = this.dv.getUint16(this.start + 6, le);
    if (major !== 2) throw new InputError(`unsupported pcap version ${major}.${minor}`);
    this.format = 'pcap';
    this.le = le;
    this.nsResolution = magic === PCAP_MAGIC_NS;
    this.recHeaderLen = magic === PCAP_MAGIC_KUZNETZOV ? 24 : 16;
    this.pcapSnaplen = this.dv.getUint32(this.start + 16, le);
    this.pcapLinkType = this.dv.getUint32(this.start + 20, le) & 0xffff;
    this.formatLabel = `pcap (${this.nsResolution ? 'ns' : 'µs'}, ${le ? 'little' : 'big'}-endian${magic === PCAP_MAGIC_KUZNETZOV ? ', Kuznetzov' : ''})`;
    if (!isDecodableLinkType(this.pcapLinkType)) {
      throw new InputError(`unsupported link type ${this.pcapLinkType} (${linkTypeName(this.pcapLinkType)})`);
    }
    this.start += 24;
    return true;
  }

  private nextPcap(rec: CaptureRecord): number {
    const hl = this.recHeaderLen;
    const have = this.avail();
    if (have < hl) {
      if (this.eof) {
        if (have > 0) this.truncatedAtEnd(`record header cut short (${have} of ${hl} bytes)`);
        return this.finish();
      }
      return this.needOrEnd(hl);
    }
    const s = this.start;
    const le = this.le;
    const capLen = this.dv.getUint32(s + 8, le);
    const origLen = this.dv.getUint32(s + 12, le);
    if (capLen > MAX_RECORD) {
      this.anomalies.add('absurd_record_length', `record ${this.frame + 1} at byte ${this.consumedBase + s}: captured length ${capLen} exceeds ${MAX_RECORD}; the rest of the file is unreadable`);
      return this.finish();
    }
    if (have < hl + capLen) {
      if (this.eof) {
        this.truncatedAtEnd(`last record cut short (${have - hl} of ${capLen} bytes)`);
        return this.finish();
      }
      return this.needOrEnd(hl + capLen);
    }
    if (this.pcapSnaplen > 0 && capLen > this.pcapSnaplen) {
      this.anomalies.add('caplen_over_snaplen', `record ${this.frame + 1}: captured length ${capLen} > snaplen ${this.pcapSnaplen}`);
    }
    if (capLen === 0) this.anomalies.add('zero_length_record', `record ${this.frame + 1} has no bytes`);
    rec.frame = ++this.frame;
    const sec = this.dv.getUint32(s, le);
    const frac = this.dv.getUint32(s + 4, le);
    rec.tsSec = sec;
    rec.tsNsec = this.nsResolution ? frac : frac * 1000;
    if (rec.tsNsec >= 1e9) {
      this.anomalies.add('bad_timestamp_fraction', `record ${rec.frame}: fraction ${frac} out of range`);
      rec.tsSec += Math.floor(rec.tsNsec / 1e9);
      rec.tsNsec %= 1e9;
    }
    rec.capLen = capLen;
    rec.origLen = origLen < capLen ? capLen : origLen;
    rec.linkType = this.pcapLinkType;
    rec.ifIndex = 0;
    rec.data = this.buf;
    rec.off = s + hl;
    rec.end = s + hl + capLen;
    this.start = rec.end;
    this.countLinkType(rec.linkType);
    return READ_RECORD;
  }

  private nextPcapng(rec: CaptureRecord): number {
    for (;;) {
      if (this.done) return READ_END;
      const have = this.avail();
      if (have < 12) {
        if (this.eof) {
          if (have > 0) this.truncatedAtEnd(`block header cut short (${have} bytes)`);
          return this.finish();
        }
        return this.needOrEnd(12);
      }
      const s = this.start;
      const typeBE = this.dv.getUint32(s, false);
      if (typeBE === PCAPNG_SHB) {
        if (!this.readSectionHeader()) return this.sectionNeed();
        continue;
      }
      if (this.sectionCount === 0) throw new InputError('not a capture file: pcapng without a section header');
      const le = this.le;
      const type = this.dv.getUint32(s, le);
      const len = this.dv.getUint32(s + 4, le);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK) {
        this.anomalies.add('bad_block_length', `block at byte ${this.consumedBase + s}: length ${len} is invalid; the rest of the file is unreadable`);
        return this.finish();
      }
      if (have < len) {
        if (this.eof) {
          this.truncatedAtEnd(`last block cut short (${have} of ${len} bytes)`);
          return this.finish();
        }
        return this.needOrEnd(len);
      }
      if (this.dv.getUint32(s + len - 4, le) !== len) {
        this.anomalies.add('block_length_mismatch', `block at byte ${this.consumedBase + s}: trailing length differs from leading length ${len}`);
      }
      this.start = s + len;
      switch (type) {
        case BLOCK_IDB:
          this.readInterface(s, len);
          break;
        case BLOCK_EPB:
          if (this.readPacket(rec, s, len, s + 28, this.dv.getUint32(s + 8, le), this.dv.getUint32(s + 12, le), this.dv.getUint32(s + 16, le), this.dv.getUint32(s + 20, le), this.dv.getUint32(s + 24, le))) return READ_RECORD;
          break;
        case BLOCK_PB:
          if (this.readPacket(rec, s, len, s + 28, this.dv.getUint16(s + 8, le), this.dv.getUint32(s + 12, le), this.dv.getUint32(s + 16, le), this.dv.getUint32(s + 20, le), this.dv.getUint32(s + 24, le))) return READ_RECORD;
          break;
        case BLOCK_SPB:
          if (this.readSimplePacket(rec, s, len)) return READ_RECORD;
          break;
        case BLOCK_ISB:
          this.readStatistics(s, len);
          break;
        default:
          break; // NRB, DSB, custom and unknown blocks carry nothing pcapdiag needs
      }
    }
  }

  private sectionNeed(): number {
    return this.eof ? this.finish() : READ_NEED_MORE;
  }

  /** Reads an SHB at `start`. Returns false if more bytes are needed (and sets `need`). */
  private readSectionHeader(): boolean {
    const s = this.start;
    const bom = this.dv.getUint32(s + 8, false);
    let le: boolean;
    if (bom === PCAPNG_BOM) le = false;
    else if (this.dv.getUint32(s + 8, true) === PCAPNG_BOM) le = true;
    else {
      if (this.sectionCount === 0) throw new InputError('not a capture file: pcapng section header with a bad byte-order magic');
      this.anomalies.add('bad_section_header', `section header at byte ${this.consumedBase + s} has a bad byte-order magic; the rest of the file is unreadable`);
      this.done = true;
      return true;
    }
    const len = this.dv.getUint32(s + 4, le);
    if (len < 28 || len % 4 !== 0 || len > MAX_BLOCK) {
      if (this.sectionCount === 0) throw new InputError(`not a capture file: pcapng section header length ${len} is invalid`);
      this.anomalies.add('bad_block_length', `section header at byte ${this.consumedBase + s}: length ${len} is invalid; the rest of the file is unreadable`);
      this.done = true;
      return true;
    }
    if (this.avail() < len) {
      if (this.eof) {
        if (this.sectionCount === 0) throw new InputError('not a capture file: pcapng section header cut short');
        this.truncatedAtEnd(`section header cut short`);
        this.done = true;
        return true;
      }
      this.need = len;
      return false;
    }
    const major = this.dv.getUint16(s + 12, le);
    if (major !== 1) {
      if (this.sectionCount === 0) throw new InputError(`unsupported pcapng version ${major}.${this.dv.getUint16(s + 14, le)}`);
      this.anomalies.add('unsupported_section_version', `section at byte ${this.consumedBase + s} has version ${major}; skipped to the end`);
      this.done = true;
      return true;
    }
    this.le = le;
    this.sectionCount++;
    this.ifaces = [];
    this.formatLabel = this.sectionCount === 1 ? `pcapng (${le ? 'little' : 'big'}-endian)` : `pcapng (${this.sectionCount} sections)`;
    this.start = s + len;
    return true;
  }

  private readInterface(s: number, len: number): void {
    const le = this.le;
    const iface: Iface = {
      linkType: this.dv.getUint16(s + 8, le),
      snaplen: this.dv.getUint32(s + 12, le),
      ticksPerSec: 1_000_000,
      tsOffsetSec: 0,
      name: '',
    };
    let o = s + 16;
    const optEnd = s + len - 4;
    while (o + 4 <= optEnd) {
      const code = this.dv.getUint16(o, le);
      const olen = this.dv.getUint16(o + 2, le);
      const v = o + 4;
      if (code === 0) break;
      if (v + olen > optEnd) {
        this.anomalies.add('bad_option_length', `interface ${this.ifaces.length}: option ${code} overruns its block`);
        break;
      }
      if (code === 2 && olen > 0) iface.name = this.buf.toString('utf8', v, v + Math.min(olen, 256));
      else if (code === 9 && olen >= 1) {
        const r = this.buf[v];
        const exp = r & 0x7f;
        const tps = r & 0x80 ? 2 ** exp : 10 ** exp;
        if (tps >= 1 && tps <= 1e18 && Number.isFinite(tps)) iface.ticksPerSec = tps;
        else this.anomalies.add('bad_tsresol', `interface ${this.ifaces.length}: if_tsresol ${r} is unusable`);
      } else if (code === 14 && olen >= 8) {
        const hi = this.dv.getInt32(le ? v + 4 : v, le);
        const lo = this.dv.getUint32(le ? v : v + 4, le);
        iface.tsOffsetSec = hi * 4294967296 + lo;
      }
      o = v + ((olen + 3) & ~3);
    }
    this.ifaces.push(iface);
    this.interfaceNames.push(iface.name);
  }

  private readPacket(rec: CaptureRecord, s: number, len: number, dataOff: number, ifId: number, tsHi: number, tsLo: number, capLen: number, origLen: number): boolean {
    const iface = this.ifaces[ifId];
    if (iface === undefined) {
      this.anomalies.add('unknown_interface', `packet block at byte ${this.consumedBase + s} names interface ${ifId}, which was not described`);
      return false;
    }
    const room = s + len - 4 - dataOff;
    if (room < 0) {
      this.anomalies.add('bad_block_length', `packet block at byte ${this.consumedBase + s} is too short for its header`);
      return false;
    }
    if (capLen > room) {
      this.anomalies.add('caplen_over_block', `packet block at byte ${this.consumedBase + s}: captured length ${capLen} exceeds the block`);
      capLen = room;
    }
    if (iface.snaplen > 0 && capLen > iface.snaplen) this.anomalies.add('caplen_over_snaplen', `record ${this.frame + 1}: captured length ${capLen} > snaplen ${iface.snaplen}`);
    if (capLen === 0) this.anomalies.add('zero_length_record', `record ${this.frame + 1} has no bytes`);
    ticksToTime(tsHi, tsLo, iface.ticksPerSec, rec);
    rec.tsSec += iface.tsOffsetSec;
    this.lastSec = rec.tsSec;
    this.lastNsec = rec.tsNsec;
    this.fill(rec, iface, ifId, dataOff, capLen, origLen);
    return true;
  }

  /**
   * Interface statistics: the time they were taken (the end of the capture, for the final ISB
   * that dumpcap writes) tells how long the capture went on after its last packet.
   */
  private readStatistics(s: number, len: number): void {
    if (len < 24) return;
    const iface = this.ifaces[this.dv.getUint32(s + 8, this.le)];
    if (iface === undefined) return;
    const t = { tsSec: 0, tsNsec: 0 };
    ticksToTime(this.dv.getUint32(s + 12, this.le), this.dv.getUint32(s + 16, this.le), iface.ticksPerSec, t);
    t.tsSec += iface.tsOffsetSec;
    if (this.statsEnd === null || t.tsSec > this.statsEnd.tsSec || (t.tsSec === this.statsEnd.tsSec && t.tsNsec > this.statsEnd.tsNsec)) this.statsEnd = t;
  }

  /** Latest interface-statistics time in a pcapng file (null if none): the capture ran at least until then. */
  statsEnd: { tsSec: number; tsNsec: number } | null = null;

  private readSimplePacket(rec: CaptureRecord, s: number, len: number): boolean {
    const iface = this.ifaces[0];
    if (iface === undefined) {
      this.anomalies.add('unknown_interface', `simple packet block at byte ${this.consumedBase + s} before any interface description`);
      return false;
    }
    const origLen = this.dv.getUint32(s + 8, this.le);
    let capLen = Math.min(origLen, len - 16);
    if (iface.snaplen > 0 && capLen > iface.snaplen) capLen = iface.snaplen;
    rec.tsSec = this.lastSec; // SPBs carry no timestamp
    rec.tsNsec = this.lastNsec;
    this.fill(rec, iface, 0, s + 12, capLen, origLen);
    return true;
  }

  private fill(rec: CaptureRecord, iface: Iface, ifId: number, off: number, capLen: number, origLen: number): void {
    rec.frame = ++this.frame;
    rec.capLen = capLen;
    rec.origLen = origLen < capLen ? capLen : origLen;
    rec.linkType = iface.linkType;
    rec.ifIndex = ifId;
    rec.data = this.buf;
    rec.off = off;
    rec.end = off + capLen;
    this.countLinkType(iface.linkType);
  }

  private countLinkType(lt: number): void {
    if (lt !== this.runLinkType) {
      this.addRun();
      this.runLinkType = lt;
    }
    this.runCount++;
  }

  private addRun(): void {
    if (this.runCount === 0) return;
    this.linkTypeCounts.set(this.runLinkType, (this.linkTypeCounts.get(this.runLinkType) ?? 0) + this.runCount);
    this.runCount = 0;
  }

  /** Link types seen so far, with the number of records of each, in order of first appearance. */
  get linkTypes(): ReadonlyMap<number, number> {
    this.addRun();
    return this.linkTypeCounts;
  }

  private truncatedAtEnd(what: string): void {
    this.anomalies.add('truncated_file', `capture ends mid-record after frame ${this.frame}: ${what} (was the capture killed?)`);
  }

  private finish(): number {
    this.done = true;
    return READ_END;
  }
}

function hex(b: Buffer, off: number, n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n && off + i < b.length; i++) parts.push(b[off + i].toString(16).padStart(2, '0'));
  return parts.join(' ');
}

/**
 * Hands every record of `source` to `fn`, nothing else (no decoding, no analysis): for a second
 * pass over a file whose analysis is already done. `rec` is reused from record to record.
 */
export async function forEachRecord(source: ByteSource, fn: (rec: CaptureRecord) => void): Promise<void> {
  const reader = new CaptureReader();
  const rec = new CaptureRecord();
  for (;;) {
    const st = reader.next(rec);
    if (st === READ_RECORD) fn(rec);
    else if (st === READ_END) return;
    else {
      const [off, len] = reader.writable();
      reader.commit(await source.read(reader.buf, off, len));
    }
  }
}
