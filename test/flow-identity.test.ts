import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cli, FIXTURES, fixtureFiles } from './helpers/run.js';
import { analyzeSource, DEFAULT_OPTIONS, type Keep, type Report } from '../src/analyze.js';
import { FlowFilter } from '../src/filter/filter.js';
import { openCapture } from '../src/capture/source.js';
import type { FlowRecord } from '../src/verdict/types.js';

async function run(file: string, filter: FlowFilter | null, keep: Keep = 'all', firstId = 1): Promise<Report> {
  const src = await openCapture(join(FIXTURES, file));
  return analyzeSource(src, DEFAULT_OPTIONS, { keep, firstId, filter: filter === null ? null : (r) => filter.matches(r) }).finally(() => src.close());
}

const FILTERS = ['tcp', 'udp', 'port 53', 'host 10.0.2.20', 'ip6', 'icmp', 'not port 80'].map((f) => FlowFilter.parse(f));

describe('one identity per flow: ids and keys do not depend on the filter or on what is kept', () => {
  for (const file of fixtureFiles()) {
    it(file, async () => {
      const all = await run(file, null);
      const byId = new Map(all.records.map((r) => [r.id, r]));
      // every record has a key, no two the same; ids run 1..n with none skipped
      const keys = all.records.map((r) => r.key);
      expect(
        keys.every((k) => /^(tcp|udp|dns|icmp|arp) \S+ \S+ .*#\d+$/.test(k)),
        keys.join('\n'),
      ).toBe(true);
      expect(new Set(keys).size).toBe(keys.length);
      expect([...byId.keys()].sort((a, b) => a - b)).toEqual(all.records.map((_, i) => i + 1));
      expect(all.nextId).toBe(all.records.length + 1);
      for (const f of FILTERS) {
        const some = await run(file, f);
        const want = all.records.filter((r) => f.matches(r));
        // the same flows, under the ids and keys they have unfiltered
        expect(new Map(some.records.map((r) => [r.id, r.key])), f.text).toEqual(new Map(want.map((r) => [r.id, r.key])));
        expect(some.nextId, f.text).toBe(all.nextId);
      }
      // described for the text report (problems, the first of each verdict): the same ids and keys
      const text = await run(file, null, { problemsPerGroup: 1 });
      for (const r of text.records) expect(byId.get(r.id)?.key).toBe(r.key);
      expect(text.nextId).toBe(all.nextId);
    });
  }

  it("a second capture numbers on from the first one's nextId, filtered or not", async () => {
    const [a, b] = ['ipv6.pcap', 'dns.pcap'];
    const first = await run(a, FlowFilter.parse('port 53'));
    const second = await run(b, FlowFilter.parse('port 53'), 'all', first.nextId);
    const alone = await run(b, null);
    expect(second.records.length).toBeGreaterThan(0);
    for (const r of second.records) expect(alone.records.find((x: FlowRecord) => x.key === r.key)?.id).toBe(r.id - first.nextId + 1);
  });

  it('nextId is not part of any output; key is in json and ndjson', () => {
    const f = join(FIXTURES, 'ipv6.pcap');
    for (const format of ['json', 'ndjson', 'text', 'junit']) {
      const out = cli(['-f', format, f, FIXTURES + '/dns.pcap']).stdout;
      expect(out, format).not.toContain('nextId');
      if (format === 'json' || format === 'ndjson') expect(out, format).toMatch(/"key": ?"tcp \[fd00:1::10\]:\d+ \[fd00:2::20\]:80 isn \d+ #\d+"/);
    }
  });
});
