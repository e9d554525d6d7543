import type { ClassifyContext } from './context.js';
import { S2C, type TcpFlow } from '../flow/tcp.js';
import { alertName, tlsVersionName, type CertInfo, type TlsFacts } from '../flow/app.js';
import { dur, rel } from './format.js';
import { attributeRst, host, macLine, outcome, rstLine, srv, type Outcome } from './tcp-evidence.js';

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
export function certProblems(tls: TlsFacts, atMs: number): string[] {
  const leaf: CertInfo | undefined = tls.certs[0];
  if (leaf === undefined) return [];
  const out: string[] = [];
  if (leaf.selfSigned) out.push('self-signed');
  if (atMs > leaf.notAfter) out.push(`expired on ${day(leaf.notAfter)}`);
  if (atMs < leaf.notBefore) out.push(`not valid until ${day(leaf.notBefore)}`);
  if (tls.sni !== '' && !certifiedFor(leaf, tls.sni)) out.push(`issued for ${leaf.names.join(', ')}, not ${tls.sni}`);
  return out;
}

/** Evidence lines for any TCP verdict: the TLS handshake or HTTP exchange the capture saw. */
export function appEvidence(f: TcpFlow, c: ClassifyContext): string[] {
  const out: string[] = [];
  const tls = tlsOf(f);
  if (tls !== null && tls.clientHelloFrame > 0) {
    out.push(`TLS ClientHello #${tls.clientHelloFrame}${tls.sni !== '' ? ` for ${tls.sni}` : ' without a server name (no SNI)'}, offering ${tls.offered.map(tlsVersionName).join(', ')}`);
    if (tls.serverHelloFrame > 0) out.push(`ServerHello #${tls.serverHelloFrame} chose ${tlsVersionName(tls.version)}`);
    const leaf = tls.certs[0];
    if (leaf !== undefined) {
      const problems = certProblems(tls, epochMs(c, tls.clientHelloT));
      out.push(`certificate #${tls.certFrame}: ${leaf.subject}, issued by ${leaf.selfSigned ? 'itself' : leaf.issuer}, valid ${day(leaf.notBefore)} to ${day(leaf.notAfter)}, names ${leaf.names.join(', ')}${tls.certs.length > 1 ? ` (chain of ${tls.certs.length})` : ''}`);
      if (problems.length > 0) out.push(`certificate problems: ${problems.join('; ')}`);
    }
  }
  const http = f.app?.http ?? null;
  if (http !== null && http.method !== '') out.push(`HTTP request #${http.requestFrame}: ${http.method} ${http.path}`);
  if (http !== null && http.status > 0) out.push(`HTTP response #${http.responseFrame}: ${http.status}${http.reason !== '' ? ` ${http.reason}` : ''}${http.server !== '' ? `, Server: ${http.server}` : ''}`);
  return out;
}

const ALERT_CHECKS: Record<number, (f: TcpFlow, sni: string) => string> = {
  70: (f, sni) => `Client and server share no TLS version: compare the versions offered above with the server's configuration (\`openssl s_client -connect ${host(f)}:${f.sPort} -servername ${sni} -tls1_2\`, then -tls1_3).`,
  40: (f, sni) => `No common cipher suite or parameters: compare client and server TLS settings (\`openssl s_client -connect ${host(f)}:${f.sPort} -servername ${sni}\`; \`nmap --script ssl-enum-ciphers -p ${f.sPort} ${host(f)}\`).`,
};

function certCheck(f: TcpFlow, sni: string): string {
  return `The client does not trust the server's certificate: inspect it with \`openssl s_client -connect ${host(f)}:${f.sPort} -servername ${sni} -showcerts\`; install the full chain and a certificate for this name on the server, or add the issuing CA to the client's trust store.`;
}

