import type { CaptureRecord } from '../capture/record.js';
import type { Anomalies } from '../capture/damage.js';
import type { DecodedPacket } from '../decode/packet.js';
import { DnsStream, type TcpFlow } from './tcp.js';
import type { DnsTable } from './dns.js';

/** A DNS-over-TCP stream buffering more than this without a whole message is given up on. */
const MAX_BUFFERED = 70000;

/** `DnsStream.nextSeq` of a direction given up on after a gap (sequence numbers are ≥ 0, unset is -1). */
const STOPPED = -2;

/**
 * DNS over TCP: in-order reassembly of each direction of a connection to or from port 53, then one
 * DNS message per length prefix, each handed to the DNS table as a UDP datagram would be. A gap
 * (bytes missing from the capture) stops that direction for good, counted as a dns_tcp_gap
 * anomaly: after it the next bytes may be the middle of a message, and reading them as a length
 * prefix would make up messages (there is no marker to find the next message by).
 */
export function dnsOverTcp(f: TcpFlow, dir: number, pkt: DecodedPacket, rec: CaptureRecord, t: number, dns: DnsTable, anomalies: Anomalies): void {
  const streams = (f.dnsStream ??= [new DnsStream(), new DnsStream()]);
  const st = streams[dir];
  let from = pkt.payloadOff;
  const end = pkt.payloadOff + pkt.payloadLen;
  if (st.nextSeq === STOPPED) return;
  if (st.nextSeq < 0) st.nextSeq = pkt.seq;
  const ahead = (pkt.seq - st.nextSeq) | 0;
  if (ahead > 0) {
    anomalies.add('dns_tcp_gap', `frame ${rec.frame}: ${ahead} bytes missing in a DNS-over-TCP stream; the rest of that direction is not read`);
    st.buf = Buffer.alloc(0);
    st.nextSeq = STOPPED;
    return;
  }
  from += -ahead;
  if (from >= end) return;
  st.nextSeq = (pkt.seq + pkt.payloadLen) >>> 0;
  st.buf = Buffer.concat([st.buf, rec.data.subarray(from, end)]);
  while (st.buf.length >= 2) {
    const len = st.buf.readUInt16BE(0);
    if (st.buf.length < 2 + len) break;
    const msg = st.buf.subarray(2, 2 + len);
    const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    dns.observe(pkt, 'tcp', dv, msg, 0, len, rec.frame, rec.tsSec, rec.tsNsec, t);
    st.buf = st.buf.subarray(2 + len);
  }
  if (st.buf.length > MAX_BUFFERED) st.buf = Buffer.alloc(0);
}
