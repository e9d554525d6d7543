import { randomBytes } from 'node:crypto';
import { flatten } from '../memory.js';
import type { DecodedPacket } from '../decode/packet.js';
import { tunnelName } from '../decode/tunnel.js';
/** IP addresses as four big-endian 32-bit words (IPv4 in word 0), and endpoints formatted for output. */

export function sameAddr(a: Uint32Array, b: Uint32Array): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

export function copyAddr(src: Uint32Array): Uint32Array {
  const a = new Uint32Array(4);
  a.set(src);
  return a;
}

/**
 * A secret per process: without it, anyone could pick 120,000 IPv6 sources with the same hash (each
 * mixing step can be undone) and make every flow-table lookup walk one chain (295 s for a 2 MB
 * capture, against 3.1 s for random sources). Output does not depend on it: records are sorted.
 */
const HASH_SEED = randomBytes(4).readInt32LE(0);

/**
 * 32-bit hash of one (address, port) endpoint, all four words of the address and the port mixed
 * with a per-process seed; adding two of them (`| 0`) gives a direction-free flow key. Signed, so
 * it stays a small integer: an unsigned one above 2^31 is a heap number each time it is passed or
 * used as a Map key.
 */
export function endpointHash(a: Uint32Array, port: number): number {
  let h = Math.imul(a[0] ^ HASH_SEED, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ HASH_SEED, 0xcc9e2d51);
  h = Math.imul(h ^ (h >>> 13) ^ a[1], 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ a[2], 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ a[3], 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ port, 0x85ebca6b);
  return (h ^ (h >>> 13)) | 0;
}

/** Direction-free key of a flow between two endpoints (either way round gives the same). */
export function flowHash(a: Uint32Array, aPort: number, b: Uint32Array, bPort: number): number {
  return (endpointHash(a, aPort) + endpointHash(b, bPort)) | 0;
}

export function formatIpv4(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

/** RFC 5952 text form: lower case, longest run of zero groups (≥ 2) compressed. */
export function formatIpv6(a: Uint32Array): string {
  return formatIpv6Words(a[0], a[1], a[2], a[3]);
}

/** The eight groups of the address formatIpv6Words is writing (scratch: no array per call). */
const GROUPS = new Uint16Array(8);

/**
 * formatIpv6 of the address with these four words (signed or not), without a copy of it in an
 * array: a flow keeps its addresses as words, and the text of every IPv6 endpoint of every record
 * (counted ones too) went through an array of groups, a closure, two slices and two maps (issue
 * #20). test/hot-path-text.test.ts checks it against that version.
 */
export function formatIpv6Words(w0: number, w1: number, w2: number, w3: number): string {
  const g = GROUPS;
  g[0] = w0 >>> 16;
  g[1] = w0 & 0xffff;
  g[2] = w1 >>> 16;
  g[3] = w1 & 0xffff;
  g[4] = w2 >>> 16;
  g[5] = w2 & 0xffff;
  g[6] = w3 >>> 16;
  g[7] = w3 & 0xffff;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  if (bestStart < 0) {
    for (let i = 0; i < 8; i++) s += i === 0 ? g[i].toString(16) : `:${g[i].toString(16)}`;
    return s;
  }
  for (let i = 0; i < bestStart; i++) s += i === 0 ? g[i].toString(16) : `:${g[i].toString(16)}`;
  s += '::';
  for (let i = bestStart + bestLen; i < 8; i++) s += i === bestStart + bestLen ? g[i].toString(16) : `:${g[i].toString(16)}`;
  return s;
}

export function formatAddr(version: number, a: Uint32Array): string {
  return addressText(version, a[0], a[1], a[2], a[3]);
}

/**
 * Texts of addresses made lately, by IP version and words (direct-mapped: a newer address of the
 * same slot replaces the older; compared whole). A capture names the same hosts again and again:
 * one string per address, not four number conversions and their joins (an IPv6 one, eight) each
 * time (issue #20).
 */
export class AddressTexts {
  private readonly texts: string[];
  /** Each slot's version (0: empty) and four words. */
  private readonly keys: Int32Array;
  private readonly mask: number;

  /** @param make the text of an address (words as int32; an IPv4 address's w1..w3 are 0), made on a miss */
  constructor(
    slots: number,
    private readonly make: (version: number, w0: number, w1: number, w2: number, w3: number) => string,
  ) {
    this.texts = new Array<string>(slots).fill('');
    this.keys = new Int32Array(slots * 5);
    this.mask = slots - 1;
  }

  /** The text of the address of IP version `version` with these words (signed or not; w1..w3 0 for IPv4). */
  get(version: number, w0: number, w1: number, w2: number, w3: number): string {
    w0 |= 0;
    w1 |= 0;
    w2 |= 0;
    w3 |= 0;
    let h = Math.imul(w0 ^ version, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 15) ^ w1, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13) ^ w2, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 16) ^ w3, 0x9e3779b1);
    const slot = (h ^ (h >>> 16)) & this.mask;
    const k = slot * 5;
    const key = this.keys;
    if (key[k] === version && key[k + 1] === w0 && key[k + 2] === w1 && key[k + 3] === w2 && key[k + 4] === w3) return this.texts[slot];
    // flat: a join's rope would keep its pieces as long as the cache keeps it
    const text = flatten(this.make(version, w0, w1, w2, w3));
    this.texts[slot] = text;
    key[k] = version;
    key[k + 1] = w0;
    key[k + 2] = w1;
    key[k + 3] = w2;
    key[k + 4] = w3;
    return text;
  }
}

