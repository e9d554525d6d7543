// The benchmark's capture of a given size, written by generate.mjs on first use and kept in
// bench/out/, named after the generator's text (a changed generator writes new captures).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, 'out');

/** Packets in a capture, counted by pcapdiag's own reader (bench/reader-count.mjs). */
export function packetCount(file) {
  return Number(execFileSync(process.execPath, [join(here, 'reader-count.mjs'), file], { encoding: 'utf8' }).trim());
}

/** mix: 'bulk' (~23 packets a connection) or 'dense' (short connections, a DNS lookup before most). */
export function benchCapture(mb, mix = 'bulk') {
  mkdirSync(outDir, { recursive: true });
  const generator = createHash('sha256')
    .update(readFileSync(join(here, 'generate.mjs')))
    .digest('hex')
    .slice(0, 8);
  const f = join(outDir, `synthetic-${mix === 'bulk' ? '' : `${mix}-`}${mb}MB-${generator}.pcap`);
  if (!existsSync(f)) execFileSync(process.execPath, [join(here, 'generate.mjs'), f, String(mb), '--mix', mix], { stdio: 'inherit' });
  return f;
}
