import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTextFile } from '../../src/ci/text-file.js';
import { loadBaseline } from '../../src/ci/baseline.js';

describe('--baseline and --expect files: bounded reads', () => {
  it('a FIFO (as `--baseline <(…)` gives) is read like a file', async () => {
    const fifo = join(mkdtempSync(join(tmpdir(), 'pcapdiag-fifo-')), 'b');
    spawnSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `printf '%s' '{"schema":2,"records":[]}' > '${fifo}'`]);
    expect(loadBaseline(fifo)).toEqual([]);
    await new Promise((r) => writer.on('close', r));
  });
  it('a FIFO that gives more than the cap is refused after the cap, not read to the end', async () => {
    const fifo = join(mkdtempSync(join(tmpdir(), 'pcapdiag-fifo-')), 'e');
    spawnSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `head -c 300000 /dev/zero > '${fifo}'`]);
    expect(() => readTextFile(fifo, 'expectations', 100_000)).toThrow(/expectations .* is larger than 100,000 bytes/);
    writer.kill();
    await new Promise((r) => writer.on('close', r));
  });
});
