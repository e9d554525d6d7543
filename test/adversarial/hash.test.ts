/**
 * The flow-table hash (#22: 120 k IPv6 SYNs whose sources shared one endpointHash took 295 s):
 * every word of the address and the port is mixed in, with a seed that differs per process, so
 * addresses chosen to collide under one run's hash do not collide under another's.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { endpointHash } from '../../src/flow/addr.js';
import { ROOT } from '../helpers/run.js';
import { analyzeSource, DEFAULT_OPTIONS } from '../../src/analyze.js';
import { bufferSource, pcap, type Rec } from '../helpers/build.js';
import { dnsQuery } from './dns-msg.js';
import { dnsUdp } from './inputs.js';

describe('endpointHash', () => {
  it('IPv6 sources that differ only in their last three words, or only in the port, get distinct hashes', () => {
    const hashes = new Set<number>();
    for (let i = 0; i < 30_000; i++) hashes.add(endpointHash(Uint32Array.of(0x20010db8, i % 10 === 0 ? i : 0, i % 10 === 1 ? i : 0, i), 443));
    for (let p = 0; p < 10_000; p++) hashes.add(endpointHash(Uint32Array.of(0x20010db8, 0, 0, 1), p));
    expect(hashes.size).toBeGreaterThan(39_950);
  });
  it('is seeded per process: the same address hashes differently in two runs', () => {
    const once = () =>
      spawnSync(process.execPath, ['--input-type=module', '-e', `import { endpointHash } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'flow', 'addr.js')).href)}; console.log(endpointHash(Uint32Array.of(1, 2, 3, 4), 5))`], {
        encoding: 'utf8',
      }).stdout.trim();
    const runs = new Set([once(), once(), once()]);
    expect(runs.size).toBeGreaterThan(1);
  });
});

describe('DNS ids chosen alike', () => {
  // a transaction's hash is its endpoints' times a constant with the id mixed in below: ids equal
  // in their low bits once filled one bucket of the flow table, whatever the seed (review of the
  // table's array of buckets, 2026-12-04), and its lookups were refused as hash_chain_full
  it('64 ids equal in their low 10 bits, each asked 5 times from one port: all 320 tracked', async () => {
    const recs: Rec[] = [];
    for (let k = 0; k < 64; k++) for (let n = 0; n < 5; n++) recs.push({ sec: 1_700_000_000, frac: recs.length, data: dnsUdp(dnsQuery(k * 1024 + 7, 'alike.example'), 'q', 4000) });
    const r = await analyzeSource(bufferSource(pcap(recs)), DEFAULT_OPTIONS, { keep: 'none' });
    expect(r.anomalies.find((a) => a.code === 'hash_chain_full')).toBeUndefined();
    expect(r.summary.dnsTransactions).toBe(320);
  });
});
