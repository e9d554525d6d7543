import { TLS_ALERT, TLS_CONTENT, TLS_HANDSHAKE } from '../decode/enums.js';
import { TLS_HS, TLS_RECORD } from '../decode/fields.js';
import { looksLikeTls, parseClientHello, parseServerHello, tlsAlert, tlsAlertName, tlsCertificates, tlsHandshakeAt, tlsRecordAt, TLS_NEED_MORE, TLS_NOT_TLS } from '../decode/tls.js';
import { httpHeadEnd, httpLineEnd, HTTP_HEAD_MAX, looksLikeHttpRequest, looksLikeHttpResponse, parseRequestLine, parseStatusLine, serverHeader } from '../decode/http.js';
import { CertChecks, certInfo, type CertInfo } from '../decode/x509.js';

// The parsers are the decode layer's; these names are imported from here by the verdict layer.

/**
 * What a TCP connection's first application bytes say: a TLS handshake (ClientHello, ServerHello,
 * certificates and alerts while they are in the clear) or an HTTP/1.x request and response.
 * Each direction is reassembled in order from its first data byte, only until those first
 * messages are read (at most MAX_BYTES), then the buffers are dropped: a bulk transfer costs one
 * flag test per packet. A gap in the sequence space (a packet the capture missed) ends the
 * reading of that direction; what was read stays. The bytes are parsed by decode/tls.ts,
 * decode/http.ts and decode/x509.ts.
 */
