import type { FlowRecord } from './types.js';
import { C2S, type TcpFlow } from '../flow/tcp.js';
import { hostOf } from '../flow/addr.js';
import { STORY, type Fact } from './facts.js';

/** Probes in a row, at a steady interval, that make a health check. */
const SERIES = 3;
/** Intervals within this fraction of their mean are steady. */
const JITTER = 0.2;
/** A probe closes within this long of the SYN-ACK. */
const PROMPT_NS = 1e9;

/**
 * A load balancer's or monitor's TCP check: a handshake (or half of one) and an immediate close
 * or reset by the client, with no data either way.
 */
export function isProbe(f: TcpFlow, verdict: string): boolean {
  if (verdict !== 'ok' && verdict !== 'handshake-incomplete') return false;
  if (!f.sawSyn || f.synAckT < 0 || f.c.bytes > 0 || f.s.bytes > 0) return false;
  const closeT = f.rstDir === C2S ? f.rst.t : f.c.finT >= 0 && (f.s.finT < 0 || f.c.finT <= f.s.finT) ? f.c.finT : -1;
  return closeT >= 0 && closeT - f.synAckT < PROMPT_NS;
}

/**
 * A failed check: one SYN (a checker does not retry) refused by the server, no data. A health
 * check of a dead backend is still a problem (refused); a steady series of them is named as a
 * health checker's (HealthChecks.failed).
 */
export function isFailedProbe(f: TcpFlow, verdict: string): boolean {
  return verdict === 'refused' && f.synCount === 1 && f.c.bytes === 0 && f.s.bytes === 0;
}

class ProbeSeries {
  held: FlowRecord[] = [];
  starts: number[] = [];
  intervalNs = 0;
  /** The series is known to be a health check: later probes are labelled at once. */
  steady = false;
}

function steadyInterval(starts: readonly number[]): number {
  const gaps: number[] = [];
  for (let i = 1; i < starts.length; i++) gaps.push(starts[i] - starts[i - 1]);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  return mean > 0 && gaps.every((g) => Math.abs(g - mean) <= JITTER * mean) ? mean : -1;
}

/**
 * Holds probe-like connections per client host and server port until a steady series shows
 * (then labels them health-check, a benign verdict) or it cannot any more (then they go out as
 * they were). Held records wait at most a few intervals, so live output is delayed that long.
 */
export class HealthChecks {
  private readonly series = new Map<string, ProbeSeries>();
  /** Start times of the last SERIES failed checks per client host and server (never held: problems go out at once). */
  private readonly failing = new Map<string, number[]>();

  /** A probe-like connection: the records to hand on now (none while it is held). */
  offer(f: TcpFlow, r: FlowRecord): FlowRecord[] {
    const key = `${hostOf(r.client)}>${r.server}`;
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= 65536) return [r];
      s = new ProbeSeries();
      this.series.set(key, s);
    }
    s.starts.push(f.firstT);
    if (s.starts.length > SERIES) s.starts.shift();
    if (s.steady) {
      const gap = f.firstT - s.starts[s.starts.length - 2];
      if (Math.abs(gap - s.intervalNs) <= JITTER * s.intervalNs) return [label(r, s)];
      s.steady = false;
    }
    s.held.push(r);
    if (s.starts.length === SERIES) {
      const interval = steadyInterval(s.starts);
      if (interval > 0) {
        s.steady = true;
        s.intervalNs = interval;
        return s.held.splice(0).map((x) => label(x, s));
      }
    }
    return s.held.length >= SERIES ? s.held.splice(0, 1) : [];
  }

  /**
   * A failed check (isFailedProbe): handed on at once, never held (problems are shown as they are
   * decided); once the last SERIES attempts from its client host to its server came at a steady
   * interval, it is named as a health checker's (a probe-series fact, its story's `checkedEveryNs`).
   * The first attempts of a series go out before it shows, as plain refused.
   */
  failed(f: TcpFlow, r: FlowRecord): FlowRecord {
    const key = `${hostOf(r.client)}>${r.server}`;
    let starts = this.failing.get(key);
    if (starts === undefined) {
      if (this.failing.size >= 65536) this.failing.clear();
      starts = [];
      this.failing.set(key, starts);
    }
    starts.push(f.firstT);
    if (starts.length > SERIES) starts.shift();
    if (starts.length < SERIES || r.facts === undefined) return r;
    const interval = steadyInterval(starts);
    if (interval <= 0) return r;
    r.facts.push({ kind: 'probe-series', intervalNs: interval, jitterPct: Math.round(JITTER * 100) });
    const story = r[STORY];
    if (story?.kind === 'refused') story.checkedEveryNs = interval;
    return r;
  }

  /** Held records whose series went quiet (no probe for three intervals, or 10 s), or all of them. */
  flush(now: number, all: boolean): FlowRecord[] {
    const out: FlowRecord[] = [];
    for (const [key, s] of this.series) {
      const last = s.starts[s.starts.length - 1];
      const quiet = Math.max(10e9, 3 * s.intervalNs);
      if (all || now - last >= quiet) {
        out.push(...s.held.splice(0));
        if (now - last >= quiet) this.series.delete(key);
      }
    }
    return out;
  }
}

function label(r: FlowRecord, s: ProbeSeries): FlowRecord {
  r.verdict = 'health-check';
  r.by = 'client';
  const series: Fact = { kind: 'probe-series', intervalNs: s.intervalNs, jitterPct: Math.round(JITTER * 100) };
  if (r.facts !== undefined) r.facts.push(series);
  else r.facts = [series];
  r[STORY] = { kind: 'health-check', from: withoutPort(r.client), intervalNs: s.intervalNs };
  return r;
}

/** "10.0.2.1:5000" → "10.0.2.1", "[fd00::1]:5000" → "[fd00::1]". */
function withoutPort(endpoint: string): string {
  const colon = endpoint.lastIndexOf(':');
  if (colon < 0 || colon === endpoint.length - 1) return endpoint;
  for (let i = colon + 1; i < endpoint.length; i++) {
    const ch = endpoint.charCodeAt(i);
    if (ch < 48 || ch > 57) return endpoint;
  }
  return endpoint.slice(0, colon);
}
