import { Command, CommanderError, Help } from './commander.js';
import { existsSync, fstatSync, statSync, type Stats } from 'node:fs';
import { UsageError } from '../errors.js';
import { FILTER_FIRST_WORDS } from '../filter/first-words.js';
import { commanderOptions, typedFlags, type AnalyzeCliOptions, type CommandName, type ExplainCliOptions, type FlagEnv } from './options.js';

/** A parsed command line: the command and its typed options. */
export type Invocation = { command: 'analyze'; options: AnalyzeCliOptions } | { command: 'explain'; options: ExplainCliOptions };

const DESCRIPTION = 'Tells, for every connection attempt and DNS lookup in a capture, what happened, who caused it and what to check next.';
const CAPTURES = "pcap or pcapng files (optionally gzip-compressed), directories of them, or '-' for standard input; then optionally a tcpdump-style filter, e.g. 'host 10.0.2.20 and port 443'";

export interface Writers {
  out: (s: string) => void;
  err: (s: string) => void;
}

function command(name: CommandName, description: string): Command {
  const c = new Command(name).description(description);
  for (const o of commanderOptions(name)) c.addOption(o);
  return c;
}

/** The commander tree: `analyze` (the default command) and `explain`. Pure: prints only --help/--version. */
export function buildProgram(version: string, write: Writers): { program: Command; analyze: Command; explain: Command } {
  const analyze = command('analyze', 'diagnose every flow of the captures (the default command: `pcapdiag capture.pcap` is `pcapdiag analyze capture.pcap`)').argument('<capture...>', CAPTURES);
  const explain = command('explain', 'one flow: its packets as a ladder diagram, the verdict, the reasoning and the next checks. Takes the same captures, filter and timers as the analysis, so an id means the same flow')
    .usage('[options] <capture...> [filter] <selector>')
    .argument('<capture...>', `${CAPTURES}; the last argument is the selector: a flow id from the report (3 or #3), or the server (or client) as host:port`);
  const program = new Command()
    .name('pcapdiag')
    .usage('[analyze] [options] <capture...> [filter]\n       pcapdiag explain [options] <capture...> [filter] <selector>\n       pcapdiag merge [-f format] [-o file] [-q] <state.json...>   (chunks written with --state-out, in order)')
    .description(DESCRIPTION)
    .version(version, '-V, --version')
    .addCommand(analyze, { isDefault: true })
    .addCommand(explain)
    .helpCommand(false)
    // the top-level help lists the default command's options too: most runs are `pcapdiag [options] capture`
    .addHelpText('after', () => `\nOptions of analyze (and, where marked *, of explain):\n${optionList(analyze, explain)}`);
  for (const c of [program, analyze, explain]) {
    c.exitOverride()
      .configureOutput({ writeOut: write.out, writeErr: () => {} })
      .showHelpAfterError(false);
  }
  analyze.allowExcessArguments(false);
  return { program, analyze, explain };
}

function optionList(analyze: Command, explain: Command): string {
  const help = new Help();
  help.helpWidth = process.stdout.columns || 80;
  const inExplain = new Set(explain.options.map((o) => o.long));
  const rows = help
    .visibleOptions(analyze)
    .filter((o) => o.long !== '--help')
    .map((o) => [`${inExplain.has(o.long) ? '*' : ' '} ${help.optionTerm(o)}`, help.optionDescription(o)] as const);
  const width = Math.max(...rows.map(([t]) => t.length));
  return rows.map(([t, d]) => help.formatItem(t, width, d, help)).join('\n');
}

/** argv (without node and script) → the command and its options. Throws UsageError, or CommanderError for --help/--version. */
export function parseArgv(argv: string[], version: string, write: Writers, env: FlagEnv): Invocation {
  const { program, analyze, explain } = buildProgram(version, write);
  let ran: Command | null = null;
  analyze.action(() => {
    ran = analyze;
  });
  explain.action(() => {
    ran = explain;
  });
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) throw e; // --help, --version
      throw new UsageError(e.message.replace(/^error: /, ''));
    }
    throw e;
  }
  if (ran === null) throw new UsageError('missing required argument: capture');
  const cmd: Command = ran;
  if (cmd === explain) {
    const args = [...cmd.args];
    const selector = args.pop();
    if (selector === undefined || args.length === 0) throw new UsageError('explain: give the capture(s), then the flow: an id from the report (3 or #3) or host:port');
    const { inputs, filter } = splitCapturesAndFilter(args);
    return { command: 'explain', options: { inputs, filter, selector, ...(typedFlags('explain', cmd.opts(), env) as Omit<ExplainCliOptions, 'inputs' | 'filter' | 'selector'>) } };
  }
  const { inputs, filter } = splitCapturesAndFilter(cmd.args);
  const flags = typedFlags('analyze', cmd.opts(), env) as Omit<AnalyzeCliOptions, 'inputs' | 'filter'>;
  if (flags.follow && inputs.length !== 1) throw new UsageError('--follow reads one capture: a file, the name given to tcpdump -w, or a directory of one rotated set');
  // `-o report.html` without --format asks for the HTML report
  if (cmd.opts().format === undefined && flags.output !== null && /\.html?$/i.test(flags.output)) flags.format = 'html';
  // a file still being written is read live
  return { command: 'analyze', options: { inputs, filter, ...flags, live: flags.live || flags.follow } };
}

/**
 * The arguments are capture names, then optionally a filter (as with tcpdump, the filter may be one
 * quoted argument or several words). The filter begins at the first argument that is not an
 * existing path and starts with a filter word (host, src, net, port, tcp, not, '(' …).
 */
export function splitCapturesAndFilter(args: string[]): { inputs: string[]; filter: string | null } {
  if (args.indexOf('-') !== args.lastIndexOf('-')) throw new UsageError("standard input ('-') is given twice: it can be read only once");
  const at = args.findIndex(
    (a, i) =>
      i > 0 &&
      a !== '-' &&
      !existsSync(a) &&
      (FILTER_FIRST_WORDS.has(
        a
          .trim()
          .split(/[\s(]+/)
          .find((w) => w !== '')
          ?.toLowerCase() ?? '',
      ) ||
        a.trim().startsWith('(')),
  );
  const inputs = at < 0 ? args : args.slice(0, at);
  refuseStreamsTwice(inputs);
  return { inputs, filter: at < 0 ? null : args.slice(at).join(' ') };
}

/**
 * A pipe or device named twice (`- /dev/stdin`, `/dev/fd/3 /proc/self/fd/3`) can be read only
 * once: the second reading would find it empty, and say "empty input" of what the first read.
 * Regular files may be given twice (each reading sees the whole file).
 */
function refuseStreamsTwice(inputs: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const input of inputs) {
    let st: Stats;
    try {
      st = input === '-' ? fstatSync(0) : statSync(input);
    } catch {
      continue; // reading it says why
    }
    if (st.isFile() || st.isDirectory()) continue;
    const id = `${st.dev}:${st.ino}`;
    const first = seen.get(id);
    const name = (i: string) => (i === '-' ? "standard input ('-')" : i);
    if (first !== undefined) throw new UsageError(`${name(first)} and ${name(input)} name one stream: it can be read only once`);
    seen.set(id, input);
  }
}
