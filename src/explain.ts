import { Command, CommanderError } from 'commander';
import { analyzeSource, DEFAULT_OPTIONS } from './analyze.js';
import { openCapture } from './capture/source.js';
import { UsageError } from './errors.js';
import type { CaptureRecord } from './capture/record.js';
import { forEachRecord } from './capture/reader.js';
import { PacketDecoder } from './decode/decode.js';
import { DecodedPacket, L4, TCP_FLAG } from './decode/packet.js';
import { formatAddr, formatIpv4, formatMac, hostOf, portOf } from './flow/addr.js';
import { endpointsText } from './verdict/names.js';
import { HEALTHY, type FlowRecord } from './verdict/types.js';
import { flagNames } from './verdict/tcp-evidence.js';
import { dur } from './verdict/format.js';
import { escapeTerminal } from './render/escape.js';
import { icmpName } from './verdict/icmp.js';

/** One packet of the explained flow, as the ladder draws it. */
interface Step {
  frame: number;
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

/** Width of the ladder between the client's and the server's rails. */
const WIDTH = 56;

/** `pcapdiag explain CAPTURE SELECTOR`: one flow's packets as a ladder, its verdict, the reasoning and what to check next. */
export async function explainMain(argv: string[], color: boolean): Promise<string> {
  const cmd = new Command('pcapdiag explain')
    .description('explain one flow: its packets as a ladder diagram, the verdict, the reasoning and the next checks')
    .argument('<capture>', 'a pcap or pcapng file')
    .argument('<selector>', "a flow id from the report (3 or #3), or the server (or client) as host:port, e.g. 10.0.2.20:443")
    .option('--no-color', 'no ANSI colours')
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: (s) => process.stdout.write(s) });
  let capture = '';
  let selector = '';
  try {
    cmd.parse(argv, { from: 'user' });
    [capture, selector] = cmd.args;
  } catch (e) {
    if (e instanceof CommanderError && (e.code === 'commander.helpDisplayed' || e.code === 'commander.help')) return '';
    throw new UsageError(e instanceof Error ? e.message.replace(/^error: /, '') : String(e));
  }
  if (capture === '-') throw new UsageError('explain reads the capture twice: give a file, not stdin');
  const paint = (code: number, s: string) => (color && cmd.opts().color !== false ? `\x1b[${code}m${s}\x1b[0m` : s);

  const source = await openCapture(capture);
  const report = await analyzeSource(source, DEFAULT_OPTIONS, { keep: 'all' }).finally(() => source.close());
  const r = pick(report.records, selector);
  if (r === null) throw new UsageError(`no flow matches '${selector}' in ${capture} (${report.records.length} flows; use an id from the report or host:port)`);
  const steps = await collect(capture, r);
  return render(r, steps, paint);
}

function pick(records: readonly FlowRecord[], selector: string): FlowRecord | null {
  const id = /^#?(\d+)$/.exec(selector);
  if (id !== null) return records.find((r) => r.id === Number(id[1])) ?? null;
  const problem = (r: FlowRecord) => !HEALTHY.has(r.verdict);
  const matches = records.filter((r) => r.server === selector || r.client === selector || hostOf(r.server) === selector);
  return matches.find(problem) ?? matches[0] ?? null;
}

/** Second pass: the flow's packets, and ICMP errors about it, within its time span. */
async function collect(capture: string, r: FlowRecord): Promise<Step[]> {
  const decoder = new PacketDecoder();
  const pkt = new DecodedPacket();
  const cHost = hostOf(r.client);
  const sHost = hostOf(r.server);
  const cPort = portOf(r.client);
  const sPort = portOf(r.server);
  let base = -1;
  const from = r.t - 1e-6;
  const until = r.t + r.duration + 1;
  const steps: Step[] = [];
  const visit = (rec: CaptureRecord) => {
    const abs = rec.tsSec + rec.tsNsec / 1e9;
    if (base < 0) base = abs;
    const t = abs - base;
    if (t < from || t > until || steps.length >= 500) return;
    decoder.decode(rec, pkt);
    const step = match(pkt, r, cHost, cPort, sHost, sPort);
    if (step !== null) steps.push({ ...step, frame: rec.frame, t: t - r.t });
  };
  const source = await openCapture(capture);
  try {
    await forEachRecord(source, visit);
  } finally {
    source.close();
  }
  return steps;
}

