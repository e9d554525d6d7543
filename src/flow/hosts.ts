import type { DecodedPacket } from '../decode/packet.js';
import { addrNetKey, formatIpv6 } from './addr.js';
import { ICMP6 } from '../decode/enums.js';
import { ServerProfile } from './server-profile.js';
import { FreeList } from './chained-table.js';

/** Initial TTLs / hop limits of common stacks (verdict/format.ts INITIAL_TTLS): a packet with one was not routed. */
function isInitialTtl(ttl: number): boolean {
  return ttl === 64 || ttl === 128 || ttl === 255;
}

/** What the capture says about one MAC address: which IP networks sit behind it. */
export class MacInfo {
  /** Distinct IPv4 addresses sent from / to this MAC (up to 4 kept). */
  readonly v4Src: number[] = [];
  readonly v4Dst: number[] = [];
  /** Distinct IPv6 /64 prefixes (link-local excluded) sent from / to this MAC. */
  readonly v6Src: number[] = [];
  readonly v6Dst: number[] = [];
  /** IPv4 addresses this MAC claimed in ARP. */
  readonly arpIps: number[] = [];
  sentRouterAdvert = false;
  /** It sent IP packets with an initial TTL / hop limit (made by its own box), or routed ones (lower). */
  sentInitial = false;
  sentRouted = false;

  /**
   * A MAC that carries traffic for several addresses is a router (or an L3 middlebox): it sent
   * IPv6 router advertisements, or carried two IPv4 addresses or IPv6 /64s in one direction and
   * forwarded packets (sent some with a TTL below an initial value, or none of its own), or
   * carried an IPv4 address other than the one it claimed in ARP.
   */
  get isRouter(): boolean {
    if (this.sentRouterAdvert) return true;
    // several addresses behind one MAC: a router when it forwards (routed packets) or only receives;
    // a host with several addresses of its own (a DNS server on two) sends its own packets unrouted
    const several = this.v4Src.length >= 2 || this.v4Dst.length >= 2 || this.v6Src.length >= 2 || this.v6Dst.length >= 2;
    if (several && (this.sentRouted || !this.sentInitial)) return true;
    if (this.arpIps.length === 0) return false;
    for (const a of this.v4Src) if (!this.arpIps.includes(a)) return true;
    for (const a of this.v4Dst) if (!this.arpIps.includes(a)) return true;
    return false;
  }
}

export { ServerProfile } from './server-profile.js';

/**
 * Server profiles no connection refers to any more, kept so that later connections can be compared
 * with earlier ones ("10.0.2.20's own packets in 3 other connections…"), oldest forgotten first.
 */
export const IDLE_SERVERS_KEPT = 4096;
/**
 * Forgotten profiles kept for reuse. Profiles are forgotten as connections end, in bursts (the
 * flows a sweep retires: up to 245 at once on the 1 GB dense bench capture), and made anew as
 * connections begin, between them.
 */
const SPARE_PROFILES = 1024;

function pushDistinct(list: number[], v: number): void {
  if (list.length < 4 && !list.includes(v)) list.push(v);
}

function isMulticastMac(mac: number): boolean {
  return (Math.floor(mac / 1099511627776) & 1) === 1; // bit 0 of the first octet
}

function isLinkLocalOrMulticast6(a: Uint32Array): boolean {
  return (a[0] & 0xffc00000) >>> 0 === 0xfe800000 || a[0] >>> 24 === 0xff;
}

/** Builds MAC and host knowledge as packets go by; the verdict layer reads it. */
export class HostTable {
  readonly macs = new Map<number, MacInfo>();
  /**
   * By server address (the IPv4 address as a number, an IPv6 one as text: exact keys either way):
   * the profiles connections refer to, and at most idleKept that none does (idle).
   */
  private readonly servers = new Map<number | string, ServerProfile>();
  /**
   * The idle profiles in the order they became idle, oldest first, as (key, profile, idleSeq) in
   * parallel arrays from `idleHead` on; an entry whose profile was taken back (or became idle again
   * later: a new entry) no longer has its idleSeq, and is skipped. A profile moved between two maps
   * each time a server's last connection ended and a new one began, four map operations a
   * connection on a client's capture (issue #20); now one push. The entries are those before
   * `idleEnd`: the arrays are not shortened when compacted, so that they are not grown again and
   * again (each growth a copy, promoted with them).
   */
  private readonly idleKeys: (number | string)[] = [];
  private readonly idleProfiles: (ServerProfile | null)[] = [];
  private readonly idleSeqs: number[] = [];
  private idleHead = 0;
  private idleEnd = 0;
  private idleCount = 0;
  private nextIdleSeq = 1;
  /** Profiles forgotten, to be reset and handed out for new servers (ServerProfile.reset). */
  private readonly spare = new FreeList<ServerProfile>(SPARE_PROFILES);

