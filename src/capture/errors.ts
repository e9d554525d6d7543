/** Errors that end a run, each with its documented exit code. Core code throws these; only cli/main.ts exits. */
export class UsageError extends Error {
  readonly exitCode = 2;
}
export class InputError extends Error {
  readonly exitCode = 3;
}
export class InternalError extends Error {
  readonly exitCode = 70;
}
