import type { CaptureRecord } from './capture/record.js';
import { PacketDecoder } from './decode/decode.js';
import { DecodedPacket, L4, TCP_FLAG } from './decode/packet.js';
import { formatAddr, formatIpv4, formatMac, hostOf, portOf } from './flow/addr.js';
import { HEALTHY, type FlowRecord } from './verdict/types.js';
import { flagNames } from './verdict/tcp-evidence.js';
import { icmpName } from './verdict/icmp.js';
import { ICMP4, ICMP6 } from './decode/enums.js';
import { readTcpOptions, TcpOptions } from './decode/tcp-options.js';

/** One packet of an explained flow, as the ladder draws it. */
export interface Step {
  frame: number;
  /** Seconds from the flow's start. */
  t: number;
  /** Who sent it (a box in the middle: an ICMP error from a router, a RST the verdict pins on one) and to whom. */
  from: 'client' | 'server' | 'middle';
  to: 'client' | 'server';
  label: string;
  len: number;
  ttl: number;
  /** Said after the packet's facts (an ICMP error's name, too long for the arrow). */
  note?: string;
  /** The sender's address, when it is a router's own (an ICMP error from the path). */
  router?: string;
}

/** At most this many packets of one flow are drawn. */
const MAX_STEPS = 500;
/** The second read stops this long past the flow's window, which tolerates packets written out of time order. */
const REORDER_SLACK_SEC = 10;

/**
 * Which flow `pcapdiag explain` explains: a flow id from the report (3 or #3), or host:port (the
 * first problem flow to or from it, else its first flow). Offered every record as it is decided.
 */
export class FlowSelector {
  private readonly id: number;
  private first: FlowRecord | null = null;
  private firstProblem: FlowRecord | null = null;

  constructor(readonly text: string) {
    const m = /^#?(\d+)$/.exec(text);
    this.id = m === null ? -1 : Number(m[1]);
  }

  offer(r: FlowRecord): void {
    if (this.id >= 0) {
      if (r.id === this.id) this.first = r;
      return;
    }
    if (r.server !== this.text && r.client !== this.text && hostOf(r.server) !== this.text) return;
    this.first ??= r;
    if (!HEALTHY.has(r.verdict)) this.firstProblem ??= r;
  }

  get found(): FlowRecord | null {
    return this.firstProblem ?? this.first;
  }
}

/**
 * The flow's packets, and ICMP errors about it, within its time span: a second read of its
 * capture, which stops once past the flow's end (plus a second for late ICMP errors).
 */
export async function packetsOf(records: (fn: (rec: CaptureRecord) => unknown) => Promise<unknown>, r: FlowRecord): Promise<Step[]> {
  return (await packetsOfFlows(records, [r], MAX_STEPS)).get(r) ?? [];
}

/**
 * The packets of many flows of one capture (the HTML report's ladders) in one read. Each flow
 * gets at most maxSteps packets, and its deciding packet whatever its place.
 */
export async function packetsOfFlows(read: (fn: (rec: CaptureRecord) => unknown) => Promise<unknown>, records: readonly FlowRecord[], maxSteps: number): Promise<Map<FlowRecord, Step[]>> {
  const out = new Map<FlowRecord, Step[]>();
  /** Flows still wanting packets: not full, or full without their deciding packet. */
  let open = records.length;
  const done = new Set<FlowRecord>();
  for (const r of records) out.set(r, []);
  const full = (r: FlowRecord, steps: readonly Step[]) => steps.length >= maxSteps && (r.frame === 0 || steps.some((x) => x.frame === r.frame));
  await forEachFlowPacket(
    (fn) => read((rec) => fn(rec, [])),
    records,
    (rec, _names, matches) => {
      for (const m of matches) {
        const steps = out.get(m.r);
        if (steps === undefined) continue;
        steps.push({ ...m.step, frame: rec.frame, t: m.t });
        if (!done.has(m.r) && full(m.r, steps)) {
          done.add(m.r);
          open--;
        }
      }
      // every flow has its packets: the rest of the capture need not be read
      return open > 0;
    },
    (r, frame) => (out.get(r)?.length ?? 0) < maxSteps || frame === r.frame,
  );
  return out;
}

