import { shellWord } from './escape.js';
import type { FlowRecord, VerdictId } from '../verdict/types.js';
import { CAUSE, STORY, macRefText, type Cause, type CertProblem, type Fact, type FactKind, type Side, type Story } from '../verdict/facts.js';
import { dur, plural, rel, ttlText } from '../verdict/format.js';
import { hostOf, portOf } from '../flow/addr.js';
import { vendorClass } from '../oui/vendor-class.js';
import { GROUP_BOUNDS, type ProblemGroup } from '../report/groups.js';

/**
 * Sentences from facts: a record's summary, evidence lines and check, in words, made from its
 * Story, its facts and its own fields. The verdict layer (src/verdict/) decides and collects the
 * data; the words of a record are all here.
 *
 * Names from the capture's DNS are attached to address fields as they are printed, "10.0.2.20:81
 * (www.example.test)"; never inside a command in backticks (it must still paste into a shell),
 * and not where the sentence itself follows the address with a parenthesis.
 */

/** Addresses to names (DnsNames.known), or none. */
export interface NameLookup {
  readonly size: number;
  get(addr: string): string | undefined;
}

const NO_NAMES: NameLookup = new Map<string, string>();

/**
 * How a sentence names another record: `#12`. In a worker thread (cli/parallel.ts) a capture's
 * ids start at 1, and the main thread numbers them on once it knows how many records the captures
 * before it had: there the id is written between two marks (markRecordRefs) for it to find. The
 * mark is the main thread's random word, so text from the packets cannot forge one.
 */
let refMark = '';

/** From now on (in this thread) sentences write the record ids they name as `#<mark><id><mark>`. */
export function markRecordRefs(mark: string): void {
  refMark = mark;
}

const recordRef = (id: number) => `#${refMark}${id}${refMark}`;

/** Prints addresses with their names. */
export class Labels {
  constructor(private readonly names: NameLookup) {}

  /** A bare address, with its name. */
  a(addr: string): string {
    if (this.names.size === 0) return addr;
    const name = this.names.get(addr);
    return name === undefined ? addr : `${addr} (${name})`;
  }

  /** An endpoint (10.0.2.20:80, [fd00::1]:80, or a bare address), with its address's name after it. */
  ep(endpoint: string): string {
    if (this.names.size === 0) return endpoint;
    const name = this.names.get(hostOf(endpoint));
    return name === undefined ? endpoint : `${endpoint} (${name})`;
  }
}

/** Writes the record's summary, evidence and check from its story and facts (records built without them are left alone). */
export function describeRecord(r: FlowRecord, names: NameLookup = NO_NAMES): void {
  const story = r[STORY];
  const facts = r.facts;
  if (story === undefined || facts === undefined) return;
  const L = new Labels(names);
  const evidence: string[] = [];
  for (let i = 0; i < facts.length; i++) evidence.push(factText(facts[i], L));
  r.evidence = evidence;
  r.summary = (SUMMARY[story.kind] as SummaryFn<Story>)(story, r, L);
  r.check = (CHECK[story.kind] as SummaryFn<Story>)(story, r, L);
  const cause = r[CAUSE];
  if (cause !== undefined) {
    r.summary = (CAUSE_SUMMARY[cause.kind] as CauseFn<Cause>)(cause, r, L, r.summary);
    r.check = (CAUSE_CHECK[cause.kind] as CauseFn<Cause>)(cause, r, L, r.check);
  }
}

/** One fact as its evidence line. */
export function factText(f: Fact, L: Labels = new Labels(NO_NAMES)): string {
  return (FACT[f.kind] as FactFn<Fact>)(f, L);
}

// ---- evidence: one function per fact kind ---------------------------------------------------

type FactFn<F> = (f: F, L: Labels) => string;
type FactTable = { [K in FactKind]: FactFn<Extract<Fact, { kind: K }>> };

const ttlName = (ipVersion: number) => (ipVersion === 6 ? 'hop limit' : 'TTL');
const sideOf = (s: Side) => (s === 'server' ? 'server side' : 'client');
const whoseText = (w: 'this-connection' | 'other-connections') => (w === 'this-connection' ? "the server's other packets in this connection" : "the server's packets in other connections");
const yesNo = (b: boolean) => (b ? 'yes' : 'no');
const hex4 = (id: number) => `0x${id.toString(16).padStart(4, '0')}`;

const RST_AFTER: Record<Extract<Fact, { kind: 'rst' }>['after'], (f: Extract<Fact, { kind: 'rst' }>) => string> = {
  syn: (f) => `${dur(f.afterNs)} after the SYN`,
  'syn-ack': (f) => `${dur(f.afterNs)} after the SYN-ACK`,
  handshake: (f) => `${dur(f.afterNs)} after the handshake, ${dur(f.gapNs ?? 0)} after the client's last packet, without sending any data`,
  'client-last': (f) => `${dur(f.afterNs)} after the client's last packet`,
  'peer-last': (f) => `at ${rel(f.t)}, ${dur(f.afterNs)} after the other side's last packet`,
  'client-hello': (f) => `${dur(f.afterNs)} after the ClientHello`,
  start: (f) => `at ${rel(f.t)}`,
};

function certProblemText(p: CertProblem): string {
  switch (p.problem) {
    case 'self-signed':
      return 'self-signed';
    case 'expired':
      return `expired on ${p.on}`;
    case 'not-yet-valid':
      return `not valid until ${p.until}`;
    case 'name-mismatch':
      return `issued for ${p.names.join(', ')}, not ${p.sni}`;
  }
}

export const certProblemsText = (problems: readonly CertProblem[]): string[] => problems.map(certProblemText);

const framesText = (frames: readonly number[], count: number) => `${frames.map((x) => `#${x}`).join(' ')}${count > frames.length ? ` and ${count - frames.length} more` : ''}`;
const theWhat = (what: string, count: number) => (count > 1 ? `${count} ${what}s` : what);
/** ", passed router.pcap (#7)": the points in between that saw a lost packet go by. */
const passedText = (passed: readonly { file: string; frames: number[] }[] | undefined) => (passed ?? []).map((p) => `, passed ${p.file} (${framesText(p.frames, p.frames.length)})`).join('');
/** "router.pcap nor ": the points in between that did not see it, before the far end. */
const missedText = (missed: readonly string[] | undefined) => (missed ?? []).map((m) => `${m} nor `).join('');

const proxyFrames = (near: readonly number[], nearFile: string, far: readonly number[], farFile: string) => {
  const parts = [near.length > 0 ? `${framesText(near, near.length)} in ${nearFile}` : '', far.length > 0 ? `${framesText(far, far.length)} in ${farFile}` : ''].filter((x) => x !== '');
  return parts.length === 0 ? '' : ` (its own handshake packets, with no copy on the other side: ${parts.join(', ')})`;
};