const addressTexts = new AddressTexts(1 << 12, (version, w0, w1, w2, w3) => (version === 4 ? formatIpv4(w0) : formatIpv6Words(w0, w1, w2, w3)));

/** formatIpv4(w0) for version 4 (w1..w3 not read), formatIpv6Words for 6, from the texts made lately (AddressTexts). */
export function addressText(version: number, w0: number, w1: number, w2: number, w3: number): string {
  return version === 4 ? addressTexts.get(4, w0, 0, 0, 0) : addressTexts.get(version, w0, w1, w2, w3);
}

/** formatEndpoint of the address with these words (addressText) and `port`. */
export function endpointText(version: number, w0: number, w1: number, w2: number, w3: number, port: number): string {
  const host = addressText(version, w0, w1, w2, w3);
  return version === 4 ? `${host}:${port}` : `[${host}]:${port}`;
}

/** `ip:port`, or `[ip]:port` for IPv6. */
export function formatEndpoint(version: number, a: Uint32Array, port: number): string {
  return endpointText(version, a[0], a[1], a[2], a[3], port);
}

/** The address part of an endpoint: "10.0.2.20:80" → 10.0.2.20, "[fd00::1]:80" → fd00::1; a bare address as it is. */
export function hostOf(endpoint: string): string {
  if (endpoint.startsWith('[')) return endpoint.slice(1, endpoint.indexOf(']'));
  const end = hostEnd(endpoint);
  return end === endpoint.length ? endpoint : endpoint.slice(0, end);
}

/** Where the address of an endpoint not in brackets ends: at its one colon, else at its end (a bare address, IPv6 included). */
export function hostEnd(endpoint: string): number {
  const colon = endpoint.indexOf(':');
  return colon >= 0 && colon === endpoint.lastIndexOf(':') ? colon : endpoint.length;
}

/** The port of an endpoint, or -1 for a bare address (a ping's or ARP's ends, "fd00::1" included). */
export function portOf(endpoint: string): number {
  // "[addr]:digits" or "host:digits" with no other colon (no regex: called for every shown record)
  let from: number;
  if (endpoint.startsWith('[')) {
    const close = endpoint.lastIndexOf(']:');
    if (close < 0) return -1;
    from = close + 2;
  } else {
    const colon = endpoint.indexOf(':');
    if (colon < 0 || colon !== endpoint.lastIndexOf(':')) return -1;
    from = colon + 1;
  }
  if (from >= endpoint.length) return -1;
  for (let i = from; i < endpoint.length; i++) {
    const c = endpoint.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
  }
  return Number(endpoint.slice(from));
}

export function formatMac(mac: number): string {
  // a described record writes its deciding packet's MAC, and its gateway fact again: mostly the
  // one gateway's. The last one's text is kept, flat: each was a rope of eleven pieces (~350 bytes)
  // that waited in the sweep's batch, often long enough to be promoted, 2 % of an ndjson run's allocation
  if (mac === lastMac) return lastMacText;
  const hi = Math.floor(mac / 4294967296);
  const lo = mac >>> 0;
  // a table of byte texts instead of an array and a closure per call
  lastMacText = flatten(`${HEX2[(hi >>> 8) & 255]}:${HEX2[hi & 255]}:${HEX2[lo >>> 24]}:${HEX2[(lo >>> 16) & 255]}:${HEX2[(lo >>> 8) & 255]}:${HEX2[lo & 255]}`);
  lastMac = mac;
  return lastMacText;
}

/** The MAC formatMac wrote last (as a number), and its text. */
let lastMac = NaN;
let lastMacText = '';

/** "00" … "ff". */
const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A key that names the network an address is on: the IPv4 address itself, or a hash of the IPv6
 * /64 (MurmurHash3's finaliser over its two words, so that /64s one bit apart land far apart; two
 * share a key about once in 2^30 pairs). The hash is kept to a small integer: one past 2^32, as
 * it was, is a number V8 allocates. Only the MAC table counts them (hosts.ts).
 */
export function addrNetKey(version: number, a: Uint32Array): number {
  if (version === 4) return a[0];
  let h = Math.imul(a[0], 0x9e3779b1) ^ a[1];
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >> 2;
}

/** "VXLAN VNI 100 between 10.0.0.1 and 10.0.0.2": the tunnel a packet came through, for the evidence. */
export function tunnelNote(pkt: DecodedPacket): string | null {
  if (pkt.tunnel === 0) return null;
  const name = tunnelName(pkt.tunnel, pkt.tunnelId);
  return pkt.tunnelVersion === 0 ? name : `${name} between ${formatAddr(pkt.tunnelVersion, pkt.tunnelSrc)} and ${formatAddr(pkt.tunnelVersion, pkt.tunnelDst)}`;
}
