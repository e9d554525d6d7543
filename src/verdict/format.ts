import { describeMac } from '../oui/lookup.js';

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

export function vendorOf(mac: number): string | undefined {
  const d = describeMac(mac);
  return d.vendor ?? d.note ?? undefined;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
