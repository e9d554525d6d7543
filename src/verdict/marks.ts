/**
 * The marks a record may take between its decision and its emit, beside its fields: symbol-keyed
 * properties (JSON.stringify and the renderers skip them) that the modules setting them register
 * here, so that a record described later (classify.ts described) carries them over to its
 * description by this list rather than by Object.getOwnPropertySymbols, which made an array and
 * a runtime call for every record of an ndjson run (issue #20).
 */
export const MARKS: symbol[] = [];

/** `s` is a mark: described() copies it. Returns it. */
export function registerMark<S extends symbol>(s: S): S {
  MARKS.push(s);
  return s;
}
