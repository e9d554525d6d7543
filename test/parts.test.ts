import { describe, expect, it } from 'vitest';
import { CaptureRun, DEFAULT_OPTIONS, type Report } from '../src/analyze.js';
import { forEachRecord } from '../src/capture/reader.js';
import { forEachRecordOfParts, groupParts, rotationStem, type CaptureHead } from '../src/capture/parts.js';
import { bufferSource, pcap, type Rec } from './helpers/build.js';
import { InputError } from '../src/errors.js';
import { cli, FIXTURES, fixtureFiles, readFixture } from './helpers/run.js';
import { openCapture, type ByteSource } from '../src/capture/source.js';
import type { RunReport } from '../src/run-report.js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

interface Packet extends Rec {
  linkType: number;
}

async function packetsOf(source: Buffer | ByteSource): Promise<Packet[]> {
  const out: Packet[] = [];
  await forEachRecord(Buffer.isBuffer(source) ? bufferSource(source) : source, (rec) => {
    out.push({ sec: rec.tsSec, frac: rec.tsNsec, data: Buffer.from(rec.data.subarray(rec.off, rec.end)), origLen: rec.origLen, linkType: rec.linkType });
  });
  return out;
}

/** Analyses the packets as a capture written in parts cut before each index of `cuts`. */
async function analyzeParts(packets: Packet[], cuts: number[]): Promise<Report> {
  const run = new CaptureRun(DEFAULT_OPTIONS);
  let from = 0;
  for (const to of [...cuts, packets.length]) {
    await run.read(bufferSource(pcap(packets.slice(from, to), { ns: true, linkType: packets[0].linkType }), 4096));
    from = to;
  }
  return await run.finish('test');
}

/** What must not depend on where the capture was cut: everything but the input block and the gap warnings. */
function comparable(r: Report): unknown {
  return {
    records: r.records,
    summary: r.summary,
    stats: r.stats,
    anomalies: r.anomalies,
    warnings: r.warnings.filter((w) => !w.startsWith('no packet for ')),
    packets: r.input.packets,
    bytes: r.input.bytes,
    first: r.input.first,
    last: r.input.last,
    vantage: r.input.vantage,
  };
}

/** At most this many cut points per fixture (evenly spread, always the first and the last). */
const MAX_CUTS = 40;

describe('a capture cut into parts gives the same records as the whole (rotated sets)', () => {
  for (const f of fixtureFiles()) {
    it(f, async () => {
      const packets = await packetsOf(readFixture(f));
      if (packets.length < 2) return;
      expect(new Set(packets.map((p) => p.linkType)).size, 'one link type (a pcap part holds one)').toBe(1);
      const whole = comparable(await analyzeParts(packets, []));
      const n = packets.length;
      const cuts = n - 1 <= MAX_CUTS ? Array.from({ length: n - 1 }, (_, i) => i + 1) : Array.from({ length: MAX_CUTS }, (_, i) => 1 + Math.round((i * (n - 2)) / (MAX_CUTS - 1)));
      for (const cut of cuts) expect(comparable(await analyzeParts(packets, [cut])), `cut before packet ${cut + 1} of ${n}`).toEqual(whole);
      // and in many parts at once: one packet each for the first few
      expect(
        comparable(
          await analyzeParts(
            packets,
            [1, 2, 3, Math.floor(n / 2)].filter((c, i, a) => c < n && a.indexOf(c) === i),
          ),
        ),
      ).toEqual(whole);
    });
  }
});

describe('forEachRecordOfParts: the second read (--write-pcap, ladders, --state-out)', () => {
  // a part replaced between the analysis and the second read: garbage now, or a rotated set's
  // part whose name tcpdump gave to a new file
  const garbage = () => bufferSource(Buffer.from('not a capture, written over the part since\n'));
  const good = join(FIXTURES, 'ci-run.pcap');

  it('names the part that cannot be read again, as the first read does', async () => {
    let records = 0;
    const read = forEachRecordOfParts(
      [good, 'ring.pcap1'],
      async (p) => (p === good ? await openCapture(p) : garbage()),
      () => {
        records++;
      },
    );
    await expect(read).rejects.toThrow(InputError);
    await expect(
      forEachRecordOfParts(
        [good, 'ring.pcap1'],
        async (p) => (p === good ? await openCapture(p) : garbage()),
        () => {},
      ),
    ).rejects.toThrow(/^ring\.pcap1: not a capture file/);
    expect(records).toBe(32);
  });

  it('names it once when its message does already, and leaves other errors alone', async () => {
    await expect(forEachRecordOfParts(['/nonexistent/ring.pcap0'], openCapture, () => {})).rejects.toThrow(/^cannot open \/nonexistent\/ring\.pcap0: no such file$/);
    const bug = new TypeError('a bug in the caller');
    await expect(
      forEachRecordOfParts([good], openCapture, () => {
        throw bug;
      }),
    ).rejects.toBe(bug);
  });
});

