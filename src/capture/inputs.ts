import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeFsError, InputError } from '../errors.js';

/** The first bytes of the files a directory is searched for: pcap (both orders, µs/ns), pcapng, gzip. */
const MAGICS = [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0xa1b2cd34, 0x34cdb2a1, 0x0a0d0d0a];

/** How deep a directory is searched below the one given. */
const MAX_DEPTH = 16;

/** A capture (true), not one (false), or a file that cannot be read (the error, to be reported like any unreadable capture). */
function looksLikeCapture(path: string): boolean | InputError {
  const b = Buffer.alloc(4);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    return new InputError(`cannot open ${path}: ${describeFsError(e)}`);
  }
  try {
    if (readSync(fd, b, 0, 4, 0) < 4) return false;
  } catch (e) {
    return new InputError(`cannot read ${path}: ${describeFsError(e)}`);
  } finally {
    closeSync(fd);
  }
  return MAGICS.includes(b.readUInt32BE(0)) || (b[0] === 0x1f && b[1] === 0x8b);
}

/** One input to read: a capture's path (or '-'), or why a named input gave none (said, and exit 3, when its turn comes). */
export type Input = string | InputError;

/** A file's identity, whatever the path to it (links, `./`): its device and inode. */
export const idOf = (st: Stats) => `${st.dev}:${st.ino}`;

/**
 * Capture names as given, with each directory replaced by the captures found in it and below it
 * (by their first bytes, whatever their names), in name order. Each real directory and file is
 * taken once, by device and inode, however many symbolic links lead to it (a `loop -> .` link
 * is not walked again). A member that cannot be opened or read is kept as its error, and a
 * directory without captures becomes "no captures in DIR": among several inputs they are named
 * and skipped while the others are analysed. The walk yields to the event loop and stops when
 * `signal` is aborted.
 */
export async function expandInputs(inputs: string[], signal?: AbortSignal): Promise<Input[]> {
  const out: Input[] = [];
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();
  const stopped = () => signal?.aborted === true;
  for (const input of inputs) {
    let st: Stats | null = null;
    try {
      st = input === '-' ? null : statSync(input);
    } catch {
      // not there: opening it gives the clear error
    }
    if (st === null || !st.isDirectory()) {
      out.push(input);
      continue;
    }
    const found: Input[] = [];
    const walk = async (dir: string, dirStat: Stats, depth: number): Promise<void> => {
      if (stopped() || seenDirs.has(idOf(dirStat))) return;
      seenDirs.add(idOf(dirStat));
      let names: string[];
      try {
        names = (await readdir(dir)).sort();
      } catch (e) {
        found.push(new InputError(`cannot read ${dir}: ${describeFsError(e)}`));
        return;
      }
      for (const n of names) {
        if (stopped()) return;
        const p = join(dir, n);
        let s: Stats;
        try {
          s = await stat(p);
        } catch {
          continue; // a dangling link, or gone since the listing
        }
        if (s.isDirectory()) {
          if (depth < MAX_DEPTH) await walk(p, s, depth + 1);
        } else if (s.isFile() && !seenFiles.has(idOf(s))) {
          seenFiles.add(idOf(s));
          const is = looksLikeCapture(p);
          if (is !== false) found.push(is === true ? p : is);
        }
      }
    };
    await walk(input, st, 0);
    out.push(...(found.length === 0 ? [new InputError(`no captures in ${input}`)] : found));
  }
  return out;
}
