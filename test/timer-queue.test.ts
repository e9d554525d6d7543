import { describe, expect, it } from 'vitest';
import { after, TimerQueue, type Timed } from '../src/flow/timer-queue.js';
import { spawnSync } from 'node:child_process';
import { Analyzer, DEFAULT_OPTIONS } from '../src/analyze.js';
import { CaptureReader, READ_END, READ_NEED_MORE, READ_RECORD } from '../src/capture/reader.js';
import { CaptureRecord } from '../src/capture/record.js';
import { dnsFinal, dnsFinalAt, LINGER_NS, tcpFinal, tcpFinalAt, udpDueAt } from '../src/lifecycle.js';
import type { UdpFlow } from '../src/flow/udp.js';
import type { ClassifyContext } from '../src/verdict/context.js';
import type { TcpFlow } from '../src/flow/tcp.js';
import type { DnsTxn } from '../src/flow/dns.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bufferSource, CLIENT_MAC, ethernet, GW_MAC, ipv4, pcap, u16, udp, type Rec } from './helpers/build.js';
import { BIN, cli, fixtureFiles, jsonDoc, readFixture } from './helpers/run.js';

class Item implements Timed {
  timerSeq = 0;
  timerMark = 0;
  constructor(readonly name: string) {}
}

/** Everything a sweep at `now` hands out, by name. */
function sweep(q: TimerQueue<Item>, now: number): string[] {
  const out: string[] = [];
  q.begin();
  for (let it = q.next(now); it !== null; it = q.next(now)) out.push(it.name);
  return out;
}

