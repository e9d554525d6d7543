// Reading DNS answers: pcapdiag's readAnswers against dns-packet's decode, on every DNS response
// with answers in a capture (default: the 100 MB flow-dense bench capture, made on first use).
// Why dns-packet is a test oracle only (README, dependencies).
// Usage: npm run build && node bench/dns-answers.mjs [capture]
import dnsPacket from 'dns-packet';
import { benchCapture } from './capture.mjs';
import { openSource } from '../dist/capture/source.js';
import { forEachRecord } from '../dist/capture/reader.js';
import { PacketDecoder } from '../dist/decode/decode.js';
import { DecodedPacket, L4 } from '../dist/decode/packet.js';
import { DnsHeader, parseDnsHeader, readAnswers } from '../dist/decode/dns.js';

const path = process.argv[2] ?? benchCapture(100, 'dense');
const msgs = [];
const decoder = new PacketDecoder(),
  pkt = new DecodedPacket(),
  h = new DnsHeader();
await forEachRecord(openSource(path), (rec) => {
  decoder.decode(rec, pkt);
  if (pkt.l4 !== L4.Udp || pkt.srcPort !== 53) return;
  const m = Buffer.from(rec.data.subarray(pkt.payloadOff, pkt.payloadOff + pkt.payloadLen));
  if (parseDnsHeader(new DataView(m.buffer, m.byteOffset, m.length), m, 0, m.length, h) && h.qr === 1 && h.ancount > 0) msgs.push(m);
});
const headers = msgs.map((m) => {
  const x = new DnsHeader();
  parseDnsHeader(new DataView(m.buffer, m.byteOffset, m.length), m, 0, m.length, x);
  return x;
});

function byHand() {
  let n = 0;
  for (let i = 0; i < msgs.length; i++) n += readAnswers(msgs[i], 0, msgs[i].length, headers[i], 4).length;
  return n;
}
function withDnsPacket() {
  let n = 0;
  for (const m of msgs) {
    try {
      const out = [];
      for (const a of dnsPacket.decode(m).answers ?? []) {
        if (out.length === 4) break;
        out.push(typeof a.data === 'string' ? `${a.type} ${a.data}` : a.type);
      }
      n += out.length;
    } catch {
      /* as pcapdiag did: no answers */
    }
  }
  return n;
}
function time(fn) {
  const runs = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    fn();
    runs.push(performance.now() - t);
  }
  return runs.sort((a, b) => a - b)[3];
}
time(byHand);
time(withDnsPacket); // warm up
const a = time(byHand),
  b = time(withDnsPacket);
console.log(`${msgs.length} DNS responses with answers in ${path}`);
console.log(`readAnswers (by hand): ${a.toFixed(1)} ms, ${((a * 1e6) / msgs.length).toFixed(0)} ns each`);
console.log(`dns-packet decode:     ${b.toFixed(1)} ms, ${((b * 1e6) / msgs.length).toFixed(0)} ns each (${(b / a).toFixed(1)}×)`);
