/**
 * RFC 1071 one's-complement sum of the bytes [off, end) plus `sum`, folded to 16 bits.
 * One's-complement addition is addition modulo 65535 (2^16 ≡ 1), so a big-endian 32-bit word
 * hi·2^16 + lo adds the same as hi + lo: summing 32-bit words into a double (exact below 2^53)
 * and reducing once gives the RFC's result with half the loop iterations.
 */
export function onesSum(dv: DataView, u8: Uint8Array, off: number, end: number, sum: number): number {
  let s = sum;
  let i = off;
  for (const last = end - 3; i < last; i += 4) s += dv.getUint32(i);
  if (i + 1 < end) {
    s += dv.getUint16(i);
    i += 2;
  }
  if (i < end) s += u8[i] << 8;
  if (s === 0) return 0;
  const r = s % 65535;
  return r === 0 ? 0xffff : r;
}

/** Sum of the pseudo-header for TCP/UDP/ICMPv6 checksums. */
export function pseudoHeaderSum(version: number, src: Uint32Array, dst: Uint32Array, proto: number, length: number): number {
  let sum = proto + length;
  const words = version === 4 ? 1 : 4;
  for (let i = 0; i < words; i++) sum += src[i] + dst[i];
  return sum;
}
