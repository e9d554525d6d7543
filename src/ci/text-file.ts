import { readFileSync } from 'node:fs';
import { describeFsError, InputError } from '../errors.js';

/** A whole text file given on the command line (a baseline, expectations); `what` names it in the error. */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${what} ${path}: ${describeFsError(e)}`);
  }
}
