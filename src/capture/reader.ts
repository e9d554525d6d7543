import { CaptureRecord, READ_END, READ_NEED_MORE, READ_RECORD, type Cursor } from './record.js';
import { InputError } from '../errors.js';
import { Anomalies } from './damage.js';
import { isPcapMagic, PCAP_HEADER, PcapFormat } from './pcap.js';
import { BLOCK, PcapngFormat } from './pcapng.js';
import type { ByteSource } from './source.js';

export { READ_END, READ_NEED_MORE, READ_RECORD } from './record.js';
export { MAX_RECORD } from './pcap.js';

const INITIAL_CAPACITY = 1024 * 1024;

type Format = 'pcap' | 'pcapng';

/**
 * Reads classic pcap (pcap.ts) and pcapng (pcapng.ts) from one reused buffer that the caller
 * fills through `writable()`/`commit()`. This module owns the buffer, its refills and the file
 * format detection; the format modules read records out of it through the `Cursor` fields.
 * Never throws on damage after the file header: damage is counted in `anomalies` and, where the
 * rest cannot be trusted, ends the input.
 */
export class CaptureReader implements Cursor {
  buf: Buffer = Buffer.allocUnsafe(INITIAL_CAPACITY);
  /** A view over `buf` (for the format modules). */
  dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  /** Unread bytes are buf[start..end) (start is advanced by the format modules). */
  start = 0;
  end = 0;
  eof = false;
  private need = 0;
  /** Bytes of the input consumed before `start`. */
  consumedBase = 0;

  format: Format | null = null;
  private pcap: PcapFormat | null = null;
  private pcapng: PcapngFormat | null = null;
  /** Records read so far. */
  frame = 0;
  done = false;

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

  /** Latest interface-statistics time in a pcapng file (null if none): the capture ran at least until then. */
  get statsEnd(): { tsSec: number; tsNsec: number } | null {
    return this.pcapng === null ? null : this.pcapng.statsEnd;
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
    return this.pcap !== null ? this.pcap.next(this, rec) : (this.pcapng as PcapngFormat).next(this, rec);
  }

  needOrEnd(needed: number): number {
    if (!this.eof) {
      this.need = needed;
      return READ_NEED_MORE;
    }
    return READ_END;
  }

  /** Tells the format from the first bytes; reads a pcap file header. False if more bytes are needed. */
  private readFileHeader(): boolean {
    const have = this.end - this.start;
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
    if (magicBE === BLOCK.SHB) {
      this.format = 'pcapng';
      this.formatLabel = 'pcapng';
      this.pcapng = new PcapngFormat();
      return true;
    }
    let le: boolean;
    let magic: number;
    if (isPcapMagic(magicLE)) {
      le = true;
      magic = magicLE;
    } else if (isPcapMagic(magicBE)) {
      le = false;
      magic = magicBE;
    } else {
      throw new InputError(`not a capture file: unknown magic ${hex(this.buf, this.start, 4)} (expected pcap or pcapng)`);
    }
    if (have < PCAP_HEADER.LEN) {
      if (this.eof) throw new InputError(`not a capture file: pcap header cut short (${have} of ${PCAP_HEADER.LEN} bytes)`);
      this.need = PCAP_HEADER.LEN;
      return false;
    }
    const pcap = new PcapFormat(this.dv, this.start, le, magic);
    this.format = 'pcap';
    this.formatLabel = pcap.label;
    this.pcap = pcap;
    this.start += PCAP_HEADER.LEN;
    return true;
  }

  countLinkType(lt: number): void {
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

  truncatedAtEnd(what: string): void {
    this.anomalies.add('truncated_file', `capture ends mid-record after frame ${this.frame}: ${what} (was the capture killed?)`);
  }

  finish(): number {
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
 * pass over a file whose analysis is already done. `rec` is reused from record to record; `fn`
 * returning false stops the reading; it also gets the pcapng interface names so far (by
 * `rec.ifIndex`). Frame numbers start after `framesBefore` (a later part of a
 * capture read in parts). Returns the last frame number, or -1 when `fn` stopped the reading.
 */
export async function forEachRecord(source: ByteSource, fn: (rec: CaptureRecord, interfaceNames: readonly string[]) => unknown, framesBefore = 0): Promise<number> {
  const reader = new CaptureReader();
  reader.frame = framesBefore;
  const rec = new CaptureRecord();
  for (;;) {
    const st = reader.next(rec);
    if (st === READ_RECORD) {
      if (fn(rec, reader.interfaceNames) === false) return -1;
    } else if (st === READ_END) return reader.frame;
    else {
      const [off, len] = reader.writable();
      reader.commit(await source.read(reader.buf, off, len));
    }
  }
}
