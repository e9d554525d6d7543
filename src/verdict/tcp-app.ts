import type { ClassifyContext } from './context.js';
import { S2C, type TcpFlow } from '../flow/tcp.js';
import { alertName, type TlsFacts } from '../flow/app.js';
import { tlsVersionName } from '../decode/tls.js';
import type { CertInfo } from '../decode/x509.js';
import { attributeRst, elapsedSince, host, macFact, outcome, rstFact, type Outcome } from './tcp-evidence.js';
import type { CertProblem, Fact, Story } from './facts.js';
import { must } from '../errors.js';

/** A close within this long of the ClientHello is an abort, not the F5-style delayed reset. */
const PROMPT_NS = 1e9;

export function tlsOf(f: TcpFlow): TlsFacts | null {
  return f.app?.tls ?? null;
}

/** ClientHello, then a FIN or RST with no ServerHello and no alert, promptly (a later RST is a delayed-reset). */
export function tlsAbortedWhen(f: TcpFlow): boolean {
  const tls = tlsOf(f);
  if (tls === null || tls.clientHelloFrame === 0 || tls.serverHelloFrame !== 0 || tls.alert !== null) return false;
  const serverEnd = f.rstDir === S2C ? f.rst.t : f.s.finT;
  const end = f.rstDir >= 0 ? f.rst.t : f.s.finT >= 0 ? f.s.finT : f.c.finT;
  if (end < 0) return false;
  return !(f.rstDir === S2C && serverEnd - tls.clientHelloT >= PROMPT_NS);
}

export function httpErrorWhen(f: TcpFlow): boolean {
  return (f.app?.http?.status ?? 0) >= 400;
}

/** Capture time of a flow-relative time, in ms since the epoch. */
function epochMs(c: ClassifyContext, t: number): number {
  return c.captureStartSec * 1000 + (c.captureStartNsec + t) / 1e6;
}

function day(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : '?';
}

/** Whether the certificate names this host. A name with a NUL byte (a damaged or hostile ClientHello) names no host; OpenSSL would throw on it. */
function certifiedFor(cert: CertInfo, name: string): boolean {
  return !name.includes('\0') && cert.x509.checkHost(name) !== undefined;
}

/** What is wrong with the server's certificate at capture time, for the evidence. */
export function certProblems(tls: TlsFacts, atMs: number): CertProblem[] {
  const leaf: CertInfo | undefined = tls.certs[0];
  if (leaf === undefined) return [];
  const out: CertProblem[] = [];
  if (leaf.selfSigned) out.push({ problem: 'self-signed' });
  if (atMs > leaf.notAfter) out.push({ problem: 'expired', on: day(leaf.notAfter) });
  if (atMs < leaf.notBefore) out.push({ problem: 'not-yet-valid', until: day(leaf.notBefore) });
  if (tls.sni !== '' && !certifiedFor(leaf, tls.sni)) out.push({ problem: 'name-mismatch', names: leaf.names.slice(), sni: tls.sni });
  return out;
}

/** Evidence facts for any TCP verdict: the TLS handshake or HTTP exchange the capture saw. */
export function appFacts(f: TcpFlow, c: ClassifyContext): Fact[] {
  const out: Fact[] = [];
  const tls = tlsOf(f);
  if (tls !== null && tls.clientHelloFrame > 0) {
    out.push({ kind: 'tls-client-hello', frame: tls.clientHelloFrame, sni: tls.sni !== '' ? tls.sni : undefined, offered: tls.offered.map(tlsVersionName) });
    if (tls.serverHelloFrame > 0) out.push({ kind: 'tls-server-hello', frame: tls.serverHelloFrame, version: tlsVersionName(tls.version) });
    const leaf = tls.certs[0];
    if (leaf !== undefined) {
      const problems = certProblems(tls, epochMs(c, tls.clientHelloT));
      out.push({
        kind: 'tls-certificate',
        frame: tls.certFrame,
        subject: leaf.subject,
        issuer: leaf.selfSigned ? undefined : leaf.issuer,
        validFrom: day(leaf.notBefore),
        validTo: day(leaf.notAfter),
        names: leaf.names.slice(),
        chain: tls.certs.length,
      });
      if (problems.length > 0) out.push({ kind: 'tls-certificate-problems', problems });
    }
  }
  const http = f.app?.http ?? null;
  if (http !== null && http.method !== '') out.push({ kind: 'http-request', frame: http.requestFrame, method: http.method, path: http.path });
  if (http !== null && http.status > 0) {
    out.push({ kind: 'http-response', frame: http.responseFrame, status: http.status, reason: http.reason !== '' ? http.reason : undefined, server: http.server !== '' ? http.server : undefined });
  }
  return out;
}

