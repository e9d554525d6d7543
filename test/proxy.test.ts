import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeFile, defined, FIXTURES } from './helpers/run.js';
import { compareHandshake } from '../src/verdict/box.js';
import { clientOptBits, FpClass, HandshakeFp, ServerProfile } from '../src/flow/server-profile.js';
import { HostTable, MacInfo } from '../src/flow/hosts.js';
import { optionLayoutText, readTcpOptions, TcpOptions } from '../src/decode/tcp-options.js';
import { terminatesConnections, vendorClass } from '../src/oui/vendor-class.js';
import { byLabel } from '../src/render/sentences.js';
import type { Fact } from '../src/verdict/facts.js';
import type { FlowRecord } from '../src/verdict/types.js';

// Issue 18: who terminated the connection (a box answering the handshake), a listen queue that
// overflows, and labels that name the MAC that made the deciding packet.

const F5 = 0x0001d72a1001;
const SERVER_NIC = 0x3cfdfe000214;
const LINUX = 0o24613; // mss,sok,ts,nop,ws as layout digits (2 4 6 1 3)
const BOTH_OFFER = clientOptBits(1460, 7, true, true);

function fp(ttl: number, mac: number, layout = LINUX, mss = 1460, wscale = 7): HandshakeFp {
  const o = new HandshakeFp();
  o.ttl = ttl;
  o.mac = mac;
  o.window = 65160;
  o.mss = mss;
  o.wscale = wscale;
  o.layout = layout;
  o.ts = true;
  o.clientOpts = BOTH_OFFER;
  return o;
}

function kind(f: HandshakeFp, conns: number, frame = 2): FpClass {
  const c = new FpClass();
  Object.assign(c.fp, f);
  c.conns = conns;
  c.frame = frame;
  return c;
}

const isBox = (mine: HandshakeFp, kinds: FpClass[], vendor = false) => compareHandshake(mine, kinds, vendor);

