import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeFsError, InputError } from '../errors.js';

/** The first bytes of the files a directory is searched for: pcap (both orders, µs/ns), pcapng, gzip. */
const MAGICS = [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0xa1b2cd34, 0x34cdb2a1, 0x0a0d0d0a];

function looksLikeCapture(path: string): boolean {
  const b = Buffer.alloc(4);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    if (readSync(fd, b, 0, 4, 0) < 4) return false;
  } finally {
    closeSync(fd);
  }
  return MAGICS.includes(b.readUInt32BE(0)) || (b[0] === 0x1f && b[1] === 0x8b);
}

/**
 * Capture names as given, with each directory replaced by the captures found in it and below it
 * (by their first bytes, whatever their names), in name order.
 */
export function expandInputs(inputs: string[]): string[] {
  const out: string[] = [];
  for (const input of inputs) {
    let isDir = false;
    try {
      isDir = input !== '-' && statSync(input).isDirectory();
    } catch {
      // not there: opening it gives the clear error
    }
    if (!isDir) {
      out.push(input);
      continue;
    }
    const found: string[] = [];
    const walk = (dir: string, depth: number) => {
      let names: string[];
      try {
        names = readdirSync(dir).sort();
      } catch (e) {
        throw new InputError(`cannot read ${dir}: ${describeFsError(e)}`);
      }
      for (const n of names) {
        const p = join(dir, n);
        let st;
        try {
          st = statSync(p);
        } catch {
          continue;
        }
        if (st.isDirectory()) {
          if (depth < 16) walk(p, depth + 1);
        } else if (st.isFile() && looksLikeCapture(p)) found.push(p);
      }
    };
    walk(input, 0);
    if (found.length === 0) throw new InputError(`no captures in ${input}`);
    out.push(...found);
  }
  return out;
}