describe('TimerQueue', () => {
  it('keeps its round arrays from sweep to sweep, holds no item handed out, and lets go of a flood', () => {
    const q = new TimerQueue<Item>();
    const arrays = () => q as unknown as { touched: (Item | null)[]; pending: (Item | null)[] };
    const round = (n: number, tag: string) => {
      const items = Array.from({ length: n }, (_, i) => new Item(`${tag}${i}`));
      for (const it of items) q.touch(it);
      return sweep(q, 0);
    };
    expect(round(3, 'a')).toEqual(['a0', 'a1', 'a2']);
    expect(round(2, 'b')).toEqual(['b0', 'b1']);
    // the next round reuses the array the round before last used, emptied
    expect(round(1, 'c')).toEqual(['c0']);
    expect(arrays().pending.length).toBe(3);
    expect(arrays().touched.filter((x) => x !== null)).toEqual([]);
    // a flood: 70,000 touched; then small rounds free its array rather than keep 70,000 slots
    expect(round(70_000, 'f').length).toBe(70_000);
    expect(round(1, 'g')).toEqual(['g0']);
    expect(round(1, 'h')).toEqual(['h0']);
    expect(Math.max(arrays().touched.length, arrays().pending.length)).toBeLessThan(70_000);
  });

  it('hands out scheduled items once their time has come, earliest first', () => {
    const q = new TimerQueue<Item>();
    const items = [5, 1, 9, 3, 7, 3].map((due, i) => ({ item: new Item(`i${i}@${due}`), due }));
    for (const { item, due } of items) q.schedule(item, due);
    expect(q.scheduled).toBe(6);
    expect(sweep(q, 0)).toEqual([]);
    expect(sweep(q, 3)).toEqual(expect.arrayContaining(['i1@1', 'i3@3', 'i5@3']));
    expect(q.scheduled).toBe(3);
    expect(sweep(q, 6)).toEqual(['i0@5']);
    expect(sweep(q, 100)).toEqual(['i4@7', 'i2@9']);
    expect(sweep(q, 1000)).toEqual([]);
    expect(q.scheduled).toBe(0);
  });

  it('orders many random due times as a sort would', () => {
    const q = new TimerQueue<Item>();
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 1e6;
    const dues: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const due = Math.floor(rand());
      dues.push(due);
      q.schedule(new Item(String(due)), due);
    }
    q.begin();
    const got: number[] = [];
    for (let it = q.next(Infinity); it !== null; it = q.next(Infinity)) got.push(Number(it.name));
    expect(got).toEqual([...dues].sort((a, b) => a - b));
  });

  it('a reschedule replaces the earlier time, later or sooner', () => {
    const q = new TimerQueue<Item>();
    const a = new Item('a');
    const b = new Item('b');
    q.schedule(a, 10);
    q.schedule(b, 10);
    q.schedule(a, 50); // later
    q.schedule(b, 5); // sooner
    expect(q.scheduled).toBe(2);
    expect(sweep(q, 20)).toEqual(['b']);
    expect(sweep(q, 60)).toEqual(['a']);
    expect(sweep(q, 1000)).toEqual([]);
  });

  it('hands out a touched item at the next sweep, once, whatever it was scheduled for', () => {
    const q = new TimerQueue<Item>();
    const a = new Item('a');
    const b = new Item('b');
    q.schedule(a, 1000);
    q.schedule(b, 1000);
    q.touch(a);
    q.touch(a);
    q.touch(a);
    expect(sweep(q, 1)).toEqual(['a']);
    // handed out: its schedule is gone until the caller sets one
    expect(q.scheduled).toBe(1);
    expect(sweep(q, 2000)).toEqual(['b']);
    // touched after a sweep began: the next sweep's
    q.touch(b);
    expect(sweep(q, 0)).toEqual(['b']);
    expect(sweep(q, 0)).toEqual([]);
  });

  it('a touched item that is scheduled again in the sweep is not handed out twice', () => {
    const q = new TimerQueue<Item>();
    const a = new Item('a');
    q.touch(a);
    q.begin();
    expect(q.next(10)?.name).toBe('a');
    q.schedule(a, 11);
    expect(q.next(10)).toBeNull();
    expect(sweep(q, 11)).toEqual(['a']);
  });

  it('a forgotten item is never handed out, touched or scheduled; a reused object is handed out as new', () => {
    const q = new TimerQueue<Item>();
    const a = new Item('a');
    const b = new Item('b');
    q.schedule(a, 5);
    q.touch(b);
    q.forget(a);
    q.forget(b);
    expect(q.scheduled).toBe(0);
    expect(sweep(q, 100)).toEqual([]);
    // the object serves a new flow in the same round it was touched and forgotten in
    const c = new Item('c');
    q.touch(c);
    q.forget(c);
    q.touch(c);
    expect(sweep(q, 0)).toEqual(['c']);
  });

  it('drops stale entries: rescheduling one item over and over keeps the heap small', () => {
    const q = new TimerQueue<Item>();
    const keep = Array.from({ length: 10 }, (_, i) => new Item(`k${i}`));
    for (const k of keep) q.schedule(k, 1e9);
    const a = new Item('a');
    for (let i = 0; i < 100_000; i++) q.schedule(a, i);
    expect(q.scheduled).toBe(11);
    expect(q.entries).toBeLessThanOrEqual(1025);
    expect(sweep(q, 99_998)).toEqual([]);
    expect(sweep(q, 99_999)).toEqual(['a']);
    expect(sweep(q, 1e9).sort()).toEqual(keep.map((k) => k.name).sort());
  });
});

/**
 * The sweep looks at an unchanged flow only at tcpFinalAt / dnsFinalAt: they must be exactly when
 * tcpFinal / dnsFinal become true (a later time would report flows late, an earlier one costs a
 * look). Checked on every flow the fixtures' analysis holds after every packet.
 */
