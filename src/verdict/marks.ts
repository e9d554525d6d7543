/**
 * The marks a record may take between its decision and its emit, beside its fields: symbol-keyed
 * properties (JSON.stringify and the renderers skip them) that the modules setting them register
 * here. A record described later (classify.ts described) carries them over to its description by
 * this list, not by Object.getOwnPropertySymbols, which made an array and a runtime call for every
 * record of an ndjson run (issue #20); and base() makes each one a property of every record it
 * builds, undefined until set (see there). Every module that registers one is loaded before the
 * first record is built (they are all on the analysis's import graph).
 */
const marks: symbol[] = [];

/** The registered marks. */
export const MARKS: readonly symbol[] = marks;

/** `s` is a mark: described() copies it, base() gives records it. Registered once. */
export function registerMark(s: symbol): void {
  if (!marks.includes(s)) marks.push(s);
}
