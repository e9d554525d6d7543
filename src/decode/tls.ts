import { TLS_CONTENT, TLS_EXT, TLS_SNI_TYPE } from './enums.js';
import { TLS_CERT, TLS_EXT_HDR, TLS_HELLO, TLS_HS, TLS_RECORD, TLS_SNI } from './fields.js';

/**
 * TLS records, handshake messages and hellos (RFC 5246 §6.2, §7.4; RFC 8446 §4, §5.1) as pure
 * functions over b[off..end): they never read outside it and never throw. Certificates are
 * x509.ts's; reassembly of the records across packets is flow/app.ts's.
 */

/** tlsRecordAt: not all of the record is there yet. */
export const TLS_NEED_MORE = -1;
/** tlsRecordAt: the header is not a TLS record's. */
export const TLS_NOT_TLS = -2;

/** The least a TLS record can be: its header. */
export const TLS_MIN_RECORD = TLS_RECORD.LEN;

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function u24(b: Uint8Array, o: number): number {
  return (b[o] << 16) | (b[o + 1] << 8) | b[o + 2];
}

/** b[off..end) starts like a TLS handshake record (content type 22, major version 3). */
export function looksLikeTls(b: Uint8Array, off: number, end: number): boolean {
  return end - off >= 2 && b[off + TLS_RECORD.TYPE] === TLS_CONTENT.Handshake && b[off + TLS_RECORD.VERSION_MAJOR] === 3;
}

/**
 * The record whose header is at b[off]: its body length when the whole record lies in
 * b[off..end), TLS_NEED_MORE when it does not yet, TLS_NOT_TLS when the header is no TLS record's
 * (a major version other than 3, or a content type outside 20-24). The body follows the
 * TLS_RECORD.LEN-byte header; its type is b[off + TLS_RECORD.TYPE].
 */
export function tlsRecordAt(b: Uint8Array, off: number, end: number): number {
  if (end - off < TLS_RECORD.LEN) return TLS_NEED_MORE;
  const type = b[off + TLS_RECORD.TYPE];
  const len = u16(b, off + TLS_RECORD.LENGTH);
  if (b[off + TLS_RECORD.VERSION_MAJOR] !== 3 || type < TLS_CONTENT.ChangeCipherSpec || type > TLS_CONTENT.Heartbeat) return TLS_NOT_TLS;
  if (end - off - TLS_RECORD.LEN < len) return TLS_NEED_MORE;
  return len;
}

/** The handshake message at b[off]: its body length when all of it lies in b[off..end), else -1. Its type is b[off + TLS_HS.TYPE]. */
export function tlsHandshakeAt(b: Uint8Array, off: number, end: number): number {
  if (end - off < TLS_HS.LEN) return -1;
  const len = u24(b, off + TLS_HS.LENGTH);
  return end - off - TLS_HS.LEN < len ? -1 : len;
}

/** An alert record's body b[off..end): (level << 8) | description, or -1 when it is not 2 bytes (encrypted). */
export function tlsAlert(b: Uint8Array, off: number, end: number): number {
  return end - off === 2 ? (b[off] << 8) | b[off + 1] : -1;
}

/** What a ClientHello offers. */
export interface ClientHello {
  /** server_name (host_name), latin1, at most 255 characters; '' when absent. */
  sni: string;
  /** Versions from supported_versions (GREASE values left out), else the legacy version. */
  offered: number[];
}

/**
 * Offset just past the hello's session id, cipher suite(s) and compression method(s), where its
 * extensions begin (perhaps past `end`), or -1 when those fields run past `end`.
 */
function helloExtensionsAt(b: Uint8Array, off: number, end: number, client: boolean): number {
  let o = off + TLS_HELLO.SESSION_ID;
  if (o >= end) return -1;
  o += 1 + b[o]; // session id
  if (client) {
    if (o + 2 > end) return -1;
    o += 2 + u16(b, o); // cipher suites
    if (o >= end) return -1;
    return o + 1 + b[o]; // compression methods
  }
  return o + TLS_HELLO.SERVER_CHOICE; // one cipher suite, one compression method
}

/**
 * Calls fn(type, dataOff, dataEnd) for each extension of a hello whose extension block starts at
 * b[o]; nothing when fewer than 2 bytes are left. Data is clamped to the block and to `end`.
 */
