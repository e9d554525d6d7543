import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { analyzeSource, DEFAULT_OPTIONS } from '../src/analyze.js';
import { InputError } from '../src/errors.js';
import { bufferSource } from './helpers/build.js';
import { fixtureFiles, readFixture } from './helpers/run.js';

/** Analyses bytes; resolves with 'ok' or 'refused', rejects on anything but an InputError. */
async function outcome(bytes: Buffer, chunk: number): Promise<'ok' | 'refused'> {
  try {
    await analyzeSource(bufferSource(bytes, chunk), DEFAULT_OPTIONS);
    return 'ok';
  } catch (e) {
    if (e instanceof InputError) return 'refused';
    throw e;
  }
}

const seeds = fixtureFiles().map((f) => readFixture(f));

describe('damaged input never throws out of the reader, decoders or flow code', () => {
  it('random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.integer({ min: 1, max: 4096 }), async (b, chunk) => {
        expect(['ok', 'refused']).toContain(await outcome(Buffer.from(b), chunk));
      }),
      { numRuns: 300 },
    );
  });

  // A new seed each run; a failure prints it. FC_RUNS=100000 sweeps deeper by hand (about 15 s).
  it('mutated real captures: bit flips, cut points, length fields set to extremes', async () => {
    const mutation = fc.record({
      seed: fc.integer({ min: 0, max: seeds.length - 1 }),
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { maxLength: 20 }),
      extremes: fc.array(fc.tuple(fc.nat(), fc.constantFrom(0, 0xffffffff, 0x7fffffff, 12, 1, 0x10000)), { maxLength: 4 }),
      cut: fc.option(fc.nat()),
      chunk: fc.integer({ min: 1, max: 1 << 16 }),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const b = Buffer.from(seeds[m.seed]);
        for (const [at, bit] of m.flips) b[at % b.length] ^= 1 << bit;
        for (const [at, v] of m.extremes) {
          const o = (at % Math.max(1, b.length - 4)) & ~3;
          b.writeUInt32LE(v >>> 0, o);
        }
        const bytes = m.cut === null ? b : b.subarray(0, m.cut % (b.length + 1));
        expect(['ok', 'refused']).toContain(await outcome(bytes, m.chunk));
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 400) },
    );
  });
});
