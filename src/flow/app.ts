import { createHash, X509Certificate } from 'node:crypto';

/**
 * What a TCP connection's first application bytes say: a TLS handshake (ClientHello, ServerHello,
 * certificates and alerts while they are in the clear) or an HTTP/1.x request and response.
 * Each direction is reassembled in order from its first data byte, only until those first
 * messages are read (at most MAX_BYTES), then the buffers are dropped: a bulk transfer costs one
 * flag test per packet. A gap in the sequence space (a packet the capture missed) ends the
 * reading of that direction; what was read stays.
 */
const MAX_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export const APP = { Unknown: 0, Tls: 1, Http: 2, Other: 3 } as const;

/** One direction's bytes, in order, not yet parsed. */
class HalfStream {
  nextSeq = -1;
  buf: Buffer = EMPTY;
  /** Bytes taken so far. */
  taken = 0;
  done = false;
  /** TLS: handshake bytes (messages may span records) not yet parsed. */
  hs: Buffer = EMPTY;
  /** TLS: this side sent ChangeCipherSpec; its later records are encrypted. */
  ccs = false;
  frame = 0;
  t = 0;
}

export interface TlsAlert {
  fromClient: boolean;
  /** 1 warning, 2 fatal; 0 when encrypted. */
  level: number;
  /** RFC 8446 AlertDescription; -1 when encrypted. */
  desc: number;
  frame: number;
  t: number;
}

export interface CertInfo {
  subject: string;
  issuer: string;
  /** Validity in ms since the epoch. */
  notBefore: number;
  notAfter: number;
  /** DNS names from subjectAltName (the CN when there are none). */
  names: string[];
  selfSigned: boolean;
  x509: X509Certificate;
}

export class TlsFacts {
  clientHelloFrame = 0;
  clientHelloT = -1;
  sni = '';
  /** Versions the client offers (supported_versions, else its legacy version), as 0x0303 etc. */
  offered: number[] = [];
  serverHelloFrame = 0;
  /** The version the server chose (0 until a ServerHello). */
  version = 0;
  /** The first alert, in either direction, other than close_notify sent after data. */
  alert: TlsAlert | null = null;
  certs: CertInfo[] = [];
  certFrame = 0;
  /** Application data records seen from the client, the server. */
  readonly appData = [false, false];
}

export class HttpFacts {
  method = '';
  path = '';
  requestFrame = 0;
  status = 0;
  reason = '';
  server = '';
  responseFrame = 0;
  responseT = -1;
}

export class AppSniffer {
  kind: number = APP.Unknown;
  tls: TlsFacts | null = null;
  http: HttpFacts | null = null;
  private readonly half = [new HalfStream(), new HalfStream()];

  /** True once neither direction needs more bytes. */
  get done(): boolean {
    return this.half[0].done && this.half[1].done;
  }

  /** Payload bytes `data` of direction `dir` (0 client, 1 server) at sequence number `seq`. */
  feed(dir: number, seq: number, data: Uint8Array, complete: boolean, frame: number, t: number): void {
    const h = this.half[dir];
    if (h.done) return;
    if (h.nextSeq < 0) h.nextSeq = seq;
    const ahead = (seq - h.nextSeq) | 0;
    if (ahead > 0) return this.stop(h); // bytes missing: nothing after them can be parsed
    const skip = -ahead;
    if (skip >= data.length) return;
    const part = data.subarray(skip);
    // most connections are neither TLS nor HTTP: tell from the first bytes, before copying them
    if (this.kind === APP.Unknown && h.buf.length === 0 && sniff(part, dir) === APP.Other) {
      this.kind = APP.Other;
      return this.stopBoth();
    }
    h.nextSeq = (h.nextSeq + part.length) >>> 0;
    h.taken += part.length;
    h.buf = h.buf.length === 0 ? Buffer.from(part) : Buffer.concat([h.buf, part]);
    h.frame = frame;
    h.t = t;
    if (this.kind === APP.Unknown) this.kind = sniff(h.buf, dir);
    if (this.kind === APP.Tls) this.tlsRecords(dir, h);
    else if (this.kind === APP.Http) this.httpHead(dir, h);
    else if (this.kind === APP.Other) this.stopBoth();
    if (!complete || h.taken >= MAX_BYTES) this.stop(h);
  }

  /** Neither TLS nor HTTP: no more bytes either way. */
  private stopBoth(): void {
    this.stop(this.half[0]);
    this.stop(this.half[1]);
  }

  private stop(h: HalfStream): void {
    h.done = true;
    h.buf = EMPTY;
    h.hs = EMPTY;
  }

  // ---- TLS (RFC 5246 §6.2, RFC 8446 §5.1) ------------------------------------------------------

