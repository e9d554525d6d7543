import { Command, CommanderError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { FILTER_FIRST_WORDS } from '../filter/filter.js';
import type { AnalyzeOptions } from '../analyze.js';
/**
 * Output formats: the human report, one JSON document, JSON lines streamed as verdicts are
 * decided, or JUnit XML for CI systems.
 */
export const FORMATS = ['text', 'json', 'ndjson', 'junit'] as const;
export type Format = (typeof FORMATS)[number];

export interface CliOptions extends AnalyzeOptions {
  /** Capture files, directories (searched for captures) or '-'. */
  inputs: string[];
  /** The tcpdump-style flow filter after the capture names, or null. */
  filter: string | null;
  failOn: string | null;
  baseline: string | null;
  expect: string | null;
  format: Format;
  color: boolean;
  limit: number;
  /** Timeouts fire on the wall clock too (always for pipes, FIFOs, terminals and --follow). */
  live: boolean;
  follow: boolean;
  /** No progress bar and no warnings on stderr. */
  quiet: boolean;
}

/** "3", "3s", "2.5s", "500ms", "5m" → milliseconds. */
export function parseDuration(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (m === null) throw new UsageError(`${flag}: '${s}' is not a duration (e.g. 3, 2.5s, 500ms, 5m)`);
  const v = parseFloat(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
  if (v <= 0) throw new UsageError(`${flag}: must be greater than 0`);
  return v;
}

function parseCount(s: string, flag: string): number {
  if (!/^\d+$/.test(s)) throw new UsageError(`${flag}: '${s}' is not a whole number`);
  return parseInt(s, 10);
}

/** The commander tree. Pure: parses argv into CliOptions; prints only --help/--version. */
export function buildProgram(version: string, write: { out: (s: string) => void; err: (s: string) => void }): Command {
  return new Command()
    .name('pcapdiag')
    .description('Tells, for every connection attempt and DNS lookup in a capture, what happened, who caused it and what to check next.')
    .version(version, '-V, --version')
    .argument('<capture...>', "pcap or pcapng files (optionally gzip-compressed), directories of them, or '-' for standard input; then optionally a tcpdump-style filter, e.g. 'host 10.0.2.20 and port 443'")
    .addOption(new Option('-f, --format <format>', 'output format').choices(FORMATS).default('text'))
    .option('--syn-timeout <duration>', 'an unanswered SYN is a timeout once the capture goes on this long after it', '3s')
    .option('--dns-timeout <duration>', 'a DNS query with no response for this long is dns-no-response', '5s')
    .option('--tcp-idle <duration>', 'a TCP connection idle this long is final and forgotten', '5m')
    .option('--udp-idle <duration>', 'a UDP flow or DNS transaction idle this long is forgotten', '1m')
    .option('--max-flows <n>', 'track at most this many flows at once; more are counted, not analysed, with a warning', '1000000')
    .option('--live', 'let timeouts fire on the wall clock when no packet arrives (default for pipes, FIFOs and terminals)')
    .option('--follow', 'read a capture file that is still being written (tcpdump -w), like tail -f; stop with Ctrl-C')
    .option('-q, --quiet', 'no progress bar and no warnings on standard error')
    .option('--fail-on <verdicts>', "exit 1 when a flow has one of these verdicts (comma-separated; 'problem' = any but ok/dns-ok)")
    .option('--baseline <file>', 'compare with an earlier --format json output, per service; exit 1 when something got worse')
    .option('--expect <file>', "check rules such as 'tcp 10.0.2.20:443 ok' (one per line); exit 1 when one breaks")
    .option('--limit <n>', 'text format: problems shown per verdict', '20')
    .option('--no-color', 'no colours, even on a terminal (NO_COLOR is honoured too)')
    .exitOverride()
    .configureOutput({ writeOut: write.out, writeErr: () => {} })
    .showHelpAfterError(false)
    .allowExcessArguments(false);
}

/** argv (without node and script) → options. Throws UsageError, or CommanderError for --help/--version. */
export function parseArgv(argv: string[], version: string, write: { out: (s: string) => void; err: (s: string) => void }, isTty: boolean): CliOptions {
  const program = buildProgram(version, write);
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) throw e; // --help, --version
      throw new UsageError(e.message.replace(/^error: /, ''));
    }
    throw e;
  }
  const o = program.opts<{ format: Format; synTimeout: string; dnsTimeout: string; tcpIdle: string; udpIdle: string; limit: string; maxFlows: string; color: boolean; live?: boolean; follow?: boolean; quiet?: boolean; failOn?: string; baseline?: string; expect?: string }>();
  const { inputs, filter } = splitCapturesAndFilter(program.args);
  if (o.follow && inputs.length !== 1) throw new UsageError('--follow reads one capture file');
  return {
    inputs,
    filter,
    failOn: o.failOn ?? null,
    baseline: o.baseline ?? null,
    expect: o.expect ?? null,
    format: o.format,
    synTimeoutMs: parseDuration(o.synTimeout, '--syn-timeout'),
    dnsTimeoutMs: parseDuration(o.dnsTimeout, '--dns-timeout'),
    tcpIdleMs: parseDuration(o.tcpIdle, '--tcp-idle'),
    udpIdleMs: parseDuration(o.udpIdle, '--udp-idle'),
    limit: parseCount(o.limit, '--limit'),
    maxFlows: Math.max(1, parseCount(o.maxFlows, '--max-flows')),
    color: o.color && isTty && !process.env.NO_COLOR,
    live: o.live === true || o.follow === true,
    follow: o.follow === true,
    quiet: o.quiet === true,
  };
}

/**
 * The arguments are capture names, then optionally a filter (as with tcpdump, the filter may be one
 * quoted argument or several words). The filter begins at the first argument that is not an
 * existing path and starts with a filter word (host, src, net, port, tcp, not, '(' …).
 */
export function splitCapturesAndFilter(args: string[]): { inputs: string[]; filter: string | null } {
  const at = args.findIndex((a, i) => i > 0 && a !== '-' && !existsSync(a) && (FILTER_FIRST_WORDS.has(a.trim().split(/[\s(]+/).find((w) => w !== '')?.toLowerCase() ?? '') || a.trim().startsWith('(')));
  if (at < 0) return { inputs: args, filter: null };
  return { inputs: args.slice(0, at), filter: args.slice(at).join(' ') };
}
