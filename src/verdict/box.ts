import type { ClassifyContext } from './context.js';
import type { Outcome } from './tcp-evidence.js';
import type { TcpFlow } from '../flow/tcp.js';
import { S2C } from '../flow/endpoints.js';
import type { FpClass, HandshakeFp } from '../flow/server-profile.js';
import { optionLayoutText } from '../decode/tcp-options.js';
import { hopsFrom, isInitialTtl } from './format.js';
import { macRef, type Fact, type HandshakeView } from './facts.js';
import { terminatesConnections, vendorClass } from '../oui/vendor-class.js';

/** The fact that says a box in the path answered this connection's handshake. */
export type BoxFact = Extract<Fact, { kind: 'attribution'; reason: 'handshake-by-box' }>;

/**
 * Who answered this connection's handshake: the server, or a box in the path (a full proxy, a
 * load balancer's virtual server, a transparent proxy, a firewall's SYN proxy). The server side of
 * the handshake (HandshakeFp) is compared with the same server address's other connections seen so
 * far (ServerProfile.kinds: those still open and those reported, within HostTable's bounds). A box
 * answered when this SYN-ACK came from nearer than the server's own SYN-ACKs in other connections
 * (fewer hops: a box between the capture and the server), and one more sign says it is another
 * machine, not another path to the same one (ECMP, a route change):
 *  - it arrived unrouted (an initial TTL) through the very MAC that brings the server's routed
 *    packets: that MAC's box made it;
 *  - its TCP stack differs: another option layout, MSS or window scale, for clients that offered
 *    the same options;
 *  - the MAC it came from is a load balancer's or a firewall's (vendor-class.ts: supporting only).
 * A box that answers every connection to an address (a VIP) leaves nothing to compare with: then
 * nothing is said, as before.
 *
 * Live and streamed input: a record is decided when its own packets say so, and only what was seen
 * up to then is compared (no record is held back for later connections), so a proxied connection
 * before any connection to the real server is not recognised.
 */
export function handshakeByBox(f: TcpFlow, c: ClassifyContext): BoxFact | null {
  const fp = f.fp;
  const prof = f.profile;
  if (fp.ttl < 0 || prof === null || f.synAckFrame === 0) return null;
  const kinds = prof.kinds();
  if (kinds === null) return null;
  const ref = fp.mac >= 0 ? macRef(fp.mac) : null;
  const m = compareHandshake(fp, kinds, ref !== null && terminatesConnections(vendorClass(ref.mac, ref.vendor)));
  if (m === null) return null;
  return {
    kind: 'attribution',
    reason: 'handshake-by-box',
    frame: f.synAckFrame,
    ipVersion: f.version,
    box: view(fp),
    mac: ref?.mac ?? '',
    vendor: ref?.vendor,
    note: ref?.note,
    // the MAC brought the server's routed packets, or the capture knows it as a router
    gateway: m.sameMac || c.hosts.isGatewayMac(fp.mac),
    server: f.serverHostText,
    own: view(m.own.fp),
    conns: m.others,
    ownFrame: m.own.frame,
    sameMac: m.sameMac,
    stackDiffers: m.stackDiffers,
  };
}

/** Which kind of the server's own handshakes a box's answer stands out from, and how (see handshakeByBox). */
export interface HandshakeMismatch {
  own: FpClass;
  /** Connections of that kind other than this one. */
  others: number;
  /** This SYN-ACK came unrouted through the MAC that brings the server's routed ones. */
  unroutedViaGateway: boolean;
  sameMac: boolean;
  stackDiffers: boolean;
}

/**
 * Compares one connection's server-side handshake with the kinds seen for that server (its own
 * among them): the kind it stands out from as a box's answer, or null. `boxVendor`: the MAC it came
 * from is a load balancer's or a firewall's (supporting evidence: it never decides alone).
 */
export function compareHandshake(fp: HandshakeFp, kinds: readonly FpClass[], boxVendor: boolean): HandshakeMismatch | null {
  const hops = hopsFrom(fp.ttl);
  let best: HandshakeMismatch | null = null;
  for (const cls of kinds) {
    const other = cls.fp;
    const others = cls.conns - (cls.matches(fp) ? 1 : 0);
    // nearer than the server's own answers: fewer hops (a box between the capture and the server)
    if (others <= 0 || other.ttl === fp.ttl || hopsFrom(other.ttl) <= hops) continue;
    const sameMac = fp.mac >= 0 && fp.mac === other.mac;
    const viaGateway = isInitialTtl(fp.ttl) && sameMac;
    const stack = sameClientOffer(fp, other) && (fp.layout !== other.layout || fp.mss !== other.mss || fp.wscale !== other.wscale);
    if (!viaGateway && !stack && !boxVendor) continue;
    if (best === null || others > best.others) best = { own: cls, others, unroutedViaGateway: viaGateway, sameMac, stackDiffers: stack };
  }
  return best;
}

/**
 * Whether every packet of the server's side of this connection came from the box that answered
 * the handshake (its TTL): then its RST, FIN or data are the box's too, not the server's.
 */
export function allFromBox(f: TcpFlow, box: BoxFact): boolean {
  const ttl = box.box.ttl;
  if (f.s.ttlMax >= 0 && (f.s.ttlMin !== ttl || f.s.ttlMax !== ttl)) return false;
  return f.rstDir !== S2C || f.rst.ttl === ttl;
}

function sameClientOffer(a: HandshakeFp, b: HandshakeFp): boolean {
  return a.clientOpts >= 0 && a.clientOpts === b.clientOpts;
}

function view(fp: HandshakeFp): HandshakeView {
  return { ttl: fp.ttl, hops: hopsFrom(fp.ttl), window: fp.window, mss: fp.mss >= 0 ? fp.mss : undefined, wscale: fp.wscale >= 0 ? fp.wscale : undefined, options: optionLayoutText(fp.layout), timestamps: fp.ts };
}

/**
 * A problem put down to the server whose handshake a box answered (handshakeByBox), every
 * server-side packet of it from that box: it is the box's doing. `by` becomes middlebox, the fact
 * says why, and it replaces the lines that called the box's MAC the server's or found the TTL
 * matching (it matches the box, not the server).
 */
export function applyBox(f: TcpFlow, c: ClassifyContext, o: Outcome): void {
  if (o.by !== 'server') return;
  const box = handshakeByBox(f, c);
  if (box === null || !allFromBox(f, box)) return;
  o.by = 'middlebox';
  if (o.story.kind === 'closed-by-remote' || o.story.kind === 'no-response') o.story.box = true;
  let at = -1;
  const kept: Fact[] = [];
  for (const fact of o.facts) {
    const drop = (fact.kind === 'attribution' && fact.reason === 'ttl-matches') || ((fact.kind === 'mac' || fact.kind === 'gateway') && fact.mac === box.mac);
    if (drop) {
      if (at < 0) at = kept.length;
    } else kept.push(fact);
  }
  kept.splice(at < 0 ? kept.length : at, 0, box);
  o.facts = kept;
  if (box.gateway && o.macRole === undefined && o.mac === f.fp.mac) o.macRole = 'gateway';
}
