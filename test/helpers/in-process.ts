import { parseArgv } from '../../src/cli/program.js';
import { analyzeCommand } from '../../src/cli/commands/analyze.js';
import { explainCommand } from '../../src/cli/commands/explain.js';
import type { Sink } from '../../src/cli/output.js';

/** Collects a command's output as a string. */
export class StringSink implements Sink {
  text = '';
  write(s: string): void {
    this.text += s;
  }
  line(s: string): void {
    this.text += s + '\n';
  }
  flush(): void {}
  busy(): null {
    return null;
  }
  drain(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * `pcapdiag ARGS` run in this process (as the CLI parses and runs them, without spawning one):
 * its exit code and standard output. Warnings are not shown (-q is added).
 */
export async function runInProcess(args: string[]): Promise<{ code: number; stdout: string }> {
  const call = parseArgv(args, '0', { out: () => {}, err: () => {} }, { isTty: false, noColor: true });
  const sink = new StringSink();
  const code = call.command === 'explain' ? await explainCommand(call.options, undefined, sink) : await analyzeCommand({ ...call.options, quiet: true }, undefined, sink);
  return { code, stdout: sink.text };
}
