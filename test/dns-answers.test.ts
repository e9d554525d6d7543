import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
// @ts-expect-error: dns-packet's type table has no typings of its own
import dnsTypesModule from 'dns-packet/types.js';
import { openCapture } from '../src/capture/source.js';
import { forEachRecord } from '../src/capture/reader.js';
import { PacketDecoder } from '../src/decode/decode.js';
import { DecodedPacket, L4 } from '../src/decode/packet.js';
import { DnsHeader, parseDnsHeader, qtypeName, readAnswers } from '../src/decode/dns.js';
import { formatIpv4, formatIpv6 } from '../src/flow/addr.js';
import { defined, FIXTURES, fixtureFiles, SHARED_PCAPS, withShared } from './helpers/run.js';

// the one function of the untyped module that this test uses
const dnsTypes = dnsTypesModule as { toType(name: string): number };

/** An IPv6 address as WHATWG URL writes it: RFC 5952, the longest run of zeros compressed. */
const rfc5952 = (a: string) => new URL(`http://[${a}]/`).hostname.slice(1, -1);

/**
 * What dns-packet (the oracle) makes of the same answers, in readAnswers' words: names end in a
 * dot, IPv6 addresses in RFC 5952 form. Null when dns-packet cannot decode the message.
 */
function oracle(msg: Buffer): string[] | null {
  let answers;
  try {
    answers = dnsPacket.decode(msg).answers ?? [];
  } catch {
    return null;
  }
  return answers.slice(0, 4).map((a) => {
    const data = (a as { data?: unknown }).data;
    if (a.type === 'A') return `A ${data as string}`;
    if (a.type === 'AAAA') return `AAAA ${rfc5952(data as string)}`;
    if (['NS', 'CNAME', 'PTR', 'DNAME'].includes(a.type)) return `${a.type} ${data as string}.`;
    return qtypeName(dnsTypes.toType(a.type)); // dns-packet says UNKNOWN_256 where dig says TYPE256 (RFC 3597)
  });
}

/** Every UDP DNS response in a capture: [frame, readAnswers, oracle]. */
async function responses(path: string): Promise<[number, string[], string[] | null][]> {
  const out: [number, string[], string[] | null][] = [];
  const decoder = new PacketDecoder();
  const pkt = new DecodedPacket();
  const h = new DnsHeader();
  const src = await openCapture(path);
  try {
    await forEachRecord(src, (rec) => {
      decoder.decode(rec, pkt);
      if (pkt.l4 !== L4.Udp || pkt.srcPort !== 53 || pkt.payloadLen !== pkt.payloadWireLen) return;
      const off = pkt.payloadOff,
        end = off + pkt.payloadLen;
      if (!parseDnsHeader(decoder.dv, rec.data, off, end, h) || h.qr !== 1 || h.ancount === 0) return;
      out.push([rec.frame, readAnswers(rec.data, off, end, h, 4), oracle(Buffer.from(rec.data.subarray(off, end)))]);
    });
  } finally {
    src.close();
  }
  return out;
}

/** Where both decoded the message: the same answers, except names with bytes dig escapes. */
function disagreements(rows: [number, string[], string[] | null][]): string[] {
  return rows
    .filter(([, got, want]) => want !== null && !got.some((a) => a.includes('\\')) && JSON.stringify(got) !== JSON.stringify(want))
    .map(([frame, got, want]) => `frame ${frame}: ${JSON.stringify(got)} vs dns-packet ${JSON.stringify(want)}`);
}

describe('DNS answers read by hand agree with dns-packet', () => {
  it('on the fixtures (A, AAAA, NXDOMAIN, SERVFAIL, names)', async () => {
    let n = 0;
    for (const f of fixtureFiles()) {
      const rows = await responses(join(FIXTURES, f));
      n += rows.length;
      expect(disagreements(rows), f).toEqual([]);
    }
    expect(n).toBeGreaterThan(5);
  });

  it('IPv6 answers are written as endpoints are (RFC 5952), where dns-packet compresses the first run of zeros', () => {
    const msg = dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ type: 'AAAA', name: 'h.test' }],
      answers: [
        { type: 'AAAA', name: 'h.test', data: 'fd00:0:0:1::5' },
        { type: 'CNAME', name: 'h.test', data: 'x.test' },
        { type: 'MX', name: 'h.test', data: { preference: 1, exchange: 'm.test' } },
      ],
    });
    const h = new DnsHeader();
    expect(parseDnsHeader(new DataView(msg.buffer, msg.byteOffset, msg.length), msg, 0, msg.length, h)).toBe(true);
    expect(readAnswers(msg, 0, msg.length, h, 4)).toEqual(['AAAA fd00:0:0:1::5', 'CNAME x.test.', 'MX']);
    expect((defined(dnsPacket.decode(msg).answers)[0] as { data: string }).data).toBe('fd00::1:0:0:0:5');
    // cut inside the second record: the first is kept, nothing is made up
    expect(readAnswers(msg.subarray(0, msg.length - 30), 0, msg.length - 30, h, 4)).toEqual(['AAAA fd00:0:0:1::5']);
  });

  it('A and AAAA answers read again come back right through the cache of recent answers (property)', async () => {
    const fc = (await import('fast-check')).default;
    const h = new DnsHeader();
    // few distinct words, so that addresses share cache slots, and an IPv6 address whose first word is an IPv4 one's
    const word = fc.constantFrom(0, 1, 0x0a000214, 0xfd000000, 0xffffffff, 0x80000000);
    const answer = fc.record({ v6: fc.boolean(), w: fc.array(word, { minLength: 4, maxLength: 4 }) });
    fc.assert(
      fc.property(fc.array(answer, { minLength: 1, maxLength: 60 }), (answers) => {
        for (let pass = 0; pass < 2; pass++) {
          for (const { v6, w } of answers) {
            const words = Uint32Array.from(w);
            const data = v6 ? formatIpv6(words) : formatIpv4(words[0]);
            const msg = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: v6 ? 'AAAA' : 'A', name: 'h.test' }], answers: [{ type: v6 ? 'AAAA' : 'A', name: 'h.test', data }] });
            if (!parseDnsHeader(new DataView(msg.buffer, msg.byteOffset, msg.length), msg, 0, msg.length, h)) return false;
            const got = readAnswers(msg, 0, msg.length, h, 4);
            if (got.length !== 1 || got[0] !== `${v6 ? 'AAAA' : 'A'} ${data}`) return false;
          }
        }
        return true;
      }),
      { numRuns: 200 },
    );
  });

  it.skipIf(!withShared('DNS answers against dns-packet over the corpus'))(
    'on every DNS response in the public corpus',
    async () => {
      const files = readFileSync(join(SHARED_PCAPS, 'MANIFEST.tsv'), 'utf8')
        .split('\n')
        .slice(1)
        .map((l) => l.split('\t')[0])
        .filter((f) => f !== '');
      const bad: string[] = [];
      let compared = 0;
      for (const f of files) {
        let rows;
        try {
          rows = await responses(join(SHARED_PCAPS, f));
        } catch {
          continue; // refused as a capture: corpus.test.ts covers those
        }
        compared += rows.filter((r) => r[2] !== null).length;
        bad.push(...disagreements(rows).map((d) => `${f} ${d}`));
      }
      expect(bad).toEqual([]);
      expect(compared).toBeGreaterThan(50);
    },
    300_000,
  );
});
