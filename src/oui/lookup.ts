import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

let file: Buffer | null = null;

/**
 * The IEEE registry file of `oui-data`, read on first use. It is one JSON object with one entry
 * per line, ` "PREFIX": "Organisation\naddress…",`, sorted by prefix length (MA-L, MA-M, MA-S)
 * and then by prefix: a binary search over its lines finds an entry without parsing the rest.
 * (Parsing it all with require() took 87 ms and 27 MB of heap; reading it takes 3 ms.)
 */
function registryFile(): Buffer {
  if (file === null) {
    const f = readFileSync(createRequire(import.meta.url).resolve('oui-data'));
    if (!/^\{\n "[0-9A-F]{6}": "/.test(f.toString('latin1', 0, 16))) throw new Error('oui-data: unexpected registry format');
    file = f;
  }
  return file;
}

const QUOTE = 0x22;
const NEWLINE = 0x0a;

/** The registry entry for a prefix of 6, 7 or 9 upper-case hex digits, or undefined. */
function registryEntry(prefix: string): string | undefined {
  const f = registryFile();
  // lines in [lo, hi) are still candidates; `{` and `}` sort before and after every entry
  let lo = 0;
  let hi = f.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const start = f.lastIndexOf(NEWLINE, mid - 1) + 1;
    let end = f.indexOf(NEWLINE, start);
    if (end < 0) end = f.length;
    let cmp: number;
    if (f[start] === 0x7b) cmp = -1;
    else if (f[start] === 0x7d) cmp = 1;
    else {
      const key = f.toString('latin1', start + 2, f.indexOf(QUOTE, start + 2));
      cmp = key.length !== prefix.length ? key.length - prefix.length : key < prefix ? -1 : key > prefix ? 1 : 0;
      if (cmp === 0) {
        const value = f.toString('utf8', start + 2 + key.length + 3, f[end - 1] === 0x2c ? end - 1 : end);
        return JSON.parse(value) as string;
      }
    }
    if (cmp < 0) lo = end + 1;
    else hi = start;
  }
  return undefined;
}

/** What a MAC address says about its owner. */
export interface MacDescription {
  /** Organisation that holds the prefix (first line of its IEEE entry), if any. */
  vendor: string | null;
  /** Special kinds: virtual router MACs, locally administered, multicast. */
  note: string | null;
}

const cache = new Map<number, MacDescription>();

/** Looks up a 48-bit MAC: MA-S (36-bit), then MA-M (28-bit), then MA-L (24-bit) prefixes. */
export function describeMac(mac: number): MacDescription {
  const hit = cache.get(mac);
  if (hit !== undefined) return hit;
  const hex = mac.toString(16).padStart(12, '0').toUpperCase();
  const first = parseInt(hex.slice(0, 2), 16);
  let note: string | null = null;
  let vendor: string | null = null;
  if (hex.startsWith('00005E0001')) note = `VRRP virtual router, VRID ${parseInt(hex.slice(10), 16)}`;
  else if (hex.startsWith('00005E0002')) note = `VRRPv3 IPv6 virtual router, VRID ${parseInt(hex.slice(10), 16)}`;
  else if (hex.startsWith('00000C07AC')) note = `HSRP virtual MAC, group ${parseInt(hex.slice(10), 16)}`;
  else if (hex.startsWith('00000C9FF')) note = `HSRPv2 virtual MAC, group ${parseInt(hex.slice(9), 16)}`;
  else if (first & 1) note = 'multicast';
  else if (first & 2) note = 'locally administered (random or virtual)';
  if (!(first & 2)) {
    const org = registryEntry(hex.slice(0, 9)) ?? registryEntry(hex.slice(0, 7)) ?? registryEntry(hex.slice(0, 6));
    if (org !== undefined) vendor = org.split('\n')[0].trim();
  }
  const d = { vendor, note };
  cache.set(mac, d);
  return d;
}
