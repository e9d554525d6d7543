import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * The IEEE registry file of `oui-data`, opened on first use. It is one JSON object with one entry
 * per line, ` "PREFIX": "Organisation\naddress…",`, sorted by prefix length (MA-L, MA-M, MA-S)
 * and then by prefix: a binary search over its lines finds an entry without parsing the rest.
 * (Parsing it all with require() took 87 ms and 27 MB of heap; reading it, 3 ms and 5.6 MB of
 * memory held to the end of the run. It is read WINDOW bytes at a time around each probe: ~20
 * small reads a prefix, and each MAC is looked up once.)
 */
class Registry {
  private readonly fd: number;
  readonly size: number;
  private readonly window = Buffer.alloc(WINDOW);
  /** Byte offset of the window's first byte, and how many bytes of it are read. */
  private base = -1;
  private len = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
    try {
      this.size = fstatSync(this.fd).size;
      this.load(0);
      if (!/^\{\n "[0-9A-F]{6}": "/.test(this.window.toString('latin1', 0, Math.min(16, this.len)))) throw new Error('oui-data: unexpected registry format');
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  private load(base: number): void {
    this.base = base;
    this.len = readSync(this.fd, this.window, 0, Math.min(WINDOW, this.size - base), base);
  }

  /**
   * The line that starts after the last newline before byte `pos` (so the line holding byte
   * `pos - 1`, or the one starting at `pos` when that byte is a newline): its start, its end (the
   * next newline's offset, or the file's size) and its bytes; null when the line is longer than
   * half a window (none is: 341 bytes at most).
   */
  lineBefore(pos: number): { start: number; end: number; bytes: Buffer } | null {
    const base = Math.max(0, pos - WINDOW / 2);
    if (base !== this.base) this.load(base);
    const w = this.window.subarray(0, this.len);
    const at = pos - 1 - base;
    const nl = at < 0 ? -1 : w.lastIndexOf(NEWLINE, at);
    if (nl < 0 && base > 0) return null;
    const start = nl + 1;
    const endInW = w.indexOf(NEWLINE, start);
    if (endInW < 0 && base + this.len < this.size) return null;
    const end = endInW < 0 ? this.len : endInW;
    return { start: base + start, end: base + end, bytes: w.subarray(start, end) };
  }
}

/** Bytes read around each probe of the search: twice the longest line, and more. */
const WINDOW = 1024;

let registry: Registry | null = null;

function registryFile(): Registry {
  registry ??= new Registry(createRequire(import.meta.url).resolve('oui-data'));
  return registry;
}

const QUOTE = 0x22;
const NEWLINE = 0x0a;

/** The registry entry for a prefix of 6, 7 or 9 upper-case hex digits, or undefined. */
function registryEntry(prefix: string): string | undefined {
  const f = registryFile();
  // lines in [lo, hi) are still candidates; `{` and `}` sort before and after every entry
  let lo = 0;
  let hi = f.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const line = f.lineBefore(mid);
    if (line === null) throw new Error('oui-data: a registry line longer than expected');
    const { start, end, bytes } = line;
    let cmp: number;
    if (bytes[0] === 0x7b) cmp = -1;
    else if (bytes[0] === 0x7d) cmp = 1;
    else {
      const key = bytes.toString('latin1', 2, bytes.indexOf(QUOTE, 2));
      cmp = key.length !== prefix.length ? key.length - prefix.length : key < prefix ? -1 : key > prefix ? 1 : 0;
      if (cmp === 0) {
        const value = bytes.toString('utf8', 2 + key.length + 3, bytes[bytes.length - 1] === 0x2c ? bytes.length - 1 : bytes.length);
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
