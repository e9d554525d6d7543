import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { describeFsError, InputError } from '../errors.js';

/**
 * A whole text file given on the command line (a baseline, expectations); `what` names it in the
 * error. At most `maxBytes` are read, whatever the file is: `/dev/zero` or a huge file is refused
 * after that many bytes instead of growing memory until V8 aborts. Devices and directories are
 * refused before any read; a pipe (`--baseline <(…)`) is read like a file, within the same cap.
 */
export function readTextFile(path: string, what: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new InputError(`cannot read ${what} ${path}: ${describeFsError(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory() || st.isCharacterDevice() || st.isBlockDevice() || st.isSocket()) throw new InputError(`cannot read ${what} ${path}: not a regular file`);
    const tooBig = () => new InputError(`${what} ${path} is larger than ${maxBytes.toLocaleString('en-US')} bytes, the most pcapdiag reads`);
    if (st.isFile() && st.size > maxBytes) throw tooBig();
    const buf = Buffer.alloc(Math.min(maxBytes + 1, st.isFile() ? st.size + 1 : 64 * 1024));
    let data = buf;
    let n = 0;
    for (;;) {
      if (n === data.length) {
        if (n > maxBytes) throw tooBig();
        const bigger = Buffer.alloc(Math.min(maxBytes + 1, data.length * 2));
        data.copy(bigger, 0, 0, n);
        data = bigger;
      }
      const got = readSync(fd, data, n, data.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > maxBytes) throw tooBig();
    return data.toString('utf8', 0, n);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read ${what} ${path}: ${describeFsError(e)}`);
  } finally {
    closeSync(fd);
  }
}
