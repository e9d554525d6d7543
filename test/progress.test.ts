import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, hasCommand } from './helpers/run.js';
import { FLAGS, pcap, tcpFrame } from './helpers/build.js';

/**
 * `n` unanswered SYNs from distinct sources, 10 µs apart: every packet is a record of its own, so
 * the run lasts about 10 µs of analysis a packet, on a file small to write (70 bytes a packet).
 * The bar's tests need a run well past its 0.5 s delay on any machine (a realistic capture of
 * 300 MB once took 1.5 s and now takes 0.4 s).
 */
function synFlood(path: string, n: number): void {
  const frame = tcpFrame('c2s', { sport: 1024, dport: 80, seq: 1, flags: FLAGS.SYN });
  const rec = pcap([{ sec: 0, frac: 0, data: frame }]).subarray(24);
  const out = Buffer.alloc(24 + n * rec.length);
  pcap([]).copy(out, 0);
  for (let i = 0; i < n; i++) {
    const o = 24 + i * rec.length;
    rec.copy(out, o);
    out.writeUInt32LE(1700000000 + Math.floor(i / 100000), o);
    out.writeUInt32LE((i % 100000) * 10, o + 4);
    out.writeUInt32BE((0x0b000000 + i) >>> 0, o + 16 + 26); // IPv4 source address
  }
  writeFileSync(path, out);
}

/** Runs pcapdiag under `script`, so that its stderr is a terminal; returns what the terminal got. */
function onTerminal(args: string, env: Record<string, string | undefined>): string {
  const e = { ...process.env, ...env };
  if (env.CI === undefined) delete e.CI;
  const r = spawnSync('script', ['-qec', `'${process.execPath}' '${BIN}' ${args} > /dev/null`, '/dev/null'], { encoding: 'utf8', env: e, timeout: 150_000 });
  return r.stdout;
}

describe('progress bar on long file input', () => {
  it.skipIf(!hasCommand('script'))(
    'shows bytes, packets, rate and ETA on a terminal; never in CI, with --quiet or in a pipe',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-progress-'));
      const big = join(dir, 'big.pcap');
      try {
        // about 2 s of analysis here: the bar appears only after 0.5 s
        synFlood(big, 200_000);
        const shown = onTerminal(`-f ndjson '${big}'`, {});
        expect(shown).toMatch(/\d+% \| \d+\/14 MB \| [\d,]+ packets \| \d+ MB\/s \| ETA \d+s/);
        expect(onTerminal(`-f ndjson '${big}'`, { CI: 'true' })).not.toContain('MB/s');
        expect(onTerminal(`-f ndjson --quiet '${big}'`, {})).not.toContain('MB/s');
        const piped = spawnSync(process.execPath, [BIN, '-f', 'ndjson', big], { encoding: 'utf8', env: { ...process.env, CI: '' }, maxBuffer: 1 << 28 });
        expect(piped.stderr).not.toContain('MB/s');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    400_000,
  );
});