  private tlsRecords(dir: number, h: HalfStream): void {
    const tls = (this.tls ??= new TlsFacts());
    let off = 0;
    const b = h.buf;
    while (!h.done && b.length - off >= 5) {
      const type = b[off];
      const len = b.readUInt16BE(off + 3);
      if (b[off + 1] !== 3 || type < 20 || type > 24) return this.stop(h); // not TLS after all
      if (b.length - off - 5 < len) break;
      const body = b.subarray(off + 5, off + 5 + len);
      off += 5 + len;
      if (type === 20) h.ccs = true;
      else if (type === 21) this.alertRecord(dir, h, tls, body);
      else if (type === 22 && !h.ccs) {
        h.hs = h.hs.length === 0 ? Buffer.from(body) : Buffer.concat([h.hs, body]);
        this.handshakeMessages(dir, h, tls);
      } else if (type === 23) {
        tls.appData[dir] = true;
        this.stop(h); // past the handshake: nothing more in the clear
      }
    }
    if (!h.done) h.buf = off === 0 ? b : Buffer.from(b.subarray(off));
  }

  private alertRecord(dir: number, h: HalfStream, tls: TlsFacts, body: Buffer): void {
    const encrypted = h.ccs || body.length !== 2;
    const desc = encrypted ? -1 : body[1];
    // close_notify after this side's data is the normal end of a session, not a problem
    if (tls.alert === null && !(desc === 0 || (encrypted && tls.appData[dir]))) {
      tls.alert = { fromClient: dir === 0, level: encrypted ? 0 : body[0], desc, frame: h.frame, t: h.t };
    }
    this.stop(h);
  }

  private handshakeMessages(dir: number, h: HalfStream, tls: TlsFacts): void {
    let off = 0;
    const b = h.hs;
    while (b.length - off >= 4) {
      const type = b[off];
      const len = (b[off + 1] << 16) | b.readUInt16BE(off + 2);
      if (b.length - off - 4 < len) break;
      const body = b.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      try {
        if (type === 1 && dir === 0 && tls.clientHelloFrame === 0) clientHello(tls, body, h);
        else if (type === 2 && dir === 1 && tls.serverHelloFrame === 0) serverHello(tls, body, h);
        else if (type === 11 && dir === 1 && tls.certFrame === 0) certificates(tls, body, h);
      } catch {
        // a message cut short or lying about its lengths: keep what was read before it
      }
    }
    h.hs = off === 0 ? b : Buffer.from(b.subarray(off));
  }

  // ---- HTTP/1.x (RFC 9112 §3, §4) ----------------------------------------------------------------

  private httpHead(dir: number, h: HalfStream): void {
    const http = (this.http ??= new HttpFacts());
    const b = h.buf;
    const headEnd = b.indexOf('\r\n\r\n');
    const lineEnd = b.indexOf('\r\n');
    if (lineEnd < 0 || (dir === 1 && headEnd < 0)) {
      if (b.length > 8192) this.stop(h);
      return;
    }
    const line = b.toString('latin1', 0, Math.min(lineEnd, 2048));
    if (dir === 0) {
      const m = /^([A-Z]{3,10}) (\S+) HTTP\/1\.[01]$/.exec(line);
      if (m !== null) {
        http.method = m[1];
        http.path = m[2].slice(0, 256);
        http.requestFrame = h.frame;
      }
    } else {
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(line);
      if (m !== null) {
        http.status = Number(m[1]);
        http.reason = (m[2] ?? '').slice(0, 128);
        http.responseFrame = h.frame;
        http.responseT = h.t;
        for (const header of b.toString('latin1', lineEnd + 2, Math.min(headEnd, 8192)).split('\r\n')) {
          if (header.slice(0, 7).toLowerCase() === 'server:') http.server = header.slice(7).trim().slice(0, 128);
        }
      }
    }
    this.stop(h);
  }
}

const HTTP_METHODS = ['GET ', 'POST ', 'PUT ', 'HEAD ', 'DELETE ', 'OPTIONS ', 'PATCH ', 'CONNECT ', 'TRACE '].map((m) => Buffer.from(m, 'latin1'));
const HTTP_VERSION = Buffer.from('HTTP/', 'latin1');

/** Whether b begins with the bytes of `prefix` (a plain loop: this runs on every connection's first bytes). */
function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

/** The first payload bytes of a direction are neither TLS nor HTTP (most connections): no sniffer needed. */
export function neitherTlsNorHttp(first: Uint8Array, dir: number): boolean {
  return sniff(first, dir) === APP.Other;
}

/** What the first bytes of a connection are. */
function sniff(b: Uint8Array, dir: number): number {
  if (b.length < 5) return APP.Unknown;
  if (b[0] === 0x16 && b[1] === 3) return APP.Tls;
  if (dir === 0 && HTTP_METHODS.some((m) => startsWith(b, m))) return APP.Http;
  if (dir === 1 && startsWith(b, HTTP_VERSION)) return APP.Http;
  return APP.Other;
}

/** Reads a ClientHello: legacy version, then the server_name and supported_versions extensions. */
function clientHello(tls: TlsFacts, m: Buffer, h: HalfStream): void {
  tls.clientHelloFrame = h.frame;
  tls.clientHelloT = h.t;
  const legacy = m.readUInt16BE(0);
  let off = 2 + 32;
  off += 1 + m[off]; // session id
  off += 2 + m.readUInt16BE(off); // cipher suites
  off += 1 + m[off]; // compression methods
  const versions: number[] = [];
  forEachExtension(m, off, (type, ext) => {
    if (type === 0 && ext.length >= 5 && ext[2] === 0) {
      const n = ext.readUInt16BE(3);
      tls.sni = ext.toString('latin1', 5, 5 + Math.min(n, 255));
    } else if (type === 43) {
      for (let i = 1; i + 1 < 1 + ext[0] && i + 1 < ext.length; i += 2) {
        const v = ext.readUInt16BE(i);
        if ((v & 0x0f0f) !== 0x0a0a) versions.push(v); // skip GREASE values
      }
    }
  });
  tls.offered = versions.length > 0 ? versions : [legacy];
}

