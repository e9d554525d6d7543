import { hostOf, portOf } from '../flow/addr.js';
import { zerosBefore } from '../capture/time.js';
import type { FlowRecord } from './types.js';

/**
 * A Wireshark / tshark display filter that selects a record's packets: both addresses (and
 * ports), what tells attempts on them apart (DNS id, echo identifier), and the flow's time span as
 * `frame.time_epoch`, so it holds in the capture, in a rotated set's parts, in a `mergecap` of
 * them and in a `--write-pcap` file alike (frame numbers would not). Wireshark matches `ip.addr`
 * and `tcp.port` in the packet an ICMP error quotes too, so the errors about the flow are in.
 */
export function wiresharkFilter(r: FlowRecord): string {
  // without regexes, and one Date.parse a second: ndjson writes it for every record. Its pieces
  // are joined once into a flat string: built with `+`, it was a rope of about 25 pieces (800 bytes
  // a record, 8 % of an ndjson run's allocation on the dense benchmark capture), which
  // JSON.stringify then copied flat anyway
  const p = pieces;
  const c = hostOf(r.client);
  const s = hostOf(r.server);
  const ip = c.includes(':') || s.includes(':') ? 'ipv6' : 'ip';
  if (r.proto === 'arp') {
    if (ip === 'ip') p.add('(arp.src.proto_ipv4==').add(s).add(' || arp.dst.proto_ipv4==').add(s).add(')');
    else p.add('(icmpv6.nd.ns.target_address==').add(s).add(' || icmpv6.nd.na.target_address==').add(s).add(')');
  } else {
    p.add(ip).add('.addr==').add(c).add(' && ').add(ip).add('.addr==').add(s);
    const cPort = portOf(r.client);
    const sPort = portOf(r.server);
    const l4 = r.proto === 'dns' ? (r.transport ?? 'udp') : r.proto;
    if ((l4 === 'tcp' || l4 === 'udp') && cPort >= 0 && sPort >= 0) {
      p.add(' && ').add(l4).add('.port==').add(cPort);
      if (cPort !== sPort) p.add(' && ').add(l4).add('.port==').add(sPort);
    }
    if (r.proto === 'dns') {
      const id = keyWord(r.key, true);
      if (id !== null) p.add(' && dns.id==').add(id);
    } else if (r.proto === 'icmp') {
      const id = keyWord(r.key, false);
      if (id === null) p.add(ip === 'ip' ? ' && icmp' : ' && icmpv6');
      else p.add(ip === 'ip' ? ' && icmp.ident==' : ' && icmpv6.echo.identifier==').add(id);
    }
  }
  const from = epochFromUs(r.start);
  if (from !== null) {
    p.add(' && frame.time_epoch>=');
    addUs(p, from);
    p.add(' && frame.time_epoch<=');
    addUs(p, from + Math.ceil(r.duration * 1e6) + 2 + 1e6);
  }
  return p.join();
}

/**
 * The pieces of the filter being written (27 at most), in one array for every call, of a fixed length: one
 * emptied by `length = 0` gave up its store, and each call grew a new one (28 MB of allocation).
 */
class Pieces {
  private readonly a: (string | number)[] = new Array<string>(32).fill('');
  private n = 0;
  add(x: string | number): this {
    this.a[this.n++] = x;
    return this;
  }
  /** The pieces as one flat string; empties the list (the unused slots hold '', which join skips). */
  join(): string {
    const s = this.a.join('');
    for (let i = 0; i < this.n; i++) this.a[i] = '';
    this.n = 0;
    return s;
  }
}
const pieces = new Pieces();

const isWordChar = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHexLower = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66);

/**
 * The first "id N" word of a key, as the regex /\bid (0x[0-9a-f]+)\b/ (hex) or /\bid (\d+)\b/
 * would find it: "id" at a word start, a space, the number, then a word end.
 */
