import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addressText, formatAddr, formatIpv4, formatIpv6, formatIpv6Words, formatMac, hostOf, portOf } from '../src/flow/addr.js';
import { isoTime } from '../src/capture/time.js';
import { wiresharkFilter } from '../src/verdict/wireshark.js';
import type { FlowRecord } from '../src/verdict/types.js';

// The per-record text helpers were rewritten without regexes, arrays or closures (issue #20).
// Each is checked here against the version it replaced, kept below as the oracle.

function portOfRegex(endpoint: string): number {
  const m = endpoint.startsWith('[') ? /\]:(\d+)$/.exec(endpoint) : /^[^:]*:(\d+)$/.exec(endpoint);
  return m === null ? -1 : Number(m[1]);
}

function formatMacArray(mac: number): string {
  const hi = Math.floor(mac / 4294967296);
  const lo = mac >>> 0;
  const b = [hi >>> 8, hi & 255, lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** formatIpv6 as it was: an array of groups, a closure, slices and maps. */
function formatIpv6Array(a: Uint32Array): string {
  const g: number[] = [];
  for (let i = 0; i < 4; i++) g.push(a[i] >>> 16, a[i] & 0xffff);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

function wiresharkFilterRegex(r: FlowRecord): string {
  const c = hostOf(r.client);
  const s = hostOf(r.server);
  const ip = c.includes(':') || s.includes(':') ? 'ipv6' : 'ip';
  const parts: string[] = [];
  if (r.proto === 'arp') {
    parts.push(ip === 'ip' ? `(arp.src.proto_ipv4==${s} || arp.dst.proto_ipv4==${s})` : `(icmpv6.nd.ns.target_address==${s} || icmpv6.nd.na.target_address==${s})`);
  } else {
    parts.push(`${ip}.addr==${c}`, `${ip}.addr==${s}`);
    const cPort = portOfRegex(r.client);
    const sPort = portOfRegex(r.server);
    const l4 = r.proto === 'dns' ? (r.transport ?? 'udp') : r.proto;
    if ((l4 === 'tcp' || l4 === 'udp') && cPort >= 0 && sPort >= 0) parts.push(cPort === sPort ? `${l4}.port==${cPort}` : `${l4}.port==${cPort} && ${l4}.port==${sPort}`);
    if (r.proto === 'dns') {
      const id = /\bid (0x[0-9a-f]+)\b/.exec(r.key);
      if (id !== null) parts.push(`dns.id==${id[1]}`);
    } else if (r.proto === 'icmp') {
      const id = /\bid (\d+)\b/.exec(r.key);
      parts.push(id === null ? (ip === 'ip' ? 'icmp' : 'icmpv6') : ip === 'ip' ? `icmp.ident==${id[1]}` : `icmpv6.echo.identifier==${id[1]}`);
    }
  }
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(r.start);
  const sec = m === null ? NaN : Date.parse(`${m[1]}Z`) / 1000;
  if (m !== null && Number.isFinite(sec)) {
    const us = Math.floor(Number(`0.${m[2] ?? '0'}`) * 1e6);
    const fromUs = sec * 1e6 + us - 1;
    const untilUs = fromUs + Math.ceil(r.duration * 1e6) + 2 + 1e6;
    const usText = (x: number) => `${Math.floor(x / 1e6)}.${String(x - Math.floor(x / 1e6) * 1e6).padStart(6, '0')}`;
    parts.push(`frame.time_epoch>=${usText(fromUs)}`, `frame.time_epoch<=${usText(untilUs)}`);
  }
  return parts.join(' && ');
}

const endpoint = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 })).map(([a, p]) => `${a}:${p}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 65535 })).map(([a, p]) => `[${a}]:${p}`),
  fc.ipV4(),
  fc.ipV6(),
  fc.stringMatching(/^[[\]:0-9a-f.x ]{0,12}$/),
);
const key = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 99 })).map(([id, n]) => `dns 10.0.1.89:41899 10.0.2.53:53 udp id 0x${id.toString(16)} #${n}`),
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 99 })).map(([id, n]) => `icmp 10.0.1.10 10.0.2.20 id ${id} #${n}`),
  fc.stringMatching(/^(?:[a-z#:]{0,3}|id |0x|[0-9a-g_]{1,3}| ){0,8}$/),
);
const start = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 4102444800 }), fc.integer({ min: 0, max: 999_999_999 })).map(([s, ns]) => isoTime(s, ns)),
  fc.constantFrom('2025-11-22T02:53:20Z', '2025-11-22T02:53:20.5Z', '2025-13-22T02:53:20.000100000Z', 'x', '', '2025-11-22T02:53:20.00010000aZ', '2025-11-22 02:53:20.000100000Z'),
);