const FACT: FactTable = {
  // addresses bare here: the parenthesis after them names the capture
  'path-lost': (f) => {
    const between = f.between === undefined ? 'them' : `${f.between[0]} and ${f.between[1]}`;
    if (f.dir === 'to-server')
      return `${theWhat(f.what, f.count)} ${framesText(f.frames, f.count)} left ${f.from} (${f.fromFile})${passedText(f.passed)} and never reached ${missedText(f.missed)}${f.to} (${f.toFile}): dropped between ${between}`;
    const where = f.between === undefined ? '' : ` between ${between}`;
    return `the server's ${theWhat(f.what, f.count)} left ${f.from} (${framesText(f.frames, f.count)} in ${f.fromFile})${passedText(f.passed)} and never reached ${missedText(f.missed)}${f.to} (${f.toFile}): lost on the return path${where}`;
  },
  'path-forged': (f) => {
    // with points in between: which of them saw it (it was made on the far side of the first that did)
    const none = f.missed !== undefined && f.missed.length > 0 ? `${[...f.missed].reverse().join(' and ')} and ${f.otherFile} saw none` : `${f.otherFile} saw none`;
    const first = f.passed !== undefined && f.passed.length > 0 ? `; it first appears in ${f.passed.map((p) => `${p.file} (${framesText(p.frames, p.frames.length)})`).join(', ')}` : '';
    const where = f.between === undefined ? 'in the path' : `between ${f.between[0]} and ${f.between[1]}`;
    return f.dir === 'to-client'
      ? `the ${theWhat(f.what, f.count)} the client received (${framesText(f.frames, f.count)} in ${f.file}) ${f.count > 1 ? 'were' : 'was'} never sent by ${f.claimed} (${none}${first}): forged ${where}`
      : `the ${theWhat(f.what, f.count)} the server received (${framesText(f.frames, f.count)} in ${f.file}) ${f.count > 1 ? 'were' : 'was'} never sent by ${f.claimed} (${none}${first}): made ${where}`;
  },
  'path-nat': (f) => `NAT between ${f.beforeFile} and ${f.afterFile}: the ${f.side} ${f.before} is ${f.after} there`,
  'path-seq': (f) => {
    const d = (x: number | undefined) => (x === undefined ? 'not seen' : x === 0 ? 'unchanged' : `+${x} (mod 2^32)`);
    const proxy =
      f.proxy === undefined
        ? ''
        : `; it answered the client's handshake itself: the SYN-ACK #${f.proxy.synAck} (${f.nearFile}) came ${dur(f.proxy.earlierNs)} before the server saw any SYN (#${f.proxy.syn} in ${f.farFile}): a SYN proxy${proxyFrames(f.proxy.nearFrames, f.nearFile, f.proxy.farFrames, f.farFile)}`;
    return `the box between ${f.nearFile} and ${f.farFile} rewrites TCP sequence numbers: client→server seq ${d(f.toServer)}, server→client seq ${d(f.toClient)}; ${plural(f.packets, 'packet')} matched by payload and timing (${plural(f.segments, 'data segment')})${proxy}`;
  },
  'path-intact': (f) =>
    f.files.length === 2
      ? `all ${plural(f.packets, 'packet')} seen at both points (${f.files[0]}, ${f.files[1]}), ${dur(f.transitNs)} apart`
      : `all ${plural(f.packets, 'packet')} seen at all ${f.files.length} points (${f.files.join(', ')}), ${dur(f.transitNs)} from the first to the last`,
  syn: (f) => {
    if (f.count <= 1) return `SYN #${f.frames[0]} ${rel(f.t)}`;
    const more = f.count > f.times.length ? ` (first ${f.times.length} shown)` : '';
    return `SYN sent ${f.count}× (${f.frames.map((x) => `#${x}`).join(' ')}) at ${f.times.map(rel).join(', ')}${more}, same ISN`;
  },
  'syn-ack': (f) => `SYN-ACK #${f.frame} ${rel(f.t)}${f.count > 1 ? `, sent ${f.count}×` : ''}, ${ttlText(f.ttl, f.ipVersion)}${f.ack !== undefined ? `: it acknowledges ${f.ack}, not the client's ISN+1 = ${f.expectedAck}` : ''}`,
  'syn-ack-then-end': (f) => `SYN-ACK #${f.frame} ${rel(f.t)}; capture ended ${dur(f.waitedNs)} later`,
  'syn-ack-not-for-isn': () => "the SYN-ACK does not acknowledge the client's ISN (stale state on a middlebox or the server)",
  'no-final-ack': (f) => `the client never sent the final ACK (capture went on ${dur(f.waitedNs)})`,
  handshake: (f) => `handshake done at ${rel(f.t)}${f.frame !== undefined ? ` (#${f.frame})` : ''}`,
  'handshake-time': (f) => `handshake ${dur(f.t)} (SYN-ACK #${f.synAckFrame} ${rel(f.synAckT)})`,
  'no-syn': (f) => `first packet #${f.frame} is not a SYN; client and server guessed from the ports`,
  'client-side-only': (f) => `then ${plural(f.packets, 'more packet')} from the client (ACKs${f.bytes > 0 ? `, ${plural(f.bytes, 'byte')} of data` : ''}): it saw a SYN-ACK this capture never did`,
  'server-side-only': (f, L) => `SYN-ACK #${f.frame} from ${L.ep(f.server)} with no SYN before it, and nothing at all from the client (${plural(f.packets, 'server packet')})`,
  'client-rst-bad-ack': (f) => `the client answered with RST #${f.frame}${f.count > 1 ? ` (${f.count} RSTs in all)` : ''}, as RFC 9293 requires for an unacceptable ACK`,
  'challenge-ack': (f) =>
    `the server answered with a plain ACK #${f.frame} ${rel(f.t)}, not a SYN-ACK: it acknowledges ${f.ack}, not the client's ISN+1 = ${f.expectedAck} (a challenge ACK: the server still holds an older connection on these ports)${f.rstFrame !== undefined ? `; the client answered it with RST #${f.rstFrame}, as RFC 9293 requires, and kept trying` : ''}`,
  'syn-retries': (f) => `the client kept retrying: ${plural(f.count, 'SYN')}`,
  'no-reply': (f) => `no reply at all in ${dur(f.triedNs)}; ${f.afterLastSynNs < 1e6 ? 'the capture ended with the last SYN' : `the capture went on ${dur(f.afterLastSynNs)} after the last SYN`}`,
  rst: (f) => `${f.closing === true ? 'closed with ' : ''}${f.flags} #${f.frame} from the ${sideOf(f.from)} ${RST_AFTER[f.after](f)}, ${ttlText(f.ttl, f.ipVersion)}${f.ackMismatch ? ' (its ACK does not match the SYN)' : ''}`,
  'then-rst': (f) => `then a RST #${f.frame} from the ${sideOf(f.from)} ${rel(f.t)}`,
  fin: (f) =>
    f.from === 'client'
      ? `client FIN #${f.frame} ${dur(f.afterNs)} after its ClientHello, with no ServerHello`
      : f.after === 'handshake'
        ? `server FIN #${f.frame} ${dur(f.afterNs)} after the handshake, without sending any data`
        : `server FIN #${f.frame} ${dur(f.afterNs)} after the ClientHello, with no ServerHello and no alert`,
  'client-data': (f) => `client sent ${plural(f.bytes, 'byte')} from #${f.frame}${f.unanswered ? '; the server sent nothing back' : ''}`,
  data: (f) => `data: ${plural(f.clientBytes, 'byte')} client→server, ${plural(f.serverBytes, 'byte')} server→client`,
  stall: (f) => `the ${f.side}'s segment at seq ${f.seq} (${plural(f.len, 'byte')}${f.df ? ', DF set' : ''}) was retransmitted ${f.count}× from #${f.frame} ${rel(f.t)} over ${dur(f.spanNs)}, and never acknowledged`,
  pmtu: (f) => `smaller packets got through (the ${f.peer} acknowledged up to seq ${f.ackedSeq}), and no ICMP fragmentation-needed or packet-too-big arrived for this connection`,
  request: (f) => `the client's request: ${plural(f.bytes, 'byte')} from #${f.frame} ${rel(f.t)}`,
  'request-acked': (f) => `the server's stack acknowledged it (#${f.frame}, ${dur(f.afterNs)} later): the host is up and the data arrived`,
  'request-not-acked': () => 'the server never acknowledged it: it may not have arrived',
  'no-answer': (f) =>
    `no byte from the server for ${dur(f.waitedNs)}${f.until === 'client-fin' ? `, until the client gave up and closed (FIN #${f.frame ?? 0})` : f.until === 'client-rst' ? `, until the client gave up and reset (RST #${f.frame ?? 0})` : f.until === 'connection-end' ? ', until the connection ended' : ', still waiting at the end of the capture'}`,
  'response-time': (f) =>
    `first answer ${dur(f.firstNs)} after the request (#${f.requestFrame} → #${f.responseFrame})${f.turns > 1 ? `; slowest of ${f.turns} turns ${dur(f.slowestNs)} (#${f.slowestRequestFrame} → #${f.slowestResponseFrame})` : ''}`,
  'capture-missed': (f) => `the ${f.side === 'client' ? 'server' : 'client'} acknowledged ${plural(f.bytes, 'byte')} from the ${f.side} that the capture never saw (from #${f.frame}): the capture dropped packets, not the network`,
  retransmissions: (f) =>
    [
      f.count > 0 ? `the ${f.side} sent ${plural(f.count, 'segment')} again (${plural(f.bytes, 'byte')}, first #${f.frame})` : '',
      f.repaired > 0 ? `${plural(f.repaired, 'gap')} in the ${f.side}'s data lost before the capture point and filled by a retransmission` : '',
      f.dupAcks > 0 ? `${plural(f.dupAcks, 'duplicate ACK')} from the ${f.side === 'client' ? 'server' : 'client'}` : '',
    ]
      .filter((x) => x !== '')
      .join('; '),
  hole: (f) =>
    `the ${f.side}'s bytes from seq ${f.seq} (${plural(f.bytes, 'byte')}${f.holes > 1 ? ` in ${f.holes} gaps` : ''}) never reached the ${f.receiver}: #${f.frame} ${rel(f.t)} came after the gap, and nothing filled or acknowledged it in ${dur(f.waitedNs)}${f.dupAcks > 0 ? `; the ${f.receiver} sent ${plural(f.dupAcks, 'duplicate ACK')}${f.sacks > 0 ? ` with ${plural(f.sacks, 'SACK block')}` : ''}` : ''}`,
  'pmtu-receiver': (f) =>
    `only segments of up to ${plural(f.maxSeg, 'byte')} arrived from the ${f.side}, though the ${f.receiver} offered MSS ${f.mss}: the full-size ones die in the path, and no ICMP fragmentation-needed or packet-too-big arrived`,
  'tcp-options': (f) =>
    `SYN options (client / server): MSS ${f.client.mss ?? 'none'} / ${f.server.mss ?? 'none'}, window scale ${f.client.wscale ?? 'none'} / ${f.server.wscale ?? 'none'}, SACK ${yesNo(f.client.sack)} / ${yesNo(f.server.sack)}, timestamps ${yesNo(f.client.timestamps)} / ${yesNo(f.server.timestamps)}`,
  'mss-clamp': (f) =>
    `the ${f.side}'s segments never exceeded ${plural(f.maxSeg, 'byte')} (${f.count}× at that size), though the ${f.receiver}'s SYN offered MSS ${f.offered} as captured here: a box between the capture and the ${f.side} lowered the ${f.receiver}'s MSS (clamping), or the ${f.side} has a smaller MTU`,
  'rto-backoff': (f) => `its ${f.count} repeats were spaced ${dur(f.firstGapNs)} at first, ${dur(f.lastGapNs)} at last${f.count > 2 && f.lastGapNs > 1.5 * f.firstGapNs ? ': the sender backing off (RTO doubling), getting no ACK' : ''}`,
  'zero-window': (f) =>
    `the ${f.side} advertised a zero window from #${f.frame} ${rel(f.t)} for ${dur(f.durationNs)}${f.until === 'connection-end' ? ', until the connection ended' : f.until === 'capture-end' ? ', still at the end of the capture' : ''}`,
  attribution: (f, L) => {
    switch (f.reason) {
      case 'initial-ttl-via-router':
        return `${ttlName(f.ipVersion)} ${f.ttl} is an initial value, yet it came through router ${macRefText(f)}: the router made this packet itself`;
      case 'ttl-differs': {
        const name = ttlName(f.ipVersion);
        return `${name} ${f.ttl} (${f.hops} hops) differs from ${whoseText(f.whose)} (${name} ${f.min === f.max ? `${f.min}` : `${f.min}-${f.max}`}): a box in the path sent it`;
      }
      case 'faster-than-rtt':
        return `it came ${dur(f.afterSynNs)} after the SYN, faster than the ${dur(f.rttNs)} round trip to the server`;
      case 'ttl-matches':
        return `${ttlName(f.ipVersion)} matches ${whoseText(f.whose)}`;
      case 'icmp-not-from-server':
        return `sent by ${L.a(f.from)}, not by the server`;
      case 'handshake-by-box':
        return boxText(f, L);
    }
  },
  'port-accepted': (f, L) =>
    `${L.ep(f.endpoint)} accepted ${plural(f.accepted, 'other connection')} in the second before the first SYN, the last ${dur(f.nearestNs)} before it, none while these SYNs went unanswered, and the application answered none of them: the port is open and the host up, the application stuck`,
  gateway: (f) => `gateway ${macRefText(f)}`,
  mac: (f) => `${f.role} ${macRefText(f)}`,
  'sent-to': (f) => `the ${f.what} went to ${f.gateway ? 'gateway' : 'MAC'} ${macRefText(f)}`,
  icmp: (f, L) => `${f.message} #${f.frame} from ${L.a(f.from)}${f.t === undefined ? '' : ` ${rel(f.t)}${f.errors !== undefined ? ` (${f.errors} errors in all)` : ''}, ${ttlText(f.ttl ?? 0, f.ipVersion)}`}`,
  'capture-ended': (f) => (f.after === 'query' ? `the capture ended ${dur(f.gapNs)} after the query (timeout needs ${dur(f.timeoutNs)})` : `${synEnded(f.gapNs)} (a timeout needs ${dur(f.timeoutNs)} without an answer)`),
  tunnel: (f, L) => `carried in ${f.tunnel}${f.between !== undefined ? ` between ${L.a(f.between[0])} and ${L.a(f.between[1])}` : ''}`,
  'probe-series': (f) => `one of a series of connections every ${dur(f.intervalNs)} (±${f.jitterPct} %) from the same host to the same port, none carrying data`,
  'tls-client-hello': (f) => `TLS ClientHello #${f.frame}${f.sni !== undefined ? ` for ${f.sni}` : ' without a server name (no SNI)'}, offering ${f.offered.join(', ')}`,
  'tls-server-hello': (f) => `ServerHello #${f.frame} chose ${f.version}`,
  'tls-certificate': (f) => `certificate #${f.frame}: ${f.subject}, issued by ${f.issuer ?? 'itself'}, valid ${f.validFrom} to ${f.validTo}, names ${f.names.join(', ')}${f.chain > 1 ? ` (chain of ${f.chain})` : ''}`,
  'tls-certificate-problems': (f) => `certificate problems: ${certProblemsText(f.problems).join('; ')}`,
  'tls-alert': (f) =>
    `${f.level === 2 ? 'fatal ' : f.level === 1 ? 'warning ' : ''}alert ${f.desc >= 0 ? f.alert : '(encrypted)'} #${f.frame} from the ${f.from} ${rel(f.t)}${f.desc < 0 ? ', after the handshake and before any request' : ''}`,
  'http-request': (f) => `HTTP request #${f.frame}: ${f.method} ${f.path}`,
  'http-response': (f) => `HTTP response #${f.frame}: ${f.status}${f.reason !== undefined ? ` ${f.reason}` : ''}${f.server !== undefined ? `, Server: ${f.server}` : ''}`,
  'udp-datagrams': (f) => `first datagram #${f.frame}; ${f.sent} sent, ${f.received} received`,
  'dns-query': (f) =>
    `${f.opcode === 'UPDATE' ? `update #${f.frame} of zone ${f.query}` : f.opcode === 'NOTIFY' ? `NOTIFY #${f.frame} for zone ${f.query}` : `query #${f.frame} ${f.query} ${f.qtype}`} id ${hex4(f.id)} over ${f.transport.toUpperCase()}${f.attempt > 1 ? ` (attempt ${f.attempt})` : ''}`,
  'dns-query-missing': (f) => `query not captured (it was sent before the capture started); response id ${hex4(f.id)}`,
  'dns-no-response': (f) => `no response; the capture went on ${dur(f.waitedNs)} after the query`,
  'dns-answer-fragmented': (f) => `answer fragmented; ${fragmentsText(f)} (${plural(f.frames.length, 'fragment')} captured: ${f.frames.map((x) => `#${x}`).join(' ')})`,
  'dns-response': (f) => `response #${f.frame} ${f.rcode}${f.afterNs !== undefined ? ` after ${dur(f.afterNs)}` : ''}, ${f.answerCount} answer${f.answerCount === 1 ? '' : 's'}${f.truncated ? ', truncated (TC)' : ''}`,
  'dns-answers': (f, L) => `answers: ${f.answers.map((a) => (a.value === undefined ? a.type : `${a.type} ${a.type === 'A' || a.type === 'AAAA' ? L.a(a.value) : a.value}`)).join(', ')}`,
  'dns-duplicates': (f) => `${f.count} duplicate response(s)`,
  'dns-sibling': (f) =>
    f.why === 'search-miss'
      ? `then ${f.query} ${f.qtype} resolved (#${f.frame}, ${siblingWhen(f.gapNs, f.earlier)}): the client was walking its search list (resolv.conf search and ndots)`
      : `${f.query} ${f.qtype} resolved (#${f.frame}, ${siblingWhen(f.gapNs, f.earlier)}): the name has addresses of the other family only`,
  'dns-referral': (f) =>
    `a referral: no answer and no AA bit, the zone's name servers in the authority section${f.rd ? `; the query asked for recursion (RD) and the server ${f.ra ? 'offers it (RA) yet did not recurse' : 'does not offer it (no RA)'}` : '; the query did not ask for recursion (RD clear), as a resolver asks'}`,
  'dns-retried': (f) => `the client asked again (${f.frame > 0 ? `#${f.frame}, ` : ''}${dur(f.afterNs)} later): it gave up waiting for this answer`,
  'echo-requests': (f) => `${plural(f.count, 'echo request')} from #${f.frame} over ${dur(f.spanNs)}, sent with ${ttlName(f.ipVersion)} ${f.ttl}`,
  'echo-reply': (f) => `first reply #${f.frame}, ${ttlText(f.ttl, f.ipVersion)}${f.lost > 0 ? `; ${f.lost} lost` : ''}`,
  'echo-no-reply': (f) => `no reply and no ICMP error; the capture went on ${dur(f.waitedNs)} after the last request`,
  'ttl-spent': (f, L) => `sent with ${ttlName(f.ipVersion)} ${f.ttl}, it ran out at ${L.a(f.router)}, only ${plural(f.hops, 'hop')} away: it went round a loop`,
  'routing-loop': (f, L) => `routing loop: the same routers repeat on the way to ${L.a(f.target)}: ${f.routers.map((h) => `${L.a(h.router)} at TTL ${h.ttls.join(', ')}`).join('; ')}`,
  // the asker is followed by its MAC in parentheses, so it takes no name there
  'neighbor-solicit': (f, L) => `${f.ipVersion === 4 ? 'ARP who-has' : 'neighbour solicitation'} for ${L.a(f.target)} from ${f.asker} (${macRefText(f)}) sent ${f.count}× (${f.frames.map((x) => `#${x}`).join(' ')}) over ${dur(f.spanNs)}`,
  'neighbor-no-reply': (f) => `no ${f.ipVersion === 4 ? 'ARP reply' : 'neighbour advertisement'} from anyone; ${f.waitedNs < 1e6 ? 'the capture ended with the last one' : `the capture went on ${dur(f.waitedNs)} after the last one`}`,
  'neighbor-claim': (f, L) => `${f.ipVersion === 4 ? 'ARP reply' : 'neighbour advertisement'} #${f.frame} ${rel(f.t)}: ${L.a(f.addr)} is at ${macRefText(f)}`,
};

/** "SYN-ACK #33 TTL 64 (not routed) from gateway 00:01:d7:… = F5 Inc. (load balancer); 10.0.2.20's own SYN-ACKs in 3 other connections …". */
function boxText(f: Extract<Fact, { kind: 'attribution'; reason: 'handshake-by-box' }>, L: Labels): string {
  const from = f.mac === '' ? '' : ` from ${f.gateway ? 'gateway ' : ''}${withClass(macRefText(f), vendorClass(f.mac, f.vendor))}`;
  const diffs: string[] = [];
  if (f.box.options !== f.own.options) diffs.push(`options ${f.box.options || 'none'} vs ${f.own.options || 'none'}`);
  if (f.box.mss !== f.own.mss) diffs.push(`MSS ${f.box.mss ?? 'none'} vs ${f.own.mss ?? 'none'}`);
  if (f.box.wscale !== f.own.wscale) diffs.push(`window scale ${f.box.wscale ?? 'none'} vs ${f.own.wscale ?? 'none'}`);
  const stack = f.stackDiffers && diffs.length > 0 ? `, and a different TCP stack (${diffs.join(', ')})` : '';
  return (
    `SYN-ACK #${f.frame} ${ttlText(f.box.ttl, f.ipVersion)}${from}; ${L.a(f.server)}'s own SYN-ACKs in ${plural(f.conns, 'other connection')} (first #${f.ownFrame}) arrive with ` +
    `${ttlText(f.own.ttl, f.ipVersion)}${f.sameMac ? ' through the same MAC' : ''}${stack}: a box in the path answered this handshake for the server (a full proxy, a load balancer's virtual server, a transparent or SYN proxy)`
  );
}

/** Every fact kind the table writes (the schema's factKind enum lists the same). */
export const FACT_KINDS: readonly FactKind[] = Object.keys(FACT) as FactKind[];

/** When a sibling lookup was answered, from this one's response. */
function siblingWhen(gapNs: number, earlier: boolean): string {
  return earlier ? `${dur(gapNs)} earlier` : `${dur(gapNs)} later`;
}

function synEnded(gapNs: number): string {
  return gapNs < 1e6 ? 'the capture ended with the first SYN' : `the capture ended ${dur(gapNs)} after the first SYN`;
}

// ---- summaries and checks: one function per story kind ------------------------------------------

/** " between router.pcap and server.pcap" (three or more captures along the path), else nothing. */
const inBetween = (between: readonly [string, string] | undefined) => (between === undefined ? '' : ` between ${between[0]} and ${between[1]}`);

type SummaryFn<S> = (s: S, r: FlowRecord, L: Labels) => string;
type StoryTable = { [K in Story['kind']]: SummaryFn<Extract<Story, { kind: K }>> };

const sideWho = (by: FlowRecord['by'], server: string) => (by === 'middlebox' ? 'a box in the path' : by === 'client' ? 'the client' : server);

const SUMMARY: StoryTable = {
  'path-forged': (s, r, L) => `a box in the path${inBetween(s.between)} reset the connection to ${L.ep(r.server)}: ${L.a(s.host)} never sent the ${s.what} the client received`,
  'path-dropped': (s, r, L) => `${s.what} to ${L.ep(r.server)} dropped in the path${inBetween(s.between)}: it left the client and never reached the server`,
  'path-return': (s, r, L) => `${L.ep(r.server)} answered, but its SYN-ACK never reached the client: the return path loses it${inBetween(s.between)}`,
  'path-proxy-refused': (s, r, L) => `${L.ep(r.server)} refused the connection; a SYN proxy in the path${inBetween(s.between)} had already completed the handshake with the client, which saw it accepted, then reset`,
  midstream: (s) => `connection was already open when the capture started (${plural(s.packets, 'packet')} seen, no SYN)`,
  'icmp-answer': (s, r, L) => `${L.a(s.from)} answered ${s.proto === 'tcp' ? 'the SYN' : 'UDP'} to ${L.ep(r.server)} with ${s.icmp}${s.loop === true ? ', in a routing loop' : ''}`,
  refused: (_s, r, L) => `${L.ep(r.server)} refused the connection: RST in answer to the SYN`,
  timeout: (s, r, L) => `SYN to ${L.ep(r.server)} got no answer (${plural(s.syns, 'SYN')})${s.backlog === true ? ', though the port accepted connections moments earlier: a full listen queue' : ''}`,
  'syn-too-soon': (s, r, L) =>
    s.clientRst === true
      ? `SYN to ${L.ep(r.server)} unanswered, but the client reset its own attempt ${dur(s.gapNs)} after the first SYN: too soon to call it a timeout`
      : `SYN to ${L.ep(r.server)} unanswered, but ${synEnded(s.gapNs)}: too soon to call it a timeout`,
  'handshake-incomplete': (s, r, L) => (s.clientRst ? `the client answered ${L.ep(r.server)}'s SYN-ACK with a RST` : `${L.ep(r.server)} answered with SYN-ACK, but the handshake never completed`),
  'half-open-at-end': (_s, r, L) => `SYN-ACK from ${L.ep(r.server)} seen, but the capture ended before the handshake could complete`,
  'closed-by-remote': (s, r, L) => `${s.box === true ? `a box in the path, answering for ${L.ep(r.server)},` : L.ep(r.server)} accepted the connection, then closed it without a word`,
  'delayed-reset': (s, r, L) => `${r.by === 'middlebox' ? 'a box in the path' : L.ep(r.server)} reset the connection ${dur(s.gapNs)} after the client's last packet, before any reply`,
  'mid-stream-reset': (_s, r, L) => `${r.by === 'client' ? 'the client' : r.by === 'middlebox' ? 'a box in the path' : 'the server'} reset the connection to ${L.ep(r.server)} after data flowed`,
  connected: (_s, r, L) => `connected to ${L.ep(r.server)}`,
  'one-sided': (s, r, L) =>
    s.missing === 'server'
      ? `the capture saw only the client's side of the connection to ${L.ep(r.server)}: the server's packets took another path`
      : `the capture saw only the server's side of the connection to ${L.ep(r.server)}: the client's packets took another path`,
  'bad-syn-ack': (s, r, L) =>
    s.challenge === true
      ? `${L.ep(r.server)} answered the SYN with a plain ACK for an older connection, not a SYN-ACK, so the handshake cannot complete`
      : `${L.ep(r.server)}'s SYN-ACK does not acknowledge the client's SYN, so the handshake cannot complete`,
  'data-stall': (s, r, L) => {
    const to = s.side === 'client' ? L.ep(r.server) : 'the client';
    if (s.view === 'receiver')
      return s.pmtu
        ? `PMTU black hole: the ${s.side}'s full-size segments to ${to} die in the path (${plural(s.bytes, 'byte')} never arrived, smaller segments did) and no ICMP says why`
        : `data from the ${s.side} to ${to} stopped getting through: ${plural(s.bytes, 'byte')} never arrived, and the transfer hung`;
    return s.pmtu
      ? `PMTU black hole: the ${s.side}'s full-size segments (${s.len} bytes, DF) to ${to} die in the path and no ICMP says why`
      : `data from the ${s.side} to ${to} stopped getting through: the same segment retransmitted ${s.count}× with no ACK`;
  },
  'no-response': (s, r, L) =>
    s.acked
      ? s.box === true
        ? `a box in the path, answering for ${L.ep(r.server)}, acknowledged the request but sent nothing back for ${dur(s.waitedNs)}`
        : `${L.ep(r.server)} acknowledged the request but sent nothing back for ${dur(s.waitedNs)}: the application did not answer`
      : `no answer from ${L.ep(r.server)} to the client's request for ${dur(s.waitedNs)}, and no acknowledgement either`,
  'zero-window': (s) => `the ${s.side} stopped reading: its receive window stayed at zero for ${dur(s.durationNs)}`,
  // the SNI follows the server in parentheses, so the server takes no name there
  'tls-alert': (s, r, L) =>
    `the ${s.side} ended the TLS handshake with ${s.sni !== undefined ? `${r.server} (${s.sni})` : L.ep(r.server)} with ${s.desc >= 0 ? `alert ${s.alert}` : 'an encrypted alert'}${s.certProblems.length > 0 ? ` (the certificate is ${certProblemsText(s.certProblems).join('; ')})` : ''}`,
  'tls-aborted': (s, r, L) => `${sideWho(r.by, L.ep(r.server))} closed the connection after the ClientHello${s.sni !== undefined ? ` for ${s.sni}` : ''}, with no ServerHello and no alert`,
  'http-error': (s, r, L) => `${L.ep(r.server)} answered ${s.request ?? 'the request'} with HTTP ${s.status}${s.reason !== undefined ? ` ${s.reason}` : ''} (${s.status >= 500 ? 'server error' : 'client error'})`,
  'health-check': (s, r, L) => `health check from ${L.ep(s.from)}: connects to ${L.ep(r.server)} every ${dur(s.intervalNs)} and closes at once, no data (benign)`,
  'dns-icmp': (s, _r, L) => `DNS ${dnsWhat(s)} to ${L.a(s.server)} answered with ${s.icmp}`,
  'dns-no-response': (s, _r, L) => `no answer from ${L.a(s.server)} to ${s.opcode === undefined ? s.query : dnsWhat(s)}`,
  'dns-fragments-lost': (s, _r, L) => `${L.a(s.server)} answered ${s.query} in IP fragments, and ${s.failure === 'missing' ? 'not all of them arrived' : 'the datagram could not be reassembled'}`,
  'dns-unanswered': (s, _r, L) => `DNS ${dnsWhat(s)} to ${L.a(s.server)} unanswered when the capture ended`,
  'dns-answered': (s, r, L) => dnsAnsweredSummary(s, r, L),
  'ping-ok': (s, _r, L) => `${L.a(s.target)} answers ping: ${s.answered} of ${s.sent} answered, RTT ${dur(s.rttMinNs)} / ${dur(s.rttAvgNs)} / ${dur(s.rttMaxNs)} (min/avg/max)`,
  'ping-ttl-exceeded': (s, _r, L) => `${L.a(s.from)} dropped the ${s.ping} to ${L.a(s.target)}: its TTL (${s.ttl}) ran out there${s.loop ? ', in a routing loop' : ''}`,
  'ping-icmp': (s, _r, L) => `${L.a(s.from)} answered the ${s.ping} to ${L.a(s.target)} with ${s.icmp}`,
  'ping-too-soon': (s, _r, L) => `echo request to ${L.a(s.target)} unanswered, but the capture ended ${dur(s.waitedNs)} after it: too soon to tell`,
  'ping-no-reply': (s, _r, L) => `${L.a(s.target)} did not answer ${plural(s.sent, 'echo request')}`,
  'arp-no-reply': (s, _r, L) => `nobody on this LAN answers for ${L.a(s.target)}: the host is down or not on this link`,
  'arp-conflict': (s, _r, L) => `two machines claim ${L.a(s.addr)}: ${s.first} and ${s.second}`,
};

/** What a DNS message asked: a lookup (`www.example.test. A`), an update or a NOTIFY of a zone. */
function dnsWhat(s: { query: string; opcode?: 'UPDATE' | 'NOTIFY' }): string {
  const zone = s.query.slice(0, s.query.lastIndexOf(' '));
  return s.opcode === 'UPDATE' ? `update of zone ${zone}` : s.opcode === 'NOTIFY' ? `NOTIFY for zone ${zone}` : `query ${s.query}`;
}

function dnsAnsweredSummary(s: Extract<Story, { kind: 'dns-answered' }>, r: FlowRecord, L: Labels): string {
  const server = L.a(s.server);
  switch (r.verdict) {
    case 'dns-ok':
      return `${s.query} resolved by ${server}`;
    case 'dns-search-miss':
      return `${server} answered ${s.rcode === 'NOERROR' ? 'no data' : s.rcode} for ${s.query}, a step of the client's search list: ${s.sibling?.query ?? '?'} resolved (benign)`;
    case 'dns-other-family':
      return `${s.qname} has no ${s.qtype} record at ${server}, and its ${s.sibling?.qtype ?? 'other'} resolved: a single-family name (benign)`;
    case 'dns-referral':
      return `${server} referred ${s.query} to the zone's name servers, as a non-recursive query asks (benign)`;
    case 'dns-no-recursion':
      return `${server} answered ${s.query} with a referral, not an answer: it did not recurse for this client`;
    case 'dns-update-ok':
      return `${server} accepted the dynamic update of zone ${s.qname}`;
    case 'dns-update-refused':
      return `${server} refused the dynamic update of zone ${s.qname} (${s.rcode})`;
    case 'dns-update-error':
      return `${server} rejected the dynamic update of zone ${s.qname} with ${s.rcode}`;
    case 'dns-notify-ok':
      return `${server} accepted the NOTIFY for zone ${s.qname}`;
    case 'dns-notify-error':
      return `${server} answered ${s.rcode} to the NOTIFY for zone ${s.qname}`;
    default:
      return `${server} answered ${s.rcode} for ${s.query}`;
  }
}

/** An UPDATE answered with another error than a refusal (RFC 2136 §2.2: the prerequisites and zone checks). */
function updateErrorCheck(s: Extract<Story, { kind: 'dns-answered' }>, L: Labels): string {
  switch (s.rcode) {
    case 'YXDOMAIN':
    case 'YXRRSET':
    case 'NXRRSET':
    case 'NXDOMAIN':
      return `A prerequisite of the update failed (${s.rcode}): the records were not as the client expected (another client owns the name, or it changed). Compare with \`dig @${s.server} <name> ANY\` and the DHCP server's or client's conflict-detection settings.`;
    case 'NOTZONE':
      return `The update names records outside zone ${s.qname}: the client sent it to the wrong zone (check its zone and the SOA it found).`;
    default:
      return `${L.a(s.server)} failed the update (${s.rcode}): read its logs for zone ${s.qname}.`;
  }
}

const INCONCLUSIVE = 'Inconclusive: capture for longer.';
/** Healthy records have no check. */
const NONE = () => '';

/** The check for an ICMP error that answered a packet to `target` (an endpoint), sent by `from`. */
export function icmpCheckText(v: VerdictId, from: string, target: string, fromTarget: boolean, proto: string, L: Labels): string {
  const F = L.a(from);
  const T = L.ep(target);
  switch (v) {
    case 'icmp-admin-prohibited':
      return `A firewall REJECT rule on ${F} blocks ${T}: look at \`iptables -L -n -v\` / \`nft list ruleset\` there (or the cloud security group / ACL).`;
    case 'icmp-port-unreachable':
      return fromTarget
        ? proto === 'tcp'
          ? `The host rejects ${T} with ICMP (a REJECT rule with icmp-port-unreachable): check \`iptables -L -n -v\` / \`nft list ruleset\` on it.`
          : `Nothing listens on ${T}: run \`ss -lunp\` on the server and check the service is up.`
        : `${F} rejects ${T} on behalf of the server: look for a REJECT rule there (\`iptables -L -n -v\` / \`nft list ruleset\`).`;
    case 'icmp-host-unreachable':
      return `${F} cannot reach the host: it is down or does not answer ARP/neighbour discovery on its LAN. Check it is up, and \`ip neigh\` on ${F}.`;
    case 'ttl-exceeded':
      return `The packet's TTL ran out at ${F}: the path to ${T} is longer than the TTL, or it loops. Run \`${tracerouteCommand(target, proto)}\` and look for repeated hops; compare \`ip route get\` on the routers it names.`;
    case 'icmp-net-unreachable':
      return `${F} has no route to ${T}: check \`ip route\` on ${F} and the route the client uses.`;
    default:
      return `${F} says ${T} is unreachable: check routing and firewall rules on ${F}.`;
  }
}

function tlsAlertCheck(s: Extract<Story, { kind: 'tls-alert' }>): string {
  const sni = s.sni ?? s.host;
  if (s.desc === 70)
    return `Client and server share no TLS version: compare the versions offered above with the server's configuration (\`openssl s_client -connect ${s.host}:${s.port} -servername ${shellWord(sni)} -tls1_2\`, then -tls1_3).`;
  if (s.desc === 40)
    return `No common cipher suite or parameters: compare client and server TLS settings (\`openssl s_client -connect ${s.host}:${s.port} -servername ${shellWord(sni)}\`; \`nmap --script ssl-enum-ciphers -p ${s.port} ${s.host}\`).`;
  if ((s.desc >= 42 && s.desc <= 48) || (s.desc < 0 && s.side === 'client' && s.certProblems.length > 0)) {
    return `The client does not trust the server's certificate: inspect it with \`openssl s_client -connect ${s.host}:${s.port} -servername ${shellWord(sni)} -showcerts\`; install the full chain and a certificate for this name on the server, or add the issuing CA to the client's trust store.`;
  }
  return `Read the ${s.side}'s TLS logs for why it sent the alert; reproduce with \`openssl s_client -connect ${s.host}:${s.port} -servername ${shellWord(sni)}\`.`;
}

/** "Proven by the two captures: a box between them", or with the points it is between (three or more captures). */
const proven = (between: readonly [string, string] | undefined) => (between === undefined ? 'Proven by the two captures: a box between them' : `Proven by the captures: a box between ${between[0]} and ${between[1]}`);

const CHECK: StoryTable = {
  'path-forged': (s, r, L) =>
    `${proven(s.between)} (a firewall REJECT --reject-with tcp-reset rule, an IPS, a proxy or load balancer) answers for ${L.a(s.host)}. Look at the rules and logs of the boxes between ${s.between === undefined ? 'the capture points' : 'those two points'} for ${L.ep(r.server)}.`,
  'path-dropped': (s, r, L) =>
    `${proven(s.between)} drops ${s.what}s to ${L.ep(r.server)}. Check DROP rules, ACLs and security groups on the path (\`iptables -L -n -v\`, \`nft list ruleset\` on the routers and firewalls between${s.between === undefined ? '' : ' those two points'}), or \`traceroute -T -p ${s.port} ${s.host}\` to find where.`,
  'path-return': (s, _r, L) =>
    `${s.between === undefined ? 'Proven by the two captures' : `Proven by the captures (lost between ${s.between[0]} and ${s.between[1]})`}: the way back from ${L.a(s.host)} to ${L.a(s.client)} loses the server's packets. Look for asymmetric routing (a return route through another box), a stateful firewall that saw only one direction, or rp_filter on the routers between.`,
  'path-proxy-refused': (s, _r, L) =>
    `${s.between === undefined ? 'Proven by the two captures' : `Proven by the captures (the proxy is between ${s.between[0]} and ${s.between[1]})`}: ${L.a(s.host)} answered the proxy's SYN with a RST (#${s.rst} in ${s.file}), so nothing listens on port ${s.port} there. Run \`ss -ltnp\` on the server; the SYN proxy (iptables SYNPROXY, a firewall's SYN-flood protection) hides refusals from clients.`,
  midstream: () => 'Start the capture before the connection opens to see its handshake.',
  'icmp-answer': (s, r, L) => (s.loop === true ? loopCheck(hostOf(r.server), L) : icmpCheckText(r.verdict, s.from, r.server, r.by === 'server', s.proto, L)),
  refused: (s, r, L) =>
    r.by === 'middlebox'
      ? `A box in the path answered for ${L.a(s.host)}: look for a REJECT --reject-with tcp-reset rule or a load balancer with no backend on the gateway${s.rstMac !== undefined ? ` (${macRefText(s.rstMac)})` : ''}; compare with a capture on the server.`
      : s.checkedEveryNs !== undefined
        ? `${L.a(hostOf(r.client))}'s health checks find nothing listening on ${L.ep(r.server)}: start the service there (\`ss -ltnp\` on the server: bound to that address and port, not 127.0.0.1), or take the server out of the pool.`
        : `Is anything listening on ${L.ep(r.server)}? Run \`ss -ltnp\` on the server and check the service is bound to that address and port, not 127.0.0.1.`,
  timeout: (s, r, L) =>
    s.backlog === true
      ? `The port is open and the host up, yet these SYNs got nothing: its listen queue is full (the application does not accept() fast enough, or its backlog is too small) and the kernel drops new SYNs; not a firewall. On ${L.a(s.host)}: \`ss -ltn '( sport = :${s.port} )'\` (Recv-Q up to Send-Q: full) and \`nstat -az TcpExtListenOverflows TcpExtListenDrops\`; raise the backlog (listen(), net.core.somaxconn) or find why the application stopped accepting. A per-client connection limit in a firewall looks the same from here: a capture on the server shows which.`
      : `Nothing answered: a firewall or security group is probably dropping SYNs to ${L.ep(r.server)}, or the host is down. Try \`nc -zv ${s.host} ${s.port}\` from the client and \`traceroute -T -p ${s.port} ${s.host}\`; check DROP rules (\`iptables -L -n -v\`, \`nft list ruleset\`) and security groups.`,
  'syn-too-soon': (s) =>
    s.clientRst === true
      ? `Inconclusive about the server: the client gave up before --syn-timeout (${dur(s.timeoutNs)}). Look at why the client cancelled the connection (its own connect timeout, or a scanner).`
      : `Inconclusive: capture for longer (at least ${dur(s.timeoutNs)} after the first SYN).`,
  'handshake-incomplete': () => 'The SYN-ACK did not reach the client, or the client rejected it: look for asymmetric routing or a stateful firewall dropping the return path; capture on both sides.',
  'half-open-at-end': () => INCONCLUSIVE,
  'closed-by-remote': (s) =>
    s.box === true
      ? "A box in the path (a proxy or load balancer) took the connection in the server's place and closed it: look at its rules and logs for this port (on an F5, the virtual server's profiles and iRules); the server itself may never have seen it. Compare with a capture taken next to the server."
      : 'The service accepts and drops: look at its logs and at access rules (hosts.deny / tcpwrappers), connection limits (maxconn, ulimit), or a load balancer with no healthy backend.',
  'delayed-reset': () =>
    "Something waited, then reset: a load balancer or firewall inspection/idle policy (on an F5, the virtual server's profiles and iRules), or a server-side proxy timing out. Compare with a capture taken next to the server.",
  'mid-stream-reset': (s, r) =>
    r.by === 'middlebox'
      ? 'A middlebox cut the connection: check firewall/load-balancer idle timeouts and session tables.'
      : `Look at ${r.by === 'client' ? "the client's" : "the server's"} application logs around ${rel(s.rstT)} (crash, abort, timeout), and at idle timeouts in the path.`,
  connected: NONE,
  'one-sided': () =>
    'Not a failure of the connection but of the capture point: routing is asymmetric here, or the mirror/SPAN port copies one direction only. Capture where both directions pass (on the client or the server), or mirror both directions.',
  'bad-syn-ack': (s, _r, L) =>
    `Something answers from stale state for an older connection on the same ports: a firewall, NAT or load balancer that rewrites or remembers sequence numbers (check its session table and sequence randomisation), or the server itself (\`ss -tan '( sport = :${s.port} )'\` on ${L.a(s.host)}). A capture on the server side shows which.`,
  'data-stall': (s) =>
    s.pmtu
      ? `A link in the path has a smaller MTU and the ICMP "fragmentation needed" / "packet too big" errors are dropped: find it with \`tracepath ${s.host}\` or \`ping -M do -s 1472 ${s.host}\`; allow ICMP type 3 code 4 (ICMPv6 type 2) through the firewalls, or clamp the MSS (\`iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\`).`
      : `Packets are lost one way after the handshake: look for a firewall or IPS dropping mid-connection (state table full, idle timeout), or a link dropping; \`traceroute -T -p ${s.port} ${s.host}\` and a capture on the server side show where they die.`,
  'no-response': (s, _r, L) =>
    s.acked && s.box === true
      ? "A box in the path (a proxy or load balancer) took the connection and the request in the server's place and never answered: its backend may be down or slow; look at its logs and the health of its pool for this port. Compare with a capture taken next to the server."
      : s.acked
        ? `The host is up and its kernel took the request, but the application never answered: is it hung, overloaded, stuck on a backend, or not accepting (a full listen backlog)? On ${L.a(s.host)} look at its logs and thread dumps, \`ss -ltn '( sport = :${s.port} )'\` (Recv-Q of the listener: connections not accepted) and \`ss -tn '( sport = :${s.port} )'\` (Recv-Q of the connection: data not read).`
        : `The request was not acknowledged, so it may never have reached ${L.a(s.host)}: capture on the server side to see whether it arrives; \`traceroute -T -p ${s.port} ${s.host}\` shows the path.`,
  'zero-window': (s, _r, L) =>
    `The ${s.side} application is not reading its socket (blocked, overloaded or hung): look at it with \`ss -tmi\` (a full Recv-Q) on ${s.side === 'server' ? L.a(s.host) : 'the client'}, its thread dumps and logs. The network is fine.`,
  'tls-alert': (s) => tlsAlertCheck(s),
  'tls-aborted': (s, r, L) =>
    `The TLS service did not answer the handshake: is it TLS on ${L.ep(r.server)} at all, does it have a certificate for ${s.sni ?? L.a(s.host)} (SNI-based routing on a proxy or load balancer)? Try \`openssl s_client -connect ${s.host}:${s.port} -servername ${shellWord(s.sni ?? s.host)}\` and read the server's or proxy's TLS logs.`,
  'http-error': (s, r, L) =>
    s.status >= 500
      ? `The server${s.server !== undefined ? ` (${s.server})` : ''} failed the request: read its error log at ${rel(s.responseT)}; a 502/503/504 from a proxy or load balancer means its backend is down or slow (check the pool's health).`
      : s.status === 404
        ? `Nothing at ${s.path} on ${L.ep(r.server)}: check the URL, the virtual host (the Host header) and the server's routes.`
        : `The server refused ${s.request ?? 'the request'}: check the URL, credentials (401/403) and the request against the server's access log.`,
  'health-check': NONE,
  'dns-icmp': (s, r, L) =>
    r.verdict === 'icmp-port-unreachable' && r.by === 'server'
      ? `No DNS server listens on ${L.ep(s.target)}: is the resolver address right, and is the service running (\`ss -lunp\`)?`
      : icmpCheckText(r.verdict, s.from, s.target, r.by === 'server', 'udp', L),
  'dns-no-response': (s, _r, L) =>
    `${L.a(s.server)} did not answer ${s.retriedNs !== undefined ? `before the client gave up and asked again ${dur(s.retriedNs)} later` : `within ${dur(s.timeoutNs)}`}: the server is down, unreachable, or a firewall drops DNS (${s.transport.toUpperCase()} ${s.port}). Try \`dig @${s.server} ${shellWord(s.qname)}${s.opcode === undefined ? '' : ' SOA'}\` from the client.`,
  'dns-fragments-lost': (s, _r, L) =>
    s.failure === 'missing'
      ? `A box between ${L.a(s.server)} and the client drops IP fragments (a firewall or router filtering non-first fragments, or one without fragment reassembly): allow fragments through it, or have the server send smaller answers (an EDNS buffer of 1232 bytes, e.g. unbound's \`edns-buffer-size: 1232\`, so a large answer is truncated and retried over TCP). \`dig @${s.server} ${shellWord(s.qname)} +bufsize=1232\` shows whether that works.`
      : `The answer's fragments overlapped (RFC 5722) or broke the reassembly bounds, so no stack would accept it: look for a box rewriting fragments between ${L.a(s.server)} and the client, or an attack.`,
  'dns-unanswered': () => INCONCLUSIVE,
  'dns-answered': (s, r, L) => {
    switch (r.verdict) {
      case 'dns-nxdomain':
        return `${s.qname} does not exist: check the spelling, the search domains in /etc/resolv.conf, and the zone on the server (\`dig @${s.server} ${shellWord(s.qname)}\`).`;
      case 'dns-servfail': {
        const ups = r.related?.filter((x) => x.kind === 'dns-upstream') ?? [];
        if (ups.length > 0)
          return `${L.a(s.server)} could not resolve it because its own queries upstream failed (${ups.map((x) => recordRef(x.id)).join(', ')}): ${ups[0].why}. Fix that server, or the delegation that points to it (the parent zone's NS records); \`dig ${shellWord(s.qname)} +trace\` from ${s.server} shows the chain.`;
        return `${L.a(s.server)} could not resolve it: its upstream/forwarders are unreachable, or DNSSEC validation failed. Try \`dig @${s.server} ${shellWord(s.qname)} +trace\` and the server's logs.`;
      }
      case 'dns-no-recursion':
        return `The client asked ${L.a(s.server)} for recursion and got sent to the zone's name servers instead: it is an authoritative-only server, or its recursion is closed to this client (BIND allow-recursion, Unbound access-control). Point the client at a recursive resolver (/etc/resolv.conf), or allow recursion for it.`;
      case 'dns-update-refused':
        return `${L.a(s.server)} does not accept dynamic updates of ${s.qname} from this client: check the zone's allow-update / update-policy (BIND) or its dynamic-update setting (Windows DNS "secure only" needs a Kerberos-signed update), and the TSIG key. Until it does, names that DHCP or the clients register are not updated.`;
      case 'dns-update-error':
        return updateErrorCheck(s, L);
      case 'dns-notify-error':
        return `${L.a(s.server)} did not take the NOTIFY for ${s.qname} (${s.rcode}): on it, this zone's primaries (masters) must include the sender, and allow-notify must allow it; until then the zone refreshes only at its SOA refresh interval.`;
      case 'dns-refused':
        return `${L.a(s.server)} refuses to answer this client or this zone: check its allow-query / recursion ACLs, or whether the client uses the right resolver.`;
      case 'dns-error':
        return `${L.a(s.server)} answered ${s.rcode} to ${s.query}: check the query and the server's logs.`;
      case 'dns-nodata':
        return `${s.qname} exists but has no ${s.qtype} record: check the zone, or whether the client should ask for another type (A vs AAAA).`;
      default:
        return '';
    }
  },
  'ping-ok': NONE,
  'ping-ttl-exceeded': (s, _r, L) =>
    s.loop
      ? loopCheck(s.target, L)
      : s.ttl <= TRACEROUTE_MAX_TTL
        ? `A probe with TTL ${s.ttl} ends at hop ${s.ttl} by design (traceroute). If a normal packet dies like this, the path is longer than its TTL or loops: run \`traceroute ${s.target}\` and look for repeated hops.`
        : `A packet sent with TTL ${s.ttl} ran out before ${L.a(s.target)}: the path is longer than that, or it loops. Run \`traceroute ${s.target}\` and look for repeated hops.`,
  'ping-icmp': (s, _r, L) => `${L.a(s.from)} says ${L.a(s.target)} cannot be reached: check routing (\`ip route get ${s.target}\`) and firewall rules on ${L.a(s.from)}.`,
  'ping-too-soon': () => INCONCLUSIVE,
  'ping-no-reply': (s) =>
    `The host is down, or a firewall drops ICMP echo (many do, on purpose): a failed ping alone proves little. Test the service itself (\`nc -zv ${s.target} <port>\`, \`traceroute -T -p <port> ${s.target}\`) and check \`iptables -L -n -v\` / \`nft list ruleset\` for ICMP rules on the way.`,
  'arp-no-reply': (s, _r, L) =>
    `${L.a(s.target)} is off, unplugged, or in another VLAN/subnet: check the host and its switch port; \`ip neigh show ${s.target}\` on ${L.a(s.asker)} shows FAILED. If ${L.a(s.target)} should be reached through a router, ${L.a(s.asker)}'s netmask or routes are wrong (\`ip route get ${s.target}\`).`,
  'arp-conflict': (s, _r, L) =>
    `An address conflict: traffic for ${L.a(s.addr)} goes to whichever answer came last. Usual causes: a cloned VM, a static address inside the DHCP pool, or a failover (VRRP/keepalived) that both nodes think they own. Find the two hosts by their MACs in the switch's MAC table; \`arping -D ${s.addr}\` shows duplicates.`,
};

/**
 * "by middlebox: gateway 00:01:d7:2a:10:01 = F5 Inc. (load balancer)": who decided the record, with
 * the MAC and vendor of the box that made the deciding packet, named as such. Only a MAC that made
 * the packet is shown (macRole sender or gateway): never the gateway a server's packet was routed
 * through, never on `by unknown`, and `by server` never with a gateway's vendor.
 */
export function byLabel(r: Pick<FlowRecord, 'by' | 'mac' | 'vendor' | 'macRole'>): string {
  if (r.mac === undefined || r.by === 'unknown' || (r.macRole !== 'sender' && r.macRole !== 'gateway')) return `by ${r.by}`;
  if (r.macRole === 'gateway' && r.by !== 'middlebox') return `by ${r.by}`;
  return `by ${r.by}: ${r.macRole === 'gateway' ? 'gateway ' : ''}${withClass(r.vendor !== undefined ? `${r.mac} = ${r.vendor}` : r.mac, vendorClass(r.mac, r.vendor))}`;
}

/** "00:01:d7:2a:10:01 = F5 Inc. (load balancer)" (", virtual machine" after a note that ends in a parenthesis). */
function withClass(text: string, cls: string | undefined): string {
  if (cls === undefined) return text;
  return text.endsWith(')') ? `${text}, ${cls}` : `${text} (${cls})`;
}

// ---- groups of problems alike (report/groups.ts) ----------------------------------------------

/**
 * A group's headline: `refused ×43: 10.0.2.21–24:9080 from 10.0.2.1's health checks (every 2 s),
 * 18:01:38–18:01:59`.
 */
export function groupHeadline(g: ProblemGroup, L: Labels = new Labels(NO_NAMES)): string {
  if (g.overflow === true) return `${g.verdict} ×${g.count} more, to further servers (past the first ${GROUP_BOUNDS.groups} groups, not told apart), ${spanText(g.first, g.last)}`;
  const servers = endpointsCompact(g.servers, g.moreServers, L);
  const from =
    g.checks !== undefined ? `${L.a(g.checks.from)}'s health checks${g.checks.intervalMs !== undefined ? ` (every ${dur(g.checks.intervalMs * 1e6)})` : ''}` : g.moreClients ? `${g.clients.length}+ clients` : hostsCompact(g.clients, L);
  return `${g.verdict} ×${g.count}: ${servers} from ${from}, ${spanText(g.first, g.last)}`;
}

/** "18:01:38–18:01:59" (times of day, UTC), with milliseconds when the span is under 10 s. */
function spanText(first: string, last: string): string {
  const fine = Date.parse(last.slice(0, 23) + 'Z') - Date.parse(first.slice(0, 23) + 'Z') < 10_000;
  const tod = (iso: string) => iso.slice(11, fine ? 23 : 19);
  return first === last || tod(first) === tod(last) ? `at ${tod(first)}` : `${tod(first)}–${tod(last)}`;
}

const IPV4 = /^(\d+\.\d+\.\d+)\.(\d+)$/;

/** Numbers as ranges: [21, 22, 23, 24, 30] → "21–24, 30". */
function ranges(ns: readonly number[]): string[] {
  const s = [...new Set(ns)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    out.push(j === i ? `${s[i]}` : `${s[i]}–${s[j]}`);
    i = j + 1;
  }
  return out;
}

/** Addresses, IPv4 ones of one /24 in runs: "10.0.2.21–24, 10.0.3.5"; names after lone addresses. */
function hostRuns(hosts: readonly string[], L: Labels): string[] {
  const byNet = new Map<string, number[]>();
  const out: string[] = [];
  for (const h of hosts) {
    const m = IPV4.exec(h);
    if (m === null) out.push(L.a(h));
    else {
      const list = byNet.get(m[1]);
      if (list === undefined) byNet.set(m[1], [Number(m[2])]);
      else list.push(Number(m[2]));
    }
  }
  for (const [net, last] of byNet) for (const r of ranges(last)) out.push(r.includes('–') ? `${net}.${r}` : L.a(`${net}.${r}`));
  return out;
}

function hostsCompact(hosts: readonly string[], L: Labels): string {
  return capped(hostRuns(hosts, L), false);
}

/** "10.0.2.21–24:9080", "10.0.2.20:80–85, 443", "10.0.2.20:80, 10.0.3.5:443". */
function endpointsCompact(eps: readonly string[], more: boolean, L: Labels): string {
  const parsed = eps.map((e) => ({ host: hostOf(e), port: portOf(e) }));
  const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);
  const hosts = new Set(parsed.map((p) => p.host));
  if (hosts.size === 1 && eps.length > 1 && parsed.every((p) => p.port >= 0)) {
    const host = parsed[0].host;
    const named = L.a(host);
    return `${bracket(host)}:${capped(ranges(parsed.map((p) => p.port)), more)}${named.slice(host.length)}`;
  }
  const byPort = new Map<number, string[]>();
  for (const p of parsed) {
    const list = byPort.get(p.port);
    if (list === undefined) byPort.set(p.port, [p.host]);
    else list.push(p.host);
  }
  const items: string[] = [];
  for (const [port, hs] of byPort) {
    for (const h of hostRuns(hs, new Labels(NO_NAMES))) {
      const ep = port < 0 ? h : `${bracket(h)}:${port}`;
      items.push(h.includes('–') || port < 0 ? (port < 0 ? L.a(h) : ep) : L.ep(ep));
    }
  }
  return capped(items, more);
}

/** The first six items, then "and N more" (or "and more" when not all are known). */
function capped(items: readonly string[], more: boolean): string {
  const shown = items.slice(0, 6).join(', ');
  const rest = items.length - 6;
  return rest > 0 ? `${shown} and ${rest}${more ? '+' : ''} more` : more ? `${shown} and more` : shown;
}

// ---- what related records tell (src/related/): the summary and check pointed at the cause -------

/** Written from the cause, the record, and the summary (check) the record's own story gave. */
type CauseFn<C> = (c: C, r: FlowRecord, L: Labels, own: string) => string;
type CauseTable = { [K in Cause['kind']]: CauseFn<Extract<Cause, { kind: K }>> };

/** What became of a connection, after "the connection …" ("was refused"): the words for a related record's verdict. */
export function connectionFailedText(v: VerdictId): string {
  switch (v) {
    case 'refused':
      return 'was refused';
    case 'timeout':
      return 'got no answer (timeout)';
    case 'capture-ended':
      return 'got no answer before the capture ended';
    case 'handshake-incomplete':
      return 'never completed its handshake';
    case 'ttl-exceeded':
      return 'died in the path (TTL exceeded)';
    case 'closed-by-remote':
      return 'was closed at once by the other end';
    case 'delayed-reset':
    case 'mid-stream-reset':
      return 'was reset';
    case 'no-response':
      return 'got no answer to its request';
    case 'data-stall':
      return 'stalled';
    case 'icmp-net-unreachable':
      return 'was answered with ICMP network unreachable';
    case 'icmp-host-unreachable':
      return 'was answered with ICMP host unreachable';
    case 'icmp-port-unreachable':
      return 'was answered with ICMP port unreachable';
    case 'icmp-admin-prohibited':
      return 'was answered with ICMP administratively prohibited';
    default:
      return `ended ${v}`;
  }
}

/** Verdicts of a connection that got nothing back: a path (or a host) that drops, not a refusal. */
const UNANSWERED: ReadonlySet<VerdictId> = new Set<VerdictId>(['timeout', 'capture-ended', 'handshake-incomplete', 'icmp-net-unreachable', 'icmp-host-unreachable', 'icmp-admin-prohibited', 'icmp-unreachable', 'ttl-exceeded']);

const portText = (endpoint: string) => endpoint.slice(endpoint.lastIndexOf(':') + 1);

const CAUSE_SUMMARY: CauseTable = {
  upstream: (c, _r, L, own) => `${own}: the proxy's connection to its upstream ${L.ep(c.upstream)} ${connectionFailedText(c.verdict)} (${recordRef(c.id)})`,
  'other-family': (c, r, _L, own) =>
    r.verdict === 'refused'
      ? `${c.name} refuses IPv${c.family} connections to port ${portText(r.server)}, IPv${c.family === 6 ? 4 : 6} fallback worked (${c.other}, ${recordRef(c.id)}): ${own}`
      : `IPv${c.family} path to ${c.name} broken, IPv${c.family === 6 ? 4 : 6} fallback worked (${c.other}, ${recordRef(c.id)}): ${own}`,
  'host-up': (c, _r, L, own) => `${own}, but the host is up: TCP to ${L.ep(c.via)} worked (${recordRef(c.id)})`,
  'host-answers-ping': (c, _r, _L, own) => `${own}; the host answers ping (${recordRef(c.id)}): the port is the problem, not the host`,
  'nat-leg': (c, _r, _L, own) => `${own} (the same connection as ${recordRef(c.id)}, after the ${c.side === 'client' ? 'SNAT' : c.side === 'server' ? 'DNAT' : 'NAT'}: ${c.before} is ${c.after})`,
};

const CAUSE_CHECK: CauseTable = {
  upstream: (c, _r, L) => {
    const host = hostOf(c.upstream);
    const proxy = L.a(hostOf(c.proxy));
    if (c.verdict === 'refused')
      return `The proxy ${proxy} works; its upstream ${L.ep(c.upstream)} refused it (${recordRef(c.id)}): is the upstream service running and listening there (\`ss -ltnp\` on ${L.a(host)})? Check the address and port in the proxy's upstream (pool) configuration.`;
    if (UNANSWERED.has(c.verdict))
      return `The proxy ${proxy} works; its upstream ${L.ep(c.upstream)} did not answer it (${recordRef(c.id)}): is the upstream host up, and does a firewall between the proxy and the upstream drop the connection? Try \`nc -zv ${host} ${portText(c.upstream)}\` from ${proxy}.`;
    return `The proxy ${proxy} works; its upstream ${L.ep(c.upstream)} failed the request (${recordRef(c.id)}): read the upstream's logs around that time, and the proxy's error log.`;
  },
  'other-family': (c, r, L) => {
    const host = hostOf(r.server);
    const port = portText(r.server);
    return r.verdict === 'refused'
      ? `${c.name} works over IPv${c.family === 6 ? 4 : 6}, so the service is up but not on IPv${c.family}: make it listen there too (\`ss -ltnp\` on ${L.a(host)}: bound to 0.0.0.0 only?), or remove the ${c.family === 6 ? 'AAAA' : 'A'} record. Until then every connection waits for the fallback.`
      : `${c.name} works over IPv${c.family === 6 ? 4 : 6}, so the service is up: something drops IPv${c.family} to ${L.ep(r.server)}. Check the IPv${c.family} firewall rules and ACLs on the way (\`${c.family === 6 ? 'ip6tables' : 'iptables'} -L -n -v\`, \`nft list ruleset\`) and the route (\`${c.family === 6 ? 'traceroute6' : 'traceroute'} -T -p ${port} ${host}\`), and that the server listens on IPv${c.family} (\`ss -ltn\`). Until then every connection waits for the fallback.`;
  },
  'host-up': (c, r, L) =>
    `The host is up (TCP to ${L.ep(c.via)} worked): ICMP echo to ${L.a(r.server)} is dropped by a firewall on it or on the way, often on purpose. Nothing to fix unless monitoring relies on ping; then allow echo requests (\`iptables -L -n -v\` / \`nft list ruleset\`).`,
  'host-answers-ping': (c, r, L, own) =>
    UNANSWERED.has(r.verdict)
      ? `The host is up (it answers ping, ${recordRef(c.id)}): a firewall or security group drops SYNs to port ${portText(r.server)}, on ${L.a(c.host)} or on the way. Check DROP rules there (\`iptables -L -n -v\`, \`nft list ruleset\`) and \`traceroute -T -p ${portText(r.server)} ${c.host}\` to find where.`
      : `The host is up (it answers ping, ${recordRef(c.id)}). ${own}`,
  'nat-leg': (_c, _r, _L, own) => own,
};

/** "fragment 2 of 3 never arrived", "fragments 2–3 of 4 never arrived", "fragment 3 of at least 3 never arrived", or why it was given up. */
function fragmentsText(f: { missing: [number, number][]; of?: number; failure: string }): string {
  if (f.failure === 'overlap') return 'its fragments overlapped (RFC 5722): the datagram was dropped';
  if (f.failure === 'too-big') return 'its fragments add up to more than 65535 bytes: the datagram was dropped';
  if (f.failure === 'too-many') return 'it came in too many fragments to reassemble: the datagram was dropped';
  const of = f.of !== undefined ? `of ${f.of}` : `of at least ${f.missing[f.missing.length - 1]?.[1] ?? 1}`;
  const runs = f.missing.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`));
  const many = f.missing.length > 1 || f.missing.some(([a, b]) => a !== b);
  return `${many ? 'fragments' : 'fragment'} ${runs.join(', ')} ${of} never arrived${f.failure === 'evicted' ? ' (given up: too many datagrams in reassembly)' : ''}`;
}

/** Probes sent with up to this TTL are traceroute's (its default --max-hops is 30): dying at that hop is their purpose. */
const TRACEROUTE_MAX_TTL = 30;

/** The check for a packet that died in a routing loop on the way to `target`. */
function loopCheck(target: string, L: Labels): string {
  return `The routers above send ${L.a(target)} back and forth: compare \`ip route get ${target}\` on each of them; a static route pointing back the way the packet came is the usual cause.`;
}

/**
 * A traceroute that probes the way `endpoint` was reached (Linux traceroute's options): TCP SYNs to
 * its port, UDP to its port, or the default UDP probes when the packet was one (ports 33434 and up).
 */
export function tracerouteCommand(endpoint: string, proto: string): string {
  const host = hostOf(endpoint);
  const port = portOf(endpoint);
  if (port < 0) return `traceroute ${host}`;
  if (proto === 'tcp') return `traceroute -T -p ${port} ${host}`;
  return port >= TRACEROUTE_UDP_BASE && port < TRACEROUTE_UDP_BASE + 256 ? `traceroute ${host}` : `traceroute -U -p ${port} ${host}`;
}

/** Linux traceroute's first UDP destination port (each probe takes the next). */
const TRACEROUTE_UDP_BASE = 33434;
