import { Option } from './commander.js';
import { UsageError } from '../errors.js';
import { FORMATS, type Format } from '../render/formats.js';
import type { AnalyzeOptions } from '../analyze.js';

/** The commands; `analyze` is the default (`pcapdiag capture.pcap`). */
export type CommandName = 'analyze' | 'explain';

/** What parsing a flag may depend on besides its own value. */
export interface FlagEnv {
  /** Standard output is a terminal. */
  isTty: boolean;
  /** NO_COLOR is set. */
  noColor: boolean;
}

/** One command-line flag: how commander shows and reads it, and the typed value it becomes. */
interface FlagSpec<T, C extends readonly CommandName[] = readonly CommandName[]> {
  /** commander syntax: '-f, --format <format>', '--live', '--no-color'. */
  flags: string;
  description: string;
  /** The default as it would be typed on the command line (parsed like a typed value). */
  default?: string;
  choices?: readonly string[];
  /** The commands that take it. */
  commands: C;
  /** commander's raw value (a string, true, or undefined when absent) → the option's value. */
  parse: (raw: string | boolean | undefined, env: FlagEnv) => T;
}

const flag = <T, const C extends readonly CommandName[]>(s: FlagSpec<T, C>): FlagSpec<T, C> => s;
const BOTH = ['analyze', 'explain'] as const;
const ANALYZE = ['analyze'] as const;

