import { describe, expect, it } from 'vitest';
import { chainIn, chainOut, DnsSiblings, narrowTableKeys, MAX_RESOLVED, Sibling, SIBLING_WAIT_NS, type SiblingLookup } from '../src/flow/dns-siblings.js';
import { IntMap } from '../src/flow/int-map.js';
import { DNS_RCODE, DNS_TYPE } from '../src/decode/enums.js';

// DnsSiblings on its own (flow/dns-siblings.ts): its memory is keyed by client and name; these
// check what the end-to-end tests (dns-siblings, dns-prune-order) cannot reach cheaply: the cap on
// resolved names, and that clients are forgotten once they hold nothing.

let gens = 0;
function lookup(qname: string, qtype: number, ok: boolean, t: number, frame = 1): SiblingLookup {
  return {
    qname,
    qtype,
    rcode: ok ? DNS_RCODE.NoError : DNS_RCODE.NXDomain,
    ancount: ok ? 1 : 0,
    tc: 0,
    referral: false,
    respFrame: frame,
    respT: t,
    gen: ++gens,
    reported: false,
    waitsForSibling: false,
    sibling: Sibling.None,
    siblingName: '',
    siblingQtype: 0,
    siblingFrame: 0,
    siblingT: 0,
  };
}
const nodata = (qname: string, qtype: number, t: number): SiblingLookup => ({ ...lookup(qname, qtype, true, t), ancount: 0 });
const addr = (last: number) => Uint32Array.of(0x0a000100 + last, 0, 0, 0);
const clients = (s: DnsSiblings<SiblingLookup>) => (s as unknown as { clients: Map<number, unknown> }).clients.size;

