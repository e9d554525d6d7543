import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByTime } from '../src/flow/by-time.js';

// ByTime against an array: pushes and shifts interleaved so that the ring wraps past its end and
// doubles while its oldest entry is not at index 0.

type Op = { push: number } | { shift: true } | { clear: true };

describe('ByTime', () => {
  it('gives back its entries and their times oldest first, through wraps, growth and clears', () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1, max: 700 }).map((n) => ({ push: n })) },
      { weight: 5, arbitrary: fc.constant({ shift: true as const }) },
      { weight: 1, arbitrary: fc.constant({ clear: true as const }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const q = new ByTime<{ n: number }>();
        const model: { n: number }[] = [];
        let next = 0;
        for (const o of ops) {
          if ('push' in o) {
            for (let k = 0; k < o.push; k++) {
              const item = { n: next++ };
              q.push(item, item.n * 1.5);
              model.push(item);
            }
          } else if ('shift' in o) {
            // take off up to half of what is there
            for (let k = Math.ceil(model.length / 2); k > 0; k--) {
              const want = model.shift() as { n: number };
              expect(q.oldestT()).toBe(want.n * 1.5);
              expect(q.shift()).toBe(want);
            }
          } else {
            q.clear();
            model.length = 0;
          }
          expect(q.length).toBe(model.length);
        }
        while (model.length > 0) {
          const want = model.shift() as { n: number };
          expect(q.oldestT()).toBe(want.n * 1.5);
          expect(q.shift()).toBe(want);
        }
      }),
      { numRuns: 200 },
    );
  });
});
