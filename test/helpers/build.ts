/** Tiny builders for packets and capture files, for tests. */
import type { ByteSource } from '../../src/capture/source.js';
import { CaptureRecord } from '../../src/capture/record.js';
import { PacketDecoder } from '../../src/decode/decode.js';
import { DecodedPacket } from '../../src/decode/packet.js';

export const u16 = (v: number) => Buffer.from([(v >> 8) & 255, v & 255]);
export const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
export const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));
export const mac = (s: string) => Buffer.from(s.split(':').map((x) => parseInt(x, 16)));

function csum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length % 2) s += b[b.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export function ethernet(dst: string, src: string, type: number, payload: Buffer): Buffer {
  return Buffer.concat([mac(dst), mac(src), u16(type), payload]);
}

export interface Ip4Opts {
  src: string;
  dst: string;
  proto: number;
  ttl?: number;
  id?: number;
  fragOffset?: number;
  moreFragments?: boolean;
  totalLen?: number;
  ihl?: number;
}
export function ipv4(o: Ip4Opts, payload: Buffer): Buffer {
  const ihl = o.ihl ?? 5;
  const h = Buffer.alloc(20);
  h[0] = 0x40 | ihl;
  h.writeUInt16BE(o.totalLen ?? 20 + payload.length, 2);
  h.writeUInt16BE(o.id ?? 1, 4);
  h.writeUInt16BE(((o.moreFragments ? 1 : 0) << 13) | ((o.fragOffset ?? 0) & 0x1fff), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  ip4(o.src).copy(h, 12);
  ip4(o.dst).copy(h, 16);
  h.writeUInt16BE(csum(h), 10);
  return Buffer.concat([h, payload]);
}

export function ipv6(src: Buffer, dst: Buffer, nextHeader: number, payload: Buffer, hopLimit = 64): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payload.length, 4);
  h[6] = nextHeader;
  h[7] = hopLimit;
  src.copy(h, 8);
  dst.copy(h, 24);
  return Buffer.concat([h, payload]);
}

export const FLAGS = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;
export interface TcpOpts {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags: number;
  win?: number;
  dataOffset?: number;
  /** Raw option bytes, padded with NOPs to a multiple of 4 (the data offset follows). */
  options?: Buffer;
}
export function tcp(o: TcpOpts, payload: Buffer = Buffer.alloc(0)): Buffer {
  const opt = o.options ?? Buffer.alloc(0);
  const optLen = (opt.length + 3) & ~3;
  const h = Buffer.alloc(20 + optLen, 1);
  opt.copy(h, 20);
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt32BE((o.seq ?? 0) >>> 0, 4);
  h.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
  h[12] = (o.dataOffset ?? 5 + optLen / 4) << 4;
  h.fill(0, 14, 20);
  h[13] = o.flags;
  h.writeUInt16BE(o.win ?? 65535, 14);
  return Buffer.concat([h, payload]);
}

export function udp(sport: number, dport: number, payload: Buffer): Buffer {
  return Buffer.concat([u16(sport), u16(dport), u16(8 + payload.length), u16(0), payload]);
}

export interface Rec {
  sec: number;
  frac: number;
  data: Buffer;
  origLen?: number;
}

