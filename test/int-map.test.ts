import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IntMap } from '../src/flow/int-map.js';

// IntMap against a Map over random operations: keys from a small range (so that many share home
// slots and wrap around the table's end), through growth, deletion's backward shifts and shrinking.

interface Box {
  v: number;
}

type Op = { kind: 'set'; key: number; v: number } | { kind: 'delete'; key: number } | { kind: 'get'; key: number };

const key = fc.oneof(fc.integer({ min: -40, max: 40 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
const op: fc.Arbitrary<Op> = fc.oneof(fc.record({ kind: fc.constant('set' as const), key, v: fc.integer() }), fc.record({ kind: fc.constant('delete' as const), key }), fc.record({ kind: fc.constant('get' as const), key }));

function check(ops: Op[]): void {
  const m = new IntMap<Box>();
  const ref = new Map<number, Box>();
  for (const o of ops) {
    if (o.kind === 'set') {
      const b = { v: o.v };
      m.set(o.key, b);
      ref.set(o.key, b);
    } else if (o.kind === 'delete') expect(m.delete(o.key)).toBe(ref.delete(o.key));
    else expect(m.get(o.key)).toBe(ref.get(o.key));
    expect(m.size).toBe(ref.size);
  }
  for (const [k, v] of ref) expect(m.get(k)).toBe(v);
  const out: (Box | null)[] = [];
  const n = m.values(out);
  expect(new Set(out.slice(0, n))).toEqual(new Set(ref.values()));
}

describe('IntMap', () => {
  it('answers as a Map does over random sets, gets and deletes', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => check(ops)),
      { numRuns: 300 },
    );
  });

  it('finds and deletes entries whose probes wrap around the end of the table', () => {
    // keys whose home slot is one of the last three (of 1024): their run wraps to the start
    const m = new IntMap<Box>();
    const home = (k: number) => (m as unknown as { home(k: number): number }).home(k);
    const near: number[] = [];
    for (let k = 0; near.length < 40; k++) if (home(k) >= 1021) near.push(k);
    const others: number[] = [];
    for (let k = -1; others.length < 10; k--) if (home(k) <= 3) others.push(k);
    fc.assert(
      fc.property(fc.shuffledSubarray([...near, ...others], { minLength: 50, maxLength: 50 }), fc.shuffledSubarray([...near, ...others]), (ins, del) => {
        const ops: Op[] = [...ins.map((key, v) => ({ kind: 'set' as const, key, v })), ...del.map((key) => ({ kind: 'delete' as const, key }))];
        for (const key of ins) ops.push({ kind: 'get', key });
        check(ops);
      }),
      { numRuns: 200 },
    );
  });

  it('grows past its first capacity and shrinks back, keeping every entry', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 5000; i++) ops.push({ kind: 'set', key: i * 7919, v: i });
    for (let i = 0; i < 5000; i += 2) ops.push({ kind: 'delete', key: i * 7919 });
    for (let i = 0; i < 4990; i++) ops.push({ kind: 'delete', key: i * 7919 });
    for (let i = 0; i < 5000; i++) ops.push({ kind: 'get', key: i * 7919 });
    check(ops);
    const m = new IntMap<Box>();
    for (let i = 0; i < 5000; i++) m.set(i, { v: i });
    const capacity = () => (m as unknown as { vals: unknown[] }).vals.length;
    expect(capacity()).toBe(16384);
    for (let i = 0; i < 4990; i++) m.delete(i);
    expect(capacity()).toBe(1024);
    expect(m.get(4995)?.v).toBe(4995);
  });
});
