import type { FlowRecord } from './types.js';
import type { TcpFlow } from '../flow/tcp.js';
import type { DnsTxn } from '../flow/dns.js';
import type { EchoFlow } from '../flow/echo.js';
import { flatten } from '../memory.js';

/*
 * A record's stable key (FlowRecord.key): its protocol, client and server (address:port, so with
 * the protocol the 5-tuple), what tells attempts on the same 5-tuple apart, and its first frame:
 *
 *   tcp  <client> <server> isn <client's ISN, or - when its SYN was not captured> #<first frame>
 *   dns  <client> <server> <udp|tcp> id 0x<query id, 4 hex digits> #<first frame>
 *   udp  <client> <server> #<first frame>
 *   icmp <client> <server> id <echo identifier> #<first frame>
 *   arp  <asker> <target> who-has #<first request's frame>          (arp-no-reply)
 *   arp  <asker, or the first MAC> <address> conflict #<first claim's frame>   (arp-conflict)
 *
 * e.g. `tcp 10.0.1.10:53600 10.0.2.20:83 isn 12345 #13`. It depends only on the capture, never on
 * --filter, the output format or the other captures of the run (unlike `id`, which counts on
 * over several captures), so it names a flow across runs of the same capture. No two records of
 * one capture share a key: a first frame starts at most one flow of a 5-tuple (and one DNS
 * transaction per id). It is built only for records that are described; a record that is only
 * counted has key ''.
 */

/** `tcp <client> <server> isn <n|-> #<first frame>`; a health-check keeps its connection's key. */
export function tcpKey(r: FlowRecord, f: TcpFlow): string {
  // flat: a record waits in its sweep's batch until it is written, long enough on a busy capture to
  // be promoted, and a key of nine pieces weighs four times its flat text (see flatten)
  return flatten(`tcp ${r.client} ${r.server} isn ${f.sawSyn ? f.isn >>> 0 : '-'} #${r.firstFrame}`);
}

/** `dns <client> <server> <transport> id 0x<id> #<first frame>` */
export function dnsKey(r: FlowRecord, d: DnsTxn): string {
  // flat, as tcpKey's
  return flatten(`dns ${r.client} ${r.server} ${d.transport} id 0x${d.id.toString(16).padStart(4, '0')} #${r.firstFrame}`);
}

/** `udp <client> <server> #<first frame>` */
export function udpKey(r: FlowRecord): string {
  return `udp ${r.client} ${r.server} #${r.firstFrame}`;
}

/** `icmp <client> <server> id <echo id> #<first frame>` */
export function echoKey(r: FlowRecord, f: EchoFlow): string {
  return `icmp ${r.client} ${r.server} id ${f.id} #${r.firstFrame}`;
}

/** `arp <asker> <target> who-has|conflict #<first frame>` */
export function neighborKey(r: FlowRecord, what: 'who-has' | 'conflict'): string {
  return `arp ${r.client} ${r.server} ${what} #${r.firstFrame}`;
}
