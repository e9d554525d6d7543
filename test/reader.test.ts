import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureReader, READ_END, READ_NEED_MORE, READ_RECORD } from '../src/capture/reader.js';
import { CaptureRecord } from '../src/capture/record.js';
import { InputError } from '../src/errors.js';
import { ticksToTime } from '../src/capture/time.js';
import { bufferSource, Ng, pcap } from './helpers/build.js';
import { FIXTURES } from './helpers/run.js';

interface Out {
  frame: number;
  sec: number;
  nsec: number;
  linkType: number;
  data: string;
  origLen: number;
}

/** Reads a whole capture through `chunk`-byte refills. */
function readAll(buf: Buffer, chunk = 1 << 20): { recs: Out[]; reader: CaptureReader } {
  const reader = new CaptureReader();
  const src = bufferSource(buf, chunk);
  const rec = new CaptureRecord();
  const recs: Out[] = [];
  for (let guard = 0; guard < 1e6; guard++) {
    const st = reader.next(rec);
    if (st === READ_RECORD) recs.push({ frame: rec.frame, sec: rec.tsSec, nsec: rec.tsNsec, linkType: rec.linkType, data: rec.data.toString('hex', rec.off, rec.end), origLen: rec.origLen });
    else if (st === READ_NEED_MORE) {
      const [off, len] = reader.writable();
      reader.commit(src.read(reader.buf, off, len) as number);
    } else if (st === READ_END) return { recs, reader };
  }
  throw new Error('reader did not terminate');
}

const d1 = Buffer.from('0011223344556677', 'hex');
const d2 = Buffer.from('aabbccddeeff00112233445566778899aabb', 'hex');

describe('classic pcap', () => {
  for (const le of [true, false]) {
    for (const ns of [false, true]) {
      it(`${le ? 'little' : 'big'}-endian, ${ns ? 'ns' : 'µs'} timestamps`, () => {
        const f = pcap(
          [
            { sec: 1700000000, frac: ns ? 123456789 : 123456, data: d1 },
            { sec: 1700000001, frac: 5, data: d2, origLen: 1500 },
          ],
          { le, ns },
        );
        for (const chunk of [1, 7, 1 << 20]) {
          const { recs, reader } = readAll(f, chunk);
          expect(recs).toEqual([
            { frame: 1, sec: 1700000000, nsec: ns ? 123456789 : 123456000, linkType: 1, data: d1.toString('hex'), origLen: 8 },
            { frame: 2, sec: 1700000001, nsec: ns ? 5 : 5000, linkType: 1, data: d2.toString('hex'), origLen: 1500 },
          ]);
          expect(reader.anomalies.size).toBe(0);
        }
      });
    }
  }
  it('a last record cut short is a warning, not silence', () => {
    const f = pcap([
      { sec: 1, frac: 0, data: d1 },
      { sec: 2, frac: 0, data: d2 },
    ]);
    for (const cut of [3, 10, 17]) {
      const { recs, reader } = readAll(f.subarray(0, f.length - cut), 5);
      expect(recs).toHaveLength(1);
      expect(reader.anomalies.count('truncated_file')).toBe(1);
    }
  });
  it('an absurd captured length ends the input with a named anomaly', () => {
    const f = pcap([
      { sec: 1, frac: 0, data: d1 },
      { sec: 2, frac: 0, data: d2 },
    ]);
    f.writeUInt32LE(0x7fffffff, 24 + 16 + d1.length + 8);
    const { recs, reader } = readAll(f);
    expect(recs).toHaveLength(1);
    expect(reader.anomalies.count('absurd_record_length')).toBe(1);
  });
  it('refuses what is not a capture', () => {
    expect(() => readAll(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toThrow(InputError);
    expect(() => readAll(Buffer.alloc(0))).toThrow(/empty/);
    expect(() => readAll(Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0]))).toThrow(/cut short/);
    // a pcapng section header's first 4 to 11 bytes, as 12 and more: not a capture
    const shb = readFileSync(join(FIXTURES, 'capture.pcapng'));
    for (const n of [4, 8, 11, 12, 27]) expect(() => readAll(shb.subarray(0, n)), `${n} bytes`).toThrow(/not a capture file: pcapng section header cut short/);
  });
});

