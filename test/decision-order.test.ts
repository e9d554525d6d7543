import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sortByDecisionOrder } from '../src/report/emit.js';
import type { FlowRecord } from '../src/verdict/types.js';

// Records are emitted in time order, then first frame, then protocol (by name), and records alike in
// all three keep their order: the comparator of records the batch sort replaced, as the oracle.
const byDecisionOrder = (x: FlowRecord, y: FlowRecord) => (x.t !== y.t ? (x.t < y.t ? -1 : 1) : x.firstFrame !== y.firstFrame ? (x.firstFrame < y.firstFrame ? -1 : 1) : x.proto < y.proto ? -1 : x.proto > y.proto ? 1 : 0);

const PROTOS: FlowRecord['proto'][] = ['tcp', 'udp', 'dns', 'icmp', 'arp'];
const record = (t: number, firstFrame: number, proto: FlowRecord['proto'], tag: number) => ({ t, firstFrame, proto, tag }) as unknown as FlowRecord;

describe('sortByDecisionOrder', () => {
  it('orders as the record comparator and Array.prototype.sort (stable) did (property)', () => {
    const rec = fc.tuple(fc.constantFrom(0, 0.000001, 0.5, 1.25, 3, 1e6 + 0.123456), fc.integer({ min: 0, max: 5 }), fc.constantFrom(...PROTOS));
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 3000 }), (rows) => {
        const batch = rows.map(([t, f, p], i) => record(t, f, p, i));
        const want = [...batch].sort(byDecisionOrder).map((r) => (r as unknown as { tag: number }).tag);
        sortByDecisionOrder(batch);
        expect(batch.map((r) => (r as unknown as { tag: number }).tag)).toEqual(want);
      }),
      { numRuns: 150 },
    );
  });
});
