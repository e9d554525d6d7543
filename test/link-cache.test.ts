import { describe, expect, it } from 'vitest';
import { DecodedPacket } from '../src/decode/packet.js';
import { ICMP6 } from '../src/decode/enums.js';
import { HostTable, type MacInfo } from '../src/flow/hosts.js';

// HostTable.observeLink skips a packet whose link facts (MACs, addresses, kind of TTL) equal one of
// the two it recorded last (issue #20): what it records only grows, so recording them again would
// change nothing. Checked against recording every packet, over random packets drawn from few
// values, so that repeats, alternations and near-repeats (one field different) are common.

const MACS = [0x0001d72a1001, 0x3cfdfe000214, 0x020000000001, 0x333300000001 /* multicast */, -1];
const V4 = [0x0a000101, 0x0a000202, 0xc0a80001 /* past the small integers */, 0xffffffff];
const V6 = [
  [0xfd000001, 0, 0, 1],
  [0xfd000001, 0, 0, 2], // the same /64
  [0xfd000002, 0, 0, 1],
  [0xfe800000, 0, 0, 1], // link-local
  [0x20010db8, 0x1, 0, 9],
  [0x20010db8, 0x2, 0, 9], // the next /64
];
const TTLS = [64, 63, 255, 57];

function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

function randomPacket(r: (n: number) => number): DecodedPacket {
  const p = new DecodedPacket();
  const kind = r(10);
  p.srcMac = MACS[r(MACS.length)];
  p.dstMac = MACS[r(MACS.length)];
  p.ttl = TTLS[r(TTLS.length)];
  if (kind < 5) {
    p.ipVersion = 4;
    p.src[0] = V4[r(V4.length)];
    p.dst[0] = V4[r(V4.length)];
  } else if (kind < 9) {
    p.ipVersion = 6;
    p.src.set(V6[r(V6.length)]);
    p.dst.set(V6[r(V6.length)]);
    if (r(4) === 0) p.icmpType = ICMP6.RouterAdvertisement;
  } else {
    p.ipVersion = 0;
    p.arpOp = 1 + r(2);
    p.arpSenderMac = MACS[r(3)];
    p.arpSenderIp = V4[r(2)];
  }
  return p;
}

/** What a MAC's entry says, for comparison. */
function state(info: MacInfo) {
  return {
    v4Src: [...info.v4Src],
    v4Dst: [...info.v4Dst],
    v6Src: [...info.v6Src],
    v6Dst: [...info.v6Dst],
    arpIps: [...info.arpIps],
    sentRouterAdvert: info.sentRouterAdvert,
    sentInitial: info.sentInitial,
    sentRouted: info.sentRouted,
    isRouter: info.isRouter,
  };
}

describe('the MAC table skips link facts it recorded last (observeLink)', () => {
  it('ends as recording every packet does, over random packets', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const cached = new HostTable();
      const every = new HostTable();
      // the recording itself, without the check before it
      const record = (every as unknown as { recordLink(p: DecodedPacket, v: number): void }).recordLink.bind(every);
      const n = 1 + r(60);
      for (let i = 0; i < n; i++) {
        const p = randomPacket(r);
        cached.observeLink(p);
        record(p, p.ipVersion);
      }
      for (const m of MACS.filter((x) => x >= 0)) expect(state(cached.mac(m)), `seed ${seed}, MAC ${m.toString(16)}`).toEqual(state(every.mac(m)));
    }
  });

  it('records a packet that differs from both remembered ones in one field only', () => {
    const h = new HostTable();
    const p = new DecodedPacket();
    p.ipVersion = 6;
    p.srcMac = MACS[0];
    p.dstMac = MACS[1];
    p.ttl = 64;
    p.src.set(V6[0]);
    p.dst.set(V6[2]);
    h.observeLink(p);
    // another /64 in the second word only
    p.src.set([0xfd000001, 7, 0, 1]);
    h.observeLink(p);
    expect(h.mac(MACS[0]).v6Src).toHaveLength(2);
    // a routed hop limit on the same addresses
    p.ttl = 63;
    h.observeLink(p);
    expect(h.mac(MACS[0]).sentRouted).toBe(true);
    // a slot written again holds all four words of the new addresses, not the old ones' tail
    const q = new DecodedPacket();
    q.ipVersion = 4;
    q.srcMac = MACS[2];
    q.dstMac = MACS[1];
    q.ttl = 64;
    q.src[0] = V4[0];
    q.dst[0] = V4[1];
    h.observeLink(q);
    p.src.set([0xfd000009, 5, 0, 1]);
    h.observeLink(p);
    h.observeLink(q);
    p.src.set([0xfd000009, 7, 0, 1]);
    h.observeLink(p);
    expect(h.mac(MACS[0]).v6Src).toHaveLength(4);
    // the slot holds every word of the address: one with the same first word and a zero tail is another
    const other = new HostTable();
    p.dst.set([0xfd000002, 0, 0, 0]);
    p.src.set([0xfd00000a, 5, 0, 0]);
    other.observeLink(p);
    p.src.set([0xfd00000a, 0, 0, 0]);
    other.observeLink(p);
    expect(other.mac(MACS[0]).v6Src).toHaveLength(2);
    // a router advertisement with link facts just recorded
    p.icmpType = ICMP6.RouterAdvertisement;
    h.observeLink(p);
    expect(h.mac(MACS[0]).sentRouterAdvert).toBe(true);
  });
});
