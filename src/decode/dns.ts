import { DNS_TYPE } from './enums.js';
import { DNS, DNS_FLAGS, DNS_LABEL, DNS_QUESTION, DNS_RR } from './fields.js';
// address text as endpoints are written, so that names from DNS label them (see readAnswers)
import { AddressTexts, addressText } from '../flow/addr.js';

/** DNS header and first question (RFC 1035 §4.1), read straight from the wire. */
export class DnsHeader {
  id = 0;
  qr = 0;
  opcode = 0;
  rcode = 0;
  /** Authoritative answer, truncated, recursion desired, recursion available (RFC 1035 §4.1.1). */
  aa = 0;
  tc = 0;
  rd = 0;
  ra = 0;
  qdcount = 0;
  ancount = 0;
  nscount = 0;
  arcount = 0;
  /** Offset of the first question's name, or -1 if there is no question. */
  qnameOff = -1;
  qtype = 0;
  qclass = 0;
}

export const DNS_HEADER_LEN = DNS.LEN;

/** Fills `h` from a DNS message at u8[off..end). Returns false if it is not a readable DNS message. */
export function parseDnsHeader(dv: DataView, u8: Uint8Array, off: number, end: number, h: DnsHeader): boolean {
  if (end - off < DNS_HEADER_LEN) return false;
  h.id = dv.getUint16(off + DNS.ID);
  const flags = dv.getUint16(off + DNS.FLAGS);
  h.qr = flags >> DNS_FLAGS.QR_SHIFT;
  h.opcode = (flags >> DNS_FLAGS.OPCODE_SHIFT) & DNS_FLAGS.OPCODE_MASK;
  h.aa = (flags >> DNS_FLAGS.AA_SHIFT) & 1;
  h.tc = (flags >> DNS_FLAGS.TC_SHIFT) & 1;
  h.rd = (flags >> DNS_FLAGS.RD_SHIFT) & 1;
  h.ra = (flags >> DNS_FLAGS.RA_SHIFT) & 1;
  h.rcode = flags & DNS_FLAGS.RCODE_MASK;
  h.qdcount = dv.getUint16(off + DNS.QDCOUNT);
  h.ancount = dv.getUint16(off + DNS.ANCOUNT);
  h.nscount = dv.getUint16(off + DNS.NSCOUNT);
  h.arcount = dv.getUint16(off + DNS.ARCOUNT);
  h.qnameOff = -1;
  h.qtype = 0;
  h.qclass = 0;
  if (h.qdcount === 0) return true;
  const after = skipName(u8, off + DNS.LEN, end);
  if (after < 0 || after + DNS_QUESTION.LEN > end) return false;
  h.qnameOff = off + DNS.LEN;
  h.qtype = dv.getUint16(after + DNS_QUESTION.QTYPE);
  h.qclass = dv.getUint16(after + DNS_QUESTION.QCLASS);
  return true;
}

/** Offset after the name at `o`, or -1 if the name runs past `end` or is malformed. */
export function skipName(u8: Uint8Array, o: number, end: number): number {
  for (let labels = 0; labels < 128; labels++) {
    if (o >= end) return -1;
    const len = u8[o];
    if (len === 0) return o + 1;
    if ((len & DNS_LABEL.POINTER) === DNS_LABEL.POINTER) return o + 2 <= end ? o + 2 : -1;
    if ((len & DNS_LABEL.POINTER) !== 0) return -1;
    o += 1 + len;
  }
  return -1;
}

/**
 * readDnsName's text, written as bytes first: a name built a character at a time is a rope of a
 * cons string per character (~400 bytes for `svc423.cdn.example.test.`, kept as long as the
 * transaction that holds it unless something flattens it), one string at the end is flat (~56).
 * The longest name (255 bytes on the wire) escaped throughout is under 4 × 255 characters.
 */
const NAME_TEXT = Buffer.alloc(4 * DNS_LABEL.MAX_NAME);

/**
 * Names read lately, by a hash of their text's bytes (a direct-mapped cache: a newer name of the
 * same slot replaces the older). A capture asks the same few names again and again: the cached
 * string is handed out again instead of a new one from the buffer, which skips a call into C++
 * and an allocation per DNS message, and the maps the name is then looked up in find its hash
 * already computed (issue #20).
 */
const NAME_CACHE_SLOTS = 1 << 13;
const nameCache: string[] = new Array<string>(NAME_CACHE_SLOTS).fill('');
const nameCacheHash = new Int32Array(NAME_CACHE_SLOTS);

