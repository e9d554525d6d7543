import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureRun, DEFAULT_OPTIONS, type Report } from '../src/analyze.js';
import { openCapture } from '../src/capture/source.js';
import { forEachRecord } from '../src/capture/reader.js';
import { analyzeChunk } from '../src/handoff/chunk.js';
import { mergeStates, type MergeStats } from '../src/handoff/merge.js';
import { bufferSource, ipv4TcpFromMac, pcap, type Rec } from './helpers/build.js';
import { cli, FIXTURES, fixtureFiles, readFixture } from './helpers/run.js';
import type { FlowRecord } from '../src/verdict/types.js';
import type { RunReport } from '../src/run-report.js';

interface Packet extends Rec {
  linkType: number;
}

async function packetsOf(buf: Buffer): Promise<Packet[]> {
  const out: Packet[] = [];
  await forEachRecord(bufferSource(buf), (rec) => {
    out.push({ sec: rec.tsSec, frac: rec.tsNsec, data: Buffer.from(rec.data.subarray(rec.off, rec.end)), origLen: rec.origLen, linkType: rec.linkType });
  });
  return out;
}

const NAME = 'set';

/** What a report says that a merge must say as one analysis does: records, summary, where the capture was taken, warnings, anomalies. */
function compared(report: Report): unknown {
  return JSON.parse(JSON.stringify({ records: report.records, summary: report.summary, vantage: report.input.vantage ?? null, parts: report.input.parts ?? null, warnings: report.warnings, anomalies: report.anomalies })) as unknown;
}

/** What one analysis of the chunk files read in sequence (as a rotated set) says. */
async function whole(files: readonly string[], opts = DEFAULT_OPTIONS): Promise<unknown> {
  const run = new CaptureRun(opts, { file: NAME });
  for (const file of files) {
    const src = await openCapture(file);
    try {
      await run.read(src);
    } finally {
      src.close();
    }
  }
  return compared(await run.finish(NAME));
}

/** The packets cut before each index of `cuts` into chunk files, each analysed on its own to a state, then merged; and the chunk files read as one set. */
async function splitAndMerge(dir: string, packets: Packet[], cuts: number[], stats?: MergeStats, opts = DEFAULT_OPTIONS): Promise<{ merged: unknown; whole: unknown }> {
  const states: string[] = [];
  const files: string[] = [];
  let from = 0;
  for (const [i, to] of [...cuts, packets.length].entries()) {
    const part = join(dir, `chunk${i}.pcap`);
    writeFileSync(part, pcap(packets.slice(from, to), { ns: true, linkType: packets[0].linkType }));
    files.push(part);
    const state = join(dir, `chunk${i}.json`);
    await analyzeChunk([part], opts, state, NAME);
    states.push(state);
    from = to;
  }
  const report = await mergeStates(states, NAME, stats);
  return { merged: compared(report), whole: await whole(files, opts) };
}

/** Cut points per fixture: evenly spread, the first and the last. */
const CUTS = 6;

/** Fixtures whose split is known to differ, with the reason (a gap of the hand-off, said in the test output). */
const KNOWN_GAPS = new Map([
  ['dns-fragmented.pcap', 'IP fragments held in reassembly at a chunk boundary are not part of the chunk state'],
  ['dns-fragment-lost.pcap', 'IP fragments held in reassembly at a chunk boundary are not part of the chunk state'],
]);
for (const [f, why] of KNOWN_GAPS) console.warn(`handoff.test: ${f} not split: ${why}`);

