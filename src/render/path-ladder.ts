import type { PathView, VantageClock } from '../vantage/correlate.js';
import type { PacketSummary } from '../vantage/packets.js';
import { TCP_FLAG } from '../decode/packet.js';
import { flagNames } from '../verdict/tcp-evidence.js';
import { dur } from '../verdict/format.js';
import type { FlowRecord } from '../verdict/types.js';
import { escapeTerminal } from './escape.js';
import { arrow, ladderHeading, verdictLines } from './ladder.js';

/** Width of one capture's column: its frame number and the TTL there. */
const COLUMN = 14;
/** At most this many packets of one connection are drawn. */
const MAX_ROWS = 500;

/**
 * `pcapdiag explain` on captures correlated as vantage points: the connection's packets from
 * every capture in one ladder, on the first capture's clock (each capture's offset, as the
 * correlation estimated it, applied and stated), a column per capture in path order from the
 * client with the packet's frame and TTL there, or ✗ where the capture ran and did not see it;
 * a packet lost after a point or made before one says between which. Then the verdict, evidence
 * and next checks as for one capture.
 */
export function renderPathLadder(r: FlowRecord, view: PathView, clocks: readonly VantageClock[], color: boolean): string {
  const paint = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const names = view.points.map((p) => clocks[p.cap]?.name ?? String(p.cap));
  const out: string[] = ladderHeading(r, paint);
  out.push(`seen along the path, client side first (${view.points.length} captures):`);
  view.points.forEach((p, i) => {
    const c = clocks[p.cap];
    const clock =
      c === undefined || c.method === 'reference'
        ? 'the reference clock'
        : c.method === 'none'
          ? 'its own clock (nothing matched to place it)'
          : `clock ${c.clockOffsetMs >= 0 ? '+' : ''}${c.clockOffsetMs} ms from ${escapeTerminal(clocks[0].name)}${c.via !== undefined ? ` via ${escapeTerminal(c.via)}` : ''}, applied`;
    out.push(`  [${i + 1}] ${escapeTerminal(names[i])}: ${p.flow === null ? 'none of its packets' : `${p.flow.packets.length} packets as ${escapeTerminal(p.flow.record.key)}`}; ${clock}`);
  });
  out.push('');
  const time = 12;
  const rails = ' '.repeat(time) + 'client' + ' '.repeat(28 - 6) + 'middle' + ' '.repeat(28 - 6) + 'server';
  out.push(paint(2, `${rails}  ${view.points.map((_, i) => `[${i + 1}]`.padEnd(COLUMN)).join('')}`.trimEnd()));
  const t0 = r.t * 1e9;
  for (const pp of view.packets.slice(0, MAX_ROWS)) {
    const any = pp.at.find((x): x is PacketSummary => x !== null);
    if (any === undefined) continue;
    const fromClient = pp.dir === 'to-server';
    const made = pp.made !== undefined;
    const step = { from: made ? ('middle' as const) : fromClient ? ('client' as const) : ('server' as const), to: fromClient ? ('server' as const) : ('client' as const), label: labelOf(any) };
    const rel = (pp.t - t0) / 1e9;
    const t = rel <= 0 ? '+0 s' : `+${dur(rel * 1e9)}`;
    const cells = pp.at.map((x, i) => (x !== null ? `#${x.frame} TTL ${x.ttl}` : pp.judged[i] ? '✗' : '·').padEnd(COLUMN)).join('');
    const note = pp.lost !== undefined ? `lost between [${pp.lost[0] + 1}] and [${pp.lost[1] + 1}]` : made && pp.made !== undefined ? `made between [${pp.made[0] + 1}] and [${pp.made[1] + 1}]` : '';
    const line = `${t.padStart(time - 1)} ${arrow(step)}  ${cells}${note}`.trimEnd();
    out.push(note !== '' ? paint(1, line) : line);
  }
  if (view.packets.length > MAX_ROWS) out.push(`  (${view.packets.length - MAX_ROWS} more packets not drawn)`);
  if (view.packets.length === 0) out.push('  (no packets of this flow found in its time span)');
  out.push(paint(2, '  ✗ the capture ran and did not see it · · the capture did not run then'));
  out.push(...verdictLines(r, [], paint));
  return out.join('\n') + '\n';
}

/** A packet's label on its arrow: TCP flags and payload length, or UDP and its length. */
function labelOf(p: PacketSummary): string {
  if (p.proto !== 6) return `UDP ${p.len}`;
  const flags = flagNames(p.flags) || 'none';
  return p.len > 0 && !(p.flags & TCP_FLAG.RST) ? `${flags} ${p.len}` : flags;
}