export function tlsAlert(f: TcpFlow, c: ClassifyContext): Outcome {
  const tls = must(tlsOf(f), 'the TLS handshake');
  const a = must(tls.alert, 'the TLS alert');
  const side = a.fromClient ? 'client' : 'server';
  const alert = a.desc >= 0 ? alertName(a) : undefined;
  const facts: Fact[] = [...appFacts(f, c), { kind: 'tls-alert', frame: a.frame, from: side, t: a.t - f.firstT, level: a.level, desc: a.desc, alert }];
  facts.push(...macFact(c, f.s.mac, 'server', facts));
  const story: Story = { kind: 'tls-alert', side, sni: tls.sni !== '' ? tls.sni : undefined, alert, desc: a.desc, certProblems: certProblems(tls, epochMs(c, tls.clientHelloT)), host: host(f), port: f.sPort };
  return outcome(a.fromClient ? 'client' : 'server', story, facts, a.frame, a.fromClient ? f.c.mac : f.s.mac);
}

export function tlsAborted(f: TcpFlow, c: ClassifyContext): Outcome {
  const tls = must(tlsOf(f), 'the TLS handshake');
  const facts = appFacts(f, c);
  let by: Outcome['by'] = 'client';
  let frame: number;
  let mac: number;
  if (f.rstDir >= 0) {
    const a = f.rstDir === S2C ? attributeRst(f, c) : { by: 'client' as const, why: [] };
    by = a.by;
    facts.push(rstFact(f, 'client-hello', elapsedSince(f.rst.t, tls.clientHelloT)), ...a.why);
    frame = f.rst.frame;
    mac = f.rst.mac;
  } else if (f.s.finT >= 0 && (f.c.finT < 0 || f.s.finT <= f.c.finT)) {
    by = 'server';
    facts.push({ kind: 'fin', from: 'server', frame: f.s.finFrame, after: 'client-hello', afterNs: elapsedSince(f.s.finT, tls.clientHelloT) });
    frame = f.s.finFrame;
    mac = f.s.mac;
  } else {
    facts.push({ kind: 'fin', from: 'client', frame: f.c.finFrame, after: 'client-hello', afterNs: elapsedSince(f.c.finT, tls.clientHelloT) });
    frame = f.c.finFrame;
    mac = f.c.mac;
  }
  facts.push(...macFact(c, mac, by === 'client' ? 'client' : 'server', facts));
  return outcome(by, { kind: 'tls-aborted', sni: tls.sni !== '' ? tls.sni : undefined, host: host(f), port: f.sPort }, facts, frame, mac);
}

export function httpError(f: TcpFlow, c: ClassifyContext): Outcome {
  const http = must(f.app?.http, 'the HTTP exchange');
  const facts = appFacts(f, c);
  facts.push(...macFact(c, f.s.mac, 'server', facts));
  return outcome(
    'server',
    {
      kind: 'http-error',
      request: http.method !== '' ? `${http.method} ${http.path}` : undefined,
      path: http.path,
      status: http.status,
      reason: http.reason !== '' ? http.reason : undefined,
      server: http.server !== '' ? http.server : undefined,
      responseT: http.responseT - f.firstT,
    },
    facts,
    http.responseFrame,
    f.s.mac,
  );
}
