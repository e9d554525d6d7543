import { IntMap } from '../flow/int-map.js';
import { hostEnd, hostOf } from '../flow/addr.js';

/** Set by ipv4At: the address it read, as a signed 32-bit word. */
let word = 0;

/**
 * Whether `text[from, to)` is an IPv4 address written as formatIpv4 writes it (four decimal
 * numbers up to 255, no leading zeros), read without making a string; its word is then in `word`.
 * Only that one way of writing: two texts give the same word exactly when they are the same text.
 */
function ipv4At(text: string, from: number, to: number): boolean {
  let w = 0;
  let parts = 0;
  let i = from;
  for (;;) {
    const start = i;
    let n = 0;
    for (; i < to; i++) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      n = n * 10 + c;
    }
    const digits = i - start;
    if (digits === 0 || n > 255 || (digits > 1 && text.charCodeAt(start) === 48) /* 0 */) return false;
    w = (w << 8) | n;
    if (++parts === 4) break;
    if (i >= to || text.charCodeAt(i) !== 46 /* . */) return false;
    i++;
  }
  if (i !== to) return false;
  word = w;
  return true;
}

/** The word of the IPv4 address `text[from, to)` written as formatIpv4 writes it (unsigned), or -1 when it is not one. */
export function ipv4Word(text: string, from: number, to: number): number {
  return ipv4At(text, from, to) ? word >>> 0 : -1;
}

/**
 * A map from address text to objects or names, for a table of many addresses looked up once per
 * record (the addresses DNS answers named, looked up for every TCP record on a dense capture, and
 * learnt from every answer: issue #20). The address is a range of a longer text (`A 10.0.2.5`,
 * `10.0.2.5:443`): an IPv4 one is read into a number and kept in an IntMap, with no string cut out
 * of the text, hashed and compared (a Map of 65,536 strings, out of cache); any other text is kept
 * in a Map by its text.
 */
export class AddressMap<T extends object | string> {
  private readonly v4 = new IntMap<T>();
  private readonly others = new Map<string, T>();

  get size(): number {
    return this.v4.size + this.others.size;
  }

  /** The entry of the address `text.slice(from, to)`. */
  get(text: string, from: number, to: number): T | undefined {
    if (ipv4At(text, from, to)) return this.v4.get(word);
    return this.others.get(from === 0 && to === text.length ? text : text.slice(from, to));
  }

  /**
   * The entry of the host of an endpoint or bare address (hostOf's), read where it is in the
   * text but for an IPv6 one in brackets.
   */
  getHost(endpoint: string): T | undefined {
    if (endpoint.charCodeAt(0) === 91 /* [ */) {
      const host = hostOf(endpoint);
      return this.get(host, 0, host.length);
    }
    return this.get(endpoint, 0, hostEnd(endpoint));
  }

  /** The entry of the IPv4 address of word `word` (ipv4Word's, unsigned). */
  getV4(word: number): T | undefined {
    return this.v4.get(word | 0);
  }

  /** Adds or replaces the entry of the address `text.slice(from, to)`. */
  set(text: string, from: number, to: number, value: T): void {
    if (ipv4At(text, from, to)) this.v4.set(word, value);
    else this.others.set(text.slice(from, to), value);
  }
}
