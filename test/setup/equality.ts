/**
 * toEqual compares records whose marks hold undefined as Vitest documents it for other keys: a
 * property holding undefined is as good as none. Every record base() builds has each mark
 * (verdict/marks.ts) as its own symbol-keyed property, undefined until set; Vitest 4's `equals`
 * lists an object's symbol keys but then takes those holding undefined for missing ones, so two
 * records with the same fields and marks never matched (vitest-dev/vitest#8342, open). This tester
 * compares two plain objects without their registered marks that hold undefined, and leaves every
 * other comparison to Vitest. Vitest runs custom testers under toStrictEqual too, and does not say
 * which matcher asked: two such records compared strictly are then compared as toEqual compares
 * them (no test compares records strictly).
 */
import { expect } from 'vitest';
import { MARKS } from '../../src/verdict/marks.js';

/** Vitest's custom equality tester (not exported by name). */
type Tester = Parameters<typeof expect.addEqualityTesters>[0][number];

/** The registered marks of `o` whose value is undefined. */
function undefinedSymbols(o: object): symbol[] {
  return Object.getOwnPropertySymbols(o).filter((s) => MARKS.includes(s) && (o as Record<symbol, unknown>)[s] === undefined);
}

/** A shallow copy of `o` without the keys in `drop`. */
function without(o: object, drop: readonly symbol[]): object {
  const from = o as Record<string | symbol, unknown>;
  const copy: Record<string | symbol, unknown> = {};
  for (const k of Reflect.ownKeys(o)) if (typeof k === 'string' || !drop.includes(k)) copy[k] = from[k];
  return copy;
}

const isPlainObject = (x: unknown): x is object => typeof x === 'object' && x !== null && !Array.isArray(x) && Object.getPrototypeOf(x) === Object.prototype;

const undefinedSymbolsAside: Tester = function (a: unknown, b: unknown, customTesters: Tester[]) {
  if (!isPlainObject(a) || !isPlainObject(b)) return undefined;
  const da = undefinedSymbols(a);
  const db = undefinedSymbols(b);
  if (da.length === 0 && db.length === 0) return undefined;
  return this.equals(without(a, da), without(b, db), customTesters);
};

expect.addEqualityTesters([undefinedSymbolsAside]);
