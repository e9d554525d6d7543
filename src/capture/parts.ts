import { basename, dirname, join } from 'node:path';
import { CaptureReader, forEachRecord, READ_END, READ_RECORD } from './reader.js';
import { CaptureRecord } from './record.js';
import { openCapture, type ByteSource } from './source.js';
import { InputError, namingInput } from '../errors.js';

/** How several captures are read: as `auto` decides, all as parts of one capture, or each on its own. */
export type Grouping = 'auto' | 'sequence' | 'separate';

/** What is known of a capture before it is read: its first packet. */
export interface CaptureHead {
  input: string;
  /** Seconds since the epoch of the first packet (with its fraction), null when it has none or cannot be read. */
  first: number | null;
  /** Link type of the first packet (-1 when none). */
  linkType: number;
  /** It opened as a capture (it may have no packet: tcpdump -G opens a part before its first packet). */
  readable: boolean;
}

/** The records read at most to find a capture's first packet (a pcapng file may open with many non-packet blocks). */
const PEEK_MAX_REFILLS = 64;

/** Reads a capture up to its first packet. Unreadable inputs, standard input and FIFOs give `first: null`. */
export async function peekHead(input: string): Promise<CaptureHead> {
  const head: CaptureHead = { input, first: null, linkType: -1, readable: false };
  if (input === '-') return head;
  let source;
  try {
    source = await openCapture(input);
  } catch (e) {
    if (e instanceof InputError) return head; // the real read says why
    throw e;
  }
  try {
    if (source.live) return head; // a FIFO cannot be read twice
    const reader = new CaptureReader();
    const rec = new CaptureRecord();
    for (let refills = 0; refills < PEEK_MAX_REFILLS;) {
      let st;
      try {
        st = reader.next(rec);
      } catch (e) {
        if (e instanceof InputError) return head;
        throw e;
      }
      head.readable = reader.format !== null;
      if (st === READ_RECORD) {
        head.first = rec.tsSec + rec.tsNsec / 1e9;
        head.linkType = rec.linkType;
        return head;
      }
      if (st === READ_END) return head;
      const [off, len] = reader.writable();
      const got = source.read(reader.buf, off, len);
      reader.commit(typeof got === 'number' ? got : await got);
      refills++;
    }
    return head;
  } finally {
    source.close();
  }
}

/**
 * The name a rotated capture's parts share: the path with every run of digits taken out. tcpdump
 * numbers `-C` parts `ring.pcap`, `ring.pcap1`, `ring.pcap2`… (`-W`: `ring.pcap0`, `ring.pcap1`…),
 * names `-G` parts by strftime (`trace-20261203-1400.pcap`), and `editcap -c` writes
 * `out_00000_20261203140000.pcap`: the parts differ in digits only.
 */
export function rotationStem(path: string): string {
  return join(dirname(path), basename(path).replace(/\d+/g, ''));
}

/**
 * Groups captures into runs read as one capture each, in the order they are read. `auto`: the
 * captures whose names differ only in digits (rotationStem) and whose first packets have the
 * same link type are parts of one rotated capture, read in the order of their first packets
 * (`-G` names need not sort in time order); every other capture is read on its own. `sequence`:
 * every capture is a part of one, in time order. `separate`: each on its own, as given. A part
 * with no packet joins the set its name belongs to, first; standard input and unreadable captures
 * are always on their own (reading them says why). A group keeps the place of its first member in
 * the given order.
 */
export function groupParts(heads: readonly CaptureHead[], how: Grouping): string[][] {
  if (how === 'separate' || heads.length < 2) return heads.map((h) => [h.input]);
  const groups = new Map<string, CaptureHead[]>();
  const order: (string | CaptureHead)[] = [];
  const stems = new Map<string, string>();
  if (how === 'auto') for (const h of heads) if (h.first !== null) stems.set(rotationStem(h.input), `${h.linkType} ${rotationStem(h.input)}`);
  for (const h of heads) {
    const key = !h.readable ? undefined : how === 'sequence' ? '' : h.first !== null ? `${h.linkType} ${rotationStem(h.input)}` : stems.get(rotationStem(h.input));
    if (key === undefined) {
      order.push(h);
      continue;
    }
    let g = groups.get(key);
    if (g === undefined) {
      groups.set(key, (g = []));
      order.push(key);
    }
    g.push(h);
  }
  return order.map((o) => (typeof o === 'string' ? sortedByTime(groups.get(o) ?? []).map((h) => h.input) : [o.input]));
}

/** In the order of their first packets; parts with none first (stable: sort keeps their given order). */
function sortedByTime(g: CaptureHead[]): CaptureHead[] {
  return g.sort((a, b) => (a.first ?? -Infinity) - (b.first ?? -Infinity));
}

/** The name a run of parts goes by in the report: `ring.pcap … ring.pcap9 (10 parts)`. */
export function partsName(parts: readonly string[]): string {
  return parts.length === 1 ? parts[0] : `${parts[0]} … ${parts[parts.length - 1]} (${parts.length} parts)`;
}

/**
 * Hands every record of the parts of a capture to `fn`, in order, with frame numbers counting on
 * as the analysis numbers them (forEachRecord). `open` opens a part; `fn` returning false stops.
 * This is the second read of captures already analysed (packets for --write-pcap, ladders,
 * --state-out): a part that cannot be read again (replaced or cut meanwhile) is named in the error,
 * as in the first read.
 */
export async function forEachRecordOfParts(parts: readonly string[], open: (part: string) => Promise<ByteSource>, fn: (rec: CaptureRecord, interfaceNames: readonly string[]) => unknown): Promise<void> {
  let frames = 0;
  for (const part of parts) {
    try {
      const source = await open(part);
      try {
        frames = await forEachRecord(source, fn, frames);
      } finally {
        source.close();
      }
    } catch (e) {
      throw namingInput(part, e);
    }
    if (frames < 0) return;
  }
}
