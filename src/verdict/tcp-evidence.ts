import type { By } from './types.js';
import type { ClassifyContext } from './context.js';
import { S2C, TcpFlow } from '../flow/tcp.js';
import { TCP_FLAG } from '../decode/packet.js';
import { attributeServerPacket, Attribution } from './attribute.js';
import { macText, rel, ttlText } from './format.js';

/** What a rule's describe function returns: the verdict's explanation and its deciding packet. */
export interface Outcome {
  by: By;
  summary: string;
  evidence: string[];
  check: string;
  /** Frame that decided the verdict; 0 for none. */
  frame: number;
  /** MAC of the deciding packet or of the responder (-1 unknown). */
  mac: number;
}

export function outcome(by: By, summary: string, evidence: string[], check: string, frame: number, mac: number): Outcome {
  return { by, summary, evidence, check, frame, mac };
}

/** The SYN got a SYN-ACK. */
export const answered = (f: TcpFlow) => f.synAckT >= 0;


export const srv = (f: TcpFlow) => f.serverText;
export const host = (f: TcpFlow) => f.serverHostText;

export function synLine(f: TcpFlow): string {
  const t0 = f.synTimes[0] ?? f.firstT;
  if (f.synCount <= 1) return `SYN #${f.synFrames[0] ?? f.firstFrame} ${rel(t0 - f.firstT)}`;
  const frames = f.synFrames.map((x) => `#${x}`).join(' ');
  const times = f.synTimes.map((t) => rel(t - t0)).join(', ');
  const more = f.synCount > f.synTimes.length ? ` (first ${f.synTimes.length} shown)` : '';
  return `SYN sent ${f.synCount}× (${frames}) at ${times}${more}, same ISN`;
}

export function flagNames(flags: number): string {
  const n: string[] = [];
  if (flags & TCP_FLAG.SYN) n.push('SYN');
  if (flags & TCP_FLAG.RST) n.push('RST');
  if (flags & TCP_FLAG.FIN) n.push('FIN');
  if (flags & TCP_FLAG.PSH) n.push('PSH');
  if (flags & TCP_FLAG.ACK) n.push('ACK');
  return n.join('+');
}

/** "gateway <mac> = <vendor>" unless an earlier evidence line already names that MAC. */
export function macLine(c: ClassifyContext, mac: number, who: string, already: readonly string[] = []): string[] {
  if (mac < 0) return [];
  const text = macText(mac);
  if (already.some((l) => l.includes(text))) return [];
  return [`${c.hosts.isRouterMac(mac) ? 'gateway' : who} ${text}`];
}

export function rstLine(f: TcpFlow, after: string): string {
  const r = f.rst;
  const from = r.flags & TCP_FLAG.ACK && f.rstDir === S2C && f.sawSyn && !answered(f) && r.ack !== ((f.isn + 1) >>> 0) ? ' (its ACK does not match the SYN)' : '';
  return `${flagNames(r.flags)} #${r.frame} from the ${f.rstDir === S2C ? 'server side' : 'client'} ${after}, ${ttlText(r.ttl, f.version)}${from}`;
}

/** Attribution of the server-side RST, with its own and other connections' TTLs for comparison. */
export function attributeRst(f: TcpFlow, c: ClassifyContext): Attribution {
  const lastSyn = f.synTimes.length > 0 ? f.synTimes[f.synTimes.length - 1] : -1;
  const sinceSyn = !answered(f) && lastSyn >= 0 ? f.rst.t - lastSyn : -1;
  return attributeServerPacket(c, f.version, f.profile, f.rst.ttl, f.rst.mac, f.s.ttlMin, f.s.ttlMax, sinceSyn);
}
