import { createHash, X509Certificate } from 'node:crypto';

/** What pcapdiag reads from a certificate a server sent in the clear (TLS ≤ 1.2). */
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

/** Certificates already read, by SHA-1 of their DER (the same chain comes on every connection to a server). */
const certCache = new Map<string, CertInfo | null>();
const CERT_CACHE_MAX = 4096;

/** The DER certificate at b[off..end), through OpenSSL; null when OpenSSL cannot read it. Never throws. */
export function certInfo(b: Uint8Array, off: number, end: number): CertInfo | null {
  const der = b.subarray(off, end);
  const key = createHash('sha1').update(der).digest('hex');
  const hit = certCache.get(key);
  if (hit !== undefined) return hit;
  let info: CertInfo | null;
  try {
    const x = new X509Certificate(der);
    const cn = (dn: string) => /(?:^|\n)CN=([^\n]*)/.exec(dn)?.[1] ?? dn.replace(/\n/g, ', ');
    const names = (x.subjectAltName ?? '')
      .split(', ')
      .filter((s) => s.startsWith('DNS:'))
      .map((s) => s.slice(4));
    let selfSigned = false;
    if (x.issuer === x.subject) {
      try {
        selfSigned = x.verify(x.publicKey);
      } catch {
        selfSigned = false;
      }
    }
    info = { subject: cn(x.subject), issuer: cn(x.issuer), notBefore: Date.parse(x.validFrom), notAfter: Date.parse(x.validTo), names: names.length > 0 ? names : [cn(x.subject)], selfSigned, x509: x };
  } catch {
    info = null; // not a certificate OpenSSL can read
  }
  if (certCache.size < CERT_CACHE_MAX) certCache.set(key, info);
  return info;
}
