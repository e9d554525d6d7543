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

/** Nanoseconds from (aSec, aNsec) to (bSec, bNsec), as a double (exact for spans under ~104 days). */
export function diffNs(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return (bSec - aSec) * 1e9 + (bNsec - aNsec);
}

/** ISO 8601 UTC with all nine fractional digits, e.g. 2026-11-22T03:50:01.123456789Z. */
export function isoTime(sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  const iso = d.toISOString(); // yyyy-mm-ddThh:mm:ss.000Z (whole seconds, exact)
  return `${iso.slice(0, 19)}.${String(nsec).padStart(9, '0')}Z`;
}
