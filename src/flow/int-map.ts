import { randomBytes } from 'node:crypto';

/** Mixed into every slot number, so that keys chosen in a capture cannot be made to share slots. */
const SLOT_SEED = randomBytes(4).readInt32LE(0);
const MIN_CAPACITY = 1024;

/**
 * A map from int32 keys to objects (or strings) for a table of many entries that come and go all
 * the time (the DNS retry series: 80,000 at once, one added and one deleted per lookup on a
 * resolver's capture): open addressing with linear probing, the keys in a typed array and the
 * values in an array of the same size, half full at most. A `Map` of that size keeps its entries in
 * one table sized for the live and the deleted ones (7.3 MB for 81,010 entries in the 1 GB dense
 * benchmark run, issue #20) and allocates a new one, as large again or twice as large, each time
 * the deleted ones fill it. Here a deletion moves the entries after it back (no tombstones), and
 * the arrays change size only when the number of entries doubles or falls to an eighth.
 */
export class IntMap<T extends object | string> {
  private keys = new Int32Array(MIN_CAPACITY);
  private vals: (T | null)[] = new Array<T | null>(MIN_CAPACITY).fill(null);
  private mask = MIN_CAPACITY - 1;
  /** 32 − log2(capacity): a slot is the top bits of the mixed key. */
  private shift = 32 - Math.log2(MIN_CAPACITY);
  size = 0;

  private home(key: number): number {
    let h = Math.imul(key ^ SLOT_SEED, 0x85ebca6b);
    h ^= h >>> 13;
    return Math.imul(h, 0xc2b2ae35) >>> this.shift;
  }

  get(key: number): T | undefined {
    const { keys, vals, mask } = this;
    for (let i = this.home(key); ; i = (i + 1) & mask) {
      const v = vals[i];
      if (v === null) return undefined;
      if (keys[i] === key) return v;
    }
  }

  /** Adds or replaces the entry of `key`. */
  set(key: number, value: T): void {
    const { keys, vals, mask } = this;
    let i = this.home(key);
    for (; vals[i] !== null; i = (i + 1) & mask) {
      if (keys[i] === key) {
        vals[i] = value;
        return;
      }
    }
    keys[i] = key;
    vals[i] = value;
    if (++this.size * 2 > vals.length) this.resize(vals.length * 2);
  }

  delete(key: number): boolean {
    const { keys, vals, mask } = this;
    let i = this.home(key);
    for (; ; i = (i + 1) & mask) {
      if (vals[i] === null) return false;
      if (keys[i] === key) break;
    }
    // the entries after the hole, up to the next empty slot, move back into it unless that would
    // put one before its home slot (Knuth's algorithm R)
    for (let j = (i + 1) & mask; vals[j] !== null; j = (j + 1) & mask) {
      const home = this.home(keys[j]);
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      keys[i] = keys[j];
      vals[i] = vals[j];
      i = j;
    }
    vals[i] = null;
    if (--this.size * 8 < vals.length && vals.length > MIN_CAPACITY) this.resize(vals.length / 2);
    return true;
  }

  /** Every value, into `out` from index 0 (in no particular order); their number. */
  values(out: (T | null)[]): number {
    let n = 0;
    for (const v of this.vals) if (v !== null) out[n++] = v;
    return n;
  }

  private resize(capacity: number): void {
    const { keys, vals } = this;
    this.keys = new Int32Array(capacity);
    this.vals = new Array<T | null>(capacity).fill(null);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
    this.size = 0;
    for (let i = 0; i < vals.length; i++) {
      const v = vals[i];
      if (v !== null) this.set(keys[i], v);
    }
  }
}
