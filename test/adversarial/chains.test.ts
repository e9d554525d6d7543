/**
 * Hash chains are bounded in every flow table (#22): with every key made to collide (the hash
 * functions replaced by constants, as if an attacker knew the seed), a flood of distinct flows
 * fills one bucket up to MAX_CHAIN, and the rest are counted as not tracked, with the anomaly
 * hash_chain_full, instead of making every lookup walk them all.
 */
import { describe, expect, it, vi } from 'vitest';
import { analyzeSource, DEFAULT_OPTIONS } from '../../src/analyze.js';
import { MAX_CHAIN } from '../../src/flow/chained-table.js';
import { bufferSource, pcap, tcpFrame, FLAGS, type Rec } from '../helpers/build.js';
import { dnsQuery } from './dns-msg.js';
import { dnsUdp } from './inputs.js';

vi.mock('../../src/flow/addr.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/flow/addr.js')>();
  return { ...actual, endpointHash: () => 7, flowHash: () => 7 };
});

const at = (i: number, data: Buffer): Rec => ({ sec: 1_700_000_000, frac: i, data });

describe('every key colliding', () => {
  it(`3,000 SYNs from distinct clients: ${MAX_CHAIN} tracked, the rest counted with hash_chain_full`, async () => {
    const recs = Array.from({ length: 3000 }, (_, i) => at(i, tcpFrame('c2s', { sport: 1024 + i, dport: 80, seq: i, flags: FLAGS.SYN }, undefined, `11.0.${i >> 8}.${i & 255}`)));
    const r = await analyzeSource(bufferSource(pcap(recs)), DEFAULT_OPTIONS, { keep: 'none' });
    expect(r.summary.verdicts['capture-ended']).toBe(MAX_CHAIN);
    expect(r.stats.flowsNotTracked).toBe(3000 - MAX_CHAIN);
    expect(r.anomalies).toContainEqual({ code: 'hash_chain_full', count: 3000 - MAX_CHAIN, first: `frame ${MAX_CHAIN + 1}: TCP flow: ${MAX_CHAIN} flows in one hash bucket already; new ones are counted, not tracked` });
  });

  it(`DNS queries from 1,000 client ports with one id, then their responses: ${MAX_CHAIN} lookups, the rest counted`, async () => {
    const q = Array.from({ length: 1000 }, (_, i) => at(i, dnsUdp(dnsQuery(9, 'same.example'), 'q', 2000 + i)));
    const a = Array.from({ length: 1000 }, (_, i) => at(1000 + i, dnsUdp(dnsQuery(9, 'same.example', true), 'r', 2000 + i)));
    const r = await analyzeSource(bufferSource(pcap([...q, ...a])), DEFAULT_OPTIONS, { keep: 'none' });
    expect(r.summary.dnsTransactions).toBe(MAX_CHAIN);
    expect(r.anomalies.find((x) => x.code === 'hash_chain_full')?.first).toMatch(/^frame \d+: DNS (query|response): 256 flows in one hash bucket already/);
  });

  it(`UDP flows from 1,000 ports: ${MAX_CHAIN} tracked`, async () => {
    const recs = Array.from({ length: 1000 }, (_, i) => at(i, dnsUdp(Buffer.alloc(8), 'q', 3000 + i)));
    for (const x of recs) x.data.writeUInt16BE(4000, 14 + 20 + 2); // to port 4000, not DNS
    const r = await analyzeSource(bufferSource(pcap(recs)), DEFAULT_OPTIONS, { keep: 'none' });
    expect(r.summary.udpFlows).toBe(MAX_CHAIN);
    expect(r.anomalies.find((x) => x.code === 'hash_chain_full')?.count).toBe(1000 - MAX_CHAIN);
  });
});
