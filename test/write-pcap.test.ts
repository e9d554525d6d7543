import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forEachRecordOfParts } from '../src/capture/parts.js';
import { openCapture } from '../src/capture/source.js';
import { packetsOf } from '../src/explain.js';
import type { FlowRecord } from '../src/verdict/types.js';
import { HEALTHY } from '../src/verdict/types.js';
import { cli, FIXTURES, fixtureFiles, hasCommand, jsonDoc } from './helpers/run.js';

const haveTshark = hasCommand('tshark');
if (!haveTshark) console.warn('write-pcap.test: tshark is missing: the Wireshark cross-checks are skipped (scripts/test-all.sh installs it as root)');

function tshark(args: string[]): string[] {
  const r = spawnSync('tshark', args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`tshark ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** The frames explain draws for a record (read from its capture's parts). */
async function explainFrames(parts: readonly string[], r: FlowRecord): Promise<number[]> {
  return (await packetsOf((fn) => forEachRecordOfParts(parts, (p) => openCapture(p), fn), r)).map((s) => s.frame);
}

/**
 * Fixtures left out of the filter-vs-explain comparison, each with its reason (known gaps, not yet
 * built: said in the test output so they are not forgotten).
 */
const NOT_COMPARED = new Map([
  ['dns-fragmented.pcap', 'explain draws single IP fragments; tshark filters the reassembled datagram (frame of the last fragment)'],
  ['dns-fragment-lost.pcap', 'explain draws single IP fragments; tshark filters the reassembled datagram (frame of the last fragment)'],
  ['routing-loop-icmp.pcap', 'explain also draws two time-exceeded errors of other probes with the same echo id that the display filter leaves out'],
]);
for (const [f, why] of NOT_COMPARED) console.warn(`write-pcap.test: ${f} not compared with tshark: ${why}`);

/** One record per verdict and protocol over the fixtures, with the capture it came from. */
function sample(): { file: string; r: FlowRecord }[] {
  const seen = new Set<string>();
  const out: { file: string; r: FlowRecord }[] = [];
  for (const f of fixtureFiles()) {
    if (NOT_COMPARED.has(f)) continue;
    const doc = jsonDoc(cli(['-f', 'json', '-q', join(FIXTURES, f)]).stdout);
    for (const r of doc.records) {
      const k = `${r.verdict} ${r.proto} ${r.client.includes('[') ? 6 : 4}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ file: join(FIXTURES, f), r });
    }
  }
  return out;
}

describe.skipIf(!haveTshark)('each record carries a display filter that selects its packets in tshark', () => {
  const cases = sample();
  it('one record per verdict, protocol and IP version over the fixtures', () => {
    expect(cases.length).toBeGreaterThan(30);
  });
  for (const { file, r } of cases) {
    it(`${r.verdict} ${r.proto} in ${file.split('/').pop() ?? ''} #${r.id}`, async () => {
      expect(r.wireshark).toBeDefined();
      const frames = tshark(['-r', file, '-Y', r.wireshark ?? '', '-T', 'fields', '-e', 'frame.number']).map(Number);
      expect(frames).toEqual(await explainFrames([file], r));
      expect(frames.length).toBeGreaterThan(0);
    });
  }
});

describe('--write-pcap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcapdiag-write-'));

  it.skipIf(!haveTshark)('writes the problem flows of several captures; tshark reads each verdict as a packet comment on its deciding packet', async () => {
    const out = join(dir, 'problems.pcapng');
    const captures = ['tcp-reset-by-router.pcap', 'dns.pcap', 'ipv6.pcap', 'icmp-port-unreachable-router.pcap', 'rotated-size'].map((f) => join(FIXTURES, f));
    const run = cli(['-f', 'json', '--write-pcap', out, ...captures]);
    expect(run.code).toBe(0);
    const doc = jsonDoc(run.stdout);
    const problems = doc.records.filter((r) => !HEALTHY.has(r.verdict));
    expect(problems.length).toBeGreaterThan(5);
    expect(run.stderr).toContain(`of ${problems.length} flows to ${out}`);
    const comments = tshark(['-r', out, '-Y', 'frame.comment', '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.comment']);
    const ids = comments.flatMap((l) => [...l.matchAll(/pcapdiag #(\d+) /g)].map((m) => Number(m[1])));
    expect(ids.sort((a, b) => a - b)).toEqual(problems.map((r) => r.id).sort((a, b) => a - b));
    for (const r of problems) {
      const line = comments.find((l) => l.includes(`pcapdiag #${r.id} ${r.verdict} by ${r.by}: `));
      expect(line, `comment of #${r.id}`).toBeDefined();
    }
    // every packet of every problem flow, and nothing else: as many as explain draws
    const parts = new Map(doc.files.map((f) => [f.input.name, f.input.parts?.map((p) => p.name) ?? [f.input.name]]));
    let expected = 0;
    for (const r of problems) expected += (await explainFrames(parts.get(r.file ?? '') ?? [], r)).length;
    expect(tshark(['-r', out]).length).toBe(expected);
    // original timestamps, nanosecond resolution: the filter of each record selects its packets in the new file too
    const first = problems[0];
    expect(tshark(['-r', out, '-Y', first.wireshark ?? '']).length).toBe((await explainFrames(parts.get(first.file ?? '') ?? [], first)).length);
  });

  it.skipIf(!haveTshark)('with a filter, every flow it selects, healthy ones too', () => {
    const out = join(dir, 'filtered.pcapng');
    const run = cli(['-f', 'ndjson', '--write-pcap', out, join(FIXTURES, 'ci-run.pcap'), 'port 80']);
    expect(run.code).toBe(0);
    const flows = run.stdout.split('\n').filter((l) => l.includes('"type":"flow"'));
    expect(flows.length).toBeGreaterThan(0);
    const comments = tshark(['-r', out, '-Y', 'frame.comment', '-T', 'fields', '-e', 'frame.comment']);
    expect(comments.length).toBe(flows.length);
    expect(comments.some((c) => / ok by /.test(c))).toBe(true);
    expect(tshark(['-r', out, '-Y', 'not tcp.port == 80'])).toEqual([]);
  });

  it('is a pcapng file (section header first) even when no flow is a problem', () => {
    const out = join(dir, 'none.pcapng');
    const run = cli(['--write-pcap', out, join(FIXTURES, 'tcp-ok.pcap')]);
    expect(run.code).toBe(0);
    expect(readFileSync(out).readUInt32LE(0)).toBe(0x0a0d0d0a);
    expect(run.stderr).toContain('wrote 0 packets of 0 flows');
  });

  it('refuses standard input (it cannot be read twice) and names an unwritable file, in one line', () => {
    const stdin = cli(['--write-pcap', join(dir, 'x.pcapng'), '-'], readFileSync(join(FIXTURES, 'tcp-ok.pcap')));
    expect(stdin.code).toBe(2);
    expect(stdin.stderr.trim().split('\n')).toEqual(['pcapdiag: --write-pcap reads the captures again, and standard input cannot be read twice: save it with tcpdump -w first (see pcapdiag --help)']);
    const bad = cli(['--write-pcap', join(dir, 'no', 'such', 'dir.pcapng'), join(FIXTURES, 'tcp-refused.pcap')]);
    expect(bad.code).toBe(3);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toEqual([`pcapdiag: cannot write ${join(dir, 'no', 'such', 'dir.pcapng')}: no such file`]);
  });
});