/** One flow a packet belongs to: the record, the packet as its ladder draws it, seconds from the flow's start. */
export interface FlowMatch {
  r: FlowRecord;
  step: StepFacts;
  t: number;
}

/** A flow forEachFlowPacket looks for: the record, its ends and time window. */
interface Wanted {
  r: FlowRecord;
  cHost: string;
  cPort: number;
  sHost: string;
  sPort: number;
  from: number;
  until: number;
  /** The frame it last matched (a packet offered twice under one key is one step). */
  lastFrame: number;
}

/**
 * Reads a capture again for the packets of many of its flows (explain's ladder, the HTML report's
 * ladders, --write-pcap) in one pass: each flow is looked up by its client and server (the
 * addresses an ICMP error quotes, an ARP or neighbour discovery target), then by its time window
 * (its span, and a second more for late ICMP errors). `visit` gets each packet that belongs to at
 * least one of them, with the flows it belongs to (the array is reused: copy what you keep), and
 * may return false to end the read;
 * `wants`, when given, says whether a flow still wants a packet (checked before matching). The
 * read stops once past the last flow's window.
 */
export async function forEachFlowPacket(
  read: (fn: (rec: CaptureRecord, interfaceNames: readonly string[]) => unknown) => Promise<unknown>,
  records: readonly FlowRecord[],
  visit: (rec: CaptureRecord, interfaceNames: readonly string[], matches: readonly FlowMatch[]) => boolean,
  wants?: (r: FlowRecord, frame: number) => boolean,
): Promise<void> {
  if (records.length === 0) return;
  const decoder = new PacketDecoder();
  const pkt = new DecodedPacket();
  const index = new Map<string, Wanted[]>();
  /** The client ports of the wanted TCP/UDP flows: a packet with neither port is skipped before any text is made. */
  const clientPorts = new Uint8Array(65536);
  let last = -1;
  for (const r of records) {
    const w: Wanted = { r, cHost: hostOf(r.client), cPort: portOf(r.client), sHost: hostOf(r.server), sPort: portOf(r.server), from: r.t - 1e-6, until: r.t + r.duration + 1, lastFrame: -1 };
    const key = r.proto === 'arp' ? `arp ${w.sHost}` : `${w.cHost} ${w.cPort} ${w.sHost} ${w.sPort}`;
    if (w.cPort >= 0) clientPorts[w.cPort] = 1;
    const list = index.get(key);
    if (list === undefined) index.set(key, [w]);
    else list.push(w);
    last = Math.max(last, w.until);
  }
  let base = -1;
  let u8: Uint8Array = new Uint8Array(0);
  const matches: FlowMatch[] = [];
  const offer = (key: string, t: number, frame: number): void => {
    const list = index.get(key);
    if (list === undefined) return;
    for (const w of list) {
      if (t < w.from || t > w.until || w.lastFrame === frame) continue;
      if (wants !== undefined && !wants(w.r, frame)) continue;
      const step = match(pkt, u8, w.r, w.cHost, w.cPort, w.sHost, w.sPort);
      if (step === null) continue;
      w.lastFrame = frame;
      matches.push({ r: w.r, step, t: t - w.r.t });
    }
  };
  const offerAll = (rec: CaptureRecord, t: number): void => {
    if (pkt.l4 === L4.Arp) {
      offer(`arp ${formatIpv4(pkt.arpTargetIp)}`, t, rec.frame);
      if (pkt.arpSenderIp !== pkt.arpTargetIp) offer(`arp ${formatIpv4(pkt.arpSenderIp)}`, t, rec.frame);
      return;
    }
    if (pkt.ipVersion === 0) return;
    const isIcmp = pkt.l4 === L4.Icmp4 || pkt.l4 === L4.Icmp6;
    if ((pkt.l4 === L4.Tcp || pkt.l4 === L4.Udp) && clientPorts[pkt.srcPort] === 0 && clientPorts[pkt.dstPort] === 0) return;
    if (pkt.l4 === L4.Icmp6 && (pkt.icmpType === ICMP6.NeighborSolicitation || pkt.icmpType === ICMP6.NeighborAdvertisement)) {
      offer(`arp ${formatAddr(6, pkt.ndTarget)}`, t, rec.frame);
      return;
    }
    if (isIcmp && pkt.quoteVersion !== 0) {
      const qs = formatAddr(pkt.quoteVersion, pkt.quoteSrc);
      const qd = formatAddr(pkt.quoteVersion, pkt.quoteDst);
      if (pkt.quoteEchoId >= 0) offer(`${qs} -1 ${qd} -1`, t, rec.frame);
      else offer(`${qs} ${pkt.quoteSrcPort} ${qd} ${pkt.quoteDstPort}`, t, rec.frame);
      return;
    }
    const src = formatAddr(pkt.ipVersion, pkt.src);
    const dst = formatAddr(pkt.ipVersion, pkt.dst);
    if (isIcmp) {
      offer(`${src} -1 ${dst} -1`, t, rec.frame);
      offer(`${dst} -1 ${src} -1`, t, rec.frame);
    } else if (pkt.l4 === L4.Tcp || pkt.l4 === L4.Udp) {
      offer(`${src} ${pkt.srcPort} ${dst} ${pkt.dstPort}`, t, rec.frame);
      offer(`${dst} ${pkt.dstPort} ${src} ${pkt.srcPort}`, t, rec.frame);
    }
  };
  await read((rec, names) => {
    const abs = rec.tsSec + rec.tsNsec / 1e9;
    if (base < 0) base = abs;
    const t = abs - base;
    if (t > last + REORDER_SLACK_SEC) return false;
    decoder.decode(rec, pkt);
    u8 = rec.data;
    matches.length = 0;
    offerAll(rec, t);
    return matches.length === 0 || visit(rec, names, matches);
  });
}

