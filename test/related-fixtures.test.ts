import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cli, FIXTURES, type NdjsonLine } from './helpers/run.js';

// The related flows of the lab captures of fixtures/make-related-fixtures.sh, written from what
// each scenario stages (not copied from the output): which record links to which, how, and what
// the failed one's summary and check then say. Records are named by server and verdict.

function flows(fixture: string): NdjsonLine[] {
  const r = cli(['-f', 'ndjson', join(FIXTURES, fixture)]);
  expect(r.code).not.toBe(70);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as NdjsonLine)
    .filter((l) => l.type === 'flow');
}

const name = (r: NdjsonLine) => `${r.server ?? ''} ${r.verdict ?? ''}`;

/** "server verdict -> server verdict (kind)" for every link of the capture. */
function links(fixture: string): { lines: string[]; byName: Map<string, NdjsonLine> } {
  const fs = flows(fixture);
  const byId = new Map(fs.map((r) => [r.id, r]));
  const lines: string[] = [];
  for (const r of fs) for (const x of r.related ?? []) lines.push(`${name(r)} -> ${name(byId.get(x.id) ?? { type: 'flow' })} (${x.kind})`);
  return { lines: lines.sort(), byName: new Map(fs.map((r) => [name(r), r])) };
}

describe('related flows in the lab captures', () => {
  it("nginx's 502 is tied to its refused upstream connection, and says so; its 504 is tied from the upstream timeout", () => {
    const { lines, byName } = links('related-proxy.pcap');
    expect(lines).toEqual([
      // the 504's back leg is judged (3 s after its SYN, its retries) after the front leg ended: linked one way
      '10.0.2.20:8180 http-error -> 10.0.3.30:8080 refused (proxy-leg)',
      '10.0.3.30:8080 refused -> 10.0.2.20:8180 http-error (proxy-leg)',
      '10.0.3.30:8082 timeout -> 10.0.2.20:8181 http-error (proxy-leg)',
    ]);
    const front = byName.get('10.0.2.20:8180 http-error');
    expect(front?.summary).toContain("the proxy's connection to its upstream 10.0.3.30:8080 was refused");
    expect(front?.check).toMatch(/^The proxy 10\.0\.2\.20 works; its upstream 10\.0\.3\.30:8080 refused it/);
    // the healthy request through the proxy is not tied to anything
    expect(byName.get('10.0.2.20:8182 ok')?.related).toBeUndefined();
  });

  it('the legs before and after the SNAT are one connection each', () => {
    const { lines, byName } = links('related-nat.pcap');
    expect(lines).toEqual(['10.0.2.20:80 ok -> 10.0.2.20:80 ok (nat-leg)', '10.0.2.20:80 ok -> 10.0.2.20:80 ok (nat-leg)', '10.0.2.20:81 refused -> 10.0.2.20:81 refused (nat-leg)', '10.0.2.20:81 refused -> 10.0.2.20:81 refused (nat-leg)']);
    const fs = flows('related-nat.pcap').filter((r) => r.verdict === 'refused');
    expect(fs[0].related?.[0].why).toMatch(/^the same connection after the SNAT: 10\.0\.1\.10:(\d+) is 10\.0\.2\.1:\1 there$/);
    expect(fs[1].summary).toMatch(/\(the same connection as #\d+, after the SNAT: 10\.0\.1\.10:(\d+) is 10\.0\.2\.1:\1\)$/);
    expect(byName.size).toBe(2);
    // one refused connection seen twice is one problem
    const summary = cli(['-f', 'ndjson', join(FIXTURES, 'related-nat.pcap')])
      .stdout.split('\n')
      .filter((l) => l.includes('"type":"summary"'))
      .map((l) => JSON.parse(l) as NdjsonLine)[0];
    expect(summary.verdicts).toEqual({ ok: 2, refused: 2 });
    expect(summary.problems).toBe(1);
  });

  it('the dropped IPv6 attempt is tied to the IPv4 fallback, not to the later IPv4 fetch', () => {
    const fs = flows('related-happy-eyeballs.pcap');
    const v6 = fs.find((r) => r.server === '[fd00:2::20]:80');
    const v4 = fs.filter((r) => r.server === '10.0.2.20:80');
    expect(v6?.verdict).toBe('timeout');
    expect(v6?.related?.map((x) => x.id)).toEqual([v4[0].id]);
    expect(v6?.summary).toMatch(/^IPv6 path to www\.example\.test broken, IPv4 fallback worked \(10\.0\.2\.20:80, #\d+\): /);
    expect(v6?.check).toContain('ip6tables');
    expect(v4[1].related).toBeUndefined();
  });

  it('a ping dropped by a host TCP reaches, and a closed port on a host that answers ping', () => {
    const dropped = links('related-ping-dropped.pcap');
    expect(dropped.lines).toEqual(['10.0.2.20 ping-no-reply -> 10.0.2.20:80 ok (same-host)', '10.0.2.20:80 ok -> 10.0.2.20 ping-no-reply (same-host)']);
    expect(dropped.byName.get('10.0.2.20 ping-no-reply')?.summary).toMatch(/, but the host is up: TCP to 10\.0\.2\.20:80 worked \(#\d+\)$/);
    const closed = links('related-port-closed.pcap');
    expect(closed.lines).toEqual(['10.0.2.20 ping-ok -> 10.0.2.20:81 refused (same-host)', '10.0.2.20:81 refused -> 10.0.2.20 ping-ok (same-host)']);
    expect(closed.byName.get('10.0.2.20:81 refused')?.summary).toContain('the host answers ping');
  });

  it('the text report links them too, though it only counts the healthy flows', () => {
    const r = cli([join(FIXTURES, 'related-ping-dropped.pcap')]);
    expect(r.stdout).toMatch(/related #\d+: TCP from the same client to 10\.0\.2\.20:80 worked/);
    const he = cli([join(FIXTURES, 'related-happy-eyeballs.pcap')]);
    expect(he.stdout).toContain('IPv6 path to www.example.test broken, IPv4 fallback worked');
  });
});