/** out[0..n) as a latin1 string: the cached one when it has these bytes. */
function nameText(out: Buffer, n: number): string {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ out[i], 0x01000193);
  const slot = (h ^ (h >>> 16)) & (NAME_CACHE_SLOTS - 1);
  const cached = nameCache[slot];
  if (nameCacheHash[slot] === h && cached.length === n) {
    let i = 0;
    while (i < n && cached.charCodeAt(i) === out[i]) i++;
    if (i === n) return cached;
  }
  const s = out.toString('latin1', 0, n);
  nameCache[slot] = s;
  nameCacheHash[slot] = h;
  return s;
}

/**
 * The name at `o` as text (dig style: `www.example.com.`, `.` for the root; bytes outside
 * printable ASCII, dots and backslashes inside labels escaped as \DDD). Compression pointers
 * must point backwards (as dns-packet requires), so decoding always terminates. Null if malformed.
 */
export function readDnsName(u8: Uint8Array, msgStart: number, o: number, end: number): string | null {
  const out = NAME_TEXT;
  let n = 0;
  let total = 0;
  let limit = o; // pointers must go before this
  for (let hops = 0; hops < 128; hops++) {
    if (o >= end) return null;
    const len = u8[o];
    if (len === 0) return n === 0 ? '.' : nameText(out, n);
    if ((len & DNS_LABEL.POINTER) === DNS_LABEL.POINTER) {
      if (o + 1 >= end) return null;
      const target = msgStart + (((len & DNS_LABEL.OFFSET_MASK) << 8) | u8[o + 1]);
      if (target >= limit) return null;
      limit = target;
      o = target;
      continue;
    }
    if ((len & DNS_LABEL.POINTER) !== 0 || o + 1 + len > end) return null;
    total += len + 1;
    if (total > DNS_LABEL.MAX_NAME) return null;
    for (let i = o + 1; i <= o + len; i++) {
      const c = u8[i];
      if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) out[n++] = c;
      else {
        // \DDD: three decimal digits
        out[n++] = 0x5c;
        out[n++] = 0x30 + Math.floor(c / 100);
        out[n++] = 0x30 + (Math.floor(c / 10) % 10);
        out[n++] = 0x30 + (c % 10);
      }
    }
    out[n++] = 0x2e;
    o += 1 + len;
  }
  return null;
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE', 'DSOTYPENI'];
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

const QTYPE_NAMES = new Map<number, string>([
  [1, 'A'],
  [2, 'NS'],
  [5, 'CNAME'],
  [6, 'SOA'],
  [10, 'NULL'],
  [11, 'WKS'],
  [12, 'PTR'],
  [13, 'HINFO'],
  [15, 'MX'],
  [16, 'TXT'],
  [17, 'RP'],
  [18, 'AFSDB'],
  [24, 'SIG'],
  [25, 'KEY'],
  [28, 'AAAA'],
  [29, 'LOC'],
  [33, 'SRV'],
  [35, 'NAPTR'],
  [36, 'KX'],
  [37, 'CERT'],
  [39, 'DNAME'],
  [41, 'OPT'],
  [42, 'APL'],
  [43, 'DS'],
  [44, 'SSHFP'],
  [45, 'IPSECKEY'],
  [46, 'RRSIG'],
  [47, 'NSEC'],
  [48, 'DNSKEY'],
  [49, 'DHCID'],
  [50, 'NSEC3'],
  [51, 'NSEC3PARAM'],
  [52, 'TLSA'],
  [55, 'HIP'],
  [59, 'CDS'],
  [60, 'CDNSKEY'],
  [61, 'OPENPGPKEY'],
  [64, 'SVCB'],
  [65, 'HTTPS'],
  [99, 'SPF'],
  [249, 'TKEY'],
  [250, 'TSIG'],
  [251, 'IXFR'],
  [252, 'AXFR'],
  [255, 'ANY'],
  [256, 'URI'],
  [257, 'CAA'],
  [32768, 'TA'],
  [32769, 'DLV'],
]);
export function qtypeName(t: number): string {
  return QTYPE_NAMES.get(t) ?? `TYPE${t}`;
}

/**
 * Where the address begins in an A or AAAA answer as readAnswers writes it (`A 10.0.2.20`: 2,
 * `AAAA fd00::20`: 5), or -1 for any other answer, or one with no address after its type.
 */
export function answerAddressAt(answer: string): number {
  const from = answer.startsWith('A ') ? 2 : answer.startsWith('AAAA ') ? 5 : -1;
  return from === answer.length ? -1 : from;
}

/** readAnswers' work array. */
const ANSWERS: string[] = [];