describe('tcpFinalAt, dnsFinalAt and udpDueAt agree with tcpFinal, dnsFinal and what a sweep does to a UDP flow', () => {
  const opts = DEFAULT_OPTIONS;
  const ctx = (now: number) => ({ captureEndT: now, synTimeoutNs: opts.synTimeoutMs * 1e6, dnsTimeoutNs: opts.dnsTimeoutMs * 1e6, tcpIdleNs: opts.tcpIdleMs * 1e6 }) as ClassifyContext;
  const base = ctx(0);
  const agreesAt = (at: number, final: (now: number) => boolean): boolean => {
    if (at === -Infinity) return final(0) && final(1e15);
    if (at === Infinity) return !final(1e15);
    return final(at) && !final(at - 1) && final(at + 1e9);
  };

  let checkedAll = 0;
  let udpChecked = 0;
  // what the sweep does to a UDP flow (lifecycle.ts): report it, or forget it
  const udpIdleNs = opts.udpIdleMs * 1e6;
  const udpActs = (u: UdpFlow, now: number) => (!u.reported && u.icmp !== null && now - u.icmp.t >= LINGER_NS) || (now - u.lastT >= udpIdleNs && (u.icmp === null || u.reported));
  // pcapng too: the reader takes both
  for (const file of fixtureFiles()) {
    it(file, () => {
      const reader = new CaptureReader();
      const rec = new CaptureRecord();
      const src = bufferSource(readFixture(file));
      const a = new Analyzer(opts, 'none');
      let checked = 0;
      const bad: string[] = [];
      for (;;) {
        const st = reader.next(rec);
        if (st === READ_RECORD) {
          a.onRecord(rec);
          a.flows.tcp.each((f: TcpFlow) => {
            checked++;
            if (!agreesAt(tcpFinalAt(f, base), (now) => tcpFinal(f, ctx(now)))) bad.push(`tcp #${f.firstFrame} at packet ${a.packets}`);
          });
          a.flows.dns.each((d: DnsTxn) => {
            checked++;
            if (!agreesAt(dnsFinalAt(d, base), (now) => dnsFinal(d, ctx(now)))) bad.push(`dns #${d.queryFrame} at packet ${a.packets}`);
          });
          a.flows.udp.each((u: UdpFlow) => {
            checked++;
            udpChecked++;
            if (!agreesAt(udpDueAt(u, udpIdleNs), (now) => udpActs(u, now))) bad.push(`udp #${u.firstFrame} at packet ${a.packets}`);
          });
        } else if (st === READ_NEED_MORE) {
          const [off, len] = reader.writable();
          reader.commit(src.read(reader.buf, off, len) as number);
        } else break;
      }
      expect(bad).toEqual([]);
      checkedAll += checked;
    });
  }

  it('looked at flows (hundreds of flow states in the fixtures)', () => {
    expect(checkedAll).toBeGreaterThan(500);
    expect(udpChecked).toBeGreaterThan(20);
  });
});

describe('UDP flows: a sweep looks only at those new, answered by an ICMP error, or due', () => {
  it('reports ICMP-answered flows, forgets idle ones, and a flow idle past --udp-idle is counted again when it comes back', () => {
    const client = '10.0.1.10';
    const server = '10.0.2.20';
    const datagram = (sport: number, dport: number) => ipv4({ src: client, dst: server, proto: 17 }, udp(sport, dport, Buffer.from('ping')));
    const unreachable = (sport: number, dport: number) => ipv4({ src: server, dst: client, proto: 1 }, Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), datagram(sport, dport).subarray(0, 28)]));
    const at = (sec: number, ip: Buffer, toClient = false) => ({ sec: 1700000000 + Math.floor(sec), frac: Math.round((sec % 1) * 1e6), data: ethernet(toClient ? CLIENT_MAC : GW_MAC, toClient ? GW_MAC : CLIENT_MAC, 0x0800, ip) });
    const capture = pcap([
      at(0, datagram(5000, 9999)), // A: again at 30 s, then silent until 100 s: forgotten by the sweep at D, a new flow at 100 s
      at(0, datagram(5001, 9998)), // B: answered by an ICMP error 45 s later, many sweeps after it was new
      at(0, datagram(5002, 9997)), // C: answered before the first sweep
      at(0.5, unreachable(5002, 9997), true),
      at(30, datagram(5000, 9999)),
      at(45, unreachable(5001, 9998), true),
      at(50, datagram(5004, 9995)), // E
      at(95, datagram(5003, 9996)), // D: its packet brings the sweep that finds A idle 65 s
      at(100, datagram(5000, 9999)),
    ]);
    // decided at the first sweep after the ICMP error's linger: the one a packet at 50 s brings
    const decided: [string, number][] = [];
    const a = new Analyzer(DEFAULT_OPTIONS, 'none', (r) => decided.push([r.server, a.packets]));
    const reader = new CaptureReader();
    const rec = new CaptureRecord();
    const src = bufferSource(capture);
    for (let st = reader.next(rec); st !== READ_END; st = reader.next(rec)) {
      if (st === READ_RECORD) a.onRecord(rec);
      else {
        const [off, len] = reader.writable();
        reader.commit(src.read(reader.buf, off, len) as number);
      }
    }
    expect(decided).toEqual([
      [`${server}:9997`, 5], // C: at the packet at 30 s (the first after its error at 0.5 s)
      [`${server}:9998`, 7], // B: at the packet at 50 s
    ]);
    const file = join(mkdtempSync(join(tmpdir(), 'pcapdiag-udp-timers-')), 'udp.pcap');
    writeFileSync(file, capture);
    const doc = jsonDoc(cli(['-f', 'json', file]).stdout);
    expect(doc.records.map((r) => [r.verdict, r.server, r.t])).toEqual([
      ['icmp-port-unreachable', `${server}:9997`, 0],
      ['icmp-port-unreachable', `${server}:9998`, 0],
    ]);
    expect(doc.summary.udpFlows).toBe(6); // A twice, B, C, D, E
    // with --udp-idle longer than A's silence, A is one flow
    expect(jsonDoc(cli(['-f', 'json', '--udp-idle', '75s', file]).stdout).summary.udpFlows).toBe(5);
  });
});

