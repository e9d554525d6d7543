import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Handles, MAX_RELATED, Recent, Relater, widened, type Linker } from '../src/related/relate.js';
import { RELATED_KINDS, type FlowRecord } from '../src/verdict/types.js';
import { portNumber, portPart } from '../src/related/ends.js';

const ROOT = join(__dirname, '..');

function rec(id: number, t: number, server: string): FlowRecord {
  return { type: 'flow', id, key: `k${id}`, proto: 'tcp', client: '10.0.1.10:1000', server, verdict: 'ok', by: 'server', start: '', t, duration: 0, summary: '', evidence: [], check: '', frame: 0, firstFrame: id, packets: 1 };
}

/** Relates each record to every earlier one with the same server (a toy rule for the stage itself). */
function sameServer(): Linker {
  const seen = new Recent<{ t: number; id: number }>(10, 4, 3);
  return {
    relate(r, found) {
      for (const e of seen.get(r.server, r.t)) found(e.id, 'same-host', `here ${e.id}`, `there ${r.id}`);
      seen.add(r.server, { t: r.t, id: r.id });
    },
  };
}

describe('Relater', () => {
  it('links within a batch both ways and to earlier batches one way', () => {
    const rel = new Relater([sameServer()]);
    const a = rec(1, 0, 's:1');
    rel.relate([a]);
    const b = rec(2, 1, 's:1');
    const c = rec(3, 2, 's:1');
    rel.relate([b, c]);
    expect(a.related).toBeUndefined();
    expect(b.related).toEqual([
      { id: 1, kind: 'same-host', why: 'here 1' },
      { id: 3, kind: 'same-host', why: 'there 3' },
    ]);
    expect(c.related?.map((x) => x.id)).toEqual([1, 2]);
  });

  it('forgets records older than the window and caps links per record', () => {
    const rel = new Relater([sameServer()]);
    rel.relate([rec(1, 0, 's:1')]);
    const late = rec(2, 11, 's:1');
    rel.relate([late]);
    expect(late.related).toBeUndefined();
    const many: Linker = {
      relate: (_r, found) => {
        for (let i = 1; i < 100; i++) found(i, 'same-host', 'x');
      },
    };
    const r = rec(200, 0, 's:2');
    new Relater([many]).relate([r]);
    expect(r.related).toHaveLength(MAX_RELATED);
  });

  it('Recent keeps at most maxKeys keys and perKey entries', () => {
    const recent = new Recent<{ t: number }>(100, 2, 2);
    recent.add('a', { t: 0 });
    recent.add('a', { t: 1 });
    recent.add('a', { t: 2 });
    expect(recent.get('a', 2).map((e) => e.t)).toEqual([1, 2]);
    recent.add('b', { t: 3 });
    recent.add('c', { t: 4 });
    expect(recent.get('a', 4)).toEqual([]);
    expect(recent.get('c', 4)).toHaveLength(1);
  });

  it('Recent holds no entry of a key it forgot (the slot keeps its list, empty)', () => {
    const recent = new Recent<{ t: number }>(10, 4, 3);
    const held = () => (recent as unknown as { lists: unknown[][] }).lists.flat();
    const old = [{ t: 0 }, { t: 1 }, { t: 2 }];
    for (const e of old) recent.add('a', e);
    // expired when looked up
    expect(recent.get('a', 50)).toEqual([]);
    for (const e of old) expect(held()).not.toContain(e);
    // forgotten by the pass over expired keys
    const early = { t: 60 };
    recent.add('b', early);
    recent.add('c', { t: 100 });
    expect(recent.keyCount).toBe(1);
    expect(held()).not.toContain(early);
  });

  it('Recent forgets keys whose entries are all older than the window before the newest', () => {
    const recent = new Recent<{ t: number }>(10, 1000, 2);
    for (let i = 0; i < 100; i++) recent.add(`k${i}`, { t: i });
    recent.add('late', { t: 200 });
    // the newest time moved on by more than a quarter of the window: the pass at t = 200 forgets
    // every key with no entry within 10 s of it, and none of the keys added after
    for (let i = 0; i < 30; i++) recent.add(`n${i}`, { t: 200 + i / 10 });
    expect(recent.keyCount).toBe(31);
    expect(recent.get('late', 200)).toHaveLength(1);
    expect(recent.get('k99', 99)).toEqual([]);
  });

  it('Recent keeps what a plain model keeps, and hands back every entry it no longer holds, once', () => {
    type E = { t: number; id: number };
    /** What Recent promises, plainly: keys in order of first insertion, windows, bounds, passes. */
    class Model {
      readonly byKey = new Map<string, E[]>();
      latest = -Infinity;
      passed = -Infinity;
      constructor(
        readonly windowSec: number,
        readonly maxKeys: number,
        readonly perKey: number,
      ) {}
      add(key: string, e: E): void {
        if (e.t > this.latest) {
          this.latest = e.t;
          if (e.t - this.passed >= this.windowSec / 4) {
            this.passed = this.latest;
            for (const [k, list] of [...this.byKey]) if (Math.max(...list.map((x) => x.t)) < this.latest - this.windowSec) this.byKey.delete(k);
          }
        }
        const list = this.byKey.get(key);
        if (list !== undefined) {
          list.push(e);
          if (list.length > this.perKey) list.shift();
          return;
        }
        if (this.byKey.size >= this.maxKeys) this.byKey.delete(this.byKey.keys().next().value as string);
        this.byKey.set(key, [e]);
      }
      get(key: string, now: number): E[] {
        const list = (this.byKey.get(key) ?? []).filter((e) => e.t >= now - this.windowSec);
        if (list.length === 0) this.byKey.delete(key);
        else this.byKey.set(key, list);
        return list;
      }
    }
    let seed = 3;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    // few keys, and many: keys share places of the table, wrap around its end and are shifted
    // back as others leave (a table of 3 keys has 8 places, one of 50 has 128); one of 400 keys
    // grows from 64 slots to 128, 256 and 400 with keys in it
    for (const [maxKeys, keys, step] of [
      [3, 6, 1],
      [50, 400, 10],
      [400, 1500, 100],
    ]) {
      for (const perKey of [1, 2, 4]) {
        const dropped = new Set<number>();
        const recent = new Recent<E>(10, maxKeys, perKey, (e) => {
          expect(dropped.has(e.id)).toBe(false);
          dropped.add(e.id);
        });
        // the same, its entries handles into columns (as other-family and same-host keep them):
        // every entry it forgets comes back once, so the handles taken are the entries the model holds
        let at = new Float64Array(0);
        let ids = new Float64Array(0);
        const handles = new Handles((n) => {
          at = widened(at, n);
          ids = widened(ids, n);
        });
        const inColumns = new Recent<number>(
          10,
          maxKeys,
          perKey,
          (h) => {
            expect(Number.isNaN(ids[h])).toBe(false);
            ids[h] = NaN;
            handles.give(h);
          },
          (h) => at[h],
        );
        const model = new Model(10, maxKeys, perKey);
        let t = 0;
        for (let id = 0; id < 5000; id++) {
          t += rnd(3) / step;
          const key = `k${rnd(keys)}`;
          if (rnd(2) === 0) {
            recent.add(key, { t, id });
            const h = handles.take();
            at[h] = t;
            ids[h] = id;
            inColumns.add(key, h);
            model.add(key, { t, id });
          }
          const look = `k${rnd(keys)}`;
          const want = model.get(look, t).map((e) => e.id);
          const got = recent.get(look, t).map((e) => e.id);
          expect(got).toEqual(want);
          expect(inColumns.get(look, t).map((h) => ids[h])).toEqual(want);
          for (const x of got) expect(dropped.has(x)).toBe(false);
          expect(recent.keyCount).toBe(model.byKey.size);
          expect(inColumns.keyCount).toBe(model.byKey.size);
          let held = 0;
          for (const list of model.byKey.values()) held += list.length;
          expect(handles.taken).toBe(held);
        }
        expect(dropped.size).toBeGreaterThan(500);
      }
    }
  });

  it('the schema lists the same related kinds as the code', () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as { definitions: { record: { properties: { related: { items: { properties: { kind: { enum: string[] } } } } } } } };
    expect(schema.definitions.record.properties.related.items.properties.kind.enum).toEqual([...RELATED_KINDS]);
  });
});