describe('pcapng', () => {
  it('EPB and SPB, if_tsresol decimal and binary, if_tsoffset, unknown blocks skipped', () => {
    const ng = new Ng(true);
    const f = Buffer.concat([
      ng.shb(),
      ng.idb(1, { name: 'eth0' }), // µs (default)
      ng.idb(101, { tsresol: 9, tsoffset: 100 }), // ns, +100 s
      ng.idb(113, { tsresol: 0x80 | 20 }), // 2^-20 s
      ng.block(0x00000bad, Buffer.alloc(8)), // unknown: skipped
      ng.epb(0, 1700000000123456n, d1),
      ng.epb(1, 1700000000n * 1000000000n + 999999999n, d2),
      ng.epb(2, (5n << 20n) + (1n << 19n), d1), // 5.5 s
      ng.spb(d2),
    ]);
    for (const chunk of [3, 1 << 20]) {
      const { recs, reader } = readAll(f, chunk);
      expect(recs.map((r) => [r.frame, r.sec, r.nsec, r.linkType])).toEqual([
        [1, 1700000000, 123456000, 1],
        [2, 1700000100, 999999999, 101],
        [3, 5, 500000000, 113],
        [4, 5, 500000000, 1],
      ]);
      expect(recs[3].data).toBe(d2.toString('hex'));
      expect(reader.interfaceNames).toEqual(['eth0', '', '']);
      expect(reader.anomalies.size).toBe(0);
    }
  });
  it('several sections with different byte orders; interfaces reset per section', () => {
    const a = new Ng(true);
    const b = new Ng(false);
    const f = Buffer.concat([a.shb(), a.idb(1), a.epb(0, 1000000n, d1), b.shb(), b.idb(228), b.epb(0, 2000000n, d2)]);
    const { recs } = readAll(f, 11);
    expect(recs.map((r) => [r.sec, r.linkType, r.data])).toEqual([
      [1, 1, d1.toString('hex')],
      [2, 228, d2.toString('hex')],
    ]);
  });
  it('a block length under 12 or cut short ends the input with a named anomaly', () => {
    const ng = new Ng(true);
    const good = Buffer.concat([ng.shb(), ng.idb(1), ng.epb(0, 1n, d1)]);
    const bad = Buffer.concat([good, Buffer.from([6, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0])]);
    const r1 = readAll(bad);
    expect(r1.recs).toHaveLength(1);
    expect(r1.reader.anomalies.count('bad_block_length')).toBe(1);
    const cut = Buffer.concat([good, ng.epb(0, 2n, d2)]);
    const r2 = readAll(cut.subarray(0, cut.length - 6), 4);
    expect(r2.recs).toHaveLength(1);
    expect(r2.reader.anomalies.count('truncated_file')).toBe(1);
  });
  it('a packet for an undescribed interface is counted, not decoded', () => {
    const ng = new Ng(true);
    const { recs, reader } = readAll(Buffer.concat([ng.shb(), ng.idb(1), ng.epb(3, 1n, d1), ng.epb(0, 1n, d2)]));
    expect(recs).toHaveLength(1);
    expect(reader.anomalies.count('unknown_interface')).toBe(1);
  });
});