function serverHello(tls: TlsFacts, m: Buffer, h: HalfStream): void {
  tls.serverHelloFrame = h.frame;
  tls.version = m.readUInt16BE(0);
  let off = 2 + 32;
  off += 1 + m[off]; // session id
  off += 2 + 1; // cipher suite, compression method
  forEachExtension(m, off, (type, ext) => {
    if (type === 43 && ext.length >= 2) tls.version = ext.readUInt16BE(0);
  });
}

function forEachExtension(m: Buffer, off: number, fn: (type: number, ext: Buffer) => void): void {
  if (m.length - off < 2) return;
  const end = Math.min(m.length, off + 2 + m.readUInt16BE(off));
  for (let i = off + 2; i + 4 <= end; ) {
    const type = m.readUInt16BE(i);
    const len = m.readUInt16BE(i + 2);
    fn(type, m.subarray(i + 4, Math.min(end, i + 4 + len)));
    i += 4 + len;
  }
}

const certCache = new Map<string, CertInfo | null>();

/** TLS ≤ 1.2 Certificate message: a 3-byte list length, then 3-byte-length DER certificates. */
function certificates(tls: TlsFacts, m: Buffer, h: HalfStream): void {
  tls.certFrame = h.frame;
  const end = Math.min(m.length, 3 + ((m[0] << 16) | m.readUInt16BE(1)));
  for (let i = 3; i + 3 <= end && tls.certs.length < 8; ) {
    const len = (m[i] << 16) | m.readUInt16BE(i + 1);
    const der = m.subarray(i + 3, i + 3 + len);
    i += 3 + len;
    if (der.length !== len) break;
    const info = certInfo(der);
    if (info !== null) tls.certs.push(info);
  }
}

function certInfo(der: Buffer): CertInfo | null {
  const key = createHash('sha1').update(der).digest('hex');
  const hit = certCache.get(key);
  if (hit !== undefined) return hit;
  let info: CertInfo | null = null;
  try {
    const x = new X509Certificate(der);
    const cn = (dn: string) => /(?:^|\n)CN=([^\n]*)/.exec(dn)?.[1] ?? dn.replace(/\n/g, ', ');
    const names = (x.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
    let selfSigned = false;
    if (x.issuer === x.subject) {
      try {
        selfSigned = x.verify(x.publicKey);
      } catch {
        selfSigned = false;
      }
    }
    info = { subject: cn(x.subject), issuer: cn(x.issuer), notBefore: Date.parse(x.validFrom), notAfter: Date.parse(x.validTo),
      names: names.length > 0 ? names : [cn(x.subject)], selfSigned, x509: x };
  } catch {
    info = null; // not a certificate OpenSSL can read
  }
  if (certCache.size < 4096) certCache.set(key, info);
  return info;
}

// ---- names for people ----------------------------------------------------------------------------

export function tlsVersionName(v: number): string {
  switch (v) {
    case 0x0300: return 'SSL 3.0';
    case 0x0301: return 'TLS 1.0';
    case 0x0302: return 'TLS 1.1';
    case 0x0303: return 'TLS 1.2';
    case 0x0304: return 'TLS 1.3';
    default: return `0x${v.toString(16).padStart(4, '0')}`;
  }
}

const ALERTS: Record<number, string> = {
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 21: 'decryption_failed', 22: 'record_overflow',
  30: 'decompression_failure', 40: 'handshake_failure', 41: 'no_certificate', 42: 'bad_certificate', 43: 'unsupported_certificate',
  44: 'certificate_revoked', 45: 'certificate_expired', 46: 'certificate_unknown', 47: 'illegal_parameter', 48: 'unknown_ca',
  49: 'access_denied', 50: 'decode_error', 51: 'decrypt_error', 60: 'export_restriction', 70: 'protocol_version',
  71: 'insufficient_security', 80: 'internal_error', 86: 'inappropriate_fallback', 90: 'user_canceled', 100: 'no_renegotiation',
  109: 'missing_extension', 110: 'unsupported_extension', 111: 'certificate_unobtainable', 112: 'unrecognized_name',
  113: 'bad_certificate_status_response', 114: 'bad_certificate_hash_value', 115: 'unknown_psk_identity', 116: 'certificate_required',
  120: 'no_application_protocol',
};

/** "unknown_ca (48)"; "an encrypted alert" when it is no longer in the clear. */
export function alertName(a: TlsAlert): string {
  if (a.desc < 0) return 'an encrypted alert (its name is not visible)';
  return `${ALERTS[a.desc] ?? 'alert'} (${a.desc})`;
}
