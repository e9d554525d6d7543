import type { FlowRecord } from './types.js';
import { hostOf } from '../flow/addr.js';

/** Addresses remembered (a resolver answering millions of names cannot grow it further). */
const MAX_NAMES = 65536;
/** Up to this many known addresses, a sentence is searched for each before the regex runs. */
const FEW_NAMES = 16;


/** An address with its port if it has one: [v6]:port, v4[:port], or a bare v6 address. */
const ADDRESS = /\[([0-9A-Fa-f:.]+)\](?::\d+)?|\b(\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?\b|(?<![\w:.])([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?![\w:])/g;

/**
 * Names from the capture's own DNS answers: an A or AAAA answer names its address after the
 * query (the name the client asked for, not the end of a CNAME chain), and every later record
 * with that address as client or server carries the name.
 */
export class DnsNames {
  private readonly byAddr = new Map<string, string>();

  /** Names the record's ends, and the addresses in its sentences (records that are shown). Call before learn(r). */
  label(r: FlowRecord): void {
    // a lookup's own strings are labelled before it teaches its answers, so "A 10.0.2.20" is not
    // followed by the name the same line already asked for
    if (this.byAddr.size > 0) {
      const server = this.byAddr.get(hostOf(r.server));
      if (server !== undefined) r.serverName = server;
      const client = this.byAddr.get(hostOf(r.client));
      if (client !== undefined) r.clientName = client;
      r.summary = this.labelText(r.summary);
      for (let i = 0; i < r.evidence.length; i++) r.evidence[i] = this.labelText(r.evidence[i]);
      r.check = this.labelText(r.check);
    }
  }

  /** Remembers the names a lookup's A/AAAA answers give. */
  learn(r: FlowRecord): void {
    if (r.proto === 'dns' && r.answers !== undefined && r.query !== undefined && r.rcode === 'NOERROR') this.learnAnswers(r.query, r.answers);
  }

  /**
   * Every known address in a sentence gets its name after it (after the port, if it has one):
   * "10.0.2.20:81 refused" → "10.0.2.20:81 (www.example.test) refused". Commands in backticks are
   * left as they are, so they still paste into a shell.
   */
  labelText(text: string): string {
    // a sentence changes only where it holds a known address, so with few names known, a look for
    // each settles most sentences without the regex (5.8 µs a shown record on the benchmark
    // capture, whose DNS names one address)
    if (this.byAddr.size <= FEW_NAMES && !this.holdsKnownAddress(text)) return text;
    const parts = text.split('`');
    for (let i = 0; i < parts.length; i += 2) {
      parts[i] = parts[i].replace(ADDRESS, (m: string, v6: string | undefined, v4: string | undefined, bare: string | undefined, offset: number, whole: string) => {
        const name = this.byAddr.get(v6 ?? v4 ?? bare ?? '');
        return name === undefined || whole.startsWith(' (', offset + m.length) ? m : `${m} (${name})`;
      });
    }
    return parts.join('`');
  }

  private holdsKnownAddress(text: string): boolean {
    for (const a of this.byAddr.keys()) if (text.includes(a)) return true;
    return false;
  }

  private learnAnswers(query: string, answers: readonly string[]): void {
    const name = query.endsWith('.') ? query.slice(0, -1) : query;
    for (const a of answers) {
      const m = /^(?:A|AAAA) (\S+)$/.exec(a);
      if (m !== null && (this.byAddr.size < MAX_NAMES || this.byAddr.has(m[1]))) this.byAddr.set(m[1], name);
    }
  }
}

/** "client → server", each address followed by its name when the capture's DNS gave one. */
export function endpointsText(r: Pick<FlowRecord, 'client' | 'server' | 'clientName' | 'serverName'>): string {
  const named = (addr: string, name: string | undefined) => (name === undefined ? addr : `${addr} (${name})`);
  return `${named(r.client, r.clientName)} → ${named(r.server, r.serverName)}`;
}
