#!/usr/bin/env node
// What names labelling costs: every record of a capture (default: the 100 MB flow-dense bench
// capture) analysed and kept, then its sentences written again from its facts, once with the names
// the capture's DNS gave and once with none; the difference is the labelling. Median of 7.
// Usage: npm run build && node bench/labels.mjs [capture]
import { benchCapture } from './capture.mjs';

const file = process.argv[2] ?? benchCapture(100, 'dense');
const { analyzeSource, DEFAULT_OPTIONS } = await import('../dist/analyze.js');
const { openCapture } = await import('../dist/capture/source.js');
const { DnsNames } = await import('../dist/verdict/names.js');
const { describeRecord } = await import('../dist/render/sentences.js');

const source = await openCapture(file);
const report = await analyzeSource(source, DEFAULT_OPTIONS, { keep: 'all' });
source.close();
const records = report.records;
const names = new DnsNames();
for (const r of records) names.learn(r);
const median = (fn) => {
  const t = [];
  for (let i = 0; i < 7; i++) {
    const start = performance.now();
    fn();
    t.push(performance.now() - start);
  }
  return t.sort((a, b) => a - b)[3];
};
const none = new Map();
const withNames = median(() => {
  for (const r of records) describeRecord(r, names.known);
});
const without = median(() => {
  for (const r of records) describeRecord(r, none);
});
console.log(`${file}: ${records.length} records, ${names.known.size} names from its DNS`);
console.log(`sentences with names ${withNames.toFixed(0)} ms, without ${without.toFixed(0)} ms: labelling ${(withNames - without).toFixed(0)} ms`);