describe('the server side of a handshake, compared with the same server in other connections', () => {
  it('Linux SYN-ACK options read as p0f writes them', () => {
    const opts = new TcpOptions();
    // MSS 1460, SACK permitted, timestamps, NOP, window scale 7 (Linux's SYN-ACK)
    const tcp = new Uint8Array([...new Array<number>(20).fill(0), 2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7]);
    expect(readTcpOptions(tcp, 0, tcp.length, opts)).toBe(true);
    expect(optionLayoutText(opts.layout)).toBe('mss,sok,ts,nop,ws');
    expect(opts.layout).toBe(LINUX);
    expect(optionLayoutText(0)).toBe('');
  });

  it('unrouted through the MAC that brings the server routed: a box answered', () => {
    const m = defined(isBox(fp(64, F5), [kind(fp(63, F5), 3), kind(fp(64, F5), 1, 33)]));
    expect(m.own.fp.ttl).toBe(63);
    expect(m.others).toBe(3);
    expect(m.unroutedViaGateway).toBe(true);
    expect(m.sameMac).toBe(true);
    expect(m.stackDiffers).toBe(false);
  });

  it('only its own kind seen (the first connection, or a VIP answering them all): nothing to say', () => {
    expect(isBox(fp(64, F5), [kind(fp(64, F5), 1)])).toBeNull();
    expect(isBox(fp(64, F5), [kind(fp(64, F5), 5)])).toBeNull();
  });

  it('the server itself, compared with a box that answered other connections: never the box', () => {
    // the farther answer is the server's: a box sits between the capture and the server, so nearer
    expect(isBox(fp(63, F5), [kind(fp(64, F5), 1), kind(fp(63, F5), 4)])).toBeNull();
  });

  it('another path to the same stack (ECMP, a route change): one hop fewer, same options, not unrouted: not a box', () => {
    expect(isBox(fp(62, F5), [kind(fp(61, F5), 3)])).toBeNull();
  });

  it('nearer and another TCP stack (layout, MSS or window scale), for clients that offered the same: a box', () => {
    const f5stack = fp(254, F5, 0o21346, 1380, 0); // mss,nop,ws,sok,ts
    const m = defined(isBox(f5stack, [kind(fp(61, SERVER_NIC), 2)]));
    expect(m.stackDiffers).toBe(true);
    expect(m.unroutedViaGateway).toBe(false);
    // the same difference, but the clients offered different options: the layout says nothing
    const other = fp(61, SERVER_NIC);
    other.clientOpts = clientOptBits(1460, -1, true, false);
    expect(isBox(f5stack, [kind(other, 2)])).toBeNull();
  });

  it('a load balancer or firewall vendor supports a nearer answer, and decides nothing alone', () => {
    expect(isBox(fp(62, F5), [kind(fp(61, SERVER_NIC), 2)], true)).not.toBeNull();
    expect(isBox(fp(62, F5), [kind(fp(61, SERVER_NIC), 2)], false)).toBeNull();
    // same distance: a vendor alone is no reason
    expect(isBox(fp(61, F5), [kind(fp(61, SERVER_NIC), 2)], true)).toBeNull();
  });

  it('the per-server table is bounded: 4 kinds, 4 ports, 8 accept times each', () => {
    const p = new ServerProfile();
    for (let i = 0; i < 10; i++) p.noteSynAck(fp(50 + i, F5), 1000 + i, i * 1e6, i + 1);
    expect(defined(p.kinds()).length).toBe(4);
    expect(p.portCount).toBe(4);
    for (let i = 0; i < 20; i++) p.noteSynAck(fp(50, F5), 80, 1e9 + i * 1e6, 100 + i);
    expect(p.acceptsOn(80, 0, 2e9, 1e9)[0]).toBe(8);
    // an accept 1 ms before: [count, nearest]
    expect(p.acceptsOn(80, 1.018e9, 1.0195e9, 1.02e9)).toEqual([2, 1.019e9]);
    expect(p.acceptsOn(443, 0, 2e9, 0)).toEqual([0, -1]);
  });

  it('unreferenced server profiles are kept for later connections, oldest forgotten beyond the bound', () => {
    const h = new HostTable(2);
    const a = h.server(1);
    a.minRttNs = 5;
    h.release(1, a);
    expect(h.server(1)).toBe(a); // kept after its last connection
    h.release(1, a);
    for (const k of [2, 3]) h.release(k, h.server(k));
    // the oldest of three idle ones was forgotten: what server 1 gets knows nothing (it may be the
    // same object, reset: forgotten profiles are handed out again)
    expect(h.server(1).minRttNs).toBe(-1);
  });

  it('a forgotten profile handed out again answers as a new one would', () => {
    let seed = 11;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const synAck = () => fp(56 + rnd(8), rnd(2) === 0 ? F5 : SERVER_NIC, LINUX, 1400 + 20 * rnd(4));
    // what the verdicts read of a profile: the kinds compared with a handshake, the accepts and
    // serving times per port
    const seen = (p: ServerProfile, probe: HandshakeFp) => {
      const m = compareHandshake(probe, p.kinds() ?? [], true);
      const ports = [80, 443, 8080, 8443, 9000, 22].map((port) => [p.acceptsOn(port, 0, 1e12, 5e9), p.servedOn(port)]);
      return JSON.stringify([m === null ? null : [m.others, m.own.frame, m.own.fp.ttl, m.sameMac], ports]);
    };
    for (let round = 0; round < 50; round++) {
      const used = new ServerProfile();
      for (let i = rnd(30); i > 0; i--) {
        used.noteSynAck(synAck(), [80, 443, 8080, 8443, 9000, 22][rnd(6)], rnd(1e10), rnd(1e6));
        used.noteServed([80, 443, 22][rnd(3)], rnd(1e10));
      }
      used.reset();
      const fresh = new ServerProfile();
      for (let i = rnd(30); i > 0; i--) {
        const [f, port, t, frame] = [synAck(), [80, 443, 8080, 8443, 9000, 22][rnd(6)], rnd(1e10), rnd(1e6)];
        for (const p of [used, fresh]) p.noteSynAck(f, port, t, frame);
        const served = [80, 443, 22][rnd(3)];
        const st = rnd(1e10);
        for (const p of [used, fresh]) p.noteServed(served, st);
        const probe = synAck();
        expect(seen(used, probe)).toBe(seen(fresh, probe));
      }
      expect([used.ttlMin, used.ttlMax, used.minRttNs, used.refs]).toEqual([fresh.ttlMin, fresh.ttlMax, fresh.minRttNs, fresh.refs]);
    }
  });

  it('keeps kinds and accepts as the objects it replaced did, over random handshakes, ports and resets', () => {
    // the profile as it was before its kinds and ports went into one array (issue #20): a kind per
    // distinct (TTL, MAC, MSS, window scale, layout, timestamps, client offer), at most 4, filled
    // again in order after a reset; at most 4 ports, the one accepted longest ago replaced
    class Objects {
      kinds: { fp: HandshakeFp; conns: number; frame: number }[] = [];
      ports: { port: number; times: number[]; n: number; lastT: number; servedT: number }[] = [];
      reset(): void {
        for (const k of this.kinds) k.conns = 0;
        for (const p of this.ports) p.port = -1;
      }
      noteSynAck(f: HandshakeFp, port: number, t: number, frame: number): void {
        const same = (o: HandshakeFp) => o.ttl === f.ttl && o.mac === f.mac && o.mss === f.mss && o.wscale === f.wscale && o.layout === f.layout && o.ts === f.ts && o.clientOpts === f.clientOpts;
        let k = this.kinds.find((c) => c.conns > 0 && same(c.fp));
        if (k === undefined) {
          k = this.kinds.find((c) => c.conns === 0);
          if (k === undefined && this.kinds.length < 4) this.kinds.push((k = { fp: new HandshakeFp(), conns: 0, frame: 0 }));
          if (k !== undefined) {
            k.fp.copy(f);
            k.frame = frame;
          }
        }
        if (k !== undefined) k.conns++;
        let p = this.ports.find((x) => x.port === port) ?? this.ports.find((x) => x.port === -1);
        if (p === undefined || p.port !== port) {
          if (p === undefined && this.ports.length < 4) this.ports.push((p = { port, times: [], n: 0, lastT: -1, servedT: -1 }));
          p ??= this.ports.reduce((a, b) => (b.lastT < a.lastT ? b : a));
          p.port = port;
          p.n = 0;
          p.servedT = -1;
        }
        p.times[p.n % 8] = t;
        p.n++;
        p.lastT = t;
      }
      noteServed(port: number, t: number): void {
        for (const p of this.ports) if (p.port === port && t > p.servedT) p.servedT = t;
      }
      acceptsOn(port: number, from: number, to: number): number[] {
        const p = this.ports.find((x) => x.port === port);
        return p === undefined ? [] : p.times.slice(0, Math.min(p.n, 8)).filter((t) => t >= from && t <= to);
      }
    }
    let seed = 7;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const synAck = () => {
      const f = fp(60 + rnd(3), [F5, SERVER_NIC][rnd(2)], [LINUX, 0o21346][rnd(2)], [1460, 1380][rnd(2)], [7, 0][rnd(2)]);
      f.ts = rnd(2) === 0;
      f.clientOpts = [BOTH_OFFER, -1][rnd(2)];
      return f;
    };
    const portsSeen = [80, 443, 8080, 8443, 9000, 22];
    for (let round = 0; round < 40; round++) {
      const flat = new ServerProfile();
      const objects = new Objects();
      for (let i = 0; i < 120; i++) {
        const step = rnd(20);
        if (step === 0) for (const p of [flat, objects]) p.reset();
        else if (step < 5) {
          const [port, t] = [portsSeen[rnd(6)], rnd(1e10)];
          for (const p of [flat, objects]) p.noteServed(port, t);
        } else {
          const [f, port, t, frame] = [synAck(), portsSeen[rnd(6)], rnd(1e10), rnd(1e6)];
          for (const p of [flat, objects]) p.noteSynAck(f, port, t, frame);
        }
        const fields = (f: HandshakeFp) => [f.ttl, f.mac, f.window, f.mss, f.wscale, f.layout, f.ts, f.clientOpts];
        const kinds = (flat.kinds() ?? []).map((c) => [c.conns, c.frame, fields(c.fp)]);
        expect(kinds).toEqual(objects.kinds.map((c) => [c.conns, c.frame, fields(c.fp)]));
        for (const port of portsSeen) {
          const times = objects.acceptsOn(port, 0, 5e9);
          expect(flat.acceptsOn(port, 0, 5e9, 2.5e9)[0]).toBe(times.length);
          expect(flat.servedOn(port)).toBe(objects.ports.find((x) => x.port === port)?.servedT ?? -1);
        }
      }
    }
  });

  it('keeps and forgets idle profiles as the two maps it replaced did, over random connections', () => {
    // the old HostTable: referenced profiles in one map, idle ones in another in the order they
    // became idle, the first forgotten beyond the bound
    class TwoMaps {
      readonly servers = new Map<number, ServerProfile>();
      readonly idle = new Map<number, ServerProfile>();
      constructor(private readonly kept: number) {}
      server(key: number): ServerProfile {
        let p = this.servers.get(key);
        if (p === undefined) {
          p = this.idle.get(key);
          if (p !== undefined) this.idle.delete(key);
          else p = new ServerProfile();
          this.servers.set(key, p);
        }
        p.refs++;
        return p;
      }
      release(key: number, p: ServerProfile): void {
        if (--p.refs !== 0) return;
        this.servers.delete(key);
        if (this.kept <= 0) return;
        this.idle.set(key, p);
        if (this.idle.size > this.kept) this.idle.delete(this.idle.keys().next().value as number);
      }
    }
    for (const kept of [0, 1, 3, 16]) {
      let seed = 7 + kept;
      const rnd = (n: number) => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return (seed >>> 8) % n;
      };
      const h = new HostTable(kept);
      const old = new TwoMaps(kept);
      // the profile each implementation gave, numbered in the order each first gave it: a new one
      // (or one forgotten and handed out again, reset) knows no round trip yet, and is given one
      // as its number
      const given = [0, 0];
      const id = (i: number, p: ServerProfile) => {
        if (p.minRttNs < 0) p.minRttNs = ++given[i];
        return p.minRttNs;
      };
      const held: [number, ServerProfile, ServerProfile][] = [];
      for (let step = 0; step < 20000; step++) {
        if (held.length > 0 && rnd(2) === 0) {
          const [k, p, q] = held.splice(rnd(held.length), 1)[0];
          h.release(k, p);
          old.release(k, q);
        } else {
          const k = rnd(40);
          const p = h.server(k);
          const q = old.server(k);
          expect(id(0, p)).toBe(id(1, q));
          held.push([k, p, q]);
        }
      }
    }
  });
});

