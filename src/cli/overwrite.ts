import { fstatSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, resolve, sep } from 'node:path';
import { idOf } from '../capture/inputs.js';
import { memberStem, patternStem } from '../capture/ring.js';
import { UsageError } from '../errors.js';

/**
 * Refuses (UsageError, exit 2) outputs that would destroy what is read: an output file that is
 * one of the inputs (opened for writing, it is emptied before it is read; `-` is standard input,
 * which may come from that file), one inside a followed directory or tcpdump -w set (`followed`:
 * its parts are found later), or two outputs that are one file. `outputs` are named by their flag.
 */
export function refuseOutputsOverInputs(outputs: readonly (readonly [flag: string, path: string | null])[], inputs: readonly string[], followed: string | null = null): void {
  const given = outputs.filter((o): o is [string, string] => o[1] !== null).map(([flag, path]) => ({ flag, path, id: fileOf(path) }));
  given.forEach((a, k) => {
    for (const b of given.slice(k + 1)) if (resolve(a.path) === resolve(b.path) || (a.id !== null && a.id === b.id)) throw new UsageError(`${a.flag} and ${b.flag} name the same file ${b.path}: give each its own`);
  });
  const read = new Map(inputs.map((i) => [fileOf(i), i] as const));
  for (const o of given) {
    if (followed !== null && isFollowed(o.path, followed)) throw new UsageError(`${o.flag} ${o.path} would be among the captures --follow reads (${followed}): give a file elsewhere`);
    const i = o.id === null ? undefined : read.get(o.id);
    if (i !== undefined) throw new UsageError(`${o.flag} ${o.path} is ${i === '-' ? 'standard input' : `the input ${i}`}: writing it would destroy what is read; give another file`);
  }
}

/** The identity of a regular file (`-`: standard input's), or null: not there (yet), or not a file, such as /dev/null. */
function fileOf(path: string): string | null {
  let st: Stats;
  try {
    st = path === '-' ? fstatSync(0) : statSync(path);
  } catch {
    return null;
  }
  return st.isFile() ? idOf(st) : null;
}

/** Whether `path` is (or would be) one of the files `--follow followed` reads: in its directory, or a part of its rotated set (ring.ts). */
function isFollowed(path: string, followed: string): boolean {
  const dir = resolve(followed);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // tcpdump -w's name, not there yet
  }
  const p = resolve(path);
  if (isDir) return p.startsWith(dir + sep);
  return dirname(p) === dirname(dir) && memberStem(basename(p)) === patternStem(basename(dir));
}
