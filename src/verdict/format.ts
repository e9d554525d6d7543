import { describeMac } from '../oui/lookup.js';
import { formatMac } from '../flow/addr.js';

/** A duration in ns for people: 0.212 ms, 12.3 ms, 3.01 s. */
export function dur(ns: number): string {
  const ms = ns / 1e6;
  if (ms < 1) return `${ms.toFixed(3)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  const s = ms / 1000;
  return s < 100 ? `${s.toFixed(2)} s` : `${s.toFixed(0)} s`;
}

/** Time relative to a flow's start: +0 s, +1.02 s. */
export function rel(ns: number): string {
  return ns === 0 ? '+0 s' : `+${dur(ns)}`;
}

/** Initial TTLs that common stacks use. A packet that arrives with one has not been routed. */
export const INITIAL_TTLS = [64, 128, 255] as const;

export function isInitialTtl(ttl: number): boolean {
  return ttl === 64 || ttl === 128 || ttl === 255;
}

/** Hops a packet took, assuming the sender started from the next common initial TTL. */
export function hopsFrom(ttl: number): number {
  for (const i of [32, 64, 128, 255]) if (ttl <= i) return i - ttl;
  return 0;
}

export function ttlText(ttl: number, ipVersion: number): string {
  const h = hopsFrom(ttl);
  const name = ipVersion === 6 ? 'hop limit' : 'TTL';
  return `${name} ${ttl} (${h === 0 ? 'not routed' : `${h} hop${h === 1 ? '' : 's'}`})`;
}

/** "00:01:d7:2a:10:01 = F5 Inc." with notes for virtual-router and locally administered MACs. */
export function macText(mac: number): string {
  const d = describeMac(mac);
  const parts = [d.vendor, d.note].filter((x): x is string => x !== null);
  return parts.length === 0 ? formatMac(mac) : `${formatMac(mac)} = ${parts.join(', ')}`;
}

export function vendorOf(mac: number): string | undefined {
  const d = describeMac(mac);
  return d.vendor ?? d.note ?? undefined;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
