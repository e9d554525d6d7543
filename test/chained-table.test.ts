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

/** 1 / (2^32 / φ) mod 2^32: the multiplier ChainedTable picks buckets with, inverted (Newton's iteration). */
const PHI = 0x9e3779b9;
let phiInverse = PHI;
for (let i = 0; i < 5; i++) phiInverse = Math.imul(phiInverse, 2 - Math.imul(PHI, phiInverse));

/** A hash that falls in bucket `b` of a table of 2^bits buckets (`rest`, below the bucket's bits, tells hashes apart). */
const hashIn = (b: number, bits: number, rest = 0): number => Math.imul(((b << (32 - bits)) | rest) >>> 0, phiInverse);

/** The entries of `hash` as a walk from head(hash) finds them. */
function chainOf(t: ChainedTable<Entry>, hash: number): number[] {
  const out: number[] = [];
  for (let f = t.head(hash); f !== null; f = f.nextInBucket) if (f.hash === hash) out.push(f.name);
  return out;
}

function check(t: ChainedTable<Entry>, byHash: Map<number, Entry[]>, order: Entry[]): void {
  expect(t.size).toBe(order.length);
  // at most one entry a bucket, and at least an eighth of the buckets' worth but at the least size
  expect(t.size).toBeLessThanOrEqual(t.bucketCount);
  expect(t.bucketCount === 1024 || t.size >= t.bucketCount / 8).toBe(true);
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
      // a few hashes shared by many entries (one chain, order kept through resizes), some alike
      // in the bits that pick their bucket, the rest spread
      const alike = [hashIn(7, 10), hashIn(7, 10, 1), hashIn(7, 12, 5), -9];
      const hashOf = () => (r() < 0.3 ? alike[Math.floor(r() * 4)] : (r() * 2 ** 32) | 0);
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

  it('each() lets the walk remove the entry it is given, and resizes only once it is over', () => {
    const t = new ChainedTable<Entry>(new FlowBudget(Infinity));
    // 9,000 entries in the first 128 of 16,384 buckets: removing as the walk goes would halve the
    // table while the walk is in them, chaining an odd bucket's entries after the even one's, to
    // be walked twice
    const all = Array.from({ length: 9000 }, (_, i) => new Entry(hashIn(i % 128, 14, i >> 7), i));
    for (const e of all) t.insert(e);
    expect(t.bucketCount).toBe(16384);
    const visits = new Map<number, number>();
    const sizes = new Set<number>();
    t.each((e) => {
      visits.set(e.name, (visits.get(e.name) ?? 0) + 1);
      if (e.name % 10 !== 0) t.remove(e);
      sizes.add(t.bucketCount);
    });
    expect(visits.size).toBe(9000);
    expect([...visits.values()].every((n) => n === 1)).toBe(true);
    expect([...sizes]).toEqual([16384]);
    // 900 left: halved at the end of the walk to the fewest buckets an eighth of which they fill
    expect(t.bucketCount).toBe(4096);
    expect(t.eachInOrder().map((e) => e.name)).toEqual(all.filter((e) => e.name % 10 === 0).map((e) => e.name));
    const h = all[10].hash;
    expect(chainOf(t, h)).toEqual(
      all
        .filter((e) => e.hash === h && e.name % 10 === 0)
        .map((e) => e.name)
        .reverse(),
    );
    // and removes outside a walk halve it again
    for (const e of all.filter((x) => x.name % 10 === 0).slice(0, 600)) t.remove(e);
    expect(t.size).toBe(300);
    expect(t.bucketCount).toBe(2048);
  });

  it('chainFull counts every entry of the bucket, of any hash, and only that bucket', () => {
    const t = new ChainedTable<Entry>(new FlowBudget(Infinity));
    const full: string[] = [];
    t.onChainFull = (what) => full.push(what);
    // hashes alike in the bits that pick their bucket share it: a walk from either goes through all of them
    for (let i = 0; i < MAX_CHAIN - 1; i++) t.insert(new Entry(hashIn(5, 10, i % 2), i));
    expect(t.chainFull(hashIn(5, 10), 'test')).toBe(false);
    t.insert(new Entry(hashIn(5, 10, 7), 999));
    expect(t.chainFull(hashIn(5, 10), 'test', 42)).toBe(true);
    expect(t.chainFull(hashIn(5, 10, 1), 'other')).toBe(true);
    expect(t.chainFull(hashIn(6, 10), 'test')).toBe(false);
    expect(full).toEqual(['frame 42: test', 'other']);
  });

  it('picks buckets from every bit of a hash: hashes alike in their low bits spread', () => {
    const t = new ChainedTable<Entry>(new FlowBudget(Infinity));
    t.onChainFull = () => {
      throw new Error('a chain filled');
    };
    // 1,000 hashes equal in their low 16 bits (a DNS id chosen alike, times a constant)
    for (let i = 0; i < 1000; i++) {
      const e = new Entry((i << 16) | 0x1234, i);
      expect(t.chainFull(e.hash, 'test')).toBe(false);
      t.insert(e);
    }
    let longest = 0;
    for (let i = 0; i < 1000; i++) {
      let n = 0;
      for (let f = t.head((i << 16) | 0x1234); f !== null; f = f.nextInBucket) n++;
      longest = Math.max(longest, n);
    }
    expect(longest).toBeLessThan(10);
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