describe('a set split into chunks analysed apart and merged gives the records of one analysis (hand-off)', () => {
  for (const f of fixtureFiles()) {
    it.skipIf(KNOWN_GAPS.has(f))(f, async () => {
      const packets = await packetsOf(readFixture(f));
      if (packets.length < 2) return;
      const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-handoff-'));
      try {
        const n = packets.length;
        const cuts = [...new Set(Array.from({ length: CUTS }, (_, i) => 1 + Math.round((i * (n - 2)) / (CUTS - 1))))].filter((c) => c > 0 && c < n);
        for (const cut of cuts) {
          const { merged, whole } = await splitAndMerge(dir, packets, [cut]);
          expect(merged, `cut before packet ${cut + 1} of ${n}`).toEqual(whole);
        }
        // three chunks, one of them a single packet
        const three = [...new Set([1, Math.floor(n / 2)])].filter((c) => c > 0 && c < n);
        const { merged, whole } = await splitAndMerge(dir, packets, three);
        expect(merged, `cut before ${three.map((c) => c + 1).join(', ')}`).toEqual(whole);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("the client's MAC travels with a chunk's records (other-family links one host's attempts only)", () => {
  it('a fallback from another MAC, cut anywhere: no link, as in one analysis', async () => {
    const moved = ipv4TcpFromMac(readFixture('related-happy-eyeballs.pcap'), '10.0.1.10', 0x525400abcdef);
    const packets = await packetsOf(moved.capture);
    const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-handoff-mac-'));
    try {
      let statesKept = 0;
      for (let cut = 1; cut < packets.length; cut++) {
        const stats: MergeStats = { records: 0, replayedRecords: 0, replayedPackets: 0 };
        const { merged, whole } = await splitAndMerge(dir, packets, [cut], stats);
        expect(merged, `cut before packet ${cut + 1}`).toEqual(whole);
        expect(JSON.stringify(whole)).not.toContain('other-family');
        if (stats.records > stats.replayedRecords) statesKept++;
      }
      expect(statesKept).toBeGreaterThan(0); // records taken from the states, not only decided again
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--max-flows across chunks', () => {
  it('the merge says so when the limit may have counted otherwise in one analysis; under it, the same as one analysis', async () => {
    const packets = await packetsOf(readFixture('related-nat.pcap'));
    const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-handoff-'));
    try {
      const cut = Math.floor(packets.length / 2);
      const tight = await splitAndMerge(dir, packets, [cut], undefined, { ...DEFAULT_OPTIONS, maxFlows: 2 });
      const warned = (tight.merged as { warnings: string[] }).warnings.filter((w) => w.startsWith('--max-flows 2 may have been reached in '));
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(
        /chunk[01]\.json \(up to \d+ flows at once(, and up to \d+ flows of the chunks before it still open at its start)?\): one analysis of the whole set may have tracked other flows than the chunks did; analyse the set in one run, or raise --max-flows$/,
      );
      const roomy = await splitAndMerge(dir, packets, [cut], undefined, { ...DEFAULT_OPTIONS, maxFlows: 20 });
      expect(roomy.merged).toEqual(roomy.whole);
      expect(JSON.stringify(roomy.merged)).not.toContain('may have been reached');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pcapdiag --state-out and pcapdiag merge, in separate processes', () => {
  it('two chunks of a fixture, each analysed by its own process, merge to the records of the whole', async () => {
    const packets = await packetsOf(readFixture('tcp-reset-by-router.pcap'));
    const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-handoff-'));
    try {
      const cut = Math.floor(packets.length / 2);
      const chunks = [packets.slice(0, cut), packets.slice(cut)].map((p, i) => {
        const path = join(dir, `ring.pcap${i}`);
        writeFileSync(path, pcap(p, { ns: true, linkType: packets[0].linkType }));
        return path;
      });
      const all = join(dir, 'whole.pcap');
      writeFileSync(all, pcap(packets, { ns: true, linkType: packets[0].linkType }));
      const states = chunks.map((c, i) => {
        const state = join(dir, `state${i}.json`);
        const run = cli(['-q', '-f', 'ndjson', '--state-out', state, c]);
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        return state;
      });
      const merged = cli(['merge', '-q', '-f', 'json', ...states]);
      expect(merged.stderr).toBe('');
      const doc = JSON.parse(merged.stdout) as RunReport;
      const { Ajv } = await import('ajv');
      const ajv = new Ajv({ allErrors: true, strict: false });
      const schema = JSON.parse(readFileSync(join(FIXTURES, '..', 'schema', 'report.schema.json'), 'utf8')) as { $id: string };
      ajv.addSchema(schema);
      const validate = ajv.getSchema(schema.$id);
      expect(validate?.(doc), JSON.stringify(validate?.errors)).toBe(true);
      const direct = JSON.parse(cli(['-f', 'json', all]).stdout) as RunReport;
      const strip = (rs: FlowRecord[]) => rs.map(({ file: _, ...r }) => r);
      expect(strip(doc.records)).toEqual(strip(direct.records));
      expect(doc.records.some((r) => r.verdict === 'refused' && r.evidence.some((e) => e.includes('other connections')))).toBe(true);
      // a state that is not one
      writeFileSync(join(dir, 'bad.json'), '{"version": 99}');
      const bad = cli(['merge', join(dir, 'bad.json')]);
      expect(bad.code).toBe(3);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [dir, first, second] of [
    ['rotated-size', ['ring.pcap.gz', 'ring.pcap1.gz'], ['ring.pcap2.gz']],
    ['rotated-time', ['rot-1796310561.pcap', 'rot-1796310562.pcap'], ['rot-1796310563.pcap', 'rot-1796310564.pcap', 'rot-1796310565.pcap']],
  ] as const) {
    it(`${dir} (tcpdump ${dir === 'rotated-size' ? '-C, gzip' : '-G'}): two chunks of parts in two processes merge to the set's records`, () => {
      const tmp = mkdtempSync(join(tmpdir(), 'pcapdiag-handoff-'));
      try {
        const states = [first, second].map((parts, i) => {
          const state = join(tmp, `c${i}.json`);
          const run = cli(['-q', '-f', 'ndjson', '--state-out', state, ...parts.map((p) => join(FIXTURES, dir, p))]);
          expect(run.code).toBe(0);
          return state;
        });
        const flows = (out: string) =>
          out
            .split('\n')
            .filter((l) => l.includes('"type":"flow"'))
            .map((l) => l.replace(/"file":"[^"]*",/, ''));
        const merged = cli(['merge', '-q', '-f', 'ndjson', ...states]);
        const whole = cli(['-q', '-f', 'ndjson', join(FIXTURES, dir)]);
        expect(flows(merged.stdout)).toEqual(flows(whole.stdout));
        expect(flows(merged.stdout).length).toBeGreaterThan(2);
        // the summary line too: counts, UDP flows, where the capture was taken, parts, warnings (all but the name)
        const summary = (out: string) =>
          out
            .split('\n')
            .filter((l) => l.includes('"type":"summary"'))
            .map((l) => {
              const j = JSON.parse(l) as { input: { name?: string; vantage?: string } };
              delete j.input.name;
              return j;
            });
        expect(summary(merged.stdout)).toEqual(summary(whole.stdout));
        expect(summary(whole.stdout)[0].input.vantage).toMatch(/^near the clients/);
        // in the other order the states are refused
        const swapped = cli(['merge', '-q', ...states.reverse()]);
        expect(swapped.code).toBe(3);
        expect(swapped.stderr).toContain('capture order');
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
});
