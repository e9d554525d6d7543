import type { FlowRecord } from './types.js';

/** Addresses remembered (a resolver answering millions of names cannot grow it further). */
const MAX_NAMES = 65536;

/** The address part of an endpoint: "10.0.2.20:80" → 10.0.2.20, "[fd00::1]:80" → fd00::1. */
export function hostOf(endpoint: string): string {
  if (endpoint.startsWith('[')) return endpoint.slice(1, endpoint.indexOf(']'));
  const colon = endpoint.indexOf(':');
  return colon >= 0 && colon === endpoint.lastIndexOf(':') ? endpoint.slice(0, colon) : endpoint;
}

/**
 * Names from the capture's own DNS answers: an A or AAAA answer names its address after the
 * query (the name the client asked for, not the end of a CNAME chain), and every later record
 * with that address as client or server carries the name.
 */
export class DnsNames {
  private readonly byAddr = new Map<string, string>();

  label(r: FlowRecord): void {
    if (r.proto === 'dns' && r.answers !== undefined && r.query !== undefined && r.rcode === 'NOERROR') this.learn(r.query, r.answers);
    if (this.byAddr.size === 0) return;
    const server = this.byAddr.get(hostOf(r.server));
    if (server !== undefined) r.serverName = server;
    const client = this.byAddr.get(hostOf(r.client));
    if (client !== undefined) r.clientName = client;
  }

  private learn(query: string, answers: readonly string[]): void {
    const name = query.endsWith('.') ? query.slice(0, -1) : query;
    for (const a of answers) {
      const m = /^(?:A|AAAA) (\S+)$/.exec(a);
      if (m !== null && (this.byAddr.size < MAX_NAMES || this.byAddr.has(m[1]))) this.byAddr.set(m[1], name);
    }
  }
}
