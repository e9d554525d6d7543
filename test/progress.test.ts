import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, hasCommand, ROOT } from './helpers/run.js';

/** Runs pcapdiag under `script`, so that its stderr is a terminal; returns what the terminal got. */
function onTerminal(args: string, env: Record<string, string | undefined>): string {
  const e = { ...process.env, ...env };
  if (env.CI === undefined) delete e.CI;
  const r = spawnSync('script', ['-qec', `'${process.execPath}' '${BIN}' ${args} > /dev/null`, '/dev/null'], { encoding: 'utf8', env: e, timeout: 60_000 });
  return r.stdout;
}

describe('progress bar on long file input', () => {
  it.skipIf(!hasCommand('script'))('shows bytes, packets, rate and ETA on a terminal; never in CI, with --quiet or in a pipe', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-progress-'));
    const big = join(dir, 'big.pcap');
    try {
      // about 1.5 s of analysis: the bar appears only after 0.5 s
      spawnSync(process.execPath, [join(ROOT, 'bench', 'generate.mjs'), big, '300'], { stdio: 'ignore' });
      const shown = onTerminal(`-f ndjson '${big}'`, {});
      expect(shown).toMatch(/\d+% \| \d+\/300 MB \| [\d,]+ packets \| \d+ MB\/s \| ETA \d+s/);
      expect(onTerminal(`-f ndjson '${big}'`, { CI: 'true' })).not.toContain('MB/s');
      expect(onTerminal(`-f ndjson --quiet '${big}'`, {})).not.toContain('MB/s');
      const piped = spawnSync(process.execPath, [BIN, '-f', 'ndjson', big], { encoding: 'utf8', env: { ...process.env, CI: '' }, maxBuffer: 1 << 28 });
      expect(piped.stderr).not.toContain('MB/s');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
