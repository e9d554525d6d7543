import type { HostTable } from '../flow/hosts.js';
import type { TcpFlow } from '../flow/tcp.js';
import { S2C } from '../flow/tcp.js';
import { formatAddr } from '../flow/addr.js';

/** What a server looks like across all its connections in the capture. */
export interface ServerProfile {
  /** TTLs of packets the server sent itself (SYN-ACKs, data; not RSTs). */
  ttlMin: number;
  ttlMax: number;
  /** Fastest SYN → SYN-ACK, ns (-1 when never answered). */
  minRttNs: number;
}

/** Everything a verdict rule may read besides the flow itself. */
export interface ClassifyContext {
  /** Capture time of the last record, ns since the first. */
  captureEndT: number;
  captureStartSec: number;
  captureStartNsec: number;
  synTimeoutNs: number;
  dnsTimeoutNs: number;
  hosts: HostTable;
  servers: Map<string, ServerProfile>;
}

export function buildServerProfiles(flows: readonly TcpFlow[]): Map<string, ServerProfile> {
  const out = new Map<string, ServerProfile>();
  for (const f of flows) {
    if (f.s.ttlMax < 0) continue;
    const key = formatAddr(f.version, f.sAddr);
    let p = out.get(key);
    if (p === undefined) {
      p = { ttlMin: 256, ttlMax: -1, minRttNs: -1 };
      out.set(key, p);
    }
    p.ttlMin = Math.min(p.ttlMin, f.s.ttlMin);
    p.ttlMax = Math.max(p.ttlMax, f.s.ttlMax);
    if (f.sawSyn && f.synAckT >= 0 && f.synTimes.length > 0) {
      const rtt = f.synAckT - f.synTimes[f.synTimes.length - 1];
      if (rtt >= 0 && (p.minRttNs < 0 || rtt < p.minRttNs)) p.minRttNs = rtt;
    }
  }
  return out;
}