  constructor(private readonly idleKept = IDLE_SERVERS_KEPT) {}
  // the last two MACs looked up: packets alternate between a host's and its gateway's
  private macA = -1;
  private infoA: MacInfo | null = null;
  private macB = -1;
  private infoB: MacInfo | null = null;

  mac(m: number): MacInfo {
    if (m === this.macA && this.infoA !== null) return this.infoA;
    if (m === this.macB && this.infoB !== null) return this.infoB;
    let info = this.macs.get(m);
    if (info === undefined) {
      info = new MacInfo();
      this.macs.set(m, info);
    }
    this.macB = this.macA;
    this.infoB = this.infoA;
    this.macA = m;
    this.infoA = info;
    return info;
  }

  /** A router, or a MAC that brought routed packets (a TTL below an initial value): a gateway. */
  isGatewayMac(m: number): boolean {
    if (m < 0) return false;
    const info = this.macs.get(m);
    return info !== undefined && (info.isRouter || info.sentRouted);
  }

  isRouterMac(m: number): boolean {
    if (m < 0) return false;
    const info = this.macs.get(m);
    return info !== undefined && info.isRouter;
  }

  /**
   * The link facts of the last two IP packets recorded (see observeLink), slot A and slot B: their
   * MACs (-2: none), kind (IP version × 2 + 1 for an initial TTL; 0: none) and addresses (four
   * words each, src then dst; one used for IPv4). Two, since a flow's packets come in runs that
   * alternate direction; the slot recorded longer ago is replaced.
   */
  private readonly linkMacs = new Float64Array([-2, -2, -2, -2]);
  private readonly linkKinds = new Uint8Array(2);
  private readonly linkAddrs = new Uint32Array(16);
  private linkNext = 0;

  /** Whether slot `k` holds these link facts. */
  private linkSeen(k: number, pkt: DecodedPacket, kind: number): boolean {
    if (this.linkKinds[k] !== kind || this.linkMacs[2 * k] !== pkt.srcMac || this.linkMacs[2 * k + 1] !== pkt.dstMac) return false;
    const a = this.linkAddrs;
    const o = 8 * k;
    const src = pkt.src;
    const dst = pkt.dst;
    if (a[o] !== src[0] || a[o + 4] !== dst[0]) return false;
    return kind < 12 || (a[o + 1] === src[1] && a[o + 2] === src[2] && a[o + 3] === src[3] && a[o + 5] === dst[1] && a[o + 6] === dst[2] && a[o + 7] === dst[3]);
  }

  /** Records which addresses travel behind which MACs. Cheap: two cached Map lookups. */
  observeLink(pkt: DecodedPacket): void {
    const v = pkt.ipVersion;
    // The same MACs, addresses and kind of TTL as one of the two IP packets recorded last (a
    // router advertisement aside): recording it again would change nothing, since what is
    // recorded only grows (flags set, distinct addresses added up to a bound), whatever came in
    // between.
    if (v === 4 || (v === 6 && pkt.icmpType !== ICMP6.RouterAdvertisement)) {
      const kind = v * 2 + (isInitialTtl(pkt.ttl) ? 1 : 0);
      if (this.linkSeen(0, pkt, kind) || this.linkSeen(1, pkt, kind)) return;
      const k = this.linkNext;
      this.linkNext = 1 - k;
      this.linkKinds[k] = kind;
      this.linkMacs[2 * k] = pkt.srcMac;
      this.linkMacs[2 * k + 1] = pkt.dstMac;
      const a = this.linkAddrs;
      const o = 8 * k;
      const words = v === 4 ? 1 : 4;
      for (let i = 0; i < words; i++) {
        a[o + i] = pkt.src[i];
        a[o + 4 + i] = pkt.dst[i];
      }
    }
    this.recordLink(pkt, v);
  }