describe('a MAC with several addresses', () => {
  it('a DNS server on two addresses is no router; a box forwarding routed packets is', () => {
    const dns = new MacInfo();
    dns.v4Src.push(0x0a000214, 0x0a000235);
    dns.sentInitial = true;
    expect(dns.isRouter).toBe(false);
    const router = new MacInfo();
    router.v4Src.push(0x0a000214, 0x0a000235);
    router.sentInitial = true;
    router.sentRouted = true;
    expect(router.isRouter).toBe(true);
    // seen only receiving for several addresses (a one-way capture of the uplink)
    const uplink = new MacInfo();
    uplink.v4Dst.push(0x0a000214, 0x0a000235);
    expect(uplink.isRouter).toBe(true);
  });
});

describe('vendor classes', () => {
  it.each([
    ['00:01:d7:2a:10:01', 'F5 Inc.', 'load balancer'],
    ['00:1f:a0:00:00:01', 'A10 Networks', 'load balancer'],
    ['00:1b:17:00:00:01', 'Palo Alto Networks', 'firewall'],
    ['00:09:0f:00:00:01', 'Fortinet, Inc.', 'firewall'],
    ['00:00:0c:2a:20:01', 'Cisco Systems, Inc', 'router or switch'],
    ['00:05:85:00:00:01', 'Juniper Networks', 'router or switch'],
    ['00:50:56:00:00:01', 'VMware, Inc.', 'virtual machine'],
    ['00:15:5d:00:00:01', 'Microsoft Corporation', 'virtual machine'],
    ['00:0d:3a:00:00:01', 'Microsoft Corp.', undefined],
    ['52:54:00:12:34:56', undefined, 'virtual machine'],
    ['3c:fd:fe:00:02:14', 'Intel Corporate', undefined],
  ])('%s = %s: %s', (mac, vendor, cls) => {
    expect(vendorClass(mac, vendor)).toBe(cls);
  });
  it('only load balancers and firewalls commonly answer for servers', () => {
    expect(terminatesConnections('load balancer')).toBe(true);
    expect(terminatesConnections('firewall')).toBe(true);
    expect(terminatesConnections('router or switch')).toBe(false);
    expect(terminatesConnections(undefined)).toBe(false);
  });
});

