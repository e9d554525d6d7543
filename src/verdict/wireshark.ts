import { hostOf, portOf } from '../flow/addr.js';
import type { FlowRecord } from './types.js';

/**
 * A Wireshark / tshark display filter that selects a record's packets: both addresses (and
 * ports), what tells attempts on them apart (DNS id, echo identifier), and the flow's time span as
 * `frame.time_epoch`, so it holds in the capture, in a rotated set's parts, in a `mergecap` of
 * them and in a `--write-pcap` file alike (frame numbers would not). Wireshark matches `ip.addr`
 * and `tcp.port` in the packet an ICMP error quotes too, so the errors about the flow are in.
 */
export function wiresharkFilter(r: FlowRecord): string {
  const c = hostOf(r.client);
  const s = hostOf(r.server);
  const ip = c.includes(':') || s.includes(':') ? 'ipv6' : 'ip';
  const parts: string[] = [];
  if (r.proto === 'arp') {
    parts.push(ip === 'ip' ? `(arp.src.proto_ipv4==${s} || arp.dst.proto_ipv4==${s})` : `(icmpv6.nd.ns.target_address==${s} || icmpv6.nd.na.target_address==${s})`);
  } else {
    parts.push(`${ip}.addr==${c}`, `${ip}.addr==${s}`);
    const cPort = portOf(r.client);
    const sPort = portOf(r.server);
    const l4 = r.proto === 'dns' ? (r.transport ?? 'udp') : r.proto;
    if ((l4 === 'tcp' || l4 === 'udp') && cPort >= 0 && sPort >= 0) parts.push(cPort === sPort ? `${l4}.port==${cPort}` : `${l4}.port==${cPort} && ${l4}.port==${sPort}`);
    if (r.proto === 'dns') {
      const id = /\bid (0x[0-9a-f]+)\b/.exec(r.key);
      if (id !== null) parts.push(`dns.id==${id[1]}`);
    } else if (r.proto === 'icmp') {
      const id = /\bid (\d+)\b/.exec(r.key);
      parts.push(id === null ? (ip === 'ip' ? 'icmp' : 'icmpv6') : ip === 'ip' ? `icmp.ident==${id[1]}` : `icmpv6.echo.identifier==${id[1]}`);
    }
  }
  const span = epochSpan(r.start, r.duration);
  if (span !== null) parts.push(`frame.time_epoch>=${span[0]}`, `frame.time_epoch<=${span[1]}`);
  return parts.join(' && ');
}

/**
 * The record's span in seconds since the epoch, as decimal strings to the microsecond, widened by
 * a microsecond each side (Wireshark compares in nanoseconds; the record's duration is rounded to
 * the microsecond), and a second at the end for late ICMP errors, as explain reads them.
 */
function epochSpan(start: string, durationSec: number): [string, string] | null {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(start);
  const sec = m === null ? NaN : Date.parse(`${m[1]}Z`) / 1000;
  if (m === null || !Number.isFinite(sec)) return null;
  const us = Math.floor(Number(`0.${m[2] ?? '0'}`) * 1e6);
  const fromUs = sec * 1e6 + us - 1;
  const untilUs = fromUs + Math.ceil(durationSec * 1e6) + 2 + 1e6;
  return [usText(fromUs), usText(untilUs)];
}

function usText(us: number): string {
  const s = Math.floor(us / 1e6);
  return `${s}.${String(us - s * 1e6).padStart(6, '0')}`;
}
