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
  return input === '' || message.includes(input) ? message : `${input}: ${message}`;
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