describe('by-labels name the MAC that made the deciding packet', () => {
  const rec = (by: FlowRecord['by'], macRole: FlowRecord['macRole'], mac = '00:01:d7:2a:10:01', vendor = 'F5 Inc.') => ({ by, mac, vendor, macRole });
  it.each([
    [rec('middlebox', 'gateway'), 'by middlebox: gateway 00:01:d7:2a:10:01 = F5 Inc. (load balancer)'],
    [rec('server', 'via-gateway'), 'by server'],
    [rec('server', 'gateway'), 'by server'],
    [rec('unknown', 'next-hop'), 'by unknown'],
    [rec('unknown', 'sender'), 'by unknown'],
    [rec('middlebox', 'via-gateway'), 'by middlebox'],
    [rec('server', 'sender', '3c:fd:fe:00:02:14', 'Intel Corporate'), 'by server: 3c:fd:fe:00:02:14 = Intel Corporate'],
    [rec('client', 'sender', '52:54:00:12:34:56', 'locally administered (random or virtual)'), 'by client: 52:54:00:12:34:56 = locally administered (random or virtual), virtual machine'],
  ])('%o → %s', (r, text) => {
    expect(byLabel(r)).toBe(text);
  });
});

/** The pcap with only the given frames (1-based), for cutting a fixture. */
function framesOf(file: string, keep: (frame: number) => boolean): string {
  const b = readFileSync(join(FIXTURES, file));
  const parts: Buffer[] = [b.subarray(0, 24)];
  let off = 24;
  for (let frame = 1; off + 16 <= b.length; frame++) {
    const len = b.readUInt32LE(off + 8);
    if (keep(frame)) parts.push(b.subarray(off, off + 16 + len));
    off += 16 + len;
  }
  const out = join(mkdtempSync(join(tmpdir(), 'pcapdiag-proxy-')), file);
  writeFileSync(out, Buffer.concat(parts));
  return out;
}