  /**
   * observeLink's recording, a method of its own: in one with the check before it, V8 inlined
   * less of it, and more of the MACs (numbers past 2^32) were boxed to be passed on: a heap
   * profile of the dense 102 MB bench capture's text run found 7.3 MB allocated there, 2.1 MB split.
   */
  private recordLink(pkt: DecodedPacket, v: number): void {
    if (v !== 0 && pkt.srcMac >= 0) {
      const info = this.mac(pkt.srcMac);
      if (isInitialTtl(pkt.ttl)) info.sentInitial = true;
      else info.sentRouted = true;
    }
    if (v === 4) {
      if (pkt.srcMac >= 0) pushDistinct(this.mac(pkt.srcMac).v4Src, pkt.src[0]);
      if (pkt.dstMac >= 0 && !isMulticastMac(pkt.dstMac) && pkt.dst[0] !== 0xffffffff) pushDistinct(this.mac(pkt.dstMac).v4Dst, pkt.dst[0]);
    } else if (v === 6) {
      if (pkt.srcMac >= 0 && !isLinkLocalOrMulticast6(pkt.src)) pushDistinct(this.mac(pkt.srcMac).v6Src, addrNetKey(6, pkt.src));
      if (pkt.dstMac >= 0 && !isMulticastMac(pkt.dstMac) && !isLinkLocalOrMulticast6(pkt.dst)) pushDistinct(this.mac(pkt.dstMac).v6Dst, addrNetKey(6, pkt.dst));
      if (pkt.icmpType === ICMP6.RouterAdvertisement && pkt.srcMac >= 0) this.mac(pkt.srcMac).sentRouterAdvert = true;
    } else if (pkt.arpSenderMac >= 0 && (pkt.arpOp === 1 || pkt.arpOp === 2)) {
      pushDistinct(this.mac(pkt.arpSenderMac).arpIps, pkt.arpSenderIp);
    }
  }

  /** The key of a server address's profile: no string per IPv4 connection. */
  static serverKey(version: number, a: Uint32Array): number | string {
    return version === 4 ? a[0] : formatIpv6(a);
  }

  /** The profile of a server address (by serverKey), shared by all connections to it. */
  server(key: number | string): ServerProfile {
    let p = this.servers.get(key);
    if (p === undefined) {
      p = this.spare.take();
      if (p === undefined) p = new ServerProfile();
      else p.reset();
      this.servers.set(key, p);
    } else if (p.refs === 0) {
      // idle: taken back (its entry in the idle order is stale from now on)
      p.idleSeq = 0;
      this.idleCount--;
    }
    p.refs++;
    return p;
  }

  release(key: number | string, p: ServerProfile): void {
    if (--p.refs !== 0) return;
    if (this.idleKept <= 0) {
      this.forget(key, p);
      return;
    }
    p.idleSeq = this.nextIdleSeq++;
    const end = this.idleEnd++;
    if (end === this.idleKeys.length) {
      this.idleKeys.push(key);
      this.idleProfiles.push(p);
      this.idleSeqs.push(p.idleSeq);
    } else {
      this.idleKeys[end] = key;
      this.idleProfiles[end] = p;
      this.idleSeqs[end] = p.idleSeq;
    }
    this.idleCount++;
    if (this.idleCount > this.idleKept) this.forgetOldestIdle();
    // stale and forgotten entries outnumber the idle ones by far: dropped (amortised, a pass per idleCount + 1024 pushes)
    if (this.idleEnd - this.idleCount > this.idleCount + 1024) this.compactIdle();
  }

  /** Forgets the profile that has been idle longest. */
  private forgetOldestIdle(): void {
    while (this.idleHead < this.idleEnd) {
      const i = this.idleHead++;
      const p = this.idleProfiles[i] as ServerProfile;
      if (p.refs !== 0 || p.idleSeq !== this.idleSeqs[i]) continue;
      p.idleSeq = 0;
      this.idleCount--;
      this.forget(this.idleKeys[i], p);
      return;
    }
  }

  /**
   * Forgets an unreferenced profile; kept for reuse, as nothing refers to it any more (no
   * connection, no map; an entry of the idle order with its old idleSeq is stale whatever it becomes).
   */
  private forget(key: number | string, p: ServerProfile): void {
    this.servers.delete(key);
    this.spare.give(p);
  }

  /** Drops the idle order's entries before idleHead and the stale ones. */
  private compactIdle(): void {
    let n = 0;
    for (let i = this.idleHead; i < this.idleEnd; i++) {
      const p = this.idleProfiles[i] as ServerProfile;
      if (p.refs !== 0 || p.idleSeq !== this.idleSeqs[i]) continue;
      this.idleKeys[n] = this.idleKeys[i];
      this.idleProfiles[n] = p;
      this.idleSeqs[n] = this.idleSeqs[i];
      n++;
    }
    // what is left past the entries holds nothing (an IPv6 server's key, a profile forgotten since)
    for (let i = n; i < this.idleEnd; i++) {
      this.idleKeys[i] = 0;
      this.idleProfiles[i] = null;
    }
    this.idleEnd = n;
    this.idleHead = 0;
  }
}
