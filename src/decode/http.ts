/**
 * HTTP/1.x message heads (RFC 9112 §2-§4) as pure functions over b[off..end): the first bytes of
 * a request or response, the end of the first line and of the head, the request and status
 * lines, and the Server header. Nothing is read outside b[off..end).
 */

/** A head is looked for in at most this many bytes; the request/status line in at most REQUEST_LINE_MAX. */
export const HTTP_HEAD_MAX = 8192;
export const HTTP_LINE_MAX = 2048;

const CRLF = Buffer.from('\r\n', 'latin1');
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const METHODS = ['GET ', 'POST ', 'PUT ', 'HEAD ', 'DELETE ', 'OPTIONS ', 'PATCH ', 'CONNECT ', 'TRACE '].map((m) => Buffer.from(m, 'latin1'));
const VERSION = Buffer.from('HTTP/', 'latin1');

/** Whether b[off..end) begins with the bytes of `prefix` (a plain loop: this runs on every connection's first bytes). */
function startsWith(b: Uint8Array, off: number, end: number, prefix: Uint8Array): boolean {
  if (end - off < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[off + i] !== prefix[i]) return false;
  return true;
}

/** b[off..end) begins with a request method and a space. */
export function looksLikeHttpRequest(b: Uint8Array, off: number, end: number): boolean {
  for (let i = 0; i < METHODS.length; i++) if (startsWith(b, off, end, METHODS[i])) return true;
  return false;
}

/** b[off..end) begins with "HTTP/". */
export function looksLikeHttpResponse(b: Uint8Array, off: number, end: number): boolean {
  return startsWith(b, off, end, VERSION);
}

/** Offset of the CRLF that ends the first line in b[off..end), or -1. */
export function httpLineEnd(b: Buffer, off: number, end: number): number {
  const i = b.subarray(off, end).indexOf(CRLF);
  return i < 0 ? -1 : off + i;
}

/** Offset of the empty line (CRLF CRLF) that ends the head in b[off..end), or -1. */
export function httpHeadEnd(b: Buffer, off: number, end: number): number {
  const i = b.subarray(off, end).indexOf(CRLFCRLF);
  return i < 0 ? -1 : off + i;
}

/** A request line `METHOD target HTTP/1.x` in b[off..lineEnd) (its first HTTP_LINE_MAX bytes); null if it is not one. Target cut to 256 characters. */
export function parseRequestLine(b: Buffer, off: number, lineEnd: number): { method: string; path: string } | null {
  const m = /^([A-Z]{3,10}) (\S+) HTTP\/1\.[01]$/.exec(b.toString('latin1', off, off + Math.min(lineEnd - off, HTTP_LINE_MAX)));
  return m === null ? null : { method: m[1], path: m[2].slice(0, 256) };
}

/** A status line `HTTP/1.x code reason` in b[off..lineEnd); null if it is not one. Reason cut to 128 characters. */
export function parseStatusLine(b: Buffer, off: number, lineEnd: number): { status: number; reason: string } | null {
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(b.toString('latin1', off, off + Math.min(lineEnd - off, HTTP_LINE_MAX)));
  return m === null ? null : { status: Number(m[1]), reason: (m[2] ?? '').slice(0, 128) };
}

/**
 * The value of the last Server header among the header lines b[off..end) (CRLF-separated), trimmed
 * and cut to 128 characters; null when there is none.
 */
export function serverHeader(b: Buffer, off: number, end: number): string | null {
  let server: string | null = null;
  for (const header of b.toString('latin1', off, end).split('\r\n')) {
    if (header.slice(0, 7).toLowerCase() === 'server:') server = header.slice(7).trim().slice(0, 128);
  }
  return server;
}
