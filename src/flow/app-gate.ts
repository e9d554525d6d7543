import type { CaptureRecord } from '../capture/record.js';
import { TCP_FLAG, type DecodedPacket } from '../decode/packet.js';
import { APP, AppSniffer, neitherTlsNorHttp } from './app.js';
import type { TcpFlow } from './tcp.js';
import type { CertChecks } from '../decode/x509.js';

/**
 * TLS or HTTP in a connection's first bytes, for a packet with payload of a connection whose
 * `appDone` is false. Only connections seen from their SYN are sniffed; one whose first payload
 * is neither TLS nor HTTP, or whose sniffer has seen enough, is marked `appDone` and not looked
 * at again (a sniffer that found neither is dropped).
 */
export function sniffApp(f: TcpFlow, dir: number, pkt: DecodedPacket, rec: CaptureRecord, t: number, checks: CertChecks): void {
  if (!f.sawSyn || (pkt.tcpFlags & TCP_FLAG.RST) !== 0) {
    f.appDone = !f.sawSyn;
    return;
  }
  const off = pkt.payloadOff;
  const end = off + pkt.payloadLen;
  if (f.app === null && neitherTlsNorHttp(rec.data, off, end, dir)) {
    f.appDone = true;
    return;
  }
  const payload = rec.data.subarray(off, end);
  const app = (f.app ??= new AppSniffer());
  app.feed(dir, pkt.seq, payload, pkt.payloadLen === pkt.payloadWireLen, rec.frame, t, checks);
  if (app.done) {
    f.appDone = true;
    if (app.kind === APP.Other) f.app = null;
  }
}
