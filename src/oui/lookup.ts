import { createRequire } from 'node:module';

let table: Record<string, string> | null = null;

/** The IEEE registry from `oui-data`, loaded on first use only (~70 ms, ~27 MB). */
function registry(): Record<string, string> {
  if (table === null) {
    const require = createRequire(import.meta.url);
    table = require('oui-data') as Record<string, string>;
  }
  return table;
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
    const r = registry();
    const org = r[hex.slice(0, 9)] ?? r[hex.slice(0, 7)] ?? r[hex.slice(0, 6)];
    if (org !== undefined) vendor = org.split('\n')[0].trim();
  }
  const d = { vendor, note };
  cache.set(mac, d);
  return d;
}