type StepFacts = Omit<Step, 'frame' | 't'>;

function match(pkt: DecodedPacket, r: FlowRecord, cHost: string, cPort: number, sHost: string, sPort: number): StepFacts | null {
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
    if (pkt.l4 !== L4.Icmp6 || (pkt.icmpType !== 135 && pkt.icmpType !== 136) || formatAddr(6, pkt.ndTarget) !== sHost) return null;
    const ask = pkt.icmpType === 135;
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
    const reply = pkt.icmpType === 0 || pkt.icmpType === 129;
    return { from: dir, to: dir === 'client' ? 'server' : 'client', label: `echo ${reply ? 'reply' : 'request'} seq ${pkt.icmpSeq}`, len: pkt.ipEnd - pkt.ipOff, ttl: pkt.ttl };
  }
  if (pkt.l4 !== L4.Tcp && pkt.l4 !== L4.Udp) return null;
  const sp = dir === 'client' ? pkt.srcPort : pkt.dstPort;
  const dp = dir === 'client' ? pkt.dstPort : pkt.srcPort;
  if (sp !== cPort || dp !== sPort) return null;
  const label = pkt.l4 === L4.Tcp ? (flagNames(pkt.tcpFlags) || 'none') + (pkt.tcpFlags & TCP_FLAG.RST || pkt.window !== 0 ? '' : ' win 0') : 'UDP';
  // a packet from the server's side that the verdict pins on a box in the middle is drawn from there
  const middle = dir === 'server' && r.by === 'middlebox' && pkt.tcpFlags & TCP_FLAG.RST;
  return { from: middle ? 'middle' : dir, to: dir === 'client' ? 'server' : 'client', label, len: pkt.payloadWireLen, ttl: pkt.ttl };
}

/** One arrow across the ladder: client rail at 0, middle at WIDTH/2, server rail at WIDTH. */
function arrow(s: Step): string {
  const mid = WIDTH / 2;
  const cells = Array<string>(WIDTH + 1).fill(' ');
  cells[0] = '│';
  cells[WIDTH] = '│';
  const [a, b] = s.from === 'client' ? [0, WIDTH] : s.from === 'server' ? [WIDTH, 0] : [mid, s.to === 'client' ? 0 : WIDTH];
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  for (let i = lo + 1; i < hi; i++) cells[i] = '─';
  if (s.from === 'middle') cells[mid] = '┼';
  if (b > a) cells[hi - 1] = '▶';
  else cells[lo + 1] = '◀';
  const text = ` ${s.label} `;
  const start = Math.max(lo + 2, Math.floor((lo + hi - text.length) / 2));
  for (let i = 0; i < text.length && start + i < hi - 1; i++) cells[start + i] = text[i];
  return cells.join('');
}

/**
 * The box in the path, as the capture names it: the address its ICMP errors came from, and the
 * gateway's MAC and vendor from the evidence, or the record's MAC when no end host decided the
 * verdict (a middlebox's RST, a stall in the path). Null when the capture shows no box in the path.
 */
function box(r: FlowRecord, steps: readonly Step[]): string | null {
  const router = steps.find((s) => s.router !== undefined)?.router;
  const gateway = r.evidence.map((e) => /^gateway (.+)$/.exec(e)?.[1]).find((m) => m !== undefined);
  const mac = gateway ?? ((r.by === 'middlebox' || r.by === 'unknown') && r.mac !== undefined ? [r.mac, r.vendor].filter((x) => x !== undefined).join(' = ') : undefined);
  if (router === undefined && mac === undefined && r.by !== 'middlebox') return null;
  return `${router !== undefined ? ` ${router}` : ''}${mac !== undefined ? ` (${mac})` : ''}`;
}