/** "3", "3s", "2.5s", "500ms", "5m" → milliseconds. */
export function parseDuration(s: string, flagName: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (m === null) throw new UsageError(`${flagName}: '${short(s)}' is not a duration (e.g. 3, 2.5s, 500ms, 5m)`);
  const v = parseFloat(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
  if (v <= 0) throw new UsageError(`${flagName}: must be greater than 0`);
  // 400 digits parse as Infinity, which JSON prints as null; and times are nanoseconds in doubles
  if (!(v <= MAX_DURATION_MS)) throw new UsageError(`${flagName}: '${short(s)}' is longer than 30 days`);
  return v;
}

/** The longest timer: 30 days (in nanoseconds, far below 2^53). */
const MAX_DURATION_MS = 30 * 86_400_000;

function parseCount(s: string, flagName: string, max: number): number {
  if (!/^\d+$/.test(s)) throw new UsageError(`${flagName}: '${short(s)}' is not a whole number`);
  const n = parseInt(s, 10);
  if (!(n <= max)) throw new UsageError(`${flagName}: '${short(s)}' is more than ${max.toLocaleString('en-US')}`);
  return n;
}

/** A value quoted in an error, cut to a readable length. */
const short = (s: string) => (s.length > 40 ? `${s.slice(0, 30)}… (${s.length} characters)` : s);

/** The most --max-flows may be: a hundred million flows already need tens of GB. */
const MAX_FLOWS_LIMIT = 100_000_000;

const text = (raw: string | boolean | undefined): string | null => (typeof raw === 'string' ? raw : null);
const on = (raw: string | boolean | undefined): boolean => raw === true;

/**
 * Every flag of every command, in the order `--help` lists them: one table that commander's
 * options, the typed options and the help text all come from.
 */
export const FLAGS = {
  format: flag({ flags: '-f, --format <format>', description: 'output format (default: text; html when --output ends in .html)', choices: FORMATS, commands: ANALYZE, parse: (raw): Format => (raw ?? 'text') as Format }),
  output: flag({ flags: '-o, --output <file>', description: 'write the report to this file instead of standard output', commands: ANALYZE, parse: text }),
  synTimeoutMs: flag({
    flags: '--syn-timeout <duration>',
    description: 'an unanswered SYN is a timeout once the capture goes on this long after the first SYN',
    default: '3s',
    commands: BOTH,
    parse: (raw) => parseDuration(raw as string, '--syn-timeout'),
  }),
  dnsTimeoutMs: flag({ flags: '--dns-timeout <duration>', description: 'a DNS query with no response for this long is dns-no-response', default: '5s', commands: BOTH, parse: (raw) => parseDuration(raw as string, '--dns-timeout') }),
  responseTimeoutMs: flag({
    flags: '--response-timeout <duration>',
    description: 'a request the server sends nothing back to for this long is no-response',
    default: '5s',
    commands: BOTH,
    parse: (raw) => parseDuration(raw as string, '--response-timeout'),
  }),
  tcpIdleMs: flag({ flags: '--tcp-idle <duration>', description: 'a TCP connection idle this long is final and forgotten', default: '5m', commands: BOTH, parse: (raw) => parseDuration(raw as string, '--tcp-idle') }),
  udpIdleMs: flag({ flags: '--udp-idle <duration>', description: 'a UDP flow or DNS transaction idle this long is forgotten', default: '1m', commands: BOTH, parse: (raw) => parseDuration(raw as string, '--udp-idle') }),
  maxFlows: flag({
    flags: '--max-flows <n>',
    description: 'track at most this many flows at once; more are counted, not analysed, with a warning',
    default: '250000',
    commands: BOTH,
    parse: (raw) => {
      const n = parseCount(raw as string, '--max-flows', MAX_FLOWS_LIMIT);
      if (n === 0) throw new UsageError('--max-flows: 0 would analyse no flow at all; give 1 or more');
      return n;
    },
  }),
  sequence: flag({ flags: '--sequence', description: 'read all the captures as parts of one, in time order (default: only parts of a rotated set, named alike)', commands: BOTH, parse: on }),
  separate: flag({ flags: '--separate', description: 'analyse each capture on its own, even the parts of a rotated set', commands: BOTH, parse: on }),
  vantages: flag({
    flags: '--vantages',
    description: 'correlate the captures as vantage points of one network, taken at the same time (default: when they overlap in time and share flows)',
    commands: BOTH,
    parse: on,
  }),
  live: flag({ flags: '--live', description: 'let timeouts fire on the wall clock when no packet arrives (default for pipes, FIFOs and terminals)', commands: ANALYZE, parse: on }),
  follow: flag({
    flags: '--follow',
    description: 'read a capture file that is still being written (tcpdump -w), like tail -f, and the parts of its rotated set after it (tcpdump -C, -W, -G): give a part, the name given to -w, or the directory; stop with Ctrl-C',
    commands: ANALYZE,
    parse: on,
  }),
  quiet: flag({ flags: '-q, --quiet', description: 'no progress bar and no warnings on standard error', commands: ANALYZE, parse: on }),
  failOn: flag({
    flags: '--fail-on <verdicts>',
    description: "exit 1 when a flow has one of these verdicts (comma-separated; 'problem' = any but the healthy ones: ok, dns-ok, ping-ok, health-check and the benign DNS verdicts)",
    commands: ANALYZE,
    parse: text,
  }),
  baseline: flag({ flags: '--baseline <file>', description: 'compare with an earlier --format json output, per service; exit 1 when something got worse', commands: ANALYZE, parse: text }),
  expect: flag({ flags: '--expect <file>', description: "check rules such as 'tcp 10.0.2.20:443 ok' (one per line); exit 1 when one breaks", commands: ANALYZE, parse: text }),
  writePcap: flag({
    flags: '--write-pcap <file>',
    description: 'write the packets of the problem flows (with a filter: of the flows it selects) to a pcapng file, each verdict a packet comment on its deciding packet',
    commands: ANALYZE,
    parse: text,
  }),
  stateOut: flag({
    flags: '--state-out <file>',
    description: 'analyse the captures as one chunk of a rotated set split across processes, and write its state (file.json and file.pcapng) for `pcapdiag merge`',
    commands: ANALYZE,
    parse: text,
  }),
  limit: flag({ flags: '--limit <n>', description: 'text and html: problems shown per group of problems alike', default: '20', commands: ANALYZE, parse: (raw) => parseCount(raw as string, '--limit', Number.MAX_SAFE_INTEGER) }),
  color: flag({ flags: '--no-color', description: 'no colours, even on a terminal (NO_COLOR is honoured too)', commands: BOTH, parse: (raw, env) => raw !== false && env.isTty && !env.noColor }),
} as const;

type Flags = typeof FLAGS;
type FlagName = keyof Flags;
type ValueOf<K extends FlagName> = Flags[K] extends FlagSpec<infer T> ? T : never;
type FlagsOf<C extends CommandName> = { [K in FlagName]: C extends Flags[K]['commands'][number] ? K : never }[FlagName];

/** The six analysis options: the same for every command, so an id means the same flow in each. */
const ANALYSIS_KEYS = ['synTimeoutMs', 'dnsTimeoutMs', 'responseTimeoutMs', 'tcpIdleMs', 'udpIdleMs', 'maxFlows'] as const satisfies readonly (keyof AnalyzeOptions)[];

/** The captures and the flow filter every command reads. */
export interface InputArgs {
  /** Capture files, directories (searched for captures) or '-'. */
  inputs: string[];
  /** The tcpdump-style flow filter after the capture names, or null. */
  filter: string | null;
}

export type AnalyzeCliOptions = InputArgs & {
  [
    K in
      | 'synTimeoutMs'
      | 'dnsTimeoutMs'
      | 'responseTimeoutMs'
      | 'tcpIdleMs'
      | 'udpIdleMs'
      | 'maxFlows'
      | 'sequence'
      | 'separate'
      | 'vantages'
      | 'format'
      | 'output'
      | 'live'
      | 'follow'
      | 'quiet'
      | 'failOn'
      | 'baseline'
      | 'expect'
      | 'writePcap'
      | 'stateOut'
      | 'limit'
      | 'color'
  ]: ValueOf<K>;
};
export type ExplainCliOptions = InputArgs & { [K in 'synTimeoutMs' | 'dnsTimeoutMs' | 'responseTimeoutMs' | 'tcpIdleMs' | 'udpIdleMs' | 'maxFlows' | 'sequence' | 'separate' | 'vantages' | 'color']: ValueOf<K> } & {
  /** A flow id from the report (3 or #3), or host:port. */
  selector: string;
};

// the two option types above must list exactly the flags each command takes (a type error if not)
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type FlagTablesAgree = [Assert<Same<Exclude<keyof AnalyzeCliOptions, keyof InputArgs>, FlagsOf<'analyze'>>>, Assert<Same<Exclude<keyof ExplainCliOptions, keyof InputArgs | 'selector'>, FlagsOf<'explain'>>>];

/** The analysis options out of a command's options. */
export function analysisOptions(o: AnalyzeOptions): AnalyzeOptions {
  const a = {} as AnalyzeOptions;
  for (const k of ANALYSIS_KEYS) a[k] = o[k];
  return a;
}

/** commander Options for a command, from the table. */
export function commanderOptions(command: CommandName): Option[] {
  const out: Option[] = [];
  for (const spec of Object.values(FLAGS) as FlagSpec<unknown>[]) {
    if (!spec.commands.includes(command)) continue;
    const o = new Option(spec.flags, spec.description);
    if (spec.choices !== undefined) o.choices(spec.choices);
    if (spec.default !== undefined) o.default(spec.default);
    out.push(o);
  }
  return out;
}

/** commander's raw option values → the typed values of a command's flags. */
export function typedFlags(command: CommandName, raw: Record<string, string | boolean | undefined>, env: FlagEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(FLAGS) as [FlagName, FlagSpec<unknown>][]) {
    if (!spec.commands.includes(command)) continue;
    out[key] = spec.parse(raw[new Option(spec.flags).attributeName()], env);
  }
  return out;
}