export function tlsAlert(f: TcpFlow, c: ClassifyContext): Outcome {
  const tls = tlsOf(f)!;
  const a = tls.alert!;
  const side = a.fromClient ? 'client' : 'server';
  const sni = tls.sni !== '' ? tls.sni : host(f);
  const name = alertName(a);
  const ev = [...appEvidence(f, c), `${a.level === 2 ? 'fatal ' : a.level === 1 ? 'warning ' : ''}alert ${a.desc >= 0 ? name : '(encrypted)'} #${a.frame} from the ${side} ${rel(a.t - f.firstT)}${a.desc < 0 ? ', after the handshake and before any request' : ''}`];
  ev.push(...macLine(c, f.s.mac, 'server', ev));
  const problems = certProblems(tls, epochMs(c, tls.clientHelloT));
  let check: string;
  if (ALERT_CHECKS[a.desc] !== undefined) check = ALERT_CHECKS[a.desc](f, sni);
  else if ((a.desc >= 42 && a.desc <= 48) || (a.desc < 0 && a.fromClient && problems.length > 0)) check = certCheck(f, sni);
  else check = `Read the ${side}'s TLS logs for why it sent the alert; reproduce with \`openssl s_client -connect ${host(f)}:${f.sPort} -servername ${sni}\`.`;
  const what = a.desc >= 0 ? `alert ${name}` : 'an encrypted alert';
  const why = problems.length > 0 ? ` (the certificate is ${problems.join('; ')})` : '';
  return outcome(a.fromClient ? 'client' : 'server', `the ${side} ended the TLS handshake with ${srv(f)}${tls.sni !== '' ? ` (${tls.sni})` : ''} with ${what}${why}`, ev, check, a.frame, a.fromClient ? f.c.mac : f.s.mac);
}

export function tlsAborted(f: TcpFlow, c: ClassifyContext): Outcome {
  const tls = tlsOf(f)!;
  const ev = appEvidence(f, c);
  let by: Outcome['by'] = 'client';
  let frame: number;
  let mac: number;
  if (f.rstDir >= 0) {
    const a = f.rstDir === S2C ? attributeRst(f, c) : { by: 'client' as const, why: [] };
    by = a.by;
    ev.push(rstLine(f, `${dur(f.rst.t - tls.clientHelloT)} after the ClientHello`), ...a.why);
    frame = f.rst.frame;
    mac = f.rst.mac;
  } else if (f.s.finT >= 0 && (f.c.finT < 0 || f.s.finT <= f.c.finT)) {
    by = 'server';
    ev.push(`server FIN #${f.s.finFrame} ${dur(f.s.finT - tls.clientHelloT)} after the ClientHello, with no ServerHello and no alert`);
    frame = f.s.finFrame;
    mac = f.s.mac;
  } else {
    ev.push(`client FIN #${f.c.finFrame} ${dur(f.c.finT - tls.clientHelloT)} after its ClientHello, with no ServerHello`);
    frame = f.c.finFrame;
    mac = f.c.mac;
  }
  ev.push(...macLine(c, mac, by === 'client' ? 'client' : 'server', ev));
  const who = by === 'middlebox' ? 'a box in the path' : by === 'client' ? 'the client' : srv(f);
  const sni = tls.sni !== '' ? tls.sni : host(f);
  return outcome(by, `${who} closed the connection after the ClientHello${tls.sni !== '' ? ` for ${tls.sni}` : ''}, with no ServerHello and no alert`, ev,
    `The TLS service did not answer the handshake: is it TLS on ${srv(f)} at all, does it have a certificate for ${sni} (SNI-based routing on a proxy or load balancer)? Try \`openssl s_client -connect ${host(f)}:${f.sPort} -servername ${sni}\` and read the server's or proxy's TLS logs.`,
    frame, mac);
}

export function httpError(f: TcpFlow, c: ClassifyContext): Outcome {
  const http = f.app!.http!;
  const ev = appEvidence(f, c);
  ev.push(...macLine(c, f.s.mac, 'server', ev));
  const request = http.method !== '' ? `${http.method} ${http.path}` : 'the request';
  const kind = http.status >= 500 ? 'server error' : 'client error';
  const check = http.status >= 500
    ? `The server${http.server !== '' ? ` (${http.server})` : ''} failed the request: read its error log at ${rel(http.responseT - f.firstT)}; a 502/503/504 from a proxy or load balancer means its backend is down or slow (check the pool's health).`
    : http.status === 404 ? `Nothing at ${http.path} on ${srv(f)}: check the URL, the virtual host (the Host header) and the server's routes.`
      : `The server refused ${request}: check the URL, credentials (401/403) and the request against the server's access log.`;
  return outcome('server', `${srv(f)} answered ${request} with HTTP ${http.status}${http.reason !== '' ? ` ${http.reason}` : ''} (${kind})`, ev, check, http.responseFrame, f.s.mac);
}
