import { describe, expect, it } from 'vitest';
import { analyzeSource, DEFAULT_OPTIONS } from '../src/analyze.js';
import { shellWord } from '../src/render/escape.js';
import { bufferSource } from './helpers/build.js';
import { HOSTILE, hostileCapture } from './helpers/hostile.js';

describe('packet-derived words in suggested shell commands are quoted', () => {
  it('plain names stay as they are; anything else is one single-quoted word', () => {
    expect(shellWord('www.example.test')).toBe('www.example.test');
    expect(shellWord('nosuch.example.test.')).toBe('nosuch.example.test.');
    expect(shellWord('$(reboot)')).toBe("'$(reboot)'");
    expect(shellWord('a;rm -rf ~')).toBe("'a;rm -rf ~'");
    expect(shellWord("it's")).toBe("'it'\\''s'");
    expect(shellWord('`id`')).toBe("'`id`'");
  });

  it("a hostile SNI reaches a check's openssl command only quoted", async () => {
    const r = await analyzeSource(bufferSource(hostileCapture()), DEFAULT_OPTIONS);
    const checks = r.records.map((x) => x.check).filter((c) => c.includes('-servername'));
    expect(checks.length).toBeGreaterThan(0);
    for (const c of checks) expect(c).toContain(`-servername ${shellWord(HOSTILE.sni)}`);
    expect(shellWord(HOSTILE.sni).startsWith("'")).toBe(true);
  });
});
