/**
 * ChainedTable (src/flow/chained-table.ts) against a plain model: a Map from hash to the entries
 * of that hash, newest first, and the list of entries in the order they were inserted. Random
 * inserts and removes grow the table past its first buckets and shrink it back, and after each
 * step every hash's chain, each(), eachInOrder() and the size must agree with the model.
 */
import { describe, expect, it } from 'vitest';
import { ChainedTable, FlowBudget, MAX_CHAIN, type TableEntry } from '../src/flow/chained-table.js';

class Entry implements TableEntry<Entry> {
  nextInBucket: Entry | null = null;
  inserted = 0;
  constructor(
    readonly hash: number,
    readonly name: number,
  ) {}
}

/** mulberry32: a seeded PRNG, so that a failure repeats. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The entries of `hash` as a walk from head(hash) finds them. */
function chainOf(t: ChainedTable<Entry>, hash: number): number[] {
  const out: number[] = [];
  for (let f = t.head(hash); f !== null; f = f.nextInBucket) if (f.hash === hash) out.push(f.name);
  return out;
}

function check(t: ChainedTable<Entry>, byHash: Map<number, Entry[]>, order: Entry[]): void {
  expect(t.size).toBe(order.length);
  for (const [hash, list] of byHash) expect(chainOf(t, hash)).toEqual(list.map((e) => e.name));
  expect(t.eachInOrder().map((e) => e.name)).toEqual(order.map((e) => e.name));
  const seen: number[] = [];
  t.each((e) => seen.push(e.name));
  expect(seen.sort((a, b) => a - b)).toEqual(order.map((e) => e.name).sort((a, b) => a - b));
}

describe('ChainedTable', () => {
  for (const seed of [1, 2, 3]) {
    it(`agrees with a plain model through growth and shrinking (seed ${seed})`, () => {
      const r = rng(seed);
      const t = new ChainedTable<Entry>(new FlowBudget(Infinity));
      const byHash = new Map<number, Entry[]>();
      let order: Entry[] = [];
      let name = 0;
      // a few hashes shared by many entries (one chain, order kept through resizes), the rest spread
      const hashOf = () => (r() < 0.3 ? [7, 7 + 1024, 7 + 4096, -9][Math.floor(r() * 4)] : (r() * 2 ** 32) | 0);
      const insert = () => {
        const e = new Entry(hashOf(), name++);
        t.insert(e);
        byHash.set(e.hash, [e, ...(byHash.get(e.hash) ?? [])]);
        order.push(e);
      };
      const remove = () => {
        const e = order[Math.floor(r() * order.length)];
        expect(t.remove(e)).toBe(true);
        expect(t.remove(e)).toBe(false);
        const rest = (byHash.get(e.hash) ?? []).filter((x) => x !== e);
        if (rest.length > 0) byHash.set(e.hash, rest);
        else byHash.delete(e.hash);
        order = order.filter((x) => x !== e);
      };
      // up past 1,024 and 2,048 buckets, down below an eighth of 4,096, up again
      for (const [steps, pInsert] of [
        [5000, 0.9],
        [6000, 0.2],
        [3000, 0.7],
      ] as const) {
        for (let i = 0; i < steps; i++) {
          if (order.length === 0 || r() < pInsert) insert();
          else remove();
          if (i % 500 === 0) check(t, byHash, order);
        }
        check(t, byHash, order);
      }
      expect(name).toBeGreaterThan(4096);
    });
  }

  it('each() lets the walk remove the entry it is given, and does not resize under it', () => {
    const t = new ChainedTable<Entry>(new FlowBudget(Infinity));
    // 8,000 entries in buckets 0-63 of the 16,384, 1,000 in buckets 8,192-8,255: removing as the walk
    // goes would halve the table while the walk is in the first buckets, and chain the others'
    // entries after theirs, to be walked twice
    const all = Array.from({ length: 9000 }, (_, i) => new Entry(i < 8000 ? i % 64 : 8192 + (i % 64), i));
    for (const e of all) t.insert(e);
    const visits = new Map<number, number>();
    t.each((e) => {
      visits.set(e.name, (visits.get(e.name) ?? 0) + 1);
      if (e.name % 10 !== 0) t.remove(e);
    });
    expect(visits.size).toBe(9000);
    expect([...visits.values()].every((n) => n === 1)).toBe(true);
    expect(t.eachInOrder().map((e) => e.name)).toEqual(all.filter((e) => e.name % 10 === 0).map((e) => e.name));
    // the shrink held back during the walk happens at the next remove
    t.remove(all[0]);
    expect(t.size).toBe(899);
    const kept10 = all.filter((e) => e.hash === 10 && e.name % 10 === 0).map((e) => e.name);
    expect(chainOf(t, 10)).toEqual(kept10.reverse());
  });

  it('chainFull counts every entry of the bucket, of any hash, and only that bucket', () => {
    const t = new ChainedTable<Entry>(new FlowBudget(Infinity));
    const full: string[] = [];
    t.onChainFull = (what) => full.push(what);
    // hashes alike in their low bits share a bucket: a walk from either goes through all of them
    for (let i = 0; i < MAX_CHAIN - 1; i++) t.insert(new Entry(5 + (i % 2) * (1 << 20), i));
    expect(t.chainFull(5, 'test')).toBe(false);
    t.insert(new Entry(5 + (1 << 21), 999));
    expect(t.chainFull(5, 'test', 42)).toBe(true);
    expect(t.chainFull(5 + (1 << 20), 'other')).toBe(true);
    expect(t.chainFull(6, 'test')).toBe(false);
    expect(full).toEqual(['frame 42: test', 'other']);
  });

  it('counts its entries in the budget', () => {
    const budget = new FlowBudget(3);
    const t = new ChainedTable<Entry>(budget);
    const es = [1, 2, 3].map((h) => new Entry(h, h));
    for (const e of es) t.insert(e);
    expect(budget.full).toBe(true);
    t.remove(es[1]);
    expect(budget.used).toBe(2);
    expect(budget.full).toBe(false);
  });
});
