import type { FlowRecord } from './types.js';
import { hostOf } from '../flow/addr.js';
import { describeRecord } from '../render/sentences.js';

/** Addresses remembered (a resolver answering millions of names cannot grow it further). */
const MAX_NAMES = 65536;

/**
 * Names from the capture's own DNS answers: an A or AAAA answer names its address after the
 * query (the name the client asked for, not the end of a CNAME chain), and every later record
 * with that address as client or server carries the name.
 */
export class DnsNames {
  private readonly byAddr = new Map<string, string>();

  /**
   * Names the record's ends, and writes its summary, evidence and check from its facts, with the
   * names known now on the address fields (records that are shown). Call before learn(r).
   */
  label(r: FlowRecord): void {
    // a lookup's own sentences are written before it teaches its answers, so "A 10.0.2.20" is not
    // followed by the name the same line already asked for
    if (this.byAddr.size > 0) {
      const server = this.byAddr.get(hostOf(r.server));
      if (server !== undefined) r.serverName = server;
      const client = this.byAddr.get(hostOf(r.client));
      if (client !== undefined) r.clientName = client;
    }
    describeRecord(r, this.byAddr);
  }

  /** Remembers the names a lookup's A/AAAA answers give. */
  learn(r: FlowRecord): void {
    if (r.proto === 'dns' && r.answers !== undefined && r.query !== undefined && r.rcode === 'NOERROR') this.learnAnswers(r.query, r.answers);
  }

  /** The names known now, by address (bare: 10.0.2.20, fd00::20). */
  get known(): ReadonlyMap<string, string> {
    return this.byAddr;
  }

  private learnAnswers(query: string, answers: readonly string[]): void {
    const name = query.endsWith('.') ? query.slice(0, -1) : query;
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i];
      // answers are kept as "A 10.0.2.20" / "AAAA fd00::20" (flow/dns.ts readAnswers)
      const addr = a.startsWith('A ') ? a.slice(2) : a.startsWith('AAAA ') ? a.slice(5) : '';
      if (addr !== '' && (this.byAddr.size < MAX_NAMES || this.byAddr.has(addr))) this.byAddr.set(addr, name);
    }
  }
}

/** "client → server", each address followed by its name when the capture's DNS gave one. */
export function endpointsText(r: Pick<FlowRecord, 'client' | 'server' | 'clientName' | 'serverName'>): string {
  const named = (addr: string, name: string | undefined) => (name === undefined ? addr : `${addr} (${name})`);
  return `${named(r.client, r.clientName)} → ${named(r.server, r.serverName)}`;
}
