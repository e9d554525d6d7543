import { describe, expect, it } from 'vitest';
import { FlowEndpoints } from '../src/flow/endpoints.js';
import { FlowBudget, MAX_CHAIN } from '../src/flow/chained-table.js';
import { flowHash } from '../src/flow/addr.js';
import { NO_TOMBSTONE, TcpTombstones, TIME_WAIT_NS, type Retired } from '../src/flow/tombstones.js';
import { DecodedPacket } from '../src/decode/packet.js';

const ip4 = (a: number, b: number, c: number, d: number) => Uint32Array.of(((a << 24) | (b << 16) | (c << 8) | d) >>> 0, 0, 0, 0);
const CLIENT = ip4(10, 0, 1, 10);
const SERVER = ip4(10, 0, 2, 20);

/** A reported flow from CLIENT:cPort to SERVER:80, as the tracker hands it over. */
class Flow extends FlowEndpoints implements Retired {
  hash: number;
  isn = 1000;
  sawSyn = true;
  closed: boolean;
  lastT: number;
  c = { nextSeq: 1001 };
  s = { nextSeq: 5001 };
  constructor(cPort: number, closed: boolean, lastMs: number, hash?: number) {
    super();
    this.setEndpointsOf(pkt(cPort, true, 0), true);
    this.hash = hash ?? flowHash(CLIENT, cPort, SERVER, 80);
    this.closed = closed;
    this.lastT = lastMs * 1e6;
  }
}

/** A packet of the flow on client port `cPort`, from the client (or the server), with sequence number `seq`. */
function pkt(cPort: number, fromClient: boolean, seq: number): DecodedPacket {
  const p = new DecodedPacket();
  p.ipVersion = 4;
  p.src.set(fromClient ? CLIENT : SERVER);
  p.srcPort = fromClient ? cPort : 80;
  p.dst.set(fromClient ? SERVER : CLIENT);
  p.dstPort = fromClient ? 80 : cPort;
  p.seq = seq;
  return p;
}

const find = (t: TcpTombstones, cPort: number, fromClient = true, hash = flowHash(CLIENT, cPort, SERVER, 80)) => {
  const p = pkt(cPort, fromClient, 0);
  return t.find(4, p.src, p.srcPort, p.dst, p.dstPort, hash);
};

const CLOSED_KEEP_NS = 10e9;
const IDLE_NS = 300e9;