/** A classic pcap file. */
export function pcap(recs: Rec[], o: { le?: boolean; ns?: boolean; linkType?: number; snaplen?: number } = {}): Buffer {
  const le = o.le ?? true;
  const w32 = (v: number) => {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  };
  const w16 = (v: number) => {
    const b = Buffer.alloc(2);
    if (le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  };
  const parts: Buffer[] = [w32(o.ns ? 0xa1b23c4d : 0xa1b2c3d4), w16(2), w16(4), w32(0), w32(0), w32(o.snaplen ?? 262144), w32(o.linkType ?? 1)];
  for (const r of recs) parts.push(w32(r.sec), w32(r.frac), w32(r.data.length), w32(r.origLen ?? r.data.length), r.data);
  return Buffer.concat(parts);
}

/** pcapng blocks, in either byte order. */
export class Ng {
  constructor(readonly le = true) {}
  private w32(v: number): Buffer {
    const b = Buffer.alloc(4);
    if (this.le) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  }
  private w16(v: number): Buffer {
    const b = Buffer.alloc(2);
    if (this.le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  }
  private pad(b: Buffer): Buffer {
    return Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  }
  block(type: number, body: Buffer): Buffer {
    const len = 12 + body.length;
    return Buffer.concat([this.w32(type), this.w32(len), body, this.w32(len)]);
  }
  option(code: number, value: Buffer): Buffer {
    return Buffer.concat([this.w16(code), this.w16(value.length), this.pad(value)]);
  }
  shb(): Buffer {
    return this.block(0x0a0d0d0a, Buffer.concat([this.w32(0x1a2b3c4d), this.w16(1), this.w16(0), Buffer.alloc(8, 0xff)]));
  }
  idb(linkType: number, opts: { tsresol?: number; tsoffset?: number; name?: string } = {}): Buffer {
    const o: Buffer[] = [];
    if (opts.name !== undefined) o.push(this.option(2, Buffer.from(opts.name)));
    if (opts.tsresol !== undefined) o.push(this.option(9, Buffer.from([opts.tsresol])));
    if (opts.tsoffset !== undefined) {
      const b = Buffer.alloc(8);
      if (this.le) b.writeBigInt64LE(BigInt(opts.tsoffset));
      else b.writeBigInt64BE(BigInt(opts.tsoffset));
      o.push(this.option(14, b));
    }
    if (o.length > 0) o.push(this.w32(0));
    return this.block(1, Buffer.concat([this.w16(linkType), this.w16(0), this.w32(262144), ...o]));
  }
  epb(ifId: number, ticks: bigint, data: Buffer): Buffer {
    return this.block(6, Buffer.concat([this.w32(ifId), this.w32(Number(ticks >> 32n)), this.w32(Number(ticks & 0xffffffffn)), this.w32(data.length), this.w32(data.length), this.pad(data)]));
  }
  spb(data: Buffer): Buffer {
    return this.block(3, Buffer.concat([this.w32(data.length), this.pad(data)]));
  }
}

/** A ByteSource over a buffer that hands out at most `chunk` bytes per read (to exercise refills). */
export function bufferSource(buf: Buffer, chunk = 1 << 20): ByteSource {
  let pos = 0;
  return {
    name: 'test',
    live: false,
    size: buf.length,
    read(dst: Buffer, off: number, len: number): number {
      const n = Math.min(len, chunk, buf.length - pos);
      buf.copy(dst, off, pos, pos + n);
      pos += n;
      return n;
    },
    close() {},
  };
}

export const CLIENT_MAC = '52:54:00:12:34:56';
export const GW_MAC = '00:01:d7:2a:10:01';

/** An Ethernet/IPv4/TCP frame from client to server or back, through the gateway MAC. */
export function tcpFrame(dir: 'c2s' | 's2c', o: TcpOpts & { ttl?: number; srcMac?: string }, payload?: Buffer, client = '10.0.1.10', server = '10.0.2.20'): Buffer {
  const ip = dir === 'c2s' ? ipv4({ src: client, dst: server, proto: 6, ttl: o.ttl ?? 64 }, tcp(o, payload)) : ipv4({ src: server, dst: client, proto: 6, ttl: o.ttl ?? 63 }, tcp(o, payload));
  return dir === 'c2s' ? ethernet(GW_MAC, CLIENT_MAC, 0x0800, ip) : ethernet(CLIENT_MAC, o.srcMac ?? GW_MAC, 0x0800, ip);
}

/**
 * A copy of a little-endian pcap of Ethernet frames in which the IPv4 TCP packets from `client`
 * (dotted quad) have the source MAC `mac` instead: as if another host sent them (or, with `ttl`,
 * a router: routed with that TTL). Returns the copy and how many frames were changed.
 */
export function ipv4TcpFromMac(capture: Buffer, client: string, mac: number, ttl?: number): { capture: Buffer; changed: number } {
  const out = Buffer.from(capture);
  const from = ip4(client).readUInt32BE(0);
  let changed = 0;
  for (let at = 24; at + 16 <= out.length; at += 16 + out.readUInt32LE(at + 8)) {
    const f = at + 16;
    if (out.readUInt16BE(f + 12) !== 0x0800 || out[f + 14 + 9] !== 6 || out.readUInt32BE(f + 14 + 12) !== from) continue;
    out.writeUIntBE(mac, f + 6, 6);
    if (ttl !== undefined) {
      // routed: the TTL, and the header checksum again
      const ip = f + 14;
      out[ip + 8] = ttl;
      out.writeUInt16BE(0, ip + 10);
      out.writeUInt16BE(csum(out.subarray(ip, ip + (out[ip] & 15) * 4)), ip + 10);
    }
    changed++;
  }
  return { capture: out, changed };
}

const frameDecoder = new PacketDecoder();

/** An Ethernet frame decoded into a DecodedPacket of its own (earlier ones stay valid). */
export function decodeFrame(frame: Buffer): DecodedPacket {
  const rec = new CaptureRecord();
  rec.data = frame;
  rec.off = 0;
  rec.end = frame.length;
  rec.capLen = frame.length;
  rec.linkType = 1;
  const pkt = new DecodedPacket();
  frameDecoder.decode(rec, pkt);
  return pkt;
}