describe('pcapng blocks shorter than their fixed fields', () => {
  // [name, block type, minimum length]: type and length, the fields, and the trailing length
  const kinds: [string, number, number][] = [
    ['EPB', 6, 32],
    ['PB', 2, 32],
    ['SPB', 3, 16],
    ['ISB', 5, 24],
    ['IDB', 1, 20],
    ['SHB', 0x0a0d0d0a, 28],
  ];
  const ng = new Ng(true);
  /** A block of `len` bytes whose length fields agree (an SHB keeps its byte-order magic). */
  const short = (type: number, len: number) => {
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(len, 4);
    if (type === 0x0a0d0d0a && len >= 12) b.writeUInt32LE(0x1a2b3c4d, 8);
    b.writeUInt32LE(len, len - 4);
    return b;
  };
  /** SHB, IDB, a good EPB, filler, the short block (ending at `endAt` when given), another good EPB. */
  const file = (bad: Buffer, endAt?: number) => {
    const head = Buffer.concat([ng.shb(), ng.idb(1), ng.epb(0, 1n, d1)]);
    const fill = endAt === undefined ? 64 : endAt - head.length - bad.length;
    return Buffer.concat([head, ng.block(0x00000bad, Buffer.alloc(fill - 12)), bad, ng.epb(0, 2n, d2)]);
  };
  for (const [name, type, min] of kinds) {
    for (const len of name === 'SHB' ? [min - 4] : [12, min - 4]) {
      for (const edge of [false, true]) {
        it(`${name} of ${len} bytes (minimum ${min}) ${edge ? 'ending at the 1 MiB buffer edge' : 'mid-buffer'}`, () => {
          const f = file(short(type, len), edge ? 1 << 20 : undefined);
          const { recs, reader } = readAll(f);
          expect(recs[0].data).toBe(d1.toString('hex'));
          expect(reader.anomalies.count('bad_block_length')).toBe(1);
          expect(reader.anomalies.list().find((a) => a.code === 'bad_block_length')?.first).toMatch(new RegExp(`${name === 'SHB' ? 'section header' : name}.* ${len}\\b.*${min}`));
          expect(reader.anomalies.count('unknown_interface')).toBe(0);
          // a short block whose two lengths agree is skipped; a short section header ends the input
          expect(recs.map((r) => r.data)).toEqual(name === 'SHB' ? [d1.toString('hex')] : [d1.toString('hex'), d2.toString('hex')]);
          if (name === 'IDB') expect(reader.interfaceNames).toEqual(['']);
        });
      }
    }
  }
});

describe('ticksToTime: exact without BigInt', () => {
  it('matches BigInt division for many resolutions', () => {
    const out = { tsSec: 0, tsNsec: 0 };
    for (const tps of [1, 1000, 1_000_000, 1_000_000_000, 2 ** 20, 2 ** 30, 10 ** 10]) {
      for (const ticks of [0n, 1n, 1700000000n * BigInt(tps) + 12345n, (1n << 63n) - 1n, 0xffffffffn, 0x1_0000_0000n]) {
        ticksToTime(Number(ticks >> 32n), Number(ticks & 0xffffffffn), tps, out);
        const u = BigInt(tps);
        expect([out.tsSec, out.tsNsec], `${ticks} @ ${tps}`).toEqual([Number(ticks / u), Number(((ticks % u) * 1_000_000_000n) / u)]);
      }
    }
  });
});

describe('isoTime', () => {
  it('agrees with Date where Date works, and stays total where it does not', async () => {
    const { isoTime } = await import('../src/capture/time.js');
    for (const sec of [0, 1, 86399, 86400, 951782400, 1700000000, 4102444800, 4294967295, -86401]) {
      expect(isoTime(sec, 5)).toBe(new Date(sec * 1000).toISOString().replace('.000Z', '.000000005Z'));
    }
    expect(isoTime(2 ** 50, 0)).toMatch(/^\+\d{6,}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000000Z$/);
  });

  it('writes the nanoseconds as padStart(9, "0") would, in the second of the call before or another', async () => {
    const { isoTime } = await import('../src/capture/time.js');
    // the text up to the fraction is kept for the last second: the same second again, then others
    for (const sec of [1763780000, 1763780000, 1763780001, 0, 1763780000]) {
      for (const ns of [0, 5, 10, 99, 100, 1234, 99_999, 100_000, 1_000_000, 12_345_678, 99_999_999, 100_000_000, 999_999_999, 0.5, -1, 1e9]) {
        const date = new Date(sec * 1000).toISOString().slice(0, 19);
        expect(isoTime(sec, ns), `${sec} ${ns}`).toBe(`${date}.${String(ns).padStart(9, '0')}Z`);
      }
    }
  });
});