describe('DnsSiblings', () => {
  it('tells clients and names apart when their table keys collide', () => {
    // the same random lookups through siblings whose table keys are 2 bits (nearly all collide)
    // and through siblings with full keys: the same failures settled, for the same reason
    const run = (bits: number): string[] => {
      narrowTableKeys(bits);
      try {
        let seed = 3;
        const rnd = (n: number) => {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          return (seed >>> 8) % n;
        };
        const settled: string[] = [];
        const s = new DnsSiblings<SiblingLookup>((f) => settled.push(`${f.qname} ${f.qtype} ${f.sibling} ${f.siblingName}`));
        const names = ['a.test.', 'b.test.', 'a.test.corp.', 'b.test.corp.', 'a.', 'b.', 'ab.test.'];
        const outcomes: string[] = [];
        for (let i = 0; i < 600; i++) {
          // a time that goes back once: the rest is pruned by a walk of every wait, not in order
          const t = i === 300 ? 1e6 : i * 2e7;
          const qtype = rnd(2) === 0 ? DNS_TYPE.A : DNS_TYPE.AAAA;
          const name = names[rnd(names.length)];
          const f = rnd(3) === 0 ? lookup(name, qtype, true, t) : rnd(2) === 0 ? nodata(name, qtype, t) : lookup(name, qtype, false, t);
          s.answered(f, addr(rnd(3)), t);
          outcomes.push(`${f.waitsForSibling} ${f.sibling} ${f.siblingName}`);
          if (i % 50 === 49) s.prune(t);
        }
        return [...outcomes, ...settled];
      } finally {
        narrowTableKeys(32);
      }
    };
    const full = run(32);
    expect(full.filter((o) => o.startsWith('false 2') || o.startsWith('false 1')).length).toBeGreaterThan(20);
    expect(run(2)).toEqual(full);
  });

  it('the tables chain entries of one table key, and take any of them out', () => {
    // 32-bit table keys of (client, name) collide too rarely for the end-to-end tests to reach
    interface E {
      tableKey: number;
      next: E | null;
      id: number;
    }
    let seed = 5;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const table = new IntMap<E>();
    const model = new Map<number, E[]>();
    const entries: E[] = [];
    for (let step = 0; step < 3000; step++) {
      if (entries.length === 0 || rnd(3) > 0) {
        const e: E = { tableKey: rnd(4) - 2, next: null, id: step };
        chainIn(table, e);
        entries.push(e);
        model.set(e.tableKey, [e, ...(model.get(e.tableKey) ?? [])]);
      } else {
        const e = entries.splice(rnd(entries.length), 1)[0];
        chainOut(table, e);
        expect(e.next).toBeNull();
        const rest = (model.get(e.tableKey) ?? []).filter((x) => x !== e);
        if (rest.length > 0) model.set(e.tableKey, rest);
        else model.delete(e.tableKey);
      }
      expect(table.size).toBe(model.size);
      for (const [key, list] of model) {
        const chain: number[] = [];
        for (let x = table.get(key) ?? null; x !== null; x = x.next) chain.push(x.id);
        expect(chain).toEqual(list.map((x) => x.id));
      }
    }
  });

  it('a success settles a failure of the same client only', () => {
    const settled: SiblingLookup[] = [];
    const s = new DnsSiblings<SiblingLookup>((f) => settled.push(f));
    const a = nodata('www.example.test.', DNS_TYPE.AAAA, 0);
    const b = nodata('www.example.test.', DNS_TYPE.AAAA, 0);
    s.answered(a, addr(1), 0);
    s.answered(b, addr(2), 0);
    expect([a.waitsForSibling, b.waitsForSibling]).toEqual([true, true]);
    s.answered(lookup('WWW.Example.Test.', DNS_TYPE.A, true, 1e6), addr(1), 1e6);
    expect(settled).toEqual([a]);
    expect([a.sibling, b.sibling]).toEqual([Sibling.OtherFamily, Sibling.None]);
    expect(a.siblingName).toBe('WWW.Example.Test.');
  });

  it('forgets clients once their names and waits are pruned (in order and after a time went back)', () => {
    for (const back of [false, true]) {
      const s = new DnsSiblings<SiblingLookup>(() => {});
      for (let i = 0; i < 50; i++) {
        const t = back && i === 25 ? 1e6 : i * 1e7;
        s.answered(lookup(`n${i}.example.test.`, DNS_TYPE.A, i % 3 !== 0, t), addr(i % 7), t);
      }
      expect(clients(s)).toBe(7);
      s.prune(49 * 1e7 + SIBLING_WAIT_NS - 1);
      expect(clients(s)).toBeGreaterThan(0);
      s.prune(49 * 1e7 + SIBLING_WAIT_NS + 1);
      expect(clients(s)).toBe(0);
      // and it works on: a new failure waits, a success settles it; the client answered last
      // before the prune (the one clientOf remembers) is a client anew, in the map again
      for (const c of [49 % 7, 1]) {
        const f = nodata(`again${c}.example.test.`, DNS_TYPE.AAAA, 1e10);
        s.answered(f, addr(c), 1e10);
        expect(clients(s)).toBe(c === 1 ? 2 : 1);
        s.answered(lookup(`again${c}.example.test.`, DNS_TYPE.A, true, 1e10 + 1), addr(c), 1e10 + 1);
        expect(f.sibling).toBe(Sibling.OtherFamily);
      }
    }
  });

  it('keeps the answer of each type a name resolved, the second as the first', () => {
    // room for two types is made with the name (most get A and AAAA); a third takes more
    const TXT = 16;
    const HTTPS = 65;
    for (const types of [
      [HTTPS, DNS_TYPE.A],
      [TXT, HTTPS, DNS_TYPE.A],
    ]) {
      const s = new DnsSiblings<SiblingLookup>(() => {});
      types.forEach((q, i) => s.answered(lookup('www.example.test.', q, true, i * 1e6, 10 + i), addr(1), i * 1e6));
      const f = nodata('www.example.test.', DNS_TYPE.AAAA, 1e8);
      s.answered(f, addr(1), 1e8);
      expect([f.sibling, f.siblingQtype, f.siblingFrame]).toEqual([Sibling.OtherFamily, DNS_TYPE.A, 10 + types.length - 1]);
    }
  });

  it('entries it hands out again decide as new ones would', () => {
    let seed = 5;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const names = ['www.', 'www.example.test.', 'www.example.test.lab.corp.', 'api.example.test.', 'api.example.test.lab.corp.', 'example.test.'];
    const MX = 15;
    const types = [DNS_TYPE.A, DNS_TYPE.AAAA, MX];
    for (let round = 0; round < 20; round++) {
      const settled: number[][] = [[], []];
      const both = [new DnsSiblings<SiblingLookup>((f) => settled[0].push(f.respFrame), 0), new DnsSiblings<SiblingLookup>((f) => settled[1].push(f.respFrame))];
      const made: SiblingLookup[][] = [[], []];
      let t = 0;
      for (let frame = 1; frame < 3000; frame++) {
        // mostly forward, sometimes at the same time, now and then back (the unordered paths), or
        // past the wait, so that clients are forgotten and made again
        const step = rnd(20);
        t = step === 0 && round % 2 === 1 ? Math.max(0, t - 3e8) : step === 1 ? t + 2.5e9 : step < 4 ? t : t + rnd(4e8);
        const [qname, qtype, kind, client] = [names[rnd(names.length)], types[rnd(3)], rnd(3), rnd(6)];
        for (let i = 0; i < 2; i++) {
          const l = kind === 2 ? { ...lookup(qname, qtype, true, t, frame), ancount: 0 } : lookup(qname, qtype, kind === 0, t, frame);
          made[i].push(l);
          both[i].answered(l, addr(client), t);
        }
        if (rnd(10) === 0) for (const s of both) s.prune(t);
      }
      const seen = (ls: SiblingLookup[]) => ls.map((l) => [l.waitsForSibling, l.sibling, l.siblingName, l.siblingQtype, l.siblingFrame, l.siblingT]);
      expect(seen(made[1])).toEqual(seen(made[0]));
      expect(settled[1]).toEqual(settled[0]);
      expect(made[0].filter((l) => l.sibling !== Sibling.None).length).toBeGreaterThan(100);
    }
  });

  it('a name resolved twice at one time is handed out again once, not twice', () => {
    const s = new DnsSiblings<SiblingLookup>(() => {});
    s.answered(lookup('twice.example.test.', DNS_TYPE.A, true, 0), addr(1), 0);
    s.answered(lookup('twice.example.test.', DNS_TYPE.AAAA, true, 0), addr(1), 0);
    s.prune(SIBLING_WAIT_NS + 1);
    // two names resolved after: each is remembered as itself
    const t = SIBLING_WAIT_NS + 2;
    s.answered(lookup('one.example.test.', DNS_TYPE.A, true, t), addr(1), t);
    s.answered(lookup('two.example.test.', DNS_TYPE.A, true, t), addr(1), t);
    const fails = ['one.example.test.', 'two.example.test.'].map((n) => nodata(n, DNS_TYPE.AAAA, t + 1));
    for (const f of fails) s.answered(f, addr(1), t + 1);
    expect(fails.map((f) => [f.sibling, f.siblingName])).toEqual([
      [Sibling.OtherFamily, 'one.example.test.'],
      [Sibling.OtherFamily, 'two.example.test.'],
    ]);
  });

  it(`remembers at most ${MAX_RESOLVED} resolved names: the first resolved goes first`, () => {
    const s = new DnsSiblings<SiblingLookup>(() => {});
    // name 0 resolved again at the end: still the first by first resolution, so it goes
    for (let i = 0; i < MAX_RESOLVED; i++) s.answered(lookup(`n${i}.example.test.`, DNS_TYPE.A, true, i), addr(i & 1), i);
    s.answered(lookup('n0.example.test.', DNS_TYPE.A, true, MAX_RESOLVED), addr(0), MAX_RESOLVED);
    s.answered(lookup('extra.example.test.', DNS_TYPE.A, true, MAX_RESOLVED + 1), addr(9), MAX_RESOLVED + 1);
    const first = nodata('n0.example.test.', DNS_TYPE.AAAA, MAX_RESOLVED + 2);
    const second = nodata('n1.example.test.', DNS_TYPE.AAAA, MAX_RESOLVED + 2);
    s.answered(first, addr(0), MAX_RESOLVED + 2);
    s.answered(second, addr(1), MAX_RESOLVED + 2);
    expect([first.sibling, second.sibling]).toEqual([Sibling.None, Sibling.OtherFamily]);
    expect(clients(s)).toBe(3);
  });
});
