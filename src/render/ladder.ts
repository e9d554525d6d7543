import type { Step } from '../explain.js';
import { hostOf, portOf } from '../flow/addr.js';
import { endpointsText } from '../verdict/names.js';
import { HEALTHY, type FlowRecord } from '../verdict/types.js';
import { dur } from '../verdict/format.js';
import { gatewayOf } from '../verdict/facts.js';
import { escapeTerminal, shellWord } from './escape.js';

/** Width of the ladder between the client's and the server's rails. */
const WIDTH = 56;

/** One arrow across the ladder: client rail at 0, middle at WIDTH/2, server rail at WIDTH. */
export function arrow(s: Pick<Step, 'from' | 'to' | 'label'>): string {
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
 * gateway's MAC and vendor from the record's facts, or the record's MAC when no end host decided the
 * verdict (a middlebox's RST, a stall in the path). Null when the capture shows no box in the path.
 */
export function ladderBox(r: FlowRecord, steps: readonly Step[]): string | null {
  const router = steps.find((s) => s.router !== undefined)?.router;
  const gateway = gatewayOf(r);
  const mac = gateway ?? ((r.by === 'middlebox' || r.by === 'unknown') && r.mac !== undefined ? [r.mac, r.vendor].filter((x) => x !== undefined).join(' = ') : undefined);
  if (router === undefined && mac === undefined && r.by !== 'middlebox') return null;
  return `${router !== undefined ? ` ${router}` : ''}${mac !== undefined ? ` (${mac})` : ''}`;
}

/** The checks troubleshooting guides start with, filled in for this flow. */
export function nextChecks(r: FlowRecord, steps: readonly Step[]): string[] {
  const host = hostOf(r.server);
  const port = portOf(r.server);
  const out: string[] = [];
  if (r.proto === 'tcp') {
    out.push(`from the client: \`nc -zv ${host} ${port}\``, `on the server: \`ss -ltnp 'sport = :${port}'\` (is it listening, on which address?)`, `the path: \`traceroute -T -p ${port} ${host}\``);
    const middle = ladderBox(r, steps);
    if (middle !== null) out.push(`on the router or firewall${middle}: \`iptables -L -n -v\` / \`nft list ruleset\``);
    if (r.tls !== undefined) out.push(`TLS: \`openssl s_client -connect ${host}:${port} -servername ${shellWord(r.tls.sni ?? host)}\``);
  } else if (r.proto === 'dns') {
    out.push(`\`dig @${host} ${r.query === undefined ? '<name>' : shellWord(r.query)} ${r.qtype ?? 'A'}\``, `the resolver's logs and \`/etc/resolv.conf\` on the client`);
  } else if (r.proto === 'udp') {
    out.push(`on the server: \`ss -lunp 'sport = :${port}'\``, `on the router or firewall: \`iptables -L -n -v\` / \`nft list ruleset\``);
  } else if (r.proto === 'icmp') {
    out.push(`\`ping -c 3 ${host}\`, \`traceroute ${host}\``, `firewall ICMP rules: \`iptables -L -n -v\` / \`nft list ruleset\``);
  } else {
    out.push(`\`ip neigh show ${host}\` on the asker, \`arping ${host}\``, `the switch's MAC table for the port ${host} should be on`);
  }
  return out;
}

/**
 * `pcapdiag explain`: the flow's packets as a ladder between client, middle and server (the
 * deciding packet marked), then the verdict, the evidence behind it and the next checks.
 */
export function renderLadder(r: FlowRecord, steps: readonly Step[], color: boolean): string {
  const paint = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const out: string[] = ladderHeading(r, paint);
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
  out.push(...verdictLines(r, steps, paint));
  return out.join('\n') + '\n';
}

/** The ladder's heading: the flow and when it started. */
export function ladderHeading(r: FlowRecord, paint: (code: number, s: string) => string): string[] {
  return [
    paint(1, `#${r.id}  ${r.proto.toUpperCase()}  ${escapeTerminal(endpointsText(r))}`),
    `${r.start.replace('T', ' ').replace(/\d{3}Z$/, ' UTC')}, ${r.packets} packet${r.packets === 1 ? '' : 's'}${r.history !== undefined ? `, history ${r.history}` : ''}`,
  ];
}

/** What follows the ladder: the verdict, the evidence behind it, the next checks and the Wireshark filter. */
export function verdictLines(r: FlowRecord, steps: readonly Step[], paint: (code: number, s: string) => string): string[] {
  const out: string[] = [''];
  out.push(paint(HEALTHY.has(r.verdict) ? 32 : 31, `verdict: ${r.verdict}, by ${r.by}`));
  out.push(`  ${escapeTerminal(r.summary)}`);
  out.push('');
  out.push('why:');
  for (const e of r.evidence) out.push(`  · ${escapeTerminal(e)}`);
  out.push('');
  out.push('next checks:');
  if (r.check !== '') out.push(`  → ${escapeTerminal(r.check)}`);
  for (const c of nextChecks(r, steps)) out.push(`  → ${escapeTerminal(c)}`);
  if (r.wireshark !== undefined) {
    out.push('');
    out.push(`in Wireshark: ${r.wireshark}`);
  }
  return out;
}