describe('TcpTombstones', () => {
  it('finds a reported flow from either side, and not other ports or a removed one', () => {
    const t = new TcpTombstones(new FlowBudget(Infinity));
    t.add(new Flow(40000, true, 0));
    expect(find(t, 40000)).not.toBe(NO_TOMBSTONE);
    expect(find(t, 40000, false)).toBe(find(t, 40000));
    expect(find(t, 40001)).toBe(NO_TOMBSTONE);
    expect(t.remove(find(t, 40000))).toBe(true);
    expect(find(t, 40000)).toBe(NO_TOMBSTONE);
    expect(t.size).toBe(0);
  });

  it('keeps every tombstone findable through growth of its slots and buckets (5,000 of them)', () => {
    const budget = new FlowBudget(Infinity);
    const t = new TcpTombstones(budget);
    for (let p = 1; p <= 5000; p++) t.add(new Flow(p, p % 2 === 0, p));
    expect(t.size).toBe(5000);
    expect(budget.used).toBe(5000);
    for (let p = 1; p <= 5000; p++) expect(find(t, p), `port ${p}`).not.toBe(NO_TOMBSTONE);
    for (let p = 1; p <= 5000; p += 2) t.remove(find(t, p));
    expect(t.size).toBe(2500);
    expect(budget.used).toBe(2500);
    for (let p = 1; p <= 5000; p++) expect(find(t, p) !== NO_TOMBSTONE, `port ${p}`).toBe(p % 2 === 0);
  });

  it('answers the newest of the tombstones of one flow, before and after the table grows', () => {
    const t = new TcpTombstones(new FlowBudget(Infinity));
    const old = new Flow(40000, true, 0);
    const newer = new Flow(40000, false, 5);
    newer.isn = 2000;
    t.add(old);
    t.add(newer);
    const isSynOf = (isn: number) => t.isRetransmittedSyn(find(t, 40000), pkt(40000, true, isn));
    expect(isSynOf(2000)).toBe(true);
    for (let p = 1; p <= 3000; p++) t.add(new Flow(p, true, p)); // grows and rehashes
    expect(isSynOf(2000)).toBe(true);
    expect(isSynOf(1000)).toBe(false);
  });

  it('refuses a tombstone whose hash already has MAX_CHAIN, counting only that hash', () => {
    const t = new TcpTombstones(new FlowBudget(Infinity));
    const refused: string[] = [];
    t.onChainFull = (what) => refused.push(what);
    for (let p = 1; p <= MAX_CHAIN; p++) {
      expect(t.chainFull(7, 'x')).toBe(false);
      t.add(new Flow(p, true, 0, 7));
    }
    // 7 + 2048 lands in the same bucket of 2,048, but is another hash
    expect(t.chainFull(7 + 2048, 'other hash')).toBe(false);
    expect(t.chainFull(7, 'frame 9: tombstone')).toBe(true);
    expect(refused).toEqual(['frame 9: tombstone']);
    expect(find(t, 1, true, 7)).not.toBe(NO_TOMBSTONE);
  });

  it('absorbs every packet for CLOSED_KEEP_NS after the close, then only in-window ones (uncounted), until TIME_WAIT', () => {
    const budget = new FlowBudget(Infinity);
    const t = new TcpTombstones(budget);
    t.add(new Flow(40000, true, 1000));
    const s = find(t, 40000);
    expect(t.owns(s, pkt(40000, true, 123456789))).toBe(true);
    t.expire(1000e6 + CLOSED_KEEP_NS - 1e6, CLOSED_KEEP_NS, IDLE_NS);
    expect(t.owns(s, pkt(40000, true, 123456789))).toBe(true);
    t.expire(1000e6 + CLOSED_KEEP_NS, CLOSED_KEEP_NS, IDLE_NS);
    expect(budget.used).toBe(0); // narrowed: no longer counted against --max-flows
    expect(t.owns(s, pkt(40000, true, 123456789))).toBe(false);
    expect(t.owns(s, pkt(40000, true, 1001 + 100))).toBe(true);
    expect(t.owns(s, pkt(40000, false, 5001 - 100))).toBe(true);
    t.expire(1000e6 + TIME_WAIT_NS - 1e6, CLOSED_KEEP_NS, IDLE_NS);
    expect(find(t, 40000)).toBe(s);
    t.expire(1000e6 + TIME_WAIT_NS, CLOSED_KEEP_NS, IDLE_NS);
    expect(find(t, 40000)).toBe(NO_TOMBSTONE);
    expect(budget.used).toBe(0);
  });

  it('keeps one refreshed by a late packet until it has been idle long enough', () => {
    const t = new TcpTombstones(new FlowBudget(Infinity));
    t.add(new Flow(40000, false, 0));
    t.add(new Flow(40001, false, 0));
    t.touch(find(t, 40000), 200e9);
    t.expire(IDLE_NS, CLOSED_KEEP_NS, IDLE_NS);
    expect(find(t, 40000)).not.toBe(NO_TOMBSTONE);
    expect(find(t, 40001)).toBe(NO_TOMBSTONE);
    t.expire(200e9 + IDLE_NS, CLOSED_KEEP_NS, IDLE_NS);
    expect(find(t, 40000)).toBe(NO_TOMBSTONE);
  });

  it('counts a reopened tombstone again and keeps it as long as an open one', () => {
    const budget = new FlowBudget(Infinity);
    const t = new TcpTombstones(budget);
    t.add(new Flow(40000, true, 0));
    const s = find(t, 40000);
    t.expire(CLOSED_KEEP_NS, CLOSED_KEEP_NS, IDLE_NS);
    expect(budget.used).toBe(0);
    t.reopen(s);
    expect(t.closed(s)).toBe(false);
    expect(budget.used).toBe(1);
    t.expire(TIME_WAIT_NS, CLOSED_KEEP_NS, IDLE_NS);
    expect(find(t, 40000)).toBe(s);
    t.expire(IDLE_NS, CLOSED_KEEP_NS, IDLE_NS);
    expect(find(t, 40000)).toBe(NO_TOMBSTONE);
    expect(budget.used).toBe(0);
  });

  it('evicts the oldest counted tombstone, open ones first, skipping removed and narrowed ones', () => {
    const budget = new FlowBudget(Infinity);
    const t = new TcpTombstones(budget);
    t.add(new Flow(1, true, 0)); // closed, will be narrowed
    t.add(new Flow(2, false, 0)); // open, removed by a new SYN before the eviction
    t.add(new Flow(3, true, 20000)); // closed, within CLOSED_KEEP_NS
    t.add(new Flow(4, false, 20000)); // open
    t.remove(find(t, 2));
    t.expire(20000e6, CLOSED_KEEP_NS, IDLE_NS);
    expect(budget.used).toBe(2);
    // a removed slot is reused by the next tombstone: the queues must not take it for the old one
    t.add(new Flow(5, true, 20000));
    expect(t.evictOldest()).toBe(true);
    expect(find(t, 4)).toBe(NO_TOMBSTONE);
    expect(t.evictOldest()).toBe(true);
    expect(find(t, 3)).toBe(NO_TOMBSTONE);
    expect(t.evictOldest()).toBe(true);
    expect(find(t, 5)).toBe(NO_TOMBSTONE);
    expect(t.evictOldest()).toBe(false);
    expect(find(t, 1)).not.toBe(NO_TOMBSTONE); // narrowed: not counted, not evicted
    expect(budget.used).toBe(0);
  });
});
