import { closeSync, openSync, writeSync } from 'node:fs';
import type { CaptureRecord } from '../capture/record.js';
import { forEachFlowPacket } from '../explain.js';
import { describeFsError, InputError } from '../errors.js';
import type { FlowRecord } from '../verdict/types.js';

/** Bytes buffered before a write. */
const FLUSH_AT = 1 << 20;

/**
 * A pcapng file written as it goes: one section, one interface block per link type and interface
 * name met, timestamps in nanoseconds (if_tsresol 9) as the capture had them, and comments on
 * packets (opt_comment), which Wireshark shows as packet comments (`frame.comment`).
 */
export class PcapngWriter {
  private readonly fd: number;
  private chunks: Buffer[] = [];
  private pending = 0;
  private readonly interfaces = new Map<string, number>();
  packets = 0;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new InputError(`cannot write ${path}: ${describeFsError(e)}`);
    }
    const shb = options([[4, Buffer.from('pcapdiag --write-pcap')]]);
    const body = Buffer.alloc(16);
    body.writeUInt32LE(0x1a2b3c4d, 0);
    body.writeUInt16LE(1, 4);
    body.writeUInt16LE(0, 6);
    body.writeBigInt64LE(-1n, 8); // section length not given
    this.block(0x0a0d0d0a, body, shb);
  }

  /** Writes one packet with its original timestamp, link type and interface name, and these comments. */
  packet(rec: CaptureRecord, interfaceName: string | undefined, comments: readonly string[]): void {
    const ifKey = `${rec.linkType} ${interfaceName ?? ''}`;
    let ifId = this.interfaces.get(ifKey);
    if (ifId === undefined) {
      ifId = this.interfaces.size;
      this.interfaces.set(ifKey, ifId);
      const body = Buffer.alloc(8);
      body.writeUInt16LE(rec.linkType, 0);
      body.writeUInt32LE(0, 4); // no snap length
      const opts: [number, Buffer][] = [[9, Buffer.from([9])]];
      if (interfaceName !== undefined && interfaceName !== '') opts.unshift([2, Buffer.from(interfaceName)]);
      this.block(1, body, options(opts));
    }
    const len = rec.end - rec.off;
    const ticks = BigInt(rec.tsSec) * 1_000_000_000n + BigInt(rec.tsNsec);
    const head = Buffer.alloc(20);
    head.writeUInt32LE(ifId, 0);
    head.writeUInt32LE(Number(ticks >> 32n) >>> 0, 4);
    head.writeUInt32LE(Number(ticks & 0xffffffffn), 8);
    head.writeUInt32LE(len, 12);
    head.writeUInt32LE(Math.max(rec.origLen, len), 16);
    const data = Buffer.from(rec.data.subarray(rec.off, rec.end));
    this.block(6, Buffer.concat([head, data, Buffer.alloc(pad4(len))]), comments.length === 0 ? Buffer.alloc(0) : options(comments.map((c) => [1, Buffer.from(c)])));
    this.packets++;
  }

  close(): void {
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
    }
  }

  private block(type: number, body: Buffer, opts: Buffer): void {
    const total = 12 + body.length + opts.length;
    const b = Buffer.alloc(total);
    b.writeUInt32LE(type >>> 0, 0);
    b.writeUInt32LE(total, 4);
    body.copy(b, 8);
    opts.copy(b, 8 + body.length);
    b.writeUInt32LE(total, total - 4);
    this.chunks.push(b);
    this.pending += total;
    if (this.pending >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    const all = Buffer.concat(this.chunks);
    this.chunks = [];
    this.pending = 0;
    let at = 0;
    try {
      while (at < all.length) at += writeSync(this.fd, all, at);
    } catch (e) {
      throw new InputError(`cannot write ${this.path}: ${describeFsError(e)}`);
    }
  }
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** pcapng options, then opt_endofopt. */
function options(list: readonly (readonly [number, Buffer])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [code, value] of list) {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(code, 0);
    h.writeUInt16LE(value.length, 2);
    parts.push(h, value, Buffer.alloc(pad4(value.length)));
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

/** The comment put on a flow's deciding packet: what pcapdiag said about it. */
export function flowComment(r: FlowRecord): string {
  return `pcapdiag #${r.id} ${r.verdict} by ${r.by}: ${r.summary}`;
}

/**
 * Writes the packets of `records` (all of one capture, read again through `records`) to `out`: a
 * packet goes in when it belongs to one of them as explain would draw it, and the packet that
 * decided a record's verdict (its first packet when none did, e.g. a timeout) carries the
 * record's comment. One pass (forEachFlowPacket). Returns the packets written.
 */
export async function writeFlowPackets(read: (fn: (rec: CaptureRecord, interfaceNames: readonly string[]) => unknown) => Promise<unknown>, records: readonly FlowRecord[], out: PcapngWriter): Promise<number> {
  const before = out.packets;
  await forEachFlowPacket(read, records, (rec, names, matches) => {
    const comments: string[] = [];
    for (const m of matches) if (rec.frame === (m.r.frame > 0 ? m.r.frame : m.r.firstFrame)) comments.push(flowComment(m.r));
    out.packet(rec, names[rec.ifIndex], comments);
    return true;
  });
  return out.packets - before;
}