/**
 * A and AAAA answers given lately (flow/addr.ts AddressTexts): a name is answered with the same
 * addresses again and again, and its answer text ("A 10.0.2.20") is kept with each lookup and then
 * learnt by the names of addresses; one string for all of them, not one formatted a response.
 */
const answerTexts = new AddressTexts(1 << 14, (v, w0, w1, w2, w3) => (v === 4 ? `A ${addressText(4, w0, 0, 0, 0)}` : `AAAA ${addressText(6, w0, w1, w2, w3)}`));

/** Record types whose data is one domain name: NS, CNAME, PTR, DNAME. */
function isNameType(t: number): boolean {
  return t === DNS_TYPE.NS || t === DNS_TYPE.CNAME || t === DNS_TYPE.PTR || t === DNS_TYPE.DNAME;
}

/**
 * The first `max` answer records of the message at u8[off..end) (whose header `h` is) as text,
 * dig style: `A 10.0.2.20`, `AAAA fd00:2::20` (RFC 5952, as endpoints are written, so the names
 * from DNS label them), `CNAME www.example.test.` (names as readDnsName spells queries); other
 * types by name alone. Every record advances by its declared RDLENGTH; reading stops at the
 * first record that is cut short or malformed, and never goes past `end`.
 */
export function readAnswers(u8: Uint8Array, off: number, end: number, h: DnsHeader, max: number): string[] {
  // built in one array kept for it (its length never set back: that frees its store), then copied
  // out at the length used: `[]` and a push reserve 17 slots, a new store each response
  const out = ANSWERS;
  let n = 0;
  let o = off + DNS.LEN;
  for (let i = 0; i < h.qdcount; i++) {
    o = skipName(u8, o, end);
    if (o < 0 || o + DNS_QUESTION.LEN > end) return out.slice(0, n);
    o += DNS_QUESTION.LEN;
  }
  for (let i = 0; i < h.ancount && n < max; i++) {
    o = skipName(u8, o, end);
    if (o < 0 || o + DNS_RR.RDATA > end) break;
    const type = u16(u8, o + DNS_RR.TYPE);
    const rd = o + DNS_RR.RDATA;
    o = rd + u16(u8, o + DNS_RR.RDLENGTH);
    if (o > end) break;
    // the words as int32 (`| 0`): an unsigned one above 2^31 would be a heap number each
    if (type === DNS_TYPE.A && o - rd === 4) out[n++] = answerTexts.get(4, u32(u8, rd) | 0, 0, 0, 0);
    else if (type === DNS_TYPE.AAAA && o - rd === 16) out[n++] = answerTexts.get(6, u32(u8, rd) | 0, u32(u8, rd + 4) | 0, u32(u8, rd + 8) | 0, u32(u8, rd + 12) | 0);
    else if (isNameType(type)) {
      const name = readDnsName(u8, off, rd, o);
      if (name === null) break;
      out[n++] = `${qtypeName(type)} ${name}`;
    } else if (type === DNS_TYPE.A || type === DNS_TYPE.AAAA) break;
    else out[n++] = qtypeName(type);
  }
  return out.slice(0, n);
}

/**
 * Whether the authority section of the message at u8[off..end) (whose header `h` is) holds an NS
 * record: with no answers and no AA bit, the message is a referral (RFC 1034 §4.3.2 step 3b: the
 * server sends the client to the zone's name servers instead of answering). Reads the
 * question, answer and authority records by their declared lengths, never past `end`.
 */
export function authorityHasNs(u8: Uint8Array, off: number, end: number, h: DnsHeader): boolean {
  let o = off + DNS.LEN;
  for (let i = 0; i < h.qdcount; i++) {
    o = skipName(u8, o, end);
    if (o < 0 || o + DNS_QUESTION.LEN > end) return false;
    o += DNS_QUESTION.LEN;
  }
  const records = h.ancount + h.nscount;
  for (let i = 0; i < records; i++) {
    o = skipName(u8, o, end);
    if (o < 0 || o + DNS_RR.RDATA > end) return false;
    const type = u16(u8, o + DNS_RR.TYPE);
    o += DNS_RR.RDATA + u16(u8, o + DNS_RR.RDLENGTH);
    if (o > end) return false;
    if (i >= h.ancount && type === DNS_TYPE.NS) return true;
  }
  return false;
}

function u16(u8: Uint8Array, o: number): number {
  return (u8[o] << 8) | u8[o + 1];
}

function u32(u8: Uint8Array, o: number): number {
  return ((u8[o] << 24) | (u8[o + 1] << 16) | (u8[o + 2] << 8) | u8[o + 3]) >>> 0;
}