function forEachExtension(b: Uint8Array, o: number, end: number, fn: (type: number, d: number, dEnd: number) => void): void {
  if (end - o < 2) return;
  const blockEnd = Math.min(end, o + 2 + u16(b, o));
  for (let i = o + 2; i + TLS_EXT_HDR.LEN <= blockEnd;) {
    const type = u16(b, i + TLS_EXT_HDR.TYPE);
    const len = u16(b, i + TLS_EXT_HDR.LENGTH);
    fn(type, i + TLS_EXT_HDR.LEN, Math.min(blockEnd, i + TLS_EXT_HDR.LEN + len));
    i += TLS_EXT_HDR.LEN + len;
  }
}

/**
 * A ClientHello body at b[off..end): the legacy version, then the server_name and
 * supported_versions extensions. Null when it is cut short before its extensions.
 */
export function parseClientHello(b: Buffer, off: number, end: number): ClientHello | null {
  if (end - off < 2) return null;
  const legacy = u16(b, off + TLS_HELLO.VERSION);
  const ext = helloExtensionsAt(b, off, end, true);
  if (ext < 0) return null;
  const out: ClientHello = { sni: '', offered: [] };
  forEachExtension(b, ext, end, (type, d, dEnd) => {
    if (type === TLS_EXT.ServerName && dEnd - d >= TLS_SNI.NAME && b[d + TLS_SNI.NAME_TYPE] === TLS_SNI_TYPE.HostName) {
      const n = u16(b, d + TLS_SNI.NAME_LEN);
      out.sni = b.toString('latin1', d + TLS_SNI.NAME, Math.min(dEnd, d + TLS_SNI.NAME + Math.min(n, 255)));
    } else if (type === TLS_EXT.SupportedVersions && dEnd > d) {
      const listEnd = d + 1 + b[d];
      for (let i = d + 1; i + 1 < listEnd && i + 1 < dEnd; i += 2) {
        const v = u16(b, i);
        if ((v & 0x0f0f) !== 0x0a0a) out.offered.push(v); // skip GREASE values
      }
    }
  });
  if (out.offered.length === 0) out.offered.push(legacy);
  return out;
}

/**
 * The version a ServerHello body at b[off..end) chose: supported_versions when present (TLS
 * 1.3), else the legacy version; 0 when the body is too short to say.
 */
export function parseServerHello(b: Uint8Array, off: number, end: number): number {
  if (end - off < 2) return 0;
  let version = u16(b, off + TLS_HELLO.VERSION);
  const ext = helloExtensionsAt(b, off, end, false);
  if (ext < 0) return version;
  forEachExtension(b, ext, end, (type, d, dEnd) => {
    if (type === TLS_EXT.SupportedVersions && dEnd - d >= 2) version = u16(b, d);
  });
  return version;
}

/**
 * The DER certificates of a TLS ≤ 1.2 Certificate message body at b[off..end) (a 3-byte list
 * length, then 3-byte-length certificates), as [start, end) pairs; stops at the first one cut short.
 */
export function tlsCertificates(b: Uint8Array, off: number, end: number): [number, number][] {
  const out: [number, number][] = [];
  if (end - off < TLS_CERT.LENGTH_BYTES) return out;
  const listEnd = Math.min(end, off + TLS_CERT.LENGTH_BYTES + u24(b, off));
  for (let i = off + TLS_CERT.LENGTH_BYTES; i + TLS_CERT.LENGTH_BYTES <= listEnd;) {
    const len = u24(b, i);
    const der = i + TLS_CERT.LENGTH_BYTES;
    i = der + len;
    if (der + len > end) break;
    out.push([der, der + len]);
  }
  return out;
}

// ---- names for people ----------------------------------------------------------------------------

export function tlsVersionName(v: number): string {
  switch (v) {
    case 0x0300:
      return 'SSL 3.0';
    case 0x0301:
      return 'TLS 1.0';
    case 0x0302:
      return 'TLS 1.1';
    case 0x0303:
      return 'TLS 1.2';
    case 0x0304:
      return 'TLS 1.3';
    default:
      return `0x${v.toString(16).padStart(4, '0')}`;
  }
}

const ALERTS: Record<number, string> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  21: 'decryption_failed',
  22: 'record_overflow',
  30: 'decompression_failure',
  40: 'handshake_failure',
  41: 'no_certificate',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  60: 'export_restriction',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  100: 'no_renegotiation',
  109: 'missing_extension',
  110: 'unsupported_extension',
  111: 'certificate_unobtainable',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  114: 'bad_certificate_hash_value',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

/** RFC 8446 AlertDescription name, or null for a value it does not name. */
export function tlsAlertName(desc: number): string | null {
  return ALERTS[desc] ?? null;
}
