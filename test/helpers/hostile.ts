/**
 * A capture whose packet-derived text is hostile to an HTML page: DNS names and a TLS SNI that
 * hold markup (<script>, <svg onload>), quotes and control characters (BEL, ESC sequences). Built
 * byte by byte: a lookup answered NXDOMAIN, a lookup that names the server, and a TLS connection
 * to it whose ClientHello the server answers with a RST.
 */
import { ethernet, ipv4, pcap, tcp, udp, u16, u32, FLAGS, CLIENT_MAC, GW_MAC, type Rec } from './build.js';

const CLIENT = '10.0.1.10';
const RESOLVER = '10.0.2.53';
const SERVER = '10.0.2.20';

/** Labels as raw bytes (latin1), so markup, quotes and control characters go on the wire as they are. */
function qname(labels: string[]): Buffer {
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

function dns(id: number, response: boolean, rcode: number, name: Buffer, answer?: string): Buffer {
  const flags = response ? 0x8180 | rcode : 0x0100;
  const head = Buffer.concat([u16(id), u16(flags), u16(1), u16(answer === undefined ? 0 : 1), u16(0), u16(0)]);
  const question = Buffer.concat([name, u16(1), u16(1)]);
  const rr = answer === undefined ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0xc0, 12]), u16(1), u16(1), u32(60), u16(4), Buffer.from(answer.split('.').map(Number))]);
  return Buffer.concat([head, question, rr]);
}

function udpFrame(src: string, dst: string, sport: number, dport: number, payload: Buffer): Buffer {
  const toClient = dst === CLIENT;
  return ethernet(toClient ? CLIENT_MAC : GW_MAC, toClient ? GW_MAC : CLIENT_MAC, 0x0800, ipv4({ src, dst, proto: 17, ttl: toClient ? 63 : 64 }, udp(sport, dport, payload)));
}

function tcpFrame(toServer: boolean, o: Parameters<typeof tcp>[0], payload?: Buffer): Buffer {
  const ip = ipv4({ src: toServer ? CLIENT : SERVER, dst: toServer ? SERVER : CLIENT, proto: 6, ttl: toServer ? 64 : 63 }, tcp(o, payload));
  return ethernet(toServer ? GW_MAC : CLIENT_MAC, toServer ? CLIENT_MAC : GW_MAC, 0x0800, ip);
}

/** A TLS 1.2 ClientHello record carrying this server name. */
function clientHello(sni: string): Buffer {
  const name = Buffer.from(sni, 'latin1');
  const sniList = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
  const ext = Buffer.concat([u16(0), u16(sniList.length + 2), u16(sniList.length), sniList]);
  const body = Buffer.concat([u16(0x0303), Buffer.alloc(32, 7), Buffer.from([0]), u16(2), u16(0x002f), Buffer.from([1, 0]), u16(ext.length), ext]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 255]), body]);
  return Buffer.concat([Buffer.from([22, 3, 1]), u16(hs.length), hs]);
}

/** The hostile strings as they go on the wire. */
export const HOSTILE = {
  nxName: ['<script>alert("nx")<', "/script>'\x07\x1b[2J", 'test'],
  serverName: ['<svg onload=alert(1)>"', 'test'],
  sni: "\"><script>alert('sni')</script>\x07\x1b]0;pwned\x07<b>",
} as const;

export function hostileCapture(): Buffer {
  const recs: Rec[] = [];
  let t = 0;
  const at = (data: Buffer) => {
    t += 0.01;
    recs.push({ sec: 1_764_000_000 + Math.floor(t), frac: Math.round((t % 1) * 1e6), data });
  };
  const nx = qname([...HOSTILE.nxName]);
  at(udpFrame(CLIENT, RESOLVER, 40001, 53, dns(0x1111, false, 0, nx)));
  at(udpFrame(RESOLVER, CLIENT, 53, 40001, dns(0x1111, true, 3, nx)));
  const named = qname([...HOSTILE.serverName]);
  at(udpFrame(CLIENT, RESOLVER, 40002, 53, dns(0x2222, false, 0, named)));
  at(udpFrame(RESOLVER, CLIENT, 53, 40002, dns(0x2222, true, 0, named, SERVER)));
  const isn = 1000;
  const sisn = 5000;
  at(tcpFrame(true, { sport: 40100, dport: 443, seq: isn, flags: FLAGS.SYN }));
  at(tcpFrame(false, { sport: 443, dport: 40100, seq: sisn, ack: isn + 1, flags: FLAGS.SYN | FLAGS.ACK }));
  at(tcpFrame(true, { sport: 40100, dport: 443, seq: isn + 1, ack: sisn + 1, flags: FLAGS.ACK }));
  const hello = clientHello(HOSTILE.sni);
  at(tcpFrame(true, { sport: 40100, dport: 443, seq: isn + 1, ack: sisn + 1, flags: FLAGS.ACK | FLAGS.PSH }, hello));
  at(tcpFrame(false, { sport: 443, dport: 40100, seq: sisn + 1, ack: isn + 1 + hello.length, flags: FLAGS.RST | FLAGS.ACK }));
  return pcap(recs);
}
