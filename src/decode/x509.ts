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
  /**
   * Why the signature of a certificate that names itself as its issuer was not checked (so
   * `selfSigned` is false): an absurd key, or the time allowed for checks spent; '' when it was
   * checked or names another issuer.
   */
  unchecked: string;
  x509: X509Certificate;
}

/**
 * Limits on the keys whose signatures are checked (#22). One RSA check costs an exponentiation
 * by the public exponent: 17 bits for the usual 65537, but a "self-signed" certificate may carry
 * a 3,070-bit exponent under a 3,072-bit modulus (OpenSSL caps the exponent at 64 bits only above
 * 3,072-bit moduli), and each such check costs as much as a private-key operation. No CA issues
 * exponents over 32 bits; OpenSSL's own caps are 64 bits, 16,384-bit RSA and 10,000-bit DSA moduli.
 */
export const CERT_LIMITS = { rsaExponentBits: 64, rsaModulusBits: 16_384, dsaModulusBits: 10_000, checkMs: 2000 } as const;

/** Where a capture's certificate checks are counted and timed; one per analysis. */
export class CertChecks {
  /** Milliseconds spent in signature checks so far. */
  spentMs = 0;
  constructor(private readonly anomaly: ((code: string, detail?: string) => void) | null = null) {}

  /** A certificate whose signature was not checked, presented in `frame`. */
  unchecked(frame: number, why: string): void {
    this.anomaly?.('tls_certificate_unchecked', `frame ${frame}: ${why}; whether it is self-signed was not checked`);
  }
}

/** Why this key is too costly to check a signature with, or '' (a key OpenSSL cannot describe is checked: OpenSSL bounds it). */
function absurdKey(x: X509Certificate): string {
  const k = x.publicKey;
  const d = k.asymmetricKeyDetails;
  if (d === undefined) return '';
  if ((k.asymmetricKeyType === 'rsa' || k.asymmetricKeyType === 'rsa-pss') && d.publicExponent !== undefined) {
    const eBits = d.publicExponent.toString(2).length;
    if (eBits > CERT_LIMITS.rsaExponentBits) return `an RSA public exponent of ${eBits} bits (over ${CERT_LIMITS.rsaExponentBits})`;
    if ((d.modulusLength ?? 0) > CERT_LIMITS.rsaModulusBits) return `an RSA modulus of ${d.modulusLength} bits (over ${CERT_LIMITS.rsaModulusBits})`;
  }
  if (k.asymmetricKeyType === 'dsa' && (d.modulusLength ?? 0) > CERT_LIMITS.dsaModulusBits) return `a DSA modulus of ${d.modulusLength} bits (over ${CERT_LIMITS.dsaModulusBits})`;
  return '';
}

/** Certificates already read, by SHA-1 of their DER (the same chain comes on every connection to a server). */
const certCache = new Map<string, CertInfo | null>();
const CERT_CACHE_MAX = 4096;

/**
 * The DER certificate at b[off..end), through OpenSSL; null when OpenSSL cannot read it. Never
 * throws. A certificate that names itself as its issuer has its signature checked once (results
 * are kept by fingerprint), unless its key is absurd or `checks` has spent its time: then it is
 * counted as the anomaly tls_certificate_unchecked, with `frame`, each time it is presented.
 */
export function certInfo(b: Uint8Array, off: number, end: number, checks: CertChecks = new CertChecks(), frame = 0): CertInfo | null {
  const der = b.subarray(off, end);
  const key = createHash('sha1').update(der).digest('hex');
  const hit = certCache.get(key);
  if (hit !== undefined) {
    if (hit !== null && hit.unchecked !== '') checks.unchecked(frame, hit.unchecked);
    return hit;
  }
  let info: CertInfo | null;
  let keep = true;
  try {
    const x = new X509Certificate(der);
    const cn = (dn: string) => /(?:^|\n)CN=([^\n]*)/.exec(dn)?.[1] ?? dn.replace(/\n/g, ', ');
    const names = (x.subjectAltName ?? '')
      .split(', ')
      .filter((s) => s.startsWith('DNS:'))
      .map((s) => s.slice(4));
    let selfSigned = false;
    let unchecked = '';
    if (x.issuer === x.subject) {
      try {
        unchecked = absurdKey(x);
        if (unchecked === '' && checks.spentMs >= CERT_LIMITS.checkMs) {
          unchecked = `the ${CERT_LIMITS.checkMs / 1000} s allowed for checking signatures were spent`;
          keep = false; // another capture has its own time
        }
        if (unchecked === '') {
          const t0 = performance.now();
          selfSigned = x.verify(x.publicKey);
          checks.spentMs += performance.now() - t0;
        }
      } catch {
        selfSigned = false;
      }
    }
    info = { subject: cn(x.subject), issuer: cn(x.issuer), notBefore: Date.parse(x.validFrom), notAfter: Date.parse(x.validTo), names: names.length > 0 ? names : [cn(x.subject)], selfSigned, unchecked, x509: x };
    if (unchecked !== '') checks.unchecked(frame, unchecked);
  } catch {
    info = null; // not a certificate OpenSSL can read
  }
  if (keep && certCache.size < CERT_CACHE_MAX) certCache.set(key, info);
  return info;
}