function keyWord(key: string, hex: boolean): string | null {
  for (let at = key.indexOf('id '); at >= 0; at = key.indexOf('id ', at + 1)) {
    if (at > 0 && isWordChar(key.charCodeAt(at - 1))) continue;
    let i = at + 3;
    const from = i;
    if (hex) {
      if (key.charCodeAt(i) !== 0x30 || key.charCodeAt(i + 1) !== 0x78) continue;
      i += 2;
      const digits = i;
      while (i < key.length && isHexLower(key.charCodeAt(i))) i++;
      if (i === digits) continue;
    } else {
      while (i < key.length && isDigit(key.charCodeAt(i))) i++;
      if (i === from) continue;
    }
    if (i < key.length && isWordChar(key.charCodeAt(i))) continue;
    return key.slice(from, i);
  }
  return null;
}

/**
 * The record's start in µs since the epoch, less a microsecond (Wireshark compares in
 * nanoseconds; the record's duration is rounded to the microsecond); the span written ends a
 * second late for late ICMP errors, as explain reads them. Null when `start` is not an ISO time.
 */
function epochFromUs(start: string): number | null {
  // isoTime's own shape, YYYY-MM-DDTHH:MM:SS.fffffffffZ, read by position; anything else by the regex
  let sec: number;
  /** The fraction of a second after it. */
  let frac: number;
  const shaped = start.length === 30 && start.charCodeAt(10) === 0x54 && start.charCodeAt(19) === 0x2e && start.charCodeAt(29) === 0x5a;
  // records come in time order: most share the second of the one before, whose Date.parse is kept
  const same = shaped && sameSecond(start);
  if (same || (shaped && isoDigits(start))) {
    if (same) sec = lastSec;
    else {
      lastSecond = start.slice(0, 19);
      sec = lastSec = Date.parse(`${lastSecond}Z`) / 1000;
    }
    // the nine digits read in place: n / 1e9 is the double Number(`0.${digits}`) gives (each rounds
    // the same exact value once), without the strings to parse
    let n = 0;
    for (let i = 20; i < 29; i++) n = n * 10 + (start.charCodeAt(i) - 0x30);
    frac = n / 1e9;
  } else {
    const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(start);
    if (m === null) return null;
    sec = Date.parse(`${m[1]}Z`) / 1000;
    frac = Number(`0.${m[2] ?? '0'}`);
  }
  if (!Number.isFinite(sec)) return null;
  return sec * 1e6 + Math.floor(frac * 1e6) - 1;
}

/** The whole seconds (YYYY-MM-DDTHH:MM:SS) of the last start read, and them as epoch seconds. */
let lastSecond = '\u0000';
let lastSec = 0;

/** A start in the second of the last one read, with digits for its nanoseconds (isoDigits, knowing the rest passed). */
function sameSecond(s: string): boolean {
  if (!s.startsWith(lastSecond)) return false;
  for (let i = 20; i < 29; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/** Digits where YYYY-MM-DDTHH:MM:SS.fffffffffZ has them, and its separators. */
function isoDigits(s: string): boolean {
  for (let i = 0; i < 29; i++) {
    const c = s.charCodeAt(i);
    if (i === 4 || i === 7) {
      if (c !== 0x2d) return false;
    } else if (i === 13 || i === 16) {
      if (c !== 0x3a) return false;
    } else if (i !== 10 && i !== 19 && !isDigit(c)) return false;
  }
  return true;
}

/** Microseconds since the epoch as seconds with six decimals, "1763780000.000099", as pieces. */
function addUs(p: Pieces, us: number): void {
  const s = Math.floor(us / 1e6);
  const frac = us - s * 1e6;
  // (a negative or fractional one, from rounding past year 2242 or an odd start, is padded as it always was)
  if (!(frac >= 0) || frac !== Math.floor(frac)) p.add(s).add('.').add(String(frac).padStart(6, '0'));
  else p.add(s).add('.').add(zerosBefore(frac, 6)).add(frac);
}