const MAX_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/** Certificates read from one Certificate message at most. */
const MAX_CERTS = 8;
/** For callers that count nothing (tests): certificate checks timed on their own. */
const NO_CHECKS = new CertChecks();

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

  /** Payload bytes `data` of direction `dir` (0 client, 1 server) at sequence number `seq`; `checks` times and counts certificate checks. */
  feed(dir: number, seq: number, data: Uint8Array, complete: boolean, frame: number, t: number, checks: CertChecks = NO_CHECKS): void {
    const h = this.half[dir];
    if (h.done) return;
    if (h.nextSeq < 0) h.nextSeq = seq;
    const ahead = (seq - h.nextSeq) | 0;
    if (ahead > 0) {
      this.stop(h);
      return;
    } // bytes missing: nothing after them can be parsed
    const skip = -ahead;
    if (skip >= data.length) return;
    const part = data.subarray(skip);
    // most connections are neither TLS nor HTTP: tell from the first bytes, before copying them
    if (this.kind === APP.Unknown && h.buf.length === 0 && sniff(part, dir) === APP.Other) {
      this.kind = APP.Other;
      this.stopBoth();
      return;
    }
    h.nextSeq = (h.nextSeq + part.length) >>> 0;
    h.taken += part.length;
    h.buf = h.buf.length === 0 ? Buffer.from(part) : Buffer.concat([h.buf, part]);
    h.frame = frame;
    h.t = t;
    if (this.kind === APP.Unknown) this.kind = sniff(h.buf, dir);
    if (this.kind === APP.Tls) this.tlsRecords(dir, h, checks);
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

  // ---- TLS: records reassembled into handshake messages ------------------------------------------

  private tlsRecords(dir: number, h: HalfStream, checks: CertChecks): void {
    const tls = (this.tls ??= new TlsFacts());
    let off = 0;
    const b = h.buf;
    while (!h.done) {
      const len = tlsRecordAt(b, off, b.length);
      if (len === TLS_NEED_MORE) break;
      if (len === TLS_NOT_TLS) {
        this.stop(h);
        return;
      } // not TLS after all
      const type = b[off + TLS_RECORD.TYPE];
      const body = off + TLS_RECORD.LEN;
      off = body + len;
      if (type === TLS_CONTENT.ChangeCipherSpec) h.ccs = true;
      else if (type === TLS_CONTENT.Alert) this.alertRecord(dir, h, tls, b, body, off);
      else if (type === TLS_CONTENT.Handshake && !h.ccs) {
        const part = b.subarray(body, off);
        h.hs = h.hs.length === 0 ? Buffer.from(part) : Buffer.concat([h.hs, part]);
        this.handshakeMessages(dir, h, tls, checks);
      } else if (type === TLS_CONTENT.ApplicationData) {
        tls.appData[dir] = true;
        this.stop(h); // past the handshake: nothing more in the clear
      }
    }
    if (!h.done) h.buf = off === 0 ? b : Buffer.from(b.subarray(off));
  }

  private alertRecord(dir: number, h: HalfStream, tls: TlsFacts, b: Buffer, off: number, end: number): void {
    const a = h.ccs ? -1 : tlsAlert(b, off, end);
    const encrypted = a < 0;
    const desc = encrypted ? -1 : a & 0xff;
    // close_notify after this side's data is the normal end of a session, not a problem
    if (tls.alert === null && !(desc === TLS_ALERT.CloseNotify || (encrypted && tls.appData[dir]))) {
      tls.alert = { fromClient: dir === 0, level: encrypted ? 0 : a >> 8, desc, frame: h.frame, t: h.t };
    }
    this.stop(h);
  }

  private handshakeMessages(dir: number, h: HalfStream, tls: TlsFacts, checks: CertChecks): void {
    let off = 0;
    const b = h.hs;
    for (;;) {
      const len = tlsHandshakeAt(b, off, b.length);
      if (len < 0) break;
      const type = b[off + TLS_HS.TYPE];
      const body = off + TLS_HS.LEN;
      off = body + len;
      // a message cut short or lying about its lengths keeps what was read before it
      if (type === TLS_HANDSHAKE.ClientHello && dir === 0 && tls.clientHelloFrame === 0) {
        tls.clientHelloFrame = h.frame;
        tls.clientHelloT = h.t;
        const hello = parseClientHello(b, body, off);
        if (hello !== null) {
          tls.sni = hello.sni;
          tls.offered = hello.offered;
        }
      } else if (type === TLS_HANDSHAKE.ServerHello && dir === 1 && tls.serverHelloFrame === 0) {
        tls.serverHelloFrame = h.frame;
        tls.version = parseServerHello(b, body, off);
      } else if (type === TLS_HANDSHAKE.Certificate && dir === 1 && tls.certFrame === 0) {
        tls.certFrame = h.frame;
        for (const [derOff, derEnd] of tlsCertificates(b, body, off)) {
          if (tls.certs.length >= MAX_CERTS) break;
          const info = certInfo(b, derOff, derEnd, checks, h.frame);
          if (info !== null) tls.certs.push(info);
        }
      }
    }
    h.hs = off === 0 ? b : Buffer.from(b.subarray(off));
  }

  // ---- HTTP/1.x: the request line, the status line and Server header ------------------------------

  private httpHead(dir: number, h: HalfStream): void {
    const http = (this.http ??= new HttpFacts());
    const b = h.buf;
    const headEnd = httpHeadEnd(b, 0, b.length);
    const lineEnd = httpLineEnd(b, 0, b.length);
    if (lineEnd < 0 || (dir === 1 && headEnd < 0)) {
      if (b.length > HTTP_HEAD_MAX) this.stop(h);
      return;
    }
    if (dir === 0) {
      const req = parseRequestLine(b, 0, lineEnd);
      if (req !== null) {
        http.method = req.method;
        http.path = req.path;
        http.requestFrame = h.frame;
      }
    } else {
      const st = parseStatusLine(b, 0, lineEnd);
      if (st !== null) {
        http.status = st.status;
        http.reason = st.reason;
        http.responseFrame = h.frame;
        http.responseT = h.t;
        const server = serverHeader(b, lineEnd + 2, Math.min(headEnd, HTTP_HEAD_MAX));
        if (server !== null) http.server = server;
      }
    }
    this.stop(h);
  }
}

/**
 * The first payload bytes of a direction, b[off, end), are neither TLS nor HTTP (most
 * connections): no sniffer needed. Read in place: no view of the payload for each connection.
 */
export function neitherTlsNorHttp(b: Uint8Array, off: number, end: number, dir: number): boolean {
  return sniffAt(b, off, end, dir) === APP.Other;
}

/** What the first bytes of a connection are. */
function sniff(b: Uint8Array, dir: number): number {
  return sniffAt(b, 0, b.length, dir);
}

/** What the first bytes of a connection, b[off, end), are. */
function sniffAt(b: Uint8Array, off: number, end: number, dir: number): number {
  if (end - off < TLS_RECORD.LEN) return APP.Unknown;
  if (looksLikeTls(b, off, end)) return APP.Tls;
  if (dir === 0 && looksLikeHttpRequest(b, off, end)) return APP.Http;
  if (dir === 1 && looksLikeHttpResponse(b, off, end)) return APP.Http;
  return APP.Other;
}

/** "unknown_ca (48)"; "an encrypted alert" when it is no longer in the clear. */
export function alertName(a: TlsAlert): string {
  if (a.desc < 0) return 'an encrypted alert (its name is not visible)';
  return `${tlsAlertName(a.desc) ?? 'alert'} (${a.desc})`;
}