/** The checks troubleshooting guides start with, filled in for this flow. */
function nextChecks(r: FlowRecord, steps: readonly Step[]): string[] {
  const host = hostOf(r.server);
  const port = portOf(r.server);
  const out: string[] = [];
  if (r.proto === 'tcp') {
    out.push(`from the client: \`nc -zv ${host} ${port}\``, `on the server: \`ss -ltnp 'sport = :${port}'\` (is it listening, on which address?)`,
      `the path: \`traceroute -T -p ${port} ${host}\``);
    const middle = box(r, steps);
    if (middle !== null) out.push(`on the router or firewall${middle}: \`iptables -L -n -v\` / \`nft list ruleset\``);
    if (r.tls !== undefined) out.push(`TLS: \`openssl s_client -connect ${host}:${port} -servername ${r.tls.sni ?? host}\``);
  } else if (r.proto === 'dns') {
    out.push(`\`dig @${host} ${r.query ?? '<name>'} ${r.qtype ?? 'A'}\``, `the resolver's logs and \`/etc/resolv.conf\` on the client`);
  } else if (r.proto === 'udp') {
    out.push(`on the server: \`ss -lunp 'sport = :${port}'\``, `on the router or firewall: \`iptables -L -n -v\` / \`nft list ruleset\``);
  } else if (r.proto === 'icmp') {
    out.push(`\`ping -c 3 ${host}\`, \`traceroute ${host}\``, `firewall ICMP rules: \`iptables -L -n -v\` / \`nft list ruleset\``);
  } else {
    out.push(`\`ip neigh show ${host}\` on the asker, \`arping ${host}\``, `the switch's MAC table for the port ${host} should be on`);
  }
  return out;
}

function render(r: FlowRecord, steps: readonly Step[], paint: (c: number, s: string) => string): string {
  const out: string[] = [];
  out.push(paint(1, `#${r.id}  ${r.proto.toUpperCase()}  ${escapeTerminal(endpointsText(r))}`));
  out.push(`${r.start.replace('T', ' ').replace(/\d{3}Z$/, ' UTC')}, ${r.packets} packet${r.packets === 1 ? '' : 's'}${r.history !== undefined ? `, history ${r.history}` : ''}`);
  out.push('');
  const time = 12;
  const rails = ' '.repeat(time) + 'client' + ' '.repeat(WIDTH / 2 - 6) + 'middle' + ' '.repeat(WIDTH / 2 - 6) + 'server';
  out.push(paint(2, rails));
  for (const s of steps) {
    const t = s.t <= 0 ? '+0 s' : `+${dur(s.t * 1e9)}`;
    const decides = s.frame === r.frame;
    const info = `#${s.frame}${s.len >= 0 ? ` len ${s.len}` : ''}${s.ttl >= 0 ? ` TTL ${s.ttl}` : ''}`;
    const line = `${t.padStart(time - 1)} ${arrow(s)}  ${info}${s.note !== undefined ? `  ${s.note}` : ''}${decides ? '  ◀ decides' : ''}`;
    out.push(decides ? paint(1, line) : line);
  }
  if (steps.length === 0) out.push('  (no packets of this flow found in its time span)');
  out.push('');
  out.push(paint(HEALTHY.has(r.verdict) ? 32 : 31, `verdict: ${r.verdict}, by ${r.by}`));
  out.push(`  ${escapeTerminal(r.summary)}`);
  out.push('');
  out.push('why:');
  for (const e of r.evidence) out.push(`  · ${escapeTerminal(e)}`);
  out.push('');
  out.push('next checks:');
  if (r.check !== '') out.push(`  → ${escapeTerminal(r.check)}`);
  for (const c of nextChecks(r, steps)) out.push(`  → ${escapeTerminal(c)}`);
  return out.join('\n') + '\n';
}
