import type { FlowRecord } from './types.js';
import { describeRecord, type NameLookup } from '../render/sentences.js';
import { AddressMap } from '../related/address-map.js';
import { answerAddressAt } from '../decode/dns.js';

/** Addresses remembered (a resolver answering millions of names cannot grow it further). */
const MAX_NAMES = 65536;

/**
 * Names from the capture's own DNS answers: an A or AAAA answer names its address after the
 * query (the name the client asked for, not the end of a CNAME chain), and every later record
 * with that address as client or server carries the name.
 */
export class DnsNames {
  /**
   * Names by address text. An answer's address is learnt where it is in the answer's text ("A
   * 10.0.2.20"): a string cut out of each answer, hashed into a Map, was 1.2 % of the dense 1 GB
   * bench capture's text run (issue #20).
   */
  private readonly byAddr = new AddressMap<string>();
  /** byAddr as sentences look names up (by a whole address text). */
  private readonly lookup: NameLookup = lookupOf(this.byAddr);

  /**
   * Names the record's ends, and writes its summary, evidence and check from its facts, with the
   * names known now on the address fields (records that are shown). Call before learn(r).
   */
  label(r: FlowRecord): void {
    // a lookup's own sentences are written before it teaches its answers, so "A 10.0.2.20" is not
    // followed by the name the same line already asked for
    if (this.byAddr.size > 0) {
      const server = this.byAddr.getHost(r.server);
      if (server !== undefined) r.serverName = server;
      const client = this.byAddr.getHost(r.client);
      if (client !== undefined) r.clientName = client;
    }
    describeRecord(r, this.lookup);
  }

  /** Remembers the names a lookup's A/AAAA answers give. */
  learn(r: FlowRecord): void {
    if (r.proto === 'dns' && r.answers !== undefined && r.query !== undefined && r.rcode === 'NOERROR') this.learnAnswers(r.query, r.answers);
  }

  /** The names known now, by address (bare: 10.0.2.20, fd00::20). */
  get known(): NameLookup {
    return this.lookup;
  }

  private learnAnswers(query: string, answers: readonly string[]): void {
    const name = query.endsWith('.') ? query.slice(0, -1) : query;
    const byAddr = this.byAddr;
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i];
      const from = answerAddressAt(a);
      if (from < 0) continue;
      if (byAddr.size < MAX_NAMES || byAddr.get(a, from, a.length) !== undefined) byAddr.set(a, from, a.length, name);
    }
  }
}

function lookupOf(byAddr: AddressMap<string>): NameLookup {
  return {
    get: (addr: string) => byAddr.get(addr, 0, addr.length),
    get size() {
      return byAddr.size;
    },
  };
}

/** "client → server", each address followed by its name when the capture's DNS gave one. */
export function endpointsText(r: Pick<FlowRecord, 'client' | 'server' | 'clientName' | 'serverName'>): string {
  const named = (addr: string, name: string | undefined) => (name === undefined ? addr : `${addr} (${name})`);
  return `${named(r.client, r.clientName)} → ${named(r.server, r.serverName)}`;
}
