/**
 * V8's own tests of an object's shape (its %-intrinsics), reached through --allow-natives-syntax,
 * which takes effect for functions compiled after it is set: here, at run time, once.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--allow-natives-syntax');

/** A predicate over objects whose body calls a %-intrinsic on its arguments. */
function intrinsic(params: string[], body: string): (...objects: object[]) => boolean {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- %-syntax parses only in code compiled after the flag
  return new Function(...params, body) as (...objects: object[]) => boolean;
}

/** Whether `a` and `b` have the same hidden class (%HaveSameMap). */
export const haveSameMap: (a: object, b: object) => boolean = intrinsic(['a', 'b'], 'return %HaveSameMap(a, b)');

/** Whether `o` keeps its properties at fixed places, not as a dictionary (%HasFastProperties). */
export const hasFastProperties: (o: object) => boolean = intrinsic(['o'], 'return %HasFastProperties(o)');
