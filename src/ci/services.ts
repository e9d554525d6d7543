import { hostOf } from '../flow/addr.js';
import { HEALTHY, type FlowRecord, type VerdictId } from '../verdict/types.js';

/**
 * A service as CI compares it: protocol, client address and server address:port (DNS: and the
 * query name and type). Ephemeral client ports are ignored and repeated attempts aggregated.
 */
export interface Service {
  key: string;
  verdicts: Map<VerdictId, number>;
  records: FlowRecord[];
}

export function serviceKey(r: FlowRecord): string {
  const base = `${r.proto} ${hostOf(r.client)} → ${r.server}`;
  return r.proto === 'dns' ? `${base} ${r.query ?? '?'} ${r.qtype ?? '?'}` : base;
}

/** Records grouped into services, sorted by key (deterministic output). */
export function services(records: readonly FlowRecord[]): Service[] {
  const m = new Map<string, Service>();
  for (const r of records) {
    const key = serviceKey(r);
    let s = m.get(key);
    if (s === undefined) m.set(key, (s = { key, verdicts: new Map(), records: [] }));
    s.verdicts.set(r.verdict, (s.verdicts.get(r.verdict) ?? 0) + 1);
    s.records.push(r);
  }
  return [...m.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** "ok", or "ok ×3, timeout ×1": the verdicts of a service, sorted. */
export function serviceStatus(verdicts: Map<VerdictId, number>): string {
  return [...verdicts]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([v, n]) => (verdicts.size === 1 && n === 1 ? v : `${v} ×${n}`))
    .join(', ');
}

export function problemsOf(verdicts: Map<VerdictId, number>): Set<VerdictId> {
  return new Set([...verdicts.keys()].filter((v) => !HEALTHY.has(v)));
}