describe('relatedLines', () => {
  it('puts related records that say the same thing on one line, in order', async () => {
    const { relatedLines } = await import('../src/render/text.js');
    expect(
      relatedLines([
        { id: 3, why: 'refused upstream' },
        { id: 5, why: 'other' },
        { id: 4, why: 'refused upstream' },
      ]),
    ).toEqual([
      { ids: [3, 4], why: 'refused upstream' },
      { ids: [5], why: 'other' },
    ]);
    expect(relatedLines(undefined)).toEqual([]);
  });
});

describe('linker cost', () => {
  it('hands a linker only the records of the protocols it declares', () => {
    const seen: string[] = [];
    const dnsOnly: Linker = { protos: ['dns'], relate: (r) => void seen.push(`dns-only ${r.proto}`) };
    const all: Linker = { relate: (r) => void seen.push(`all ${r.proto}`) };
    const rel = new Relater([dnsOnly, all]);
    const tcp = rec(1, 0, 's:1');
    const dns: FlowRecord = { ...rec(2, 0, 's:53'), proto: 'dns' };
    rel.relate([tcp, dns]);
    expect(seen).toEqual(['all tcp', 'dns-only dns', 'all dns']);
  });

  it('reads an endpoint port as a number exactly when its text is the plain decimal', () => {
    for (const e of ['10.0.2.20:80', '[fd00::20]:443', '10.0.2.20:0', '10.0.2.20:65535']) expect(String(portNumber(e))).toBe(portPart(e));
    for (const e of ['10.0.2.20', 'fd00::20', '[fd00::20]', '10.0.2.20:080', '10.0.2.20:', '10.0.2.20:123456', '10.0.2.20:8a']) expect(portNumber(e)).toBe(-1);
  });
});