describe('groupParts', () => {
  const head = (input: string, first: number | null, linkType = 1, readable = true): CaptureHead => ({ input, first, linkType, readable });

  it('the names tcpdump -C, -C -W, -G and editcap -c give a rotated set differ in digits only', () => {
    expect(rotationStem('/c/ring.pcap')).toBe(rotationStem('/c/ring.pcap12'));
    expect(rotationStem('ring.pcap00')).toBe(rotationStem('ring.pcap01'));
    expect(rotationStem('trace-20261203-1400.pcap')).toBe(rotationStem('trace-20261203-1401.pcap'));
    expect(rotationStem('out_00000_20261203140000.pcap')).toBe(rotationStem('out_00001_20261203140500.pcap'));
    expect(rotationStem('tcp-ok.pcap')).not.toBe(rotationStem('tcp-timeout.pcap'));
    expect(rotationStem('a/ring.pcap1')).not.toBe(rotationStem('b/ring.pcap2'));
  });

  it('auto: parts of one set are read in time order, other captures alone, in the order given', () => {
    const heads = [head('x.pcap', 50), head('ring.pcap2', 30), head('ring.pcap', 10), head('ring.pcap10', 40), head('ring.pcap1', 20), head('y.pcap', 5)];
    expect(groupParts(heads, 'auto')).toEqual([['x.pcap'], ['ring.pcap', 'ring.pcap1', 'ring.pcap2', 'ring.pcap10'], ['y.pcap']]);
  });

  it('auto: another link type, standard input and unreadable captures stay apart', () => {
    const heads = [head('p1.pcap', 1), head('p2.pcap', 2, 113), head('-', null, -1, false), head('p3.pcap', null, -1, false), head('p4.pcap', 3)];
    expect(groupParts(heads, 'auto')).toEqual([['p1.pcap', 'p4.pcap'], ['p2.pcap'], ['-'], ['p3.pcap']]);
  });

  it('auto: a part with no packet (tcpdump -G opens one before its first packet) joins its set, first', () => {
    const heads = [head('rot-1700000001.pcap', 2), head('rot-1700000000.pcap', null, -1), head('other.pcap', null, -1)];
    expect(groupParts(heads, 'auto')).toEqual([['rot-1700000000.pcap', 'rot-1700000001.pcap'], ['other.pcap']]);
  });

  it('--sequence joins every capture in time order; --separate keeps each apart', () => {
    const heads = [head('b.pcap', 2), head('a.pcap', 1), head('c.pcap', 3, 113)];
    expect(groupParts(heads, 'sequence')).toEqual([['a.pcap', 'b.pcap', 'c.pcap']]);
    expect(groupParts(heads, 'separate')).toEqual([['b.pcap'], ['a.pcap'], ['c.pcap']]);
  });
});

describe('rotated sets recorded with tcpdump -C and -G (fixtures/rotated-*)', () => {
  for (const dir of ['rotated-size', 'rotated-time']) {
    const path = join(FIXTURES, dir);
    const parts = readdirSync(path).map((f) => join(path, f));

    it(`${dir}: the directory is read as one capture, with the records of its parts put together`, async () => {
      const run = cli(['-f', 'json', path]);
      expect(run.stderr.split('\n').filter((l) => l !== '' && !l.includes('checksum'))).toEqual([]);
      const doc = JSON.parse(run.stdout) as RunReport;
      expect(doc.files).toHaveLength(1);
      expect(doc.files[0].input.parts?.map((p) => p.name).sort()).toEqual([...parts].sort());
      // the same packets in one file, in the order of the parts' first packets
      const packets: Packet[] = [];
      for (const name of doc.files[0].input.parts?.map((p) => p.name) ?? []) {
        const src = await openCapture(name);
        try {
          packets.push(...(await packetsOf(src)));
        } finally {
          src.close();
        }
      }
      const whole = await analyzeParts(packets, []);
      expect(doc.records.map(({ file: _, ...r }) => r)).toEqual(JSON.parse(JSON.stringify(whole.records)) as unknown);
      expect(doc.files[0].input.packets).toBe(packets.length);
    });

    it(`${dir}: a connection crosses the parts (each part alone misjudges it)`, () => {
      const one = (cli(['-f', 'ndjson', path]).stdout.match(/"midstream"|"capture-ended"/g) ?? []).length;
      const separate = (cli(['-f', 'ndjson', '--separate', path]).stdout.match(/"midstream"|"capture-ended"/g) ?? []).length;
      expect(one).toBe(0);
      expect(separate).toBeGreaterThan(0);
    });
  }

  it('explain reads the flow back across the parts, with the frame numbers of the report', () => {
    const path = join(FIXTURES, 'rotated-size');
    const doc = JSON.parse(cli(['-f', 'json', path]).stdout) as RunReport;
    // the slow download is open through every part
    const drip = doc.records.find((r) => r.server === '10.0.2.20:8082');
    expect(drip?.verdict).toBe('ok');
    const out = cli(['explain', path, String(drip?.id)]);
    expect(out.code).toBe(0);
    const frames = [...out.stdout.matchAll(/│ {2}#(\d+) /g)].map((m) => Number(m[1]));
    const [p1, p2] = (doc.files[0].input.parts ?? []).map((p) => p.packets);
    expect(frames.length).toBeGreaterThan(10);
    // its last packets are in the last part: their frame numbers count on from the parts before
    expect(Math.max(...frames)).toBeGreaterThan(p1 + p2);
    expect(Math.max(...frames)).toBeLessThanOrEqual(doc.files[0].input.packets);
  });
});
