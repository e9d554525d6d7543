import { flatten } from '../memory.js';

/**
 * Converts a 64-bit tick count (hi, lo as unsigned 32-bit halves) at `ticksPerSec` into
 * (seconds, nanoseconds) exactly, with no BigInt or Date: long division over 16-bit limbs
 * keeps every intermediate below 2^53 for ticksPerSec < 2^36.
 */
export function ticksToTime(hi: number, lo: number, ticksPerSec: number, out: { tsSec: number; tsNsec: number }): void {
  if (ticksPerSec === 1_000_000 && hi < 0x200000) {
    const ticks = hi * 4294967296 + lo;
    const sec = Math.floor(ticks / 1_000_000);
    out.tsSec = sec;
    out.tsNsec = (ticks - sec * 1_000_000) * 1000;
    return;
  }
  if (ticksPerSec >= 2 ** 36) {
    const ticks = (BigInt(hi) << 32n) | BigInt(lo);
    const u = BigInt(ticksPerSec);
    out.tsSec = Number(ticks / u);
    out.tsNsec = Number(((ticks % u) * 1_000_000_000n) / u);
    return;
  }
  const q1 = Math.floor(hi / ticksPerSec);
  const r1 = hi - q1 * ticksPerSec;
  const x = r1 * 65536 + (lo >>> 16);
  const q2 = Math.floor(x / ticksPerSec);
  const r2 = x - q2 * ticksPerSec;
  const y = r2 * 65536 + (lo & 0xffff);
  const q3 = Math.floor(y / ticksPerSec);
  const r3 = y - q3 * ticksPerSec;
  out.tsSec = q1 * 4294967296 + q2 * 65536 + q3;
  out.tsNsec = ticksPerSec === 1_000_000_000 ? r3 : Math.floor((r3 * 1_000_000_000) / ticksPerSec);
}

/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds: the years an ISO `start` can show in four digits. */
export const MIN_TS_SEC = -62167219200;
export const MAX_TS_SEC = 253402300799;

/**
 * Keeps a packet time within years 0000–9999 (a pcapng timestamp or `if_tsoffset` can put it
 * anywhere in ±2^63 s). Returns false when it had to move it. Besides the report's `start` strings,
 * this keeps every time difference an exact-enough double: at 2^60 s, `t + 1e9 === t` in
 * nanoseconds, and a sweep clock that can never advance one second sweeps on every packet.
 */
export function clampTime(rec: { tsSec: number; tsNsec: number }): boolean {
  if (rec.tsSec >= MIN_TS_SEC && rec.tsSec <= MAX_TS_SEC) return true;
  rec.tsSec = rec.tsSec < MIN_TS_SEC ? MIN_TS_SEC : MAX_TS_SEC;
  rec.tsNsec = 0;
  return false;
}

/** Nanoseconds from (aSec, aNsec) to (bSec, bNsec), as a double (exact for spans under ~104 days). */
export function diffNs(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return (bSec - aSec) * 1e9 + (bNsec - aNsec);
}

/**
 * ISO 8601 UTC with all nine fractional digits, e.g. 2026-11-22T03:50:01.123456789Z. Total for
 * any timestamp a capture can hold (years past 9999 or before 0 included): no Date involved.
 */
export function isoTime(sec: number, nsec: number): string {
  // records come in time order (ndjson writes a start for every one): the text up to the fraction
  // is kept for the last second, and the fraction joined to it flat, so each call makes one string
  // of 30 characters, not a rope of ten pieces that JSON.stringify then copied flat (440 bytes a record)
  if (sec !== lastSec) {
    lastSec = sec;
    lastSecText = secondText(sec);
  }
  if (!(nsec >= 0 && nsec < 1e9) || nsec !== Math.floor(nsec)) return `${lastSecText}${String(nsec).padStart(9, '0')}Z`;
  const p = timeParts;
  p[0] = lastSecText;
  p[1] = zerosBefore(nsec, 9);
  p[2] = nsec;
  const s = p.join('');
  p[0] = '';
  return s;
}

/** Runs of 0 to 8 zeros. */
const ZEROS: readonly string[] = Array.from({ length: 9 }, (_, i) => '0'.repeat(i));

/**
 * The zeros `String(n).padStart(width, '0')` puts before the digits of a whole number
 * 0 ≤ n < 10^width (width at most 9), without making the padded string: a fraction written as
 * pieces to be joined once (isoTime, the Wireshark filter's times).
 */
export function zerosBefore(n: number, width: number): string {
  let digits = 1;
  for (let x = 10; x <= n; x *= 10) digits++;
  return ZEROS[width - digits];
}

/** The second isoTime wrote last, and its text up to the fraction ("2026-11-22T03:50:01."). */
let lastSec = NaN;
let lastSecText = '';
/** The pieces isoTime joins: the second's text, zeros, the nanoseconds and the Z. */
const timeParts: (string | number)[] = ['', '', 0, 'Z'];

/** "2026-11-22T03:50:01.": the date and time of day of a second since the epoch, with the point after. */
function secondText(sec: number): string {
  const days = Math.floor(sec / 86400);
  const rem = sec - days * 86400;
  // Howard Hinnant's civil_from_days
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const year = y >= 0 && y <= 9999 ? String(y).padStart(4, '0') : y < 0 ? `-${String(-y).padStart(6, '0')}` : `+${String(y).padStart(6, '0')}`;
  const hh = Math.floor(rem / 3600);
  const mm = Math.floor((rem % 3600) / 60);
  const ss = rem % 60;
  return flatten(`${year}-${p2(m)}-${p2(d)}T${p2(hh)}:${p2(mm)}:${p2(ss)}.`);
}
