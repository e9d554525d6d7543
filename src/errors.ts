/**
 * The errors that end a run, each with its documented exit code (README "Exit codes"). Core code
 * throws these; only cli/main.ts turns them into an exit code and a line on stderr.
 */
export const EXIT = { OK: 0, GATE: 1, USAGE: 2, INPUT: 3, INTERNAL: 70 } as const;

/** A bad command line: unknown option, bad value, missing capture, a selector that matches nothing. */
export class UsageError extends Error {
  readonly exitCode = EXIT.USAGE;
}

/** Input that cannot be read: no such file, not a capture, an unreadable --baseline or --expect file. */
export class InputError extends Error {
  readonly exitCode = EXIT.INPUT;
}

/** `message` about capture `input`, naming it unless it does already ("cannot open x.pcap: …"), as tcpdump and tshark do. */
export function aboutInput(input: string, message: string): string {
  return input === '' || namesInput(input, message) ? message : `${input}: ${message}`;
}

/**
 * Whether `message` names `input` the way the errors of opening and listing captures do ("cannot
 * open X: …", "cannot read X: …", "no captures in X", "cannot follow X: …", "X holds …"): a
 * capture called `a` or `file` is not named by "not a capture file".
 */
function namesInput(input: string, message: string): boolean {
  for (let at = message.indexOf(input); at >= 0; at = message.indexOf(input, at + 1)) {
    const end = at + input.length;
    if (end < message.length && message[end] !== ':' && message[end] !== ' ') continue;
    if (at === 0 || /(?:open|read|follow|in) $/.test(message.slice(Math.max(0, at - 7), at))) return true;
  }
  return false;
}

/** `e`, when it is an InputError, as one naming capture `input` (aboutInput); standard input is not named. */
export function namingInput(input: string, e: unknown): unknown {
  return e instanceof InputError && input !== '-' ? new InputError(aboutInput(input, e.message)) : e;
}

/** A bug, with what is known about where it happened. */
export class InternalError extends Error {
  readonly exitCode = EXIT.INTERNAL;
}

/** A file-system error in a few words: "no such file", "permission denied"… */
export function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'EIO':
      return 'I/O error';
    default:
      return err.code ?? (typeof err.message === 'string' ? err.message : String(e));
  }
}

/**
 * A value a rule's `when` already established (a describe function reads the ICMP error, the alert
 * or the stall its rule matched on): its absence is a bug, reported as one.
 */
export function must<T>(x: T | null | undefined, what: string): T {
  if (x === null || x === undefined) throw new InternalError(`${what} is missing where its rule required it`);
  return x;
}
