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
  const decoder = new PacketDecoder();
  const pkt = new DecodedPacket();
  const flow = new FlowPackets(r);
  let base = -1;
  const steps: Step[] = [];
  await records((rec) => {
    const abs = rec.tsSec + rec.tsNsec / 1e9;
    if (base < 0) base = abs;
    const t = abs - base;
    if (t > flow.until + REORDER_SLACK_SEC || steps.length >= MAX_STEPS) return false;
    if (t < flow.from || t > flow.until) return true;
    decoder.decode(rec, pkt);
    const step = flow.match(pkt, rec.data);
    if (step !== null) steps.push({ ...step, frame: rec.frame, t: t - r.t });
    return true;
  });
  return steps;
}

/** A flow packetsOfFlows looks for: the record, its ends and time window, and the steps found. */
interface Wanted {
  r: FlowRecord;
  cHost: string;
  cPort: number;
  sHost: string;
  sPort: number;
  from: number;
  until: number;
  steps: Step[];
  /** Whether the deciding packet is among the steps (it is kept past maxSteps). */
  decided: boolean;
}

/**
 * The packets of many flows of one capture (the HTML report's ladders) in one read, the same way
 * packetsOf finds one flow's: each flow is looked up by its client and server (the addresses an
 * ICMP error quotes, an ARP or neighbour discovery target), then by its time window. Each flow
 * gets at most maxSteps packets, and its deciding packet whatever its place. The read stops once
 * past the last flow's window.
 */
export async function packetsOfFlows(read: (fn: (rec: CaptureRecord) => unknown) => Promise<unknown>, records: readonly FlowRecord[], maxSteps: number): Promise<Map<FlowRecord, Step[]>> {
  const decoder = new PacketDecoder();
  const pkt = new DecodedPacket();
  const index = new Map<string, Wanted[]>();
  /** The client ports of the wanted TCP/UDP flows: a packet with neither port is skipped before any text is made. */
  const clientPorts = new Uint8Array(65536);
  let last = -1;
  for (const r of records) {
    const w: Wanted = { r, cHost: hostOf(r.client), cPort: portOf(r.client), sHost: hostOf(r.server), sPort: portOf(r.server), from: r.t - 1e-6, until: r.t + r.duration + 1, steps: [], decided: r.frame === 0 };
    const key = r.proto === 'arp' ? `arp ${w.sHost}` : `${w.cHost} ${w.cPort} ${w.sHost} ${w.sPort}`;
    if (w.cPort >= 0) clientPorts[w.cPort] = 1;
    const list = index.get(key);
    if (list === undefined) index.set(key, [w]);
    else list.push(w);
    last = Math.max(last, w.until);
  }
  let base = -1;
  let u8: Uint8Array = new Uint8Array(0);
  const offer = (key: string, t: number, frame: number): void => {
    const list = index.get(key);
    if (list === undefined) return;
    for (const w of list) {
      if (t < w.from || t > w.until) continue;
      const full = w.steps.length >= maxSteps;
      if (full && (w.decided || frame !== w.r.frame)) continue;
      const step = match(pkt, u8, w.r, w.cHost, w.cPort, w.sHost, w.sPort);
      if (step === null) continue;
      w.steps.push({ ...step, frame, t: t - w.r.t });
      if (frame === w.r.frame) w.decided = true;
    }
  };
  await read((rec) => {
    const abs = rec.tsSec + rec.tsNsec / 1e9;
    if (base < 0) base = abs;
    const t = abs - base;
    if (t > last + REORDER_SLACK_SEC) return false;
    decoder.decode(rec, pkt);
    u8 = rec.data;
    if (pkt.l4 === L4.Arp) {
      offer(`arp ${formatIpv4(pkt.arpTargetIp)}`, t, rec.frame);
      if (pkt.arpSenderIp !== pkt.arpTargetIp) offer(`arp ${formatIpv4(pkt.arpSenderIp)}`, t, rec.frame);
      return true;
    }
    if (pkt.ipVersion === 0) return true;
    const isIcmp = pkt.l4 === L4.Icmp4 || pkt.l4 === L4.Icmp6;
    if ((pkt.l4 === L4.Tcp || pkt.l4 === L4.Udp) && clientPorts[pkt.srcPort] === 0 && clientPorts[pkt.dstPort] === 0) return true;
    if (pkt.l4 === L4.Icmp6 && (pkt.icmpType === ICMP6.NeighborSolicitation || pkt.icmpType === ICMP6.NeighborAdvertisement)) {
      offer(`arp ${formatAddr(6, pkt.ndTarget)}`, t, rec.frame);
      return true;
    }
    if (isIcmp && pkt.quoteVersion !== 0) {
      const qs = formatAddr(pkt.quoteVersion, pkt.quoteSrc);
      const qd = formatAddr(pkt.quoteVersion, pkt.quoteDst);
      if (pkt.quoteEchoId >= 0) offer(`${qs} -1 ${qd} -1`, t, rec.frame);
      else offer(`${qs} ${pkt.quoteSrcPort} ${qd} ${pkt.quoteDstPort}`, t, rec.frame);
      return true;
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
    return true;
  });
  const out = new Map<FlowRecord, Step[]>();
  for (const list of index.values()) for (const w of list) out.set(w.r, w.steps);
  return out;
}

type StepFacts = Omit<Step, 'frame' | 't'>;

/**
 * Which packets belong to a flow's record: its packets both ways and ICMP errors about it, within
 * [from, until] (seconds from the capture's first packet: the flow's span, and a second more for
 * late ICMP errors). Explain's ladder and --write-pcap read a capture again through it.
 */
export class FlowPackets {
  readonly from: number;
  readonly until: number;
  private readonly cHost: string;
  private readonly sHost: string;
  private readonly cPort: number;
  private readonly sPort: number;

  constructor(readonly r: FlowRecord) {
    this.cHost = hostOf(r.client);
    this.sHost = hostOf(r.server);
    this.cPort = portOf(r.client);
    this.sPort = portOf(r.server);
    this.from = r.t - 1e-6;
    this.until = r.t + r.duration + 1;
  }

  /** The packet as the ladder draws it, or null when it is not the flow's. */
  match(pkt: DecodedPacket, u8: Uint8Array): StepFacts | null {
    return match(pkt, u8, this.r, this.cHost, this.cPort, this.sHost, this.sPort);
  }
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
