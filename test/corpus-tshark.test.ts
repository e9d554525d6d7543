import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { InputError } from '../src/errors.js';
import { analyzeFile, BIN, ROOT, SHARED_PCAPS, withShared } from './helpers/run.js';

const table = (name: string) =>
  readFileSync(join(ROOT, 'test', 'corpus', name), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t'));

/**
 * For every corpus capture tshark reads, pcapdiag reads the same number of packets and counts the
 * same TCP conversations (`tshark -z conv,tcp`), or the difference is explained, one reason per
 * file, in test/corpus/tshark-allow.tsv. tshark's figures are precomputed by
 * test/corpus/tshark-counts.sh (running tshark over ~1000 files takes minutes).
 */
describe.skipIf(!withShared('the corpus/tshark agreement') || !existsSync(join(ROOT, 'test', 'corpus', 'tshark-counts.tsv')))('public corpus: packets and TCP conversations agree with tshark', () => {
  it('every file agrees or has a reason in the allow-list, and no reason is stale', async () => {
    const allow = new Map(table('tshark-allow.tsv').map(([f, reason]) => [f, reason]));
    const unexplainedDiffs: string[] = [];
    const stale: string[] = [];
    let agreed = 0;
    let slowest = 0;
    for (const [file, tPackets, tConvs] of table('tshark-counts.tsv')) {
      let got: string;
      const t0 = performance.now();
      try {
        const r = await analyzeFile(join(SHARED_PCAPS, file));
        got = `${r.input.packets}/${r.summary.tcpConversations}`;
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        got = 'refused';
      }
      slowest = Math.max(slowest, performance.now() - t0);
      const want = tPackets === 'unreadable' ? 'refused' : `${tPackets}/${tConvs}`;
      const same = got === want;
      if (same) agreed++;
      if (!same && !allow.has(file)) unexplainedDiffs.push(`${file}: tshark ${want}, pcapdiag ${got}`);
      if (same && allow.has(file)) stale.push(file);
    }
    expect(unexplainedDiffs).toEqual([]);
    expect(stale).toEqual([]);
    expect(agreed).toBeGreaterThan(700);
    expect(slowest).toBeLessThan(10_000); // the bound per file (not a benchmark)
  }, 600_000);

  it('on the command line, in batches: exit 0 or 3, errors as one line each, never a stack trace', () => {
    const files = readFileSync(join(SHARED_PCAPS, 'MANIFEST.tsv'), 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t')[0])
      .filter((f) => f !== '');
    for (let i = 0; i < files.length; i += 200) {
      const batch = files.slice(i, i + 200).map((f) => join(SHARED_PCAPS, f));
      const r = spawnSync(process.execPath, [BIN, '-f', 'ndjson', '--quiet', ...batch], { encoding: 'utf8', maxBuffer: 1 << 28, timeout: 300_000 });
      expect([0, 3]).toContain(r.status);
      for (const line of r.stderr.split('\n').filter((l) => l !== '')) expect(line).toMatch(/^pcapdiag: (\/\S+: )?(cannot|not a capture|unsupported|empty|the file|no packets|truncated)/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  }, 600_000);
});
