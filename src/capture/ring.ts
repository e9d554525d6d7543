import { closeSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as zlib from 'node:zlib';
import { CaptureReader, READ_END, READ_RECORD } from './reader.js';
import { CaptureRecord } from './record.js';
import { describeFsError, InputError } from '../errors.js';

/**
 * `--follow` on a rotated set that is still being written: `tcpdump -C 1 -W 5 -w ring.pcap` (parts
 * ring.pcap0…4, rewritten in turn), `tcpdump -C 1 -w ring.pcap` (ring.pcap, ring.pcap1, …),
 * `tcpdump -G 10 -w 'trace-%s.pcap'` (a part per interval, named by strftime), dumpcap's ring
 * buffer (`ring_00001_20261203140000.pcapng`, old parts deleted). The parts of a set are the files
 * of one directory whose names differ in digits only (rotationStem; a `.gz` of tcpdump -z gzip
 * belongs to its part's set). The part after the one being read is the part, other than the ones
 * read, whose first packet is the earliest after the first packet of the one being read:
 * older parts (earlier rounds of a ring) began before it, and a part rewritten on the wrap begins
 * after it. tcpdump closes a part before it opens the next one, so once that next part has a
 * packet the part being read is complete: it is read to its end and the next one read on, as one
 * capture (RingFollower).
 */

/** What the set knows of one of its files. */
interface Member {
  ino: number;
  size: number;
  mtimeMs: number;
  /** Seconds since the epoch of its first packet, null while it has none (or is not a capture). */
  first: number | null;
}

/** The name a file of a rotated set shares with the others: digits taken out (and tcpdump -z gzip's `.gz`). */
export function memberStem(name: string): string {
  return name.replace(/\.gz$/, '').replace(/\d+/g, '');
}

/** The stem of a name as given to tcpdump -w: strftime conversions (`%s`, `%Y%m%d-%H%M%S`) and digits taken out. */
export function patternStem(name: string): string {
  return memberStem(name.replace(/%[-_0^#]?[A-Za-z%]/g, ''));
}

/** The prefix of a part read to find its first packet, at most (a pcapng file may open with long blocks). */
const PEEK_BYTES = 64 * 1024;
/** Read from a file at a time while looking for its first packet. */
const PEEK_STEP = 4096;

/** Seconds since the epoch of the first packet of a capture file (gzip-compressed or not), or null (none yet, not a capture, unreadable). */
export function firstPacketTime(path: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    let bytes = Buffer.alloc(PEEK_BYTES);
    let n = 0;
    while (n < PEEK_BYTES) {
      const k = readSync(fd, bytes, n, Math.min(PEEK_STEP, PEEK_BYTES - n), n);
      if (k === 0) break;
      n += k;
      if (bytes[0] !== 0x1f) {
        const t = firstIn(bytes.subarray(0, n), false);
        if (t !== undefined) return t;
      }
    }
    bytes = bytes.subarray(0, n);
    if (n >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
      // a part tcpdump -z gzip compressed: what its first bytes give (a cut stream yields what it can)
      try {
        bytes = zlib.gunzipSync(bytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      } catch {
        return null;
      }
    }
    return firstIn(bytes, true) ?? null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The first packet's time in the bytes of a capture's start; undefined when they hold none yet and more may come (unless `all`). */
function firstIn(bytes: Buffer, all: boolean): number | null | undefined {
  const reader = new CaptureReader();
  const rec = new CaptureRecord();
  let given = false;
  for (;;) {
    let st;
    try {
      st = reader.next(rec);
    } catch {
      return null; // not a capture
    }
    if (st === READ_RECORD) return rec.tsSec + rec.tsNsec / 1e9;
    if (st === READ_END) return all ? null : undefined;
    if (given) {
      reader.commit(0);
      if (!all) return undefined;
      continue;
    }
    const [off] = reader.writable();
    if (reader.buf.length - off < bytes.length) return null; // larger than a reader's buffer: not a first packet
    bytes.copy(reader.buf, off);
    reader.commit(bytes.length);
    given = true;
  }
}

/** How long the directory of a large set is left alone after a look, as a multiple of what the look took (keeps polling under 5% of a core). */
const SCAN_BACKOFF = 20;

/** The files of one rotated set in one directory, as last looked at. */
export class RotatedSet {
  readonly members = new Map<string, Member>();
  private nextScanAt = 0;

  constructor(
    readonly dir: string,
    readonly stem: string,
  ) {}

  /** Looks at the directory again (not sooner than SCAN_BACKOFF times the last look took, unless `now`): new parts, parts written again, parts gone. */
  scan(now = false): void {
    const t0 = performance.now();
    if (!now && t0 < this.nextScanAt) return;
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      throw new InputError(`cannot read ${this.dir}: ${describeFsError(e)}`);
    }
    const seen = new Set<string>();
    for (const n of names) {
      if (memberStem(n) !== this.stem) continue;
      const p = join(this.dir, n);
      if (this.refresh(p)) seen.add(p);
    }
    for (const p of [...this.members.keys()]) if (!seen.has(p)) this.members.delete(p);
    this.nextScanAt = performance.now() + SCAN_BACKOFF * (performance.now() - t0);
  }

  /** Looks at one file again; false when it is gone or not a file. */
  refresh(p: string): boolean {
    let st: Stats;
    try {
      st = statSync(p);
    } catch {
      this.members.delete(p);
      return false;
    }
    if (!st.isFile()) return false;
    const m = this.members.get(p);
    if (m !== undefined && m.ino === st.ino && m.size === st.size && m.mtimeMs === st.mtimeMs) return true;
    this.members.set(p, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, first: firstPacketTime(p) });
    return true;
  }

  /** The members with a packet, in the order of their first packets, then those without one, oldest written first. */
  ordered(): string[] {
    const all = [...this.members];
    const withPacket = all.filter(([, m]) => m.first !== null).sort((a, b) => (a[1].first as number) - (b[1].first as number) || (a[0] < b[0] ? -1 : 1));
    const without = all.filter(([, m]) => m.first === null).sort((a, b) => a[1].mtimeMs - b[1].mtimeMs);
    return [...withPacket, ...without].map(([p]) => p);
  }
}

/** Where `--follow INPUT` starts: the set, and its part read first. */
export interface FollowStart {
  set: RotatedSet;
  first: string;
}

/**
 * What `--follow INPUT` follows. A file: that file, then the parts of its set written after it
 * (a lone capture is a set of one: `tcpdump -w capture.pcap`, and `-C` parts appear beside it
 * later). A directory: the one rotated set in it, from its oldest part. A name that is not a file,
 * as given to tcpdump -w (`ring.pcap` with -W, whose parts are ring.pcap0…; `'trace-%s.pcap'`
 * with -G): the parts named like it, from the oldest. Throws InputError with one line when there
 * is nothing to follow.
 */
export function followStart(input: string): FollowStart {
  let st: Stats | null = null;
  try {
    st = statSync(input);
  } catch {
    // not there: a name as given to tcpdump -w
  }
  if (st !== null && st.isFile()) {
    const set = new RotatedSet(dirname(input), memberStem(basename(input)));
    set.scan(true);
    return { set, first: input };
  }
  if (st !== null && st.isDirectory()) {
    let names: string[];
    try {
      names = readdirSync(input);
    } catch (e) {
      throw new InputError(`cannot read ${input}: ${describeFsError(e)}`);
    }
    const stems = new Map<string, string>();
    for (const n of names.sort()) {
      const p = join(input, n);
      if (!stems.has(memberStem(n)) && isFile(p) && firstPacketTime(p) !== null) stems.set(memberStem(n), n);
    }
    if (stems.size === 0) throw new InputError(`no captures in ${input} to follow`);
    if (stems.size > 1) throw new InputError(`${input} holds ${stems.size} sets of captures (${[...stems.values()].slice(0, 3).join(', ')}${stems.size > 3 ? ', …' : ''}): give --follow one of their files, or the name given to tcpdump -w`);
    const set = new RotatedSet(input, [...stems.keys()][0]);
    set.scan(true);
    return { set, first: set.ordered()[0] };
  }
  if (st !== null) throw new InputError(`cannot follow ${input}: not a regular file or directory`);
  const set = new RotatedSet(dirname(input), patternStem(basename(input)));
  set.scan(true);
  const first = set.ordered()[0];
  if (first === undefined) throw new InputError(`cannot open ${input}: no such file, and no parts of a rotated set named like it (${join(dirname(input), basename(input).replace(/%[-_0^#]?[A-Za-z%]/g, '*'))}*)`);
  return { set, first };
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Which part of a rotated set is read next while following it: `begin(part)` when a part is
 * opened, `movedOn()` (asked by the part's source at the end of what is written: has the writer
 * gone on to the next part?), `next()` for that part once the one read has ended.
 */
export class RingFollower {
  private current = '';
  /** The first packet time the next part must begin after. */
  private ref = -Infinity;
  /** Whether `ref` is the current part's own first packet (not yet known while it has none). */
  private refIsCurrent = false;
  /** Parts read (or being read), as path and first packet time: a ring's part rewritten is another part. */
  private readonly read = new Set<string>();
  private found: string | null = null;

  constructor(readonly set: RotatedSet) {}

  /** Parts of the set but the one read now: a lone file that is written again starts a new capture (#22), a ring's part is one overtaken. */
  get alone(): boolean {
    return this.set.members.size <= 1;
  }

  begin(part: string): void {
    this.current = part;
    this.found = null;
    this.refIsCurrent = false;
    this.set.refresh(part);
    const m = this.set.members.get(part);
    if (m !== undefined && m.first === null && this.ref === -Infinity) this.ref = m.mtimeMs / 1000 - 1; // a part with no packet yet, the first read: began about when it was created
    this.learnCurrent();
  }

  /** The current part's first packet, once it has one, is what the next part begins after. */
  private learnCurrent(): void {
    if (this.refIsCurrent) return;
    const m = this.set.members.get(this.current);
    if (m === undefined || m.first === null) return;
    this.ref = m.first;
    this.refIsCurrent = true;
    this.read.add(`${this.current} ${m.first}`);
  }

  /** The part after the current one if it has appeared (with a packet); the current part is then complete. */
  movedOn(): boolean {
    if (this.found !== null) return true;
    // the part already known to come next (the set read from its start): only it is looked at again
    let next = this.candidate();
    if (next !== null) {
      this.set.refresh(next);
      if (this.candidate() !== next) next = null;
    }
    if (next === null) {
      this.set.scan();
      this.set.refresh(this.current);
      this.learnCurrent();
      next = this.candidate();
    }
    this.found = next;
    return next !== null;
  }

  /** Among the parts looked at: the earliest first packet after `ref`, not read yet. */
  private candidate(): string | null {
    let best: string | null = null;
    let bestT = Infinity;
    for (const [p, m] of this.set.members) {
      // strictly after: a part tcpdump -z gzip compressed once it was closed (ring.pcap1.gz) begins where the part read begins
      if (m.first === null || m.first <= this.ref || m.first >= bestT || this.read.has(`${p} ${m.first}`)) continue;
      if (p === this.current && !this.refIsCurrent) continue; // its first packet is still to be learnt
      best = p;
      bestT = m.first;
    }
    return best;
  }

  /** The part to read after the current one: at once when it is known, else when it appears (looked for every `pollMs`); null once `signal` aborts. */
  async next(signal: AbortSignal | undefined, pollMs: number): Promise<string | null> {
    while (signal?.aborted !== true) {
      if (this.movedOn()) return this.found;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return null;
  }
}