describe('per-record text without regexes gives what the regexes gave', () => {
  it('portOf', () => {
    for (const e of ['10.0.2.20:81', '[fd00:2::20]:443', 'fd00:1::99', '10.0.2.54', '[fd00::1]:', '[fd00::1]:8a', ':80', 'a:b:80', '[x]:1]:2', '']) expect(portOf(e)).toBe(portOfRegex(e));
    fc.assert(
      fc.property(endpoint, (e) => portOf(e) === portOfRegex(e)),
      { numRuns: 2000 },
    );
  });

  it('formatMac', () => {
    // repeats too: the last MAC's text is kept
    for (const m of [0, 1, 1, 0xffffffffffff, 0x0001d72a1001, 0x0001d72a1001, 0, 0x0001d72a1001]) expect(formatMac(m)).toBe(formatMacArray(m));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (m) => formatMac(m) === formatMacArray(m)),
      { numRuns: 2000 },
    );
  });

  it('formatIpv6', () => {
    // groups that are zero or not, in every pattern of the eight, with ties between runs
    const word = fc.constantFrom(0, 0xffff, 0x10000, 0xffff0000, 0xfd000000, 1, 0x20010db8, 0x80000000);
    const words = fc.tuple(word, word, word, word);
    const any = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }));
    const check = ([a, b, c, d]: [number, number, number, number]) => {
      const u = Uint32Array.of(a, b, c, d);
      const want = formatIpv6Array(u);
      // the flows keep the words signed (FlowEndpoints: c0 = c[0] | 0)
      return formatIpv6(u) === want && formatIpv6Words(a | 0, b | 0, c | 0, d | 0) === want;
    };
    expect(formatIpv6(Uint32Array.of(0xfd000000, 0, 0, 0x20))).toBe('fd00::20');
    expect(formatIpv6(Uint32Array.of(0, 0, 0, 0))).toBe('::');
    expect(formatIpv6(Uint32Array.of(0, 0, 0, 1))).toBe('::1');
    expect(formatIpv6(Uint32Array.of(0x20010db8, 0, 1, 0))).toBe('2001:db8::1:0:0');
    fc.assert(fc.property(words, check), { numRuns: 3000 });
    fc.assert(fc.property(any, check), { numRuns: 2000 });
  });

  it('addressText (the cache of recent addresses) gives what formatting gives, IPv4 and IPv6 sharing words', () => {
    const word = fc.constantFrom(0, 1, 0x0a000214, 0xfd000000, 0xffffffff, 0x80000000);
    const address = fc.record({ v: fc.constantFrom(4, 6), w: fc.tuple(word, word, word, word) });
    fc.assert(
      fc.property(fc.array(address, { minLength: 1, maxLength: 80 }), (list) => {
        for (let pass = 0; pass < 2; pass++) {
          for (const { v, w } of list) {
            const want = v === 4 ? formatIpv4(w[0]) : formatIpv6Array(Uint32Array.from(w));
            const got = v === 4 ? addressText(4, w[0], 0, 0, 0) : addressText(6, w[0], w[1], w[2], w[3]);
            if (got !== want || formatAddr(v, Uint32Array.from(w)) !== want) return false;
          }
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('wiresharkFilter', () => {
    const record = fc.record({
      proto: fc.constantFrom('tcp', 'udp', 'dns', 'icmp', 'arp'),
      transport: fc.constantFrom(undefined, 'udp', 'tcp'),
      client: endpoint,
      server: endpoint,
      key,
      start,
      duration: fc.oneof(
        fc.constant(0),
        fc.double({ min: 0, max: 1e4, noNaN: true }),
        fc.integer({ min: 0, max: 100 }).map((n) => n * 0.000607),
      ),
    });
    fc.assert(
      fc.property(record, (r) => {
        const rec = r as unknown as FlowRecord;
        expect(wiresharkFilter(rec)).toBe(wiresharkFilterRegex(rec));
      }),
      { numRuns: 3000 },
    );
  });
});
