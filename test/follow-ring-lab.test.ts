import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, isFlow, type NdjsonLine } from './helpers/run.js';

const isRoot = process.getuid?.() === 0;

/** Milliseconds of an ISO time with up to nanosecond digits. */
const msOf = (iso: string) => Date.parse(iso.replace(/(\.\d{3})\d*Z$/, '$1Z'));

describe('--follow on a rotated set real tcpdump is writing, in the fixtures lab (fixtures/follow-ring-e2e.sh)', () => {
  for (const mode of ['size', 'time'] as const) {
    it.skipIf(!isRoot)(
      `${mode === 'size' ? 'tcpdump -C 1 -W 3 (a ring that wraps)' : "tcpdump -G 1 -w 'trace-%s.pcap'"}: a connection across rotations is one ok record, the SYN timeout comes within seconds, every packet is read`,
      () => {
        const out = join(mkdtempSync(join(tmpdir(), 'pcapdiag-ring-lab-')), 'follow.out');
        const r = spawnSync('bash', [join(FIXTURES, 'follow-ring-e2e.sh'), mode, out], { encoding: 'utf8', timeout: 120_000 });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stderr).not.toMatch(/internal error|written again|cannot/);
        const lines = readFileSync(out, 'utf8')
          .trim()
          .split('\n')
          .map((l) => {
            const sp = l.indexOf(' ');
            return { ms: Number(l.slice(0, sp)), text: l.slice(sp + 1) };
          });
        const marker = (m: string) => {
          const l = lines.find((x) => x.text.startsWith(m));
          if (l === undefined) throw new Error(`follow-ring-e2e.sh wrote no ${m} line`);
          return l;
        };
        const records = lines.filter((l) => l.text.startsWith('{')).map((l) => ({ ms: l.ms, r: JSON.parse(l.text) as NdjsonLine }));
        const flows = records.flatMap(({ ms, r }) => (isFlow(r) ? [{ ms, r }] : []));
        const summary = records.find((x) => x.r.type === 'summary')?.r;
        if (summary?.input?.parts === undefined) throw new Error('no summary with the parts read');
        const parts = summary.input.parts;
        // the parts tcpdump rotated through: several, each read (a ring's part once per round)
        expect(parts.length).toBeGreaterThanOrEqual(4);
        if (mode === 'size') expect(new Set(parts.map((p) => p.name)).size).toBe(3);
        // every packet tcpdump wrote was read, once
        const written = Number(/TCPDUMP (\d+) packets captured/.exec(marker('TCPDUMP').text)?.[1]);
        expect(summary.input.packets).toBe(written);
        expect(flows.map((f) => f.r.id)).toEqual(flows.map((_, i) => i + 1));
        expect(flows.filter((f) => f.r.verdict === 'midstream' || f.r.verdict === 'capture-ended')).toEqual([]);
        // the slow download: one record, ok, and it was open across a rotation
        const dl = flows.filter((f) => f.r.server === '10.0.2.20:8082');
        expect(dl.map((f) => f.r.verdict)).toEqual(['ok']);
        const start = msOf(dl[0].r.start ?? '');
        const end = start + (dl[0].r.duration ?? 0) * 1000;
        const crossed = parts.filter((p) => p.first !== null && p.last !== null && msOf(p.last) > start && msOf(p.last) < end);
        expect(crossed.length, JSON.stringify(parts)).toBeGreaterThanOrEqual(1);
        expect(flows.filter((f) => f.r.server === '10.0.2.20:81').map((f) => f.r.verdict)).toEqual(['refused']);
        // the unanswered SYN: reported while tcpdump still ran, seconds after it left (3 s timeout + 1 s, from the second SYN 1 s later)
        const timeout = flows.filter((f) => f.r.server === '10.0.2.20:82');
        expect(timeout.map((f) => f.r.verdict)).toEqual(['timeout']);
        const after = timeout[0].ms - marker('SYN-SENT').ms;
        expect(after).toBeGreaterThan(4000);
        expect(after).toBeLessThan(9000);
        expect(timeout[0].ms).toBeLessThan(marker('CAPTURE-STOPPED').ms);
      },
      150_000,
    );
  }
});
