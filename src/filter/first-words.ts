/**
 * Words that can begin a filter (filter.ts's primitives and `not`): how the command line tells a
 * filter from a capture name. A module of its own so that parsing the command line (and so
 * `--version`, `--help`) does not load the filter compiler and the address code it needs.
 */
export const FILTER_FIRST_WORDS: ReadonlySet<string> = new Set(['host', 'src', 'dst', 'net', 'port', 'portrange', 'tcp', 'udp', 'icmp', 'ip', 'ip6', 'not', '!']);