type StepFacts = Omit<Step, 'frame' | 't'>;

const dnsIds = new WeakMap<FlowRecord, number>();

/** The DNS id in a lookup's key (`dns … udp id 0x1a2b #3`), -1 when it has none. */
function dnsIdOf(r: FlowRecord): number {
  let id = dnsIds.get(r);
  if (id === undefined) {
    const m = / id 0x([0-9a-f]{4}) /.exec(r.key);
    id = m === null ? -1 : parseInt(m[1], 16);
    dnsIds.set(r, id);
  }
  return id;
}

function match(pkt: DecodedPacket, u8: Uint8Array, r: FlowRecord, cHost: string, cPort: number, sHost: string, sPort: number): StepFacts | null {
  if (pkt.l4 === L4.Arp) {
    if (r.proto !== 'arp') return null;
    const target = formatIpv4(pkt.arpTargetIp);
    const sender = formatIpv4(pkt.arpSenderIp);
    if (target !== sHost && sender !== sHost) return null;
    const ask = pkt.arpOp === 1 && sender !== target;
    return { from: ask ? 'client' : 'server', to: ask ? 'server' : 'client', label: ask ? `ARP who-has ${target}` : `ARP ${sender} is-at ${formatMac(pkt.arpSenderMac)}`, len: 28, ttl: -1 };
  }
  if (pkt.ipVersion === 0) return null;
  if (r.proto === 'arp') {
    // IPv6 neighbour discovery: solicitation (135) asks, advertisement (136) claims the target
    if (pkt.l4 !== L4.Icmp6 || (pkt.icmpType !== ICMP6.NeighborSolicitation && pkt.icmpType !== ICMP6.NeighborAdvertisement) || formatAddr(6, pkt.ndTarget) !== sHost) return null;
    const ask = pkt.icmpType === ICMP6.NeighborSolicitation;
    return { from: ask ? 'client' : 'server', to: ask ? 'server' : 'client', label: ask ? `NS who-has ${sHost}` : `NA ${sHost} is-at ${formatMac(pkt.srcMac)}`, len: pkt.ipEnd - pkt.ipOff, ttl: pkt.ttl };
  }
  const src = formatAddr(pkt.ipVersion, pkt.src);
  const dst = formatAddr(pkt.ipVersion, pkt.dst);
  const isIcmp = pkt.l4 === L4.Icmp4 || pkt.l4 === L4.Icmp6;
  if (isIcmp && pkt.quoteVersion !== 0) {
    const qs = formatAddr(pkt.quoteVersion, pkt.quoteSrc);
    const qd = formatAddr(pkt.quoteVersion, pkt.quoteDst);
    const ours = qs === cHost && qd === sHost && (sPort < 0 || (pkt.quoteSrcPort === cPort && pkt.quoteDstPort === sPort) || pkt.quoteEchoId >= 0);
    if (!ours) return null;
    const name = icmpName({ version: pkt.ipVersion, type: pkt.icmpType, code: pkt.icmpCode });
    const step: StepFacts = { from: src === sHost ? 'server' : 'middle', to: 'client', label: `ICMP ${pkt.icmpType}/${pkt.icmpCode}`, len: pkt.ipEnd - pkt.ipOff, ttl: pkt.ttl, note: `${name} from ${src}` };
    if (step.from === 'middle') step.router = src;
    return step;
  }
  let dir: 'client' | 'server';
  if (src === cHost && dst === sHost) dir = 'client';
  else if (src === sHost && dst === cHost) dir = 'server';
  else return null;
  if (r.proto === 'icmp') {
    if (!isIcmp || pkt.icmpId < 0) return null;
    const reply = pkt.icmpType === ICMP4.EchoReply || pkt.icmpType === ICMP6.EchoReply;
    return { from: dir, to: dir === 'client' ? 'server' : 'client', label: `echo ${reply ? 'reply' : 'request'} seq ${pkt.icmpSeq}`, len: pkt.ipEnd - pkt.ipOff, ttl: pkt.ttl };
  }
  if (pkt.l4 !== L4.Tcp && pkt.l4 !== L4.Udp) return null;
  const sp = dir === 'client' ? pkt.srcPort : pkt.dstPort;
  const dp = dir === 'client' ? pkt.dstPort : pkt.srcPort;
  if (sp !== cPort || dp !== sPort) return null;
  // a stub resolver asks A and AAAA from one socket: a lookup's datagrams are those with its id
  if (r.proto === 'dns' && pkt.l4 === L4.Udp && pkt.payloadLen >= 2) {
    const id = dnsIdOf(r);
    if (id >= 0 && ((u8[pkt.payloadOff] << 8) | u8[pkt.payloadOff + 1]) !== id) return null;
  }
  const label = pkt.l4 === L4.Tcp ? (flagNames(pkt.tcpFlags) || 'none') + (pkt.tcpFlags & TCP_FLAG.RST || pkt.window !== 0 ? '' : ' win 0') : 'UDP';
  // a packet from the server's side that the verdict pins on a box in the middle is drawn from there
  const middle = dir === 'server' && r.by === 'middlebox' && pkt.tcpFlags & TCP_FLAG.RST;
  const step: StepFacts = { from: middle ? 'middle' : dir, to: dir === 'client' ? 'server' : 'client', label, len: pkt.payloadWireLen, ttl: pkt.ttl };
  if (pkt.l4 === L4.Tcp && pkt.tcpFlags & TCP_FLAG.SYN) {
    const note = synOptionsNote(pkt, u8);
    if (note !== '') step.note = note;
  }
  return step;
}

/** "MSS 1460, wscale 7, SACK, TS": what a SYN or SYN-ACK offers, for its ladder line. */
function synOptionsNote(pkt: DecodedPacket, u8: Uint8Array): string {
  const o = new TcpOptions();
  if (pkt.payloadOff - pkt.l4Off <= 20) return '';
  readTcpOptions(u8, pkt.l4Off, pkt.payloadOff, o);
  const parts: string[] = [];
  if (o.mss >= 0) parts.push(`MSS ${o.mss}`);
  if (o.wscale >= 0) parts.push(`wscale ${o.wscale}`);
  if (o.sackOk) parts.push('SACK');
  if (o.timestamps) parts.push('TS');
  return parts.join(', ');
}