const boxFact = (r: FlowRecord) => r.facts?.find((f): f is Extract<Fact, { reason: 'handshake-by-box' }> => f.kind === 'attribution' && f.reason === 'handshake-by-box');

describe('tcp-proxy-reset.pcap: haproxy on the gateway answers for 10.0.2.20:443, the real server answers :80', () => {
  it('the proxied connection is the box’s doing, with the fingerprints as evidence; the others are the server’s', async () => {
    const all = (await analyzeFile(join(FIXTURES, 'tcp-proxy-reset.pcap'))).records;
    const proxied = defined(all.find((r) => r.server === '10.0.2.20:443'));
    expect(proxied.verdict).toBe('closed-by-remote');
    expect(proxied.by).toBe('middlebox');
    expect(proxied.macRole).toBe('gateway');
    const f = defined(boxFact(proxied));
    expect(f.box.ttl).toBe(64);
    expect(f.own.ttl).toBe(63);
    expect(f.box.options).toBe('mss,sok,ts,nop,ws');
    expect(f.sameMac).toBe(true);
    expect(f.gateway).toBe(true);
    expect(f.conns).toBeGreaterThanOrEqual(3);
    expect(proxied.summary).toContain('a box in the path, answering for 10.0.2.20:443');
    expect(proxied.evidence.join('\n')).toContain("10.0.2.20's own SYN-ACKs in");
    // the box's MAC is not called the server's
    expect(proxied.evidence.join('\n')).not.toContain('server 00:01:d7');
    for (const r of all.filter((x) => x.server === '10.0.2.20:80')) {
      expect(r.verdict).toBe('ok');
      expect(r.by).toBe('server');
      expect(boxFact(r)).toBeUndefined();
    }
  });

  it('without the real server’s connections before it is decided, nothing tells the box: by server, no box fact', async () => {
    // only the proxied connection (frames 32-38)
    const alone = (await analyzeFile(framesOf('tcp-proxy-reset.pcap', (n) => n >= 32 && n <= 38))).records;
    expect(alone).toHaveLength(1);
    expect(alone[0].by).toBe('server');
    expect(boxFact(alone[0])).toBeUndefined();
    // nothing says this MAC is a gateway here: it made the packets (TTL 64), so it is shown as the
    // sender's, and its class is there for the reader to weigh
    expect(alone[0].macRole).toBe('sender');
    expect(byLabel(alone[0])).toBe('by server: 00:01:d7:2a:10:01 = F5 Inc. (load balancer)');
  });
});

describe('SYNs that time out to a port that accepted other connections: a full listen queue', () => {
  it('tcp-backlog-overflow.pcap: the four timeouts are the server’s, with the accepts as evidence', async () => {
    const all = (await analyzeFile(join(FIXTURES, 'tcp-backlog-overflow.pcap'))).records;
    const timeouts = all.filter((r) => r.verdict === 'timeout');
    expect(timeouts).toHaveLength(4);
    for (const t of timeouts) {
      expect(t.by).toBe('server');
      const acc = defined(t.facts?.find((f) => f.kind === 'port-accepted'));
      expect(acc.kind === 'port-accepted' && acc.accepted).toBe(2);
      expect(t.check).toContain('listen queue is full');
      expect(t.check).not.toContain('firewall or security group is probably dropping');
    }
  });

  it('a port that never accepted keeps the firewall advice (tcp-timeout.pcap)', async () => {
    const all = (await analyzeFile(join(FIXTURES, 'tcp-timeout.pcap'))).records;
    const t = defined(all.find((r) => r.verdict === 'timeout'));
    expect(t.by).toBe('unknown');
    expect(t.facts?.some((f) => f.kind === 'port-accepted')).toBe(false);
    expect(t.check).toContain('firewall');
  });
});
