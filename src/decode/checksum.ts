/** RFC 1071 one's-complement sum of u8[off..end), folded to 16 bits, starting from `sum`. */
export function onesSum(u8: Uint8Array, off: number, end: number, sum: number): number {
  let i = off;
  const last = end - 1;
  for (; i < last; i += 2) sum += (u8[i] << 8) | u8[i + 1];
  if (i < end) sum += u8[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Sum of the pseudo-header for TCP/UDP/ICMPv6 checksums. */
export function pseudoHeaderSum(version: number, src: Uint32Array, dst: Uint32Array, proto: number, length: number): number {
  let sum = proto + (length & 0xffff) + (length >>> 16);
  const words = version === 4 ? 1 : 4;
  for (let i = 0; i < words; i++) {
    const a = src[i];
    const b = dst[i];
    sum += (a >>> 16) + (a & 0xffff) + (b >>> 16) + (b & 0xffff);
  }
  return sum;
}