describe('a sweep at a capture time past 2^53 ns (a clock that jumped from 1970) ends', () => {
  it('after(now) is later than now however large now is', () => {
    expect(after(5)).toBe(6);
    for (const now of [2 ** 53, 1.78e18, 1.78e18 + 512, 9e18]) expect(after(now)).toBeGreaterThan(now);
  });

  it('an item scheduled in a sweep for its own time or earlier is not handed out by that sweep again', () => {
    const q = new TimerQueue<Item>();
    const now = 1.78e18;
    const item = new Item('x');
    q.touch(item);
    q.begin(now);
    expect(q.next(now)).toBe(item);
    q.schedule(item, now); // now + 1 === now here
    expect(q.next(now)).toBeNull();
    q.begin(now + 1e9);
    expect(q.next(now + 1e9)).toBe(item);
  });

  // the first packet in 1970, the rest in 2026: 1.78e18 ns apart, where doubles step by 256 ns and
  // a time out of whole milliseconds rounds a flow's due time to the sweep's own
  const S = 1780000000;
  const from = (sport: number, dst: string, dport: number, payload = Buffer.from('ping')) => ethernet(GW_MAC, CLIENT_MAC, 0x0800, ipv4({ src: '10.0.0.1', dst, proto: 17 }, udp(sport, dport, payload)));
  const query = Buffer.concat([u16(0x1234), u16(0x0100), u16(1), u16(0), u16(0), u16(0), Buffer.from('\x07example\x04test\x00', 'latin1'), u16(1), u16(1)]);
  const run = (args: string[], recs: Rec[], ns = false) => {
    const file = join(mkdtempSync(join(tmpdir(), 'pcapdiag-jump-')), 'jump.pcap');
    writeFileSync(file, pcap(recs, { ns }));
    const r = spawnSync(process.execPath, [BIN, '-f', 'json', ...args, file], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    expect(r.status, 'ended by itself').toBe(0);
    return jsonDoc(r.stdout);
  };
  it('UDP flows with --udp-idle 1001ms', () => {
    const doc = run(
      ['--udp-idle', '1001ms'],
      [
        { sec: 0, frac: 0, data: from(40000, '10.0.0.2', 9999) },
        { sec: S, frac: 0, data: from(40001, '10.0.0.3', 7777) },
        { sec: S + 1, frac: 1000, data: from(40002, '10.0.0.4', 8888) },
      ],
    );
    expect(doc.summary.udpFlows).toBe(3);
  });
  it('a DNS lookup with --dns-timeout 1001ms', () => {
    const doc = run(
      ['--dns-timeout', '1001ms'],
      [
        { sec: 0, frac: 0, data: from(40000, '10.0.0.2', 9999) },
        { sec: S, frac: 0, data: from(40001, '10.0.0.53', 53, query) },
        { sec: S + 1, frac: 999936, data: from(40002, '10.0.0.4', 8888) }, // ns
        { sec: S + 5, frac: 0, data: from(40003, '10.0.0.5', 6666) },
      ],
      true,
    );
    expect(doc.records.map((r) => r.verdict)).toEqual(['dns-no-response']);
  });
});
