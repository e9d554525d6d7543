import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandInputs } from '../../src/capture/inputs.js';

// #22: a directory walk must stop when asked (SIGINT aborts the signal main.ts passes), and a
// directory with links to itself is walked once.
const ROOT = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-walk-'));
for (let i = 0; i < 120; i++) {
  const sub = join(dir, `d${String(i).padStart(2, '0')}`);
  mkdirSync(sub);
  copyFileSync(join(ROOT, 'fixtures', 'tcp-ok.pcap'), join(sub, 'c.pcap'));
}
for (const l of ['l1', 'l2', 'l3']) symlinkSync('.', join(dir, l));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the directory walk stops when its signal is aborted', () => {
  it('walks every directory once when not stopped', async () => {
    const found = await expandInputs([dir]);
    expect(found).toHaveLength(120);
  });

  it('finds nothing when stopped before it starts', async () => {
    const ac = new AbortController();
    ac.abort();
    const found = await expandInputs([dir], ac.signal);
    // nothing walked: the directory is reported as holding no captures
    expect(found).toHaveLength(1);
    expect(String(found[0])).toContain('no captures');
  });

  it('stops part way when aborted during the walk', async () => {
    const ac = new AbortController();
    // abort once the walk has yielded to the event loop a few times
    let ticks = 0;
    const tick = (): void => {
      if (++ticks === 5) ac.abort();
      else setImmediate(tick);
    };
    setImmediate(tick);
    const found = await expandInputs([dir], ac.signal);
    expect(ac.signal.aborted).toBe(true);
    expect(found.length).toBeLessThan(120);
  });
});
