import type { AnalyzeOptions } from '../options.js';
import { ALWAYS, type StateRecord } from './state.js';

/** A sweep: a record is decided up to this long after it could be, and a profile lives that long after. */
export const SLACK_NS = 1e9;
/** The least time a health-check series is remembered after its last probe (verdict/health.ts). */
const HEALTH_QUIET_NS = 10e9;

/**
 * How long what a flow leaves behind can change another flow's record: a reported TCP flow's
 * tombstone (up to --tcp-idle), a DNS transaction's retries and duplicate answers (--udp-idle,
 * --dns-timeout), a health-check series (quiet for 10 s or three intervals), a flow still open
 * (decided at the latest --tcp-idle after its last packet). The head and the tail of a chunk
 * are this long.
 */
export function horizonNs(o: AnalyzeOptions): number {
  return Math.max(o.tcpIdleMs, o.udpIdleMs, o.dnsTimeoutMs, o.synTimeoutMs, o.responseTimeoutMs) * 1e6 + HEALTH_QUIET_NS + SLACK_NS;
}

/** Union-find over record indices. */
export class Components {
  private readonly parent: Int32Array;

  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }

  find(i: number): number {
    const p = this.parent;
    while (p[i] !== i) {
      p[i] = p[p[i]];
      i = p[i];
    }
    return i;
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[ra] = rb;
  }
}

/**
 * Joins the records of one chunk (at `base` in `comp`) whose records may depend on each other:
 * the same packets (5-tuple) or a ping/ARP/ND record, at any distance; the same server while one
 * connection to it is still tracked when the other begins (they share its profile); the same
 * health-check series or DNS question within the horizon.
 */
export function joinChunk(records: readonly StateRecord[], base: number, comp: Components, horizon: number): void {
  const byKey = new Map<string, number[]>();
  records.forEach((r, i) => {
    for (const k of r.keys) {
      let l = byKey.get(k);
      if (l === undefined) byKey.set(k, (l = []));
      l.push(i);
    }
  });
  for (const [key, list] of byKey) {
    if (list.length < 2) continue;
    const anyDistance = key === ALWAYS || !key.includes('|') || /^(tcp|udp)\|/.test(key);
    if (anyDistance) {
      for (let j = 1; j < list.length; j++) comp.union(base + list[0], base + list[j]);
      continue;
    }
    const server = key.startsWith('server|');
    const sorted = [...list].sort((a, b) => records[a].startNs - records[b].startNs);
    // a run of records each beginning before the ones before it are forgotten is one group
    let reach = -Infinity;
    let prev = -1;
    for (const i of sorted) {
      const r = records[i];
      const until = server ? r.decidedNs + SLACK_NS : r.lastNs + horizon;
      if (prev >= 0 && r.startNs <= reach) {
        comp.union(base + prev, base + i);
        reach = Math.max(reach, until);
      } else reach = until;
      prev = i;
    }
  }
}

/** Records of a chunk that what came before it may change: they began within the horizon of its start (or are its first packet's). */
export function isHead(r: StateRecord, horizon: number): boolean {
  return r.startNs < horizon || r.r.firstFrame === 1;
}

/** Records of a chunk that may change what comes after it: decided at its end, or still remembered then. */
export function isTail(r: StateRecord, endNs: number, horizon: number): boolean {
  return r.stage === 2 || r.lastNs + horizon >= endNs || r.decidedNs + SLACK_NS >= endNs;
}
