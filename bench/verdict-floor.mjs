#!/usr/bin/env node
// A floor under "within 3× / 5× the C walker": the verdicts of the bench captures counted with
// as little work as JavaScript allows, written for speed; not an analyser. It is node-walker.mjs
// (the same read loop, decoding and 5-tuple hashing) plus what the verdict rules these captures
// trigger read (verdict/tcp-rules.ts, dns-rules.ts):
// - per TCP packet: SYN, SYN-ACK, the handshake's last ACK, the first RST (its side, time, the
//   gap after the other side's last packet, whether data or a FIN came before it), FINs by side
//   and when, whether each side sent data;
// - per DNS packet: the header (id, rcode, TC, counts) and the question (its name walked and
//   hashed, not made a string);
// - lookups of one client and name, one answered and the other family's without data, within
//   2 s (dns-other-family), matched as the answers come; an unanswered lookup the client asked the
//   same server again is a no-response, not cut off by the end of the capture;
// - flows decided once idle (5 s after their last packet, checked every 256 packets; an open
//   connection 300 s, --tcp-idle), their slots reused: memory bounded by the live flows.
// A flow's state is two cache lines of a typed array; nothing is allocated per packet or per flow.
// Rules these captures never trigger are not evaluated (ICMP, one-sided and midstream detail, bad
// SYN-ACKs, stalls and windows, TLS/HTTP, search lists, referrals), nor is anything kept for
// evidence (sequence numbers, TTLs, MACs, the names of addresses), and names and clients are told
// apart by 32-bit hashes: a lower bound on the work of counting these verdicts, not on
// pcapdiag's. It prints its verdict counts; bench/run.mjs compares them with pcapdiag's summary
// of the same capture (all 961,818 the same on the dense 1 GB capture since pcapdiag checks the
// sibling window between the two answers' times, not at its sweeps). Known difference: a query
// repeated with its own id is a lookup of its own there.
//
// With --facts it also keeps, for every TCP packet but a RST, what the rest of pcapdiag's TCP rules
// read of it (tcp-path.ts, tcp-response.ts), as flow/tcp.ts trackSeq and noteAck do: each side's
// sequence space (the furthest byte, new and repeated segments, the largest segment), its ACKs
// (bytes acknowledged that the capture missed, duplicate ACKs, SACK blocks read with pcapdiag's
// option reader), its TTLs and zero-window spells, and the connection's request/response turns.
// Holes are left out (none on these captures: a comparison a segment in pcapdiag), as is the
// evidence (frames, times of each fact). 32 numbers of one Float64Array a flow, next to nothing
// else: the same facts in objects of pcapdiag's classes (for each side an Endpoint that was also
// its sequence space, as at 83e9c47, and an Exchange, made once a slot and reused) took 1.2 s more
// on the dense 1 GB capture (twenty-seventh pass in bench/HISTORY.md).
// Those rules do not fire on these captures: the counts are the plain floor's, and it prints the
// totals of what it kept.
//
// With --evidence it also keeps what the report shows of a record and what relates records, for
// every flow whichever verdict it ends in, as pcapdiag keeps it: the deciding packets' numbers
// (SYN, SYN-ACK, the handshake's ACK, the first RST and its TTL, FINs, first data, each side's last
// packet), each side's source MAC (a MAC table learning which are routers: hosts.ts), the name a
// lookup asked (its bytes; pcapdiag makes it a string); the addresses the A/AAAA answers give
// (their names: related/other-family.ts), each TCP record's attempt linked to the other family's
// (its links counted), search-list misses (flow/dns-siblings.ts: failures waiting under their name
// and its prefixes for a stem that resolves, looked up only at depths where one waits), and
// groups of problems by verdict, server and port (simpler than report/groups.ts: no pools), the
// first 20 of each (--limit) copied out and written as lines (not printed: their count is). Left
// out: vendors' names, sentences, ICMP, TLS/HTTP, DNS over TCP, the rest of the linkers.
// Usage: node bench/verdict-floor.mjs [--facts | --evidence] FILE.pcap   (classic little-endian pcap, as node-walker.mjs)
import { openSync, readSync } from 'node:fs';

const withEvidence = process.argv[2] === '--evidence';
const withFacts = withEvidence || process.argv[2] === '--facts';
const path = process.argv[withFacts ? 3 : 2];
// pcapdiag's option reader and sequence comparison, only when asked for (the plain floor needs no build)
const { TcpOptions, readTcpOptions, onlyTimestamps } = withFacts ? await import('../dist/decode/tcp-options.js') : {};
const { seqGt } = withFacts ? await import('../dist/flow/seq.js') : {};
const OPTS = withFacts ? new TcpOptions() : null;
// With --facts, a TCP flow's facts: FX[its I index + …], per side at 0 (client) and 12 (server)
// the words below, then from word 24 the connection's; FX grows with I (newFlow)
let FX = null;
const STARTED = 0,
  MAX_END = 1, // the sequence number after the furthest byte (or FIN) seen
  SEGMENTS = 2, // data segments that brought new bytes
  MAX_SEG = 3, // the largest segment's length, and how many had it
  MAX_SEG_COUNT = 4,
  RETRANS = 5,
  LAST_ACK = 6, // of the last pure ACK (-1 after another packet), with its window
  LAST_WIN = 7,
  DUP_ACKS = 8,
  TTL_MIN = 9,
  TTL_MAX = 10,
  ZERO_SINCE = 11, // a zero-window spell open since (-1 none)
  UNSEEN = 24, // bytes acknowledged that the capture never saw (both sides)
  WAIT_T = 25, // the request waiting for an answer: since (-1 none), its end, when the server ACKed it (-1 not yet)
  WAIT_END = 26,
  WAIT_ACK_T = 27,
  TURNS = 28,
  SACKS = 29;

const BUF = 64 * 1024;
const SYN_TIMEOUT_US = 3e6;
const DNS_TIMEOUT_US = 5e6;
const SIBLING_WAIT_US = 2e6;
/** closed-by-remote against delayed-reset (verdict/tcp-rules.ts PROMPT_CLOSE_NS) */
const PROMPT_CLOSE_US = 1e6;
/** A flow this long without a packet is decided (longer than the SYN and DNS timeouts and the sibling wait). */
const IDLE_US = 5e6;
/** An established connection not closed is decided after this long without a packet (--tcp-idle). */
const OPEN_IDLE_US = 300e6;

// The 5-tuple table (node-walker.mjs's key, with a DNS lookup's id), open addressing, an entry a
// cache line, doubled at half full, backward-shift deletion. Int32 words of an entry:
const VP = 0; // ver | proto << 8 (0: empty)
const PORTS = 1; // pa | pb << 16
const EXTRA = 2; // the DNS id, -1 for TCP
const FLOW = 3; // the flow's slot
const HASH = 4;
const ADDRS = 8; // A's four words, then B's
let cap = 1 << 12;
let H = new Int32Array(cap * 16);
let entries = 0;

// The flows, 128 bytes each (a typed array per field took a cache miss per field: 1.7 µs a TCP
// packet on the dense capture). Int32 words of a flow:
const CLIENT_IS_A = 0; // 1 when the key's A side is the client
const BITS = 1;
const NAME = 2; // a lookup's question, hashed
const QTYPE = 3;
const PAIR = 4; // a lookup's client and server addresses, hashed
const RCODE = 5;
const ANCOUNT = 6;
const CLIENT = 7; // a lookup's client address, hashed
const NEXT_WAITING = 10; // a lookup waiting for its sibling: the one that waited before it (slot + 1, serial; int words 10-11)
const ENTRY = 8; // its entry in H
const SERIAL = 9; // which flow holds the slot (L's entries name flows by slot and serial)
// Float64 words (µs): each side's last packet and the first RST (int words 10-15, zeroed with
// them), then from byte 64
const SIDE_LAST_T = 5, // and 6
  RST_T = 7;
const FIRST_T = 8,
  LAST_T = 9,
  SYNACK_T = 10,
  EST_T = 11,
  RST_GAP = 12, // the first RST's time after the other side's last packet (tcp.ts rstGapNs)
  FIN_T = 13, // and 14
  QUEUED_T = 15;
const QUERY_T = SYNACK_T,
  RESP_T = EST_T;
let flowCap = 1 << 11;
let I = new Int32Array(flowCap * 32);
if (withFacts) FX = new Float64Array(flowCap * 32);
let D = new Float64Array(I.buffer);
let slotsUsed = 0;
let free = new Int32Array(flowCap);
let freeN = 0;
let serials = 0;
// the live flows in the order they were last checked (a ring of slots)
let queue = new Int32Array(flowCap);
let qHead = 0,
  qLen = 0;

// RST: any RST seen; RST_S: the first was the server's
const F = {
  SYN: 1,
  SYNACK: 2,
  EST: 4,
  RST: 8,
  RST_S: 16,
  FIN_C: 32,
  FIN_S: 64,
  DATA_S: 128,
  DATA_C: 256,
  RETRY: 512,
  QUERY: 1024,
  ANSWER: 2048,
  OTHER_FAMILY: 4096,
  RST_AFTER_DATA: 8192,
  RST_AFTER_PEER_FIN: 16384,
  DNS: 32768,
  TC: 65536,
  SEARCH_MISS: 131072,
};

// Lookups by client, name, family and kind (answered with an address, without data and waiting,
// or asked: a client asking again retried): the latest, overwritten in place. Words: client, name,
// qtype | kind, state (0 empty, 1 live, -1 matched), the flow's slot and serial, its time (a
// double at words 6-7: the response's, or the query's for ASKED).
const ANSWERED = 1 << 16,
  WAITING = 2 << 16,
  ASKED = 3 << 16;
/** How long an entry of each kind can matter (an ASKED one: a client asking again within --udp-idle is retrying). */
const keepFor = (typeKind) => (typeKind >>> 16 === 3 ? 60e6 : SIBLING_WAIT_US);
let lcap = 1 << 12;
let L = new Int32Array(lcap * 8);
let LD = new Float64Array(L.buffer);
let lused = 0;

const buf = Buffer.allocUnsafe(BUF);
const key = new Int32Array(8);
const VERDICTS = [
  'ok',
  'refused',
  'timeout',
  'capture-ended',
  'handshake-incomplete',
  'closed-by-remote',
  'delayed-reset',
  'mid-stream-reset',
  'midstream',
  'dns-ok',
  'dns-nodata',
  'dns-nxdomain',
  'dns-servfail',
  'dns-refused',
  'dns-error',
  'dns-no-response',
  'dns-other-family',
  'dns-search-miss',
];
const [
  OK,
  REFUSED,
  TIMEOUT,
  CAPTURE_ENDED,
  HANDSHAKE_INCOMPLETE,
  CLOSED_BY_REMOTE,
  DELAYED_RESET,
  MID_STREAM_RESET,
  MIDSTREAM,
  DNS_OK,
  DNS_NODATA,
  DNS_NXDOMAIN,
  DNS_SERVFAIL,
  DNS_REFUSED,
  DNS_ERROR,
  DNS_NO_RESPONSE,
  DNS_OTHER_FAMILY,
  DNS_SEARCH_MISS,
] = VERDICTS.keys();
const counts = new Float64Array(VERDICTS.length);
let packets = 0,
  flows = 0;

function mix(h, x) {
  return Math.imul(h ^ x, 16777619);
}

/** A hash's high bits folded into the low ones a table's mask keeps (MurmurHash3's finaliser). */
function fold(h) {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function loadAddr(off, n, at) {
  key[at] = buf.readInt32BE(off);
  if (n === 16) {
    key[at + 1] = buf.readInt32BE(off + 4);
    key[at + 2] = buf.readInt32BE(off + 8);
    key[at + 3] = buf.readInt32BE(off + 12);
  } else key[at + 1] = key[at + 2] = key[at + 3] = 0;
}

function compareAddrs() {
  for (let i = 0; i < 4; i++) {
    const a = key[i] >>> 0,
      b = key[4 + i] >>> 0;
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
}

/** H doubled, its entries rehashed (their flows told where they went). */
function grow() {
  const old = H;
  cap *= 2;
  H = new Int32Array(cap * 16);
  const mask = cap - 1;
  for (let e = 0; e < old.length; e += 16) {
    if (old[e + VP] === 0) continue;
    let i = old[e + HASH] & mask;
    while (H[i * 16 + VP] !== 0) i = (i + 1) & mask;
    for (let k = 0; k < 16; k++) H[i * 16 + k] = old[e + k]; // (not set(subarray()): an object each)
    I[old[e + FLOW] + ENTRY] = i * 16;
  }
}

/** Removes entry e (backward-shift deletion: the entries after it that probed past it move up). */
function removeEntry(e) {
  const mask = cap - 1;
  let hole = e >> 4;
  H[e + VP] = 0;
  entries--;
  for (let j = (hole + 1) & mask; H[j * 16 + VP] !== 0; j = (j + 1) & mask) {
    const home = H[j * 16 + HASH] & mask;
    // j's entry may fill the hole unless its home lies cyclically in (hole, j]
    if (hole <= j ? home > hole && home <= j : home > hole || home <= j) continue;
    H.copyWithin(hole * 16, j * 16, j * 16 + 16);
    I[H[hole * 16 + FLOW] + ENTRY] = hole * 16;
    H[j * 16 + VP] = 0;
    hole = j;
  }
}

/** A slot for a new flow (index into I; its D index is half of it), zeroed and queued. */
function newFlow(t) {
  let s;
  if (freeN > 0) s = free[--freeN];
  else {
    if (slotsUsed === flowCap) {
      flowCap *= 2;
      const more = new Int32Array(flowCap * 32);
      more.set(I);
      I = more;
      D = new Float64Array(I.buffer);
      if (withFacts) {
        const facts = new Float64Array(flowCap * 32);
        facts.set(FX);
        FX = facts;
      }
      if (withEvidence) {
        const ev = new Int32Array(flowCap * EVW);
        ev.set(EV);
        EV = ev;
        const names = new Uint8Array(flowCap * NAME_MAX);
        names.set(NAMES);
        NAMES = names;
      }
      const f = new Int32Array(flowCap);
      f.set(free);
      free = f;
      const q = new Int32Array(flowCap);
      for (let i = 0; i < qLen; i++) q[i] = queue[(qHead + i) % queue.length];
      queue = q;
      qHead = 0;
    }
    s = slotsUsed++ * 32;
  }
  if (withFacts) {
    FX.fill(0, s, s + 32);
    FX[s + LAST_ACK] = FX[s + LAST_WIN] = FX[s + TTL_MAX] = FX[s + ZERO_SINCE] = -1;
    FX[s + 12 + LAST_ACK] = FX[s + 12 + LAST_WIN] = FX[s + 12 + TTL_MAX] = FX[s + 12 + ZERO_SINCE] = -1;
    FX[s + TTL_MIN] = FX[s + 12 + TTL_MIN] = 256;
    FX[s + WAIT_T] = FX[s + WAIT_ACK_T] = -1;
  }
  if (withEvidence) for (let j = evOf(s), end = j + EVW; j < end; j++) EV[j] = 0;
  I.fill(0, s, s + 16);
  I[s + SERIAL] = ++serials;
  const d = s >> 1;
  D[d + FIRST_T] = D[d + LAST_T] = D[d + QUEUED_T] = t;
  queue[(qHead + qLen++) % queue.length] = s;
  flows++;
  return s;
}

/** Set by flowOf: the packet's sender is the key's B side; the flow began with this packet. */
let swapped = false;
let fresh = false;

/** The packet's flow, made on its first packet. */
function flowOf(ver, proto, sOff, dOff, sp, dp, extra, t) {
  const n = ver === 4 ? 4 : 16;
  loadAddr(sOff, n, 0);
  loadAddr(dOff, n, 4);
  const cmp = compareAddrs();
  const swap = cmp > 0 || (cmp === 0 && sp > dp);
  swapped = swap;
  const a = swap ? 4 : 0,
    b = swap ? 0 : 4;
  const pa = swap ? dp : sp,
    pb = swap ? sp : dp;
  let h = -2128831035;
  for (let i = 0; i < 4; i++) h = mix(h, key[a + i]);
  for (let i = 0; i < 4; i++) h = mix(h, key[b + i]);
  h = fold(mix(mix(mix(h, pa), pb ^ (proto << 16)), extra));
  const vp = ver | (proto << 8),
    ports = pa | (pb << 16);
  const mask = cap - 1;
  for (let i = h & mask; ; i = (i + 1) & mask) {
    const e = i * 16;
    if (H[e + VP] === 0) {
      const s = newFlow(t);
      H[e + VP] = vp;
      H[e + PORTS] = ports;
      H[e + EXTRA] = extra;
      H[e + FLOW] = s;
      H[e + HASH] = h;
      for (let j = 0; j < 4; j++) {
        H[e + ADDRS + j] = key[a + j];
        H[e + ADDRS + 4 + j] = key[b + j];
      }
      I[s + ENTRY] = e;
      if (2 * ++entries > cap) grow();
      fresh = true;
      return s;
    }
    if (H[e + HASH] === h && H[e + VP] === vp && H[e + PORTS] === ports && H[e + EXTRA] === extra && sameAddrs(e, a, b)) {
      fresh = false;
      return H[e + FLOW];
    }
  }
}

function sameAddrs(e, a, b) {
  for (let j = 0; j < 4; j++) if (H[e + ADDRS + j] !== key[a + j] || H[e + ADDRS + 4 + j] !== key[b + j]) return false;
  return true;
}

/** Decides the flows idle at t (all of them at the end: t Infinity, `end` the capture's last packet). */
function expire(t, end) {
  while (qLen > 0) {
    const s = queue[qHead];
    const d = s >> 1;
    if (D[d + QUEUED_T] + IDLE_US > t) return;
    qHead = (qHead + 1) % queue.length;
    qLen--;
    if (I[s + SERIAL] === 0) {
      // decided already (tcp): free now that the queue no longer holds it
      free[freeN++] = s;
      continue;
    }
    const b = I[s + BITS];
    const open = (b & (F.DNS | F.EST | F.RST)) === F.EST && (b & (F.FIN_C | F.FIN_S)) !== (F.FIN_C | F.FIN_S);
    if (D[d + LAST_T] + (open ? OPEN_IDLE_US : IDLE_US) > t) {
      // still busy: checked again later
      D[d + QUEUED_T] = t;
      queue[(qHead + qLen++) % queue.length] = s;
      continue;
    }
    retire(s, Math.min(t, end));
    free[freeN++] = s;
  }
}

/** With --facts, totals of what the facts found (that they were kept): data segments, answered turns, ACKs of bytes the capture missed. */
const found = { segments: 0, turns: 0, unseenBytes: 0 };

/** Decides flow s at `now` and takes it out of the table; its slot is free once the queue has let it go. */
function retire(s, now) {
  const v = verdict(s, now);
  counts[v]++;
  if (withEvidence) decided(s, v);
  if (withFacts) {
    found.segments += FX[s + SEGMENTS] + FX[s + 12 + SEGMENTS];
    found.turns += FX[s + TURNS];
    found.unseenBytes += FX[s + UNSEEN];
  }
  removeEntry(I[s + ENTRY]);
  I[s + SERIAL] = 0;
}

/** The verdict of the flow in slot s, decided at `now` (its index in VERDICTS), by verdict/tcp-rules.ts's rules as far as they go here. */
function verdict(s, now) {
  const b = I[s + BITS];
  const d = s >> 1;
  if ((b & F.DNS) === 0) {
    if ((b & F.SYN) === 0) return MIDSTREAM;
    const serverReset = (b & F.RST_S) !== 0;
    if ((b & F.SYNACK) === 0) {
      if (serverReset) return REFUSED;
      // until when the client waited: its own RST, or now
      return (b & F.RST ? D[d + RST_T] : now) - D[d + FIRST_T] >= SYN_TIMEOUT_US ? TIMEOUT : CAPTURE_ENDED;
    }
    if ((b & F.EST) === 0) {
      const clientRstAfterSynAck = b & F.RST && !serverReset && D[d + RST_T] >= D[d + SYNACK_T];
      return clientRstAfterSynAck || now - D[d + SYNACK_T] >= SYN_TIMEOUT_US ? HANDSHAKE_INCOMPLETE : CAPTURE_ENDED;
    }
    const resetWithoutData = serverReset && (b & (F.DATA_S | F.RST_AFTER_PEER_FIN)) === 0;
    if ((b & F.DATA_S) === 0) {
      const finS = D[d + FIN_T + 1],
        finC = D[d + FIN_T];
      const serverClosedFirst = b & F.FIN_S && ((b & F.FIN_C) === 0 || finS < finC) && ((b & F.RST) === 0 || finS < D[d + RST_T]);
      if (serverClosedFirst || (resetWithoutData && D[d + RST_GAP] < PROMPT_CLOSE_US)) return CLOSED_BY_REMOTE;
    }
    if (resetWithoutData) return DELAYED_RESET;
    if ((b & (F.RST | F.RST_AFTER_DATA | F.RST_AFTER_PEER_FIN)) === (F.RST | F.RST_AFTER_DATA)) return MID_STREAM_RESET;
    return OK;
  }
  if ((b & F.ANSWER) === 0) {
    if (now - D[d + QUERY_T] >= DNS_TIMEOUT_US || b & F.RETRY) return DNS_NO_RESPONSE;
    const e = lookupEntry(I[s + PAIR], I[s + NAME], I[s + QTYPE] | ASKED, false);
    return e >= 0 && LD[(e >> 1) + 3] > D[d + QUERY_T] ? DNS_NO_RESPONSE : CAPTURE_ENDED;
  }
  // (a flow has both when its search-list stem came first: searchMiss refuses one already benign)
  if (b & F.SEARCH_MISS) return DNS_SEARCH_MISS;
  if (b & F.OTHER_FAMILY) return DNS_OTHER_FAMILY;
  const r = I[s + RCODE];
  return r === 3 ? DNS_NXDOMAIN : r === 2 ? DNS_SERVFAIL : r === 5 ? DNS_REFUSED : r !== 0 ? DNS_ERROR : I[s + ANCOUNT] === 0 && (b & F.TC) === 0 ? DNS_NODATA : DNS_OK;
}

function tcp(ver, l4, end, sOff, dOff, t, ttl) {
  const sp = buf.readUInt16BE(l4),
    dp = buf.readUInt16BE(l4 + 2);
  const flags = buf[l4 + 13];
  let s = flowOf(ver, 6, sOff, dOff, sp, dp, -1, t);
  // a new connection on the 4-tuple of one that closed (a SYN after its FINs or RST)
  if (!fresh && (flags & 0x12) === 0x02 && I[s + BITS] & (F.RST | F.FIN_C | F.FIN_S)) {
    retire(s, t);
    s = flowOf(ver, 6, sOff, dOff, sp, dp, -1, t);
  }
  const d = s >> 1;
  const len = end - l4 - (buf[l4 + 12] >> 4) * 4;
  // the first packet's sender is the client, unless it is a SYN-ACK
  if (fresh) I[s + CLIENT_IS_A] = (flags & 0x12) === 0x12 ? (swapped ? 1 : 0) : swapped ? 0 : 1;
  D[d + LAST_T] = t;
  const side = (swapped ? 0 : 1) === I[s + CLIENT_IS_A] ? 0 : 1;
  let b = I[s + BITS];
  if (flags & 0x04) {
    if ((b & F.RST) === 0) {
      b |= F.RST | (side === 1 ? F.RST_S : 0);
      D[d + RST_T] = t;
      const peerLast = D[d + SIDE_LAST_T + 1 - side];
      D[d + RST_GAP] = t - (peerLast > 0 ? peerLast : D[d + FIRST_T]);
      if (b & (F.DATA_C | F.DATA_S)) b |= F.RST_AFTER_DATA;
      if (b & (side === 0 ? F.FIN_S : F.FIN_C)) b |= F.RST_AFTER_PEER_FIN;
    }
  } else if (flags & 0x02) {
    if (side === 0) {
      if (b & F.SYN) b |= F.RETRY;
      b |= F.SYN;
    } else if ((b & F.SYNACK) === 0) {
      b |= F.SYNACK;
      D[d + SYNACK_T] = t;
    }
  } else {
    if (side === 0 && (b & (F.SYNACK | F.EST)) === F.SYNACK && flags & 0x10) {
      b |= F.EST;
      D[d + EST_T] = t;
    }
    if (len > 0) b |= side === 0 ? F.DATA_C : F.DATA_S;
    if (flags & 0x01 && (b & (side === 0 ? F.FIN_C : F.FIN_S)) === 0) {
      b |= side === 0 ? F.FIN_C : F.FIN_S;
      D[d + FIN_T + side] = t;
    }
  }
  D[d + SIDE_LAST_T + side] = t;
  I[s + BITS] = b;
  if (withFacts && (flags & 0x04) === 0) trackFacts(s, side, l4, flags, len, ttl, t);
  if (withEvidence) tcpEvidence(s, side, flags, len, ttl);
}

/** flow/tcp.ts trackSeq and noteAck (flow/seq.ts, flow/exchange.ts) as far as the rules read them, for the flow at FX[x]. */
function trackFacts(x, side, l4, flags, len, ttl, t) {
  const seq = buf.readUInt32BE(l4 + 4),
    ack = buf.readUInt32BE(l4 + 8),
    win = buf.readUInt16BE(l4 + 14);
  const optEnd = l4 + (buf[l4 + 12] >> 4) * 4;
  const me = x + 12 * side,
    peer = x + 12 - 12 * side;
  if (ttl < FX[me + TTL_MIN]) FX[me + TTL_MIN] = ttl;
  if (ttl > FX[me + TTL_MAX]) FX[me + TTL_MAX] = ttl;
  let sacks = 0;
  if (optEnd - l4 > 20 && ((flags & 0x02) !== 0 || !onlyTimestamps(buf, l4, optEnd))) {
    readTcpOptions(buf, l4, optEnd, OPTS);
    sacks = OPTS.sackBlocks;
  }
  if (flags & 0x02) {
    if (FX[me + STARTED] === 0) {
      FX[me + STARTED] = 1;
      FX[me + MAX_END] = (seq + 1) >>> 0;
    }
  } else if (len > 0 || (flags & 0x01) !== 0) {
    const end = (seq + len + (flags & 0x01)) >>> 0;
    if (len > FX[me + MAX_SEG]) {
      FX[me + MAX_SEG] = len;
      FX[me + MAX_SEG_COUNT] = 1;
    } else if (len === FX[me + MAX_SEG] && len > 0) FX[me + MAX_SEG_COUNT]++;
    if (FX[me + STARTED] === 0 || seqGt(end, FX[me + MAX_END])) {
      FX[me + STARTED] = 1;
      FX[me + MAX_END] = end;
      FX[me + SEGMENTS]++;
      if (len > 0) {
        // a request (the client's new bytes) waits until the server's new bytes answer it
        if (side === 1) {
          if (FX[x + WAIT_T] >= 0) {
            FX[x + TURNS]++;
            FX[x + WAIT_T] = -1;
          }
        } else {
          if (FX[x + WAIT_T] < 0) FX[x + WAIT_T] = t;
          FX[x + WAIT_ACK_T] = -1;
          FX[x + WAIT_END] = (seq + len) >>> 0;
        }
      }
    } else if (len > 0) FX[me + RETRANS]++;
  }
  if ((flags & 0x10) === 0) return;
  if (FX[peer + STARTED] !== 0) {
    const unseen = FX[x + UNSEEN];
    if (seqGt(ack, FX[peer + MAX_END])) {
      FX[x + UNSEEN] += (ack - FX[peer + MAX_END]) | 0;
      FX[peer + MAX_END] = ack;
    }
    if (len === 0 && (flags & 0x03) === 0) {
      if (ack === FX[peer + LAST_ACK] && win === FX[peer + LAST_WIN] && seqGt(FX[peer + MAX_END], ack)) FX[peer + DUP_ACKS]++;
      FX[peer + LAST_ACK] = ack;
      FX[peer + LAST_WIN] = win;
    } else FX[peer + LAST_ACK] = -1;
    for (let i = 0; i < sacks; i++) {
      FX[x + SACKS]++;
      const right = OPTS.sack[2 * i + 1];
      if (seqGt(right, FX[peer + MAX_END])) {
        FX[x + UNSEEN] += (right - FX[peer + MAX_END]) | 0;
        FX[peer + MAX_END] = right;
      }
    }
    // the client acknowledged server bytes the capture missed: the server did answer
    if (side === 0 && FX[x + UNSEEN] > unseen && FX[x + WAIT_T] >= 0) {
      FX[x + TURNS]++;
      FX[x + WAIT_T] = -1;
    }
  }
  if (side === 1 && FX[x + WAIT_T] >= 0 && FX[x + WAIT_ACK_T] < 0 && !seqGt(FX[x + WAIT_END], ack)) FX[x + WAIT_ACK_T] = t;
  if (flags & 0x02) return;
  if (win !== 0) FX[me + ZERO_SINCE] = -1;
  else if (FX[me + ZERO_SINCE] < 0) FX[me + ZERO_SINCE] = t;
}

/** The question's name at `off` (labels: no compression in a question), hashed lower-case into qHash; its end, or -1. */
let qHash = 0;
/** With --evidence, the hash after each of the question's labels (those before the last: its proper prefixes, `www.`, `www.example.`), and how many. */
const PREFIXES = new Int32Array(128);
let labels = 0;
function question(off, end) {
  let h = -2128831035;
  labels = 0;
  for (;;) {
    if (off >= end) return -1;
    const n = buf[off++];
    if (n === 0) break;
    if (n > 63 || off + n > end) return -1;
    for (let i = 0; i < n; i++) h = mix(h, buf[off + i] | 0x20);
    h = mix(h, 46);
    if (withEvidence && labels < PREFIXES.length) PREFIXES[labels++] = h;
    off += n;
  }
  qHash = h;
  return off;
}

/** The entry of (client, name, type | kind) in L, made when `insert`; -1 when absent. */
function lookupEntry(client, name, typeKind, insert) {
  const mask = lcap - 1;
  for (let i = fold(mix(mix(mix(-2128831035, client), name), typeKind)) & mask; ; i = (i + 1) & mask) {
    const e = i * 8;
    if (L[e + 3] === 0) {
      if (!insert) return -1;
      if (2 * (lused + 1) > lcap) {
        growLookups();
        return lookupEntry(client, name, typeKind, true);
      }
      lused++;
      L[e] = client;
      L[e + 1] = name;
      L[e + 2] = typeKind;
      return e;
    }
    if (L[e] === client && L[e + 1] === name && L[e + 2] === typeKind) return e;
  }
}

/**
 * L doubled, keeping only the entries that can still match (live, and recent: keepFor), as
 * pcapdiag prunes its own tables.
 */
let lastT = 0;
let spareL = null;
function growLookups() {
  const old = L;
  const oldD = LD;
  let live = 0;
  for (let e = 0; e < old.length; e += 8) if (old[e + 3] === 1 && oldD[(e >> 1) + 3] + keepFor(old[e + 2]) >= lastT) live++;
  if (8 * live > lcap) lcap *= 2; // at most an eighth of it live: more than a third of it to fill before the next
  // the table before last, when it is as large: a new one is page-faulted in (114-173 ms for 32 MB here)
  let next;
  if (spareL !== null && spareL.length === lcap * 8) {
    next = spareL;
    next.fill(0);
  } else next = new Int32Array(lcap * 8);
  spareL = old;
  const mask = lcap - 1;
  let n = 0;
  for (let e = 0; e < old.length; e += 8) {
    if (old[e + 3] !== 1 || oldD[(e >> 1) + 3] + keepFor(old[e + 2]) < lastT) continue;
    let i = fold(mix(mix(mix(-2128831035, old[e]), old[e + 1]), old[e + 2])) & mask;
    while (next[i * 8 + 3] !== 0) i = (i + 1) & mask;
    for (let k = 0; k < 8; k++) next[i * 8 + k] = old[e + k];
    n++;
  }
  L = next;
  LD = new Float64Array(next.buffer);
  lused = n;
}

/** Notes in L that flow s (asked or answered at t) is the latest of its kind. */
function remember(e, s, t) {
  L[e + 3] = 1;
  L[e + 4] = s;
  L[e + 5] = I[s + SERIAL];
  LD[(e >> 1) + 3] = t;
}

/** An address's four words at key[at..at+4) hashed. */
const addrHash = (at) => mix(mix(mix(mix(-2128831035, key[at]), key[at + 1]), key[at + 2]), key[at + 3]);

function dns(ver, l4, end, sOff, dOff, t, ttl) {
  const sp = buf.readUInt16BE(l4),
    dp = buf.readUInt16BE(l4 + 2);
  const m = l4 + 8;
  if (end - m < 12) return;
  const id = buf.readUInt16BE(m);
  const fl = buf.readUInt16BE(m + 2);
  const response = (fl & 0x8000) !== 0;
  const s = flowOf(ver, 17, sOff, dOff, sp, dp, id, t);
  const d = s >> 1;
  if (fresh) {
    I[s + BITS] = F.DNS;
    I[s + CLIENT_IS_A] = response === swapped ? 1 : 0;
    // the client (the query's sender), and it with the server, as numbers (key: sender, receiver)
    const client = addrHash(response ? 4 : 0);
    I[s + CLIENT] = client;
    I[s + PAIR] = mix(client, addrHash(response ? 0 : 4));
  }
  D[d + LAST_T] = t;
  if (withEvidence) dnsEvidence(s, response, ttl);
  let b = I[s + BITS];
  if (!response) {
    if (b & F.QUERY) b |= F.RETRY; // (a query repeated with its id: pcapdiag makes it a lookup of its own)
    I[s + BITS] = b | F.QUERY;
    D[d + QUERY_T] = t;
  } else {
    if (b & F.ANSWER) return;
    I[s + BITS] = b | F.ANSWER | (fl & 0x0200 ? F.TC : 0);
    D[d + RESP_T] = t;
    I[s + RCODE] = fl & 15;
    I[s + ANCOUNT] = buf.readUInt16BE(m + 6);
  }
  if (buf.readUInt16BE(m + 4) !== 1) return;
  const q = question(m + 12, end);
  if (q < 0 || q + 4 > end) return;
  const qtype = buf.readUInt16BE(q);
  I[s + NAME] = qHash;
  I[s + QTYPE] = qtype;
  if (withEvidence) keepName(s, m + 12, q);
  if (!response) {
    remember(lookupEntry(I[s + PAIR], qHash, qtype | ASKED, true), s, t);
    return;
  }
  if (qtype !== 1 && qtype !== 28) {
    if (withEvidence) dnsAnswered(s, q + 4, end, qtype, t);
    return;
  }
  const other = qtype === 1 ? 28 : 1;
  const client = I[s + CLIENT];
  const rcode = I[s + RCODE],
    ancount = I[s + ANCOUNT];
  if (rcode === 0 && ancount > 0) {
    remember(lookupEntry(client, qHash, qtype | ANSWERED, true), s, t);
    // a lookup of the other family without data, waiting for this one
    const w = lookupEntry(client, qHash, other | WAITING, false);
    if (w >= 0 && L[w + 3] === 1) {
      // every one still waiting: the latest, and those it chains to
      for (let x = L[w + 4], serial = L[w + 5]; I[x + SERIAL] === serial && t - D[(x >> 1) + RESP_T] <= SIBLING_WAIT_US;) {
        I[x + BITS] |= F.OTHER_FAMILY;
        if (I[x + NEXT_WAITING] === 0) break;
        serial = I[x + NEXT_WAITING + 1];
        x = I[x + NEXT_WAITING] - 1;
      }
      L[w + 3] = -1;
    }
  } else if (rcode === 0 && (fl & 0x0200) === 0) {
    const e = lookupEntry(client, qHash, other | ANSWERED, false);
    if (e >= 0 && L[e + 3] === 1 && t - LD[(e >> 1) + 3] <= SIBLING_WAIT_US) I[s + BITS] |= F.OTHER_FAMILY;
    else {
      const w = lookupEntry(client, qHash, qtype | WAITING, true);
      if (L[w + 3] === 1) {
        I[s + NEXT_WAITING] = L[w + 4] + 1;
        I[s + NEXT_WAITING + 1] = L[w + 5];
      }
      remember(w, s, t);
    }
  }
  // (after the other family: a failure's own sibling is looked for first, as pcapdiag does)
  if (withEvidence) dnsAnswered(s, q + 4, end, qtype, t);
}

// ---- With --evidence: what the text report shows of a record and what the linkers read ----
// The facts floor decides and counts; the report also shows, for the first records of each group
// of problems, the packets that decided them (frames, the TTL and MAC of the deciding packet, the
// name asked), names each MAC's role (a gateway: many addresses behind one MAC, routed TTLs), and
// relates records: a failed connection to the other address family's working one to the same name
// and port (related/other-family.ts: the capture's A/AAAA answers name the addresses), a failed
// lookup to the stem of its search-list expansion (flow/dns-siblings.ts). All of that is kept for
// every flow, whichever verdict it ends in, as pcapdiag keeps it; the rest of the report (vendors'
// names, sentences, the summary) is written for the records shown only, and left out here.
/** Int32 words of EV a flow (TCP: per side the MAC and last frame; the deciding packets' frames). */
const EVW = 16;
/** Where flow slot s's words begin in EV (a slot is 32 words of I: s >> 5 is its number). */
function evOf(s) {
  return (s >> 5) * EVW;
}
const MAC_C = 0, // and 1 (high 16 bits, low 32); the server's at 2 and 3: each side's last source MAC
  LAST_F = 4, // and 5
  SYN_F = 6,
  SYNACK_F = 7,
  EST_F = 8,
  RST_F = 9, // (its sender's MAC: its side's)
  FIN_F = 10, // and 11
  DATA_F = 12, // and 13: each side's first data
  RST_TTL = 14,
  FIRST_F = 15, // its first packet (the record's firstFrame)
  QUERY_F = 6, // DNS
  RESP_F = 7,
  RESP_TTL = 8,
  NAME_LEN = 15;
/** A name's bytes kept a flow (a question's labels: at most 255). */
const NAME_MAX = 256;
let EV = withEvidence ? new Int32Array(flowCap * EVW) : null;
let NAMES = withEvidence ? new Uint8Array(flowCap * NAME_MAX) : null;
/** The packet being read: its number (1-based, as the report cites it) and source MAC. */
let frame = 0,
  macHi = 0,
  macLo = 0;
/** Each other-family link: the failed attempt's first frame and its fallback's (a few thousand on the bench captures). */
const familyPairs = [];
const evidence = { records: 0, macChanges: 0, macs: 0, gateways: 0, answersNamed: 0, familyLinks: 0, searchMisses: 0, groups: 0, shown: 0, reportLines: 0, reportBytes: 0 };

/**
 * A new source MAC for a side of a flow: the MAC table (hosts.ts) learns whether it sends for more
 * than one address (counted as changes of the sender's address, IPv4 and IPv6 alike: pcapdiag keeps
 * lists of each) or routed packets.
 */
function sideMac(v, side, ttl) {
  EV[v + MAC_C + 2 * side] = macHi;
  EV[v + MAC_C + 2 * side + 1] = macLo;
  evidence.macChanges++;
  const from = addrHash(0); // the sender's address (flowOf loaded it at key[0..3])
  const mask = mcap - 1;
  for (let i = fold(mix(mix(-2128831035, macHi), macLo)) & mask; ; i = (i + 1) & mask) {
    const e = i * 8;
    if (M[e + 2] === 0) {
      M[e] = macHi;
      M[e + 1] = macLo;
      M[e + 2] = 1;
      M[e + 3] = 1;
      M[e + 4] = from;
      evidence.macs++;
      if (2 * ++mused > mcap) growMacs();
      return;
    }
    if (M[e] !== macHi || M[e + 1] !== macLo) continue;
    if (M[e + 4] !== from) {
      M[e + 4] = from;
      // one MAC sending for a second address, or a routed packet: a router's (the gateway)
      if (++M[e + 3] === 2 && M[e + 5] === 0) evidence.gateways++;
    }
    if (ttl !== 64 && ttl !== 128 && ttl !== 255 && M[e + 5] === 0) {
      M[e + 5] = 1;
      if (M[e + 3] < 2) evidence.gateways++;
    }
    return;
  }
}
/** MACs: hi, lo, used, addresses seen (changes), the last address, routed. */
let mcap = 1 << 10;
let M = new Int32Array(mcap * 8);
let mused = 0;
function growMacs() {
  const old = M;
  mcap *= 2;
  M = new Int32Array(mcap * 8);
  const mask = mcap - 1;
  for (let e = 0; e < old.length; e += 8) {
    if (old[e + 2] === 0) continue;
    let i = fold(mix(mix(-2128831035, old[e]), old[e + 1])) & mask;
    while (M[i * 8 + 2] !== 0) i = (i + 1) & mask;
    for (let k = 0; k < 8; k++) M[i * 8 + k] = old[e + k];
  }
}

function tcpEvidence(s, side, flags, len, ttl) {
  const v = evOf(s);
  if (EV[v + MAC_C + 2 * side + 1] !== macLo || EV[v + MAC_C + 2 * side] !== macHi) sideMac(v, side, ttl);
  EV[v + LAST_F + side] = frame;
  if (EV[v + FIRST_F] === 0) EV[v + FIRST_F] = frame;
  if (flags & 0x04) {
    if (EV[v + RST_F] === 0) {
      EV[v + RST_F] = frame;
      EV[v + RST_TTL] = ttl;
    }
  } else if (flags & 0x02) {
    if (side === 0) {
      if (EV[v + SYN_F] === 0) EV[v + SYN_F] = frame;
    } else if (EV[v + SYNACK_F] === 0) EV[v + SYNACK_F] = frame;
  } else {
    if (side === 0 && EV[v + EST_F] === 0 && EV[v + SYNACK_F] !== 0 && flags & 0x10) EV[v + EST_F] = frame;
    if (len > 0 && EV[v + DATA_F + side] === 0) EV[v + DATA_F + side] = frame;
    if (flags & 0x01 && EV[v + FIN_F + side] === 0) EV[v + FIN_F + side] = frame;
  }
}

function dnsEvidence(s, response, ttl) {
  const v = evOf(s);
  const side = response ? 1 : 0;
  if (EV[v + MAC_C + 2 * side + 1] !== macLo || EV[v + MAC_C + 2 * side] !== macHi) sideMac(v, side, ttl);
  if (!response) {
    if (EV[v + QUERY_F] === 0) EV[v + QUERY_F] = frame;
  } else if (EV[v + RESP_F] === 0) {
    // the first response (a later one is a duplicate, as in dns())
    EV[v + RESP_F] = frame;
    EV[v + RESP_TTL] = ttl;
  }
}

/** The question's name (its labels from `off` to `end`) kept with flow s, once (pcapdiag makes it a string). */
function keepName(s, off, end) {
  const v = evOf(s);
  if (EV[v + NAME_LEN] !== 0) return;
  const n = Math.min(end - off, NAME_MAX);
  const at = (s >> 5) * NAME_MAX;
  for (let i = 0; i < n; i++) NAMES[at + i] = buf[off + i];
  EV[v + NAME_LEN] = n;
}

// Addresses the capture's A/AAAA answers named (related/other-family.ts's names): four address
// words, the name's hash, used. Past MAX_NAMES, new addresses are not learnt (as pcapdiag).
const MAX_NAMES = 65536;
const acap = 1 << 17;
const A = new Int32Array(acap * 8);
let aused = 0;

/** The entry of the address at key[0..3] in A; -1 when absent and not `insert`. */
function addressEntry(insert) {
  const mask = acap - 1;
  for (let i = fold(addrHash(0)) & mask; ; i = (i + 1) & mask) {
    const e = i * 8;
    if (A[e + 5] === 0) {
      if (!insert || aused >= MAX_NAMES) return -1;
      A[e] = key[0];
      A[e + 1] = key[1];
      A[e + 2] = key[2];
      A[e + 3] = key[3];
      A[e + 5] = 1;
      aused++;
      return e;
    }
    if (A[e] === key[0] && A[e + 1] === key[1] && A[e + 2] === key[2] && A[e + 3] === key[3]) return e;
  }
}

/**
 * A response of lookup s read past its question (at `off`): its A/AAAA answers name their
 * addresses, and a failure looks for the stem of its search-list expansion, or a success for the
 * failures waiting for it as their stem (dns-siblings.ts: the floor's other-family sibling is in dns()).
 */
function dnsAnswered(s, off, end, qtype, t) {
  const rcode = I[s + RCODE],
    ancount = I[s + ANCOUNT];
  const client = I[s + CLIENT];
  // a search-list walk asks one type for each name, A and AAAA alike
  const kind = qtype === 1 || qtype === 28 ? 1 : qtype;
  const name = I[s + NAME];
  if (rcode === 0 && ancount > 0) {
    nameAddresses(off, end, ancount, name);
    // the names of other types (A and AAAA are in L as ANSWERED already)
    if (kind !== 1) remember(lookupEntry(client, name, kind | RESOLVED, true), s, t);
    if (t - resolvedAt[labels] > 0) resolvedAt[labels] = t;
    // failures of longer names that start with this one, and of this name's proper prefixes: looked
    // up only at depths (labels) where one waited within the window (dns-siblings.ts LengthCounts)
    if (t - underAt[labels] <= SIBLING_WAIT_US) stemFound(client, name, qtype, UNDER, t);
    for (let i = 0; i < labels - 1; i++) if (t - selfAt[i + 1] <= SIBLING_WAIT_US) stemFound(client, PREFIXES[i], qtype, SELF, t);
    return;
  }
  if (rcode !== 3 && !(rcode === 0 && (I[s + BITS] & F.TC) === 0)) return;
  // a failure: the stem resolved already (the longest proper prefix first), else it waits
  for (let i = labels - 2; i >= 0; i--) {
    if (t - resolvedAt[i + 1] > SIBLING_WAIT_US) continue;
    if (kind === 1 ? resolvedNear(client, PREFIXES[i], 1, t) || resolvedNear(client, PREFIXES[i], 28, t) : resolvedNear(client, PREFIXES[i], kind | RESOLVED, t)) {
      searchMiss(s);
      return;
    }
  }
  addWait(lookupEntry(client, name, qtype | SELF, true), s, t);
  selfAt[labels] = t;
  for (let i = 0; i < labels - 1; i++) {
    addWait(lookupEntry(client, PREFIXES[i], qtype | UNDER, true), s, t);
    underAt[i + 1] = t;
  }
}

/** Flow s is a search-list miss, unless already benign. */
function searchMiss(s) {
  if ((I[s + BITS] & (F.OTHER_FAMILY | F.SEARCH_MISS)) !== 0) return;
  I[s + BITS] |= F.SEARCH_MISS;
  evidence.searchMisses++;
}

/**
 * A success of `qtype` for `name` found the failures waiting under it (kind UNDER or SELF) within
 * the wait: search-list misses. Failures wait in L by their own type; a success of A or AAAA
 * settles both.
 */
function stemFound(client, name, qtype, kind, t) {
  if (qtype === 1 || qtype === 28) {
    settle(lookupEntry(client, name, 1 | kind, false), t);
    settle(lookupEntry(client, name, 28 | kind, false), t);
  } else settle(lookupEntry(client, name, qtype | kind, false), t);
}

// The waits under one key of L, newest first: L's entry holds the number of the newest (word 4)
// and its time; each wait (WAITS, a ring of WAIT_RING) its number, the flow's slot and serial, its
// time and the number of the one before it under the key (0: none). A resolver's search list of
// three domains makes three waits under the stem; a wait overwritten in the ring is not followed.
const WAIT_RING = 1 << 14;
const WAITS = withEvidence ? new Float64Array(WAIT_RING * 5) : null;
let waitNumber = 0;

/** Flow s begins to wait (at t) under L's entry e. */
function addWait(e, s, t) {
  const n = ++waitNumber;
  const w = (n & (WAIT_RING - 1)) * 5;
  WAITS[w] = n;
  WAITS[w + 1] = s;
  WAITS[w + 2] = I[s + SERIAL];
  WAITS[w + 3] = t;
  WAITS[w + 4] = L[e + 3] === 1 ? L[e + 4] : 0;
  L[e + 3] = 1;
  L[e + 4] = n;
  L[e + 5] = 0;
  LD[(e >> 1) + 3] = t;
}

/** The waits under L's entry e (-1 none) that began within the wait before t are search-list misses. */
function settle(e, t) {
  if (e < 0 || L[e + 3] !== 1) return;
  L[e + 3] = -1;
  for (let n = L[e + 4]; n > 0;) {
    const w = (n & (WAIT_RING - 1)) * 5;
    if (WAITS[w] !== n || t - WAITS[w + 3] > SIBLING_WAIT_US) return;
    const x = WAITS[w + 1];
    if (I[x + SERIAL] === WAITS[w + 2]) searchMiss(x);
    n = WAITS[w + 4];
  }
}

/** The A/AAAA answers from `off` name their addresses `name` (A's entries). */
function nameAddresses(off, end, ancount, name) {
  let n = -1; // the name's entry in N, found at its first address
  for (let i = 0; i < ancount; i++) {
    // the owner name: labels ending at the root or at a pointer
    for (;;) {
      if (off >= end) return;
      const b = buf[off];
      if (b >= 0xc0) {
        off += 2;
        break;
      }
      off += b + 1;
      if (b === 0) break;
    }
    if (off + 10 > end) return;
    const type = buf.readUInt16BE(off),
      rdlen = buf.readUInt16BE(off + 8);
    off += 10;
    if (off + rdlen > end) return;
    if ((type === 1 && rdlen === 4) || (type === 28 && rdlen === 16)) {
      if (n < 0 && (n = nameIndex(name)) < 0) return;
      loadAddr(off, rdlen, 0);
      const e = addressEntry(true);
      if (e >= 0) {
        A[e + 4] = n;
        evidence.answersNamed++;
      }
    }
    off += rdlen;
  }
}
const RESOLVED = 4 << 16,
  UNDER = 5 << 16,
  SELF = 6 << 16;
/** By a name's number of labels (PREFIXES' length), the latest time one resolved, and one waited under it (UNDER) or as itself (SELF). */
const resolvedAt = new Float64Array(PREFIXES.length + 1).fill(-Infinity);
const underAt = new Float64Array(PREFIXES.length + 1).fill(-Infinity);
const selfAt = new Float64Array(PREFIXES.length + 1).fill(-Infinity);

/** Whether `client` got an answer for `name` (type | kind, ANSWERED for A and AAAA) within the wait before t. */
function resolvedNear(client, name, typeKind, t) {
  const e = lookupEntry(client, name, typeKind < 65536 ? typeKind | ANSWERED : typeKind, false);
  return e >= 0 && L[e + 3] === 1 && t - LD[(e >> 1) + 3] <= SIBLING_WAIT_US;
}

// The names the answers gave addresses (related/other-family.ts's Named), with the connection
// attempts to each of the last two ports connected to, the last PER_KEY of each (words: the two
// ports, -1 none; the attempts added to each; then PER_KEY attempts of six words a port: time µs,
// first frame, family, connected, tied to its fallback, client MAC). By their hash in NI.
const WINDOW_US = 30e6,
  MAX_GAP_US = 5e6,
  PER_KEY = 4,
  NW = 4 + 2 * PER_KEY * 6;
const N = withEvidence ? new Float64Array(MAX_NAMES * NW) : null;
const NI = withEvidence ? new Int32Array(4 * MAX_NAMES) : null;
let names = 0;

/** The entry of `name` (its hash) in N, made at its first answer; -1 past MAX_NAMES. */
function nameIndex(name) {
  const mask = 2 * MAX_NAMES - 1;
  for (let i = fold(name) & mask; ; i = (i + 1) & mask) {
    if (NI[2 * i + 1] === 0) {
      if (names >= MAX_NAMES) return -1;
      NI[2 * i] = name;
      NI[2 * i + 1] = ++names;
      const x = (names - 1) * NW;
      N[x] = N[x + 1] = -1;
      return names - 1;
    }
    if (NI[2 * i] === name) return NI[2 * i + 1] - 1;
  }
}

/** Flow s decided as verdict v: numbered, related, and grouped if a problem. */
function decided(s, v) {
  const id = ++evidence.records;
  const e = I[s + ENTRY];
  const clientIsA = I[s + CLIENT_IS_A];
  const sAt = e + ADDRS + (clientIsA === 1 ? 4 : 0);
  const ports = H[e + PORTS];
  const sPort = clientIsA === 1 ? ports >>> 16 : ports & 0xffff;
  const connected = v === OK || v === CLOSED_BY_REMOTE || v === DELAYED_RESET || v === MID_STREAM_RESET;
  if (connected || v === REFUSED || v === TIMEOUT || v === CAPTURE_ENDED || v === HANDSHAKE_INCOMPLETE) attempt(s, sAt, sPort, connected ? 1 : 0);
  if (v === OK || v === DNS_OK || v === DNS_OTHER_FAMILY || v === DNS_SEARCH_MISS) return;
  group(s, v, id, sAt, sPort);
}

function attempt(s, sAt, sPort, ok) {
  if (aused === 0) return;
  for (let j = 0; j < 4; j++) key[j] = H[sAt + j];
  const a = addressEntry(false);
  if (a < 0) return;
  const v = evOf(s);
  const first = EV[v + FIRST_F];
  const clientMac = EV[v + MAC_C] * 4294967296 + (EV[v + MAC_C + 1] >>> 0);
  const t = D[(s >> 1) + FIRST_T];
  // the attempts to this port: the name's first or second list, else the first is given to this
  // port and the second keeps the first's
  const x = A[a + 4] * NW;
  let list = 0;
  if (N[x] !== sPort) {
    if (N[x + 1] === sPort) list = 1;
    else {
      N[x + 1] = N[x];
      N[x + 3] = N[x + 2];
      for (let j = 0; j < PER_KEY * 6; j++) N[x + 4 + PER_KEY * 6 + j] = N[x + 4 + j];
      N[x] = sPort;
      N[x + 2] = 0;
    }
  }
  const k = x + 4 + list * PER_KEY * 6;
  const family = H[I[s + ENTRY] + VP] & 0xff;
  const adds = N[x + 2 + list];
  const n = Math.min(adds, PER_KEY);
  let done = 0;
  for (let i = 0; i < n; i++) {
    const p = k + ((adds - n + i) % PER_KEY) * 6;
    if (Math.abs(t - N[p]) > WINDOW_US || N[p + 2] === family || N[p + 3] === ok || (ok ? N[p + 4] : done) === 1) continue;
    // attempts from different client MACs are different hosts'
    if (N[p + 5] !== 0 && clientMac !== 0 && N[p + 5] !== clientMac) continue;
    // the failed attempt first, its fallback within MAX_GAP
    const gap = ok ? t - N[p] : N[p] - t;
    if (gap < 0 || gap > MAX_GAP_US) continue;
    evidence.familyLinks++;
    familyPairs.push(ok ? `${N[p + 1]} ${first}` : `${first} ${N[p + 1]}`);
    if (ok) N[p + 4] = 1;
    else {
      done = 1;
      break;
    }
  }
  const p = k + (adds % PER_KEY) * 6;
  N[p] = t;
  N[p + 1] = first;
  N[p + 2] = family;
  N[p + 3] = ok;
  N[p + 4] = done;
  N[p + 5] = clientMac;
  N[x + 2 + list] = adds + 1;
}

// Groups of problems (report/groups.ts, simpler): by verdict, server address and port; a count,
// the first and last times, up to LISTED distinct clients, and the first LIMIT records' evidence
// copied out (their flows' slots are reused before the report is written). Past MAX_GROUPS, a
// verdict's further problems go to one overflow group of it.
const MAX_GROUPS = 1000,
  LISTED = 64,
  LIMIT = 20; // --limit
/** Groups by hash: server's four words, port, verdict, count, the group's number + 1 (0: empty), its IP version; then LISTED client hashes. */
const GW = 9 + LISTED;
const gcap = 4096;
const G = withEvidence ? new Int32Array(gcap * GW) : null;
/** By the group's number: its G entry, its first and last records' start, and the first LIMIT records (X, XN). */
const GE = new Int32Array(MAX_GROUPS + VERDICTS.length);
const GT = withEvidence ? new Float64Array(GE.length * 2) : null;
const overflow = new Int32Array(VERDICTS.length).fill(-1);
/** Of each record shown: its flow's I words (16), its EV words, its 5-tuple entry (16, its id in FLOW); its name. */
const XW = 16 + EVW + 16;
const X = withEvidence ? new Float64Array(GE.length * LIMIT * XW) : null;
const XN = withEvidence ? new Uint8Array(GE.length * LIMIT * NAME_MAX) : null;

function group(s, v, id, sAt, sPort) {
  const mask = gcap - 1;
  let e;
  for (let i = fold(mix(mix(addrHash4(sAt), sPort), v)) & mask; ; i = (i + 1) & mask) {
    e = i * GW;
    if (G[e + 7] === 0) {
      // a new group, or past MAX_GROUPS its verdict's overflow group
      if (evidence.groups >= MAX_GROUPS) {
        if (overflow[v] < 0) overflow[v] = newGroup(s, e, sAt, sPort, v);
        e = GE[overflow[v]];
      } else newGroup(s, e, sAt, sPort, v);
      break;
    }
    if (G[e + 5] === v && G[e + 4] === sPort && G[e] === H[sAt] && G[e + 1] === H[sAt + 1] && G[e + 2] === H[sAt + 2] && G[e + 3] === H[sAt + 3]) break;
  }
  const g = G[e + 7] - 1;
  const t = D[(s >> 1) + FIRST_T];
  const n = G[e + 6]++;
  if (n === 0) GT[g * 2] = t;
  GT[g * 2 + 1] = t;
  // its client, if not listed yet (LISTED listed: no more)
  const c = addrHash4(I[s + ENTRY] + ADDRS + (I[s + CLIENT_IS_A] === 1 ? 0 : 4));
  if (G[e + 9 + LISTED - 1] === 0) {
    let k = 0;
    while (k < LISTED && G[e + 9 + k] !== 0 && G[e + 9 + k] !== c) k++;
    if (k < LISTED && G[e + 9 + k] === 0) G[e + 9 + k] = c;
  }
  if (n < LIMIT) {
    evidence.shown++;
    const x = (g * LIMIT + n) * XW;
    for (let j = 0; j < 16; j++) X[x + j] = I[s + j];
    const ev = evOf(s);
    for (let j = 0; j < EVW; j++) X[x + 16 + j] = EV[ev + j];
    const en = I[s + ENTRY];
    for (let j = 0; j < 16; j++) X[x + 16 + EVW + j] = H[en + j];
    X[x + 16 + EVW + FLOW] = id;
    const len = (I[s + BITS] & F.DNS) !== 0 ? EV[ev + NAME_LEN] : 0; // (a connection's word is FIRST_F)
    const from = (s >> 5) * NAME_MAX,
      to = (g * LIMIT + n) * NAME_MAX;
    for (let j = 0; j < len; j++) XN[to + j] = NAMES[from + j];
  }
}

/** A group at G's entry e: its number. */
function newGroup(s, e, sAt, sPort, v) {
  for (let j = 0; j < 4; j++) G[e + j] = H[sAt + j];
  G[e + 4] = sPort;
  G[e + 5] = v;
  G[e + 6] = 0;
  const g = evidence.groups++;
  G[e + 7] = g + 1;
  G[e + 8] = H[I[s + ENTRY] + VP] & 0xff;
  GE[g] = e;
  return g;
}

/** Four address words of H at `at`, hashed (addrHash's, from H). */
const addrHash4 = (at) => mix(mix(mix(mix(-2128831035, H[at]), H[at + 1]), H[at + 2]), H[at + 3]);

/** The report of the groups: a head line each, and a line and its evidence for each record shown. */
function report() {
  const out = [];
  for (let g = 0; g < evidence.groups; g++) {
    const e = GE[g];
    const v = G[e + 5];
    let clients = 0;
    while (clients < LISTED && G[e + 9 + clients] !== 0) clients++;
    const servers = overflow[v] === g ? `servers past ${MAX_GROUPS} groups` : endpointText(G, e, G[e + 4], G[e + 8] === 4);
    out.push(`${VERDICTS[v]} ×${G[e + 6]}: ${servers} from ${clients}${clients === LISTED ? '+' : ''} clients, ${clock(GT[g * 2])}–${clock(GT[g * 2 + 1])}`);
    for (let n = 0; n < Math.min(G[e + 6], LIMIT); n++) {
      const x = (g * LIMIT + n) * XW;
      const h = x + 16 + EVW;
      const clientIsA = X[x + CLIENT_IS_A] === 1;
      const ports = X[h + PORTS];
      const v4 = (X[h + VP] & 0xff) === 4;
      const client = endpointText(X, h + ADDRS + (clientIsA ? 0 : 4), clientIsA ? ports & 0xffff : ports >>> 16, v4);
      const server = endpointText(X, h + ADDRS + (clientIsA ? 4 : 0), clientIsA ? ports >>> 16 : ports & 0xffff, v4);
      const ev = x + 16;
      const isDns = (X[x + BITS] & F.DNS) !== 0;
      out.push(`  #${X[h + FLOW]}  ${isDns ? 'DNS' : 'TCP'}  ${client} → ${server}`);
      if (isDns) {
        out.push(`      · query #${X[ev + QUERY_F]} ${nameText((g * LIMIT + n) * NAME_MAX, X[ev + NAME_LEN])} type ${X[x + QTYPE]}`);
        out.push(`      · response #${X[ev + RESP_F]} rcode ${X[x + RCODE]}, ${X[x + ANCOUNT]} answers, TTL ${X[ev + RESP_TTL]}`);
      } else {
        out.push(`      · SYN #${X[ev + SYN_F]}, SYN-ACK #${X[ev + SYNACK_F]}, RST #${X[ev + RST_F]} TTL ${X[ev + RST_TTL]}`);
      }
      out.push(`      · MAC ${macText(X[ev + MAC_C + 2] * 4294967296 + (X[ev + MAC_C + 3] >>> 0))}`);
    }
  }
  const text = out.join('\n');
  evidence.reportLines = out.length;
  evidence.reportBytes = Buffer.byteLength(text);
}

function endpointText(W, at, port, v4) {
  if (v4) {
    const w = W[at] >>> 0;
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}:${port}`;
  }
  let t = '[';
  for (let j = 0; j < 4; j++) t += `${j > 0 ? ':' : ''}${((W[at + j] >>> 16) & 0xffff).toString(16)}:${(W[at + j] & 0xffff).toString(16)}`;
  return `${t}]:${port}`;
}

function nameText(at, len) {
  let t = '';
  for (let i = 0; i < len;) {
    const n = XN[at + i++];
    if (n === 0) break;
    for (let j = 0; j < n; j++) t += String.fromCharCode(XN[at + i + j]);
    t += '.';
    i += n;
  }
  return t;
}

const macText = (m) =>
  m
    .toString(16)
    .padStart(12, '0')
    .replace(/(..)(?!$)/g, '$1:');
const clock = (us) => new Date(us / 1000).toISOString().slice(11, 19);

function packet(p, len, t) {
  if (len < 14) return;
  if (withEvidence) {
    frame = packets + 1;
    macHi = buf.readUInt16BE(p + 6);
    macLo = buf.readInt32BE(p + 8);
  }
  let type = buf.readUInt16BE(p + 12);
  let off = 14;
  while ((type === 0x8100 || type === 0x88a8) && off + 4 <= len) {
    type = buf.readUInt16BE(p + off + 2);
    off += 4;
  }
  const end = p + len;
  if (type === 0x0800 && off + 20 <= len) {
    const ip = p + off;
    const ihl = (buf[ip] & 15) * 4;
    if ((buf.readUInt16BE(ip + 6) & 0x1fff) !== 0 || off + ihl + 20 > len) return;
    const proto = buf[ip + 9];
    const ipEnd = Math.min(end, ip + buf.readUInt16BE(ip + 2));
    if (proto === 6) tcp(4, ip + ihl, ipEnd, ip + 12, ip + 16, t, buf[ip + 8]);
    else if (proto === 17 && (buf.readUInt16BE(ip + ihl) === 53 || buf.readUInt16BE(ip + ihl + 2) === 53)) dns(4, ip + ihl, ipEnd, ip + 12, ip + 16, t, buf[ip + 8]);
  } else if (type === 0x86dd && off + 60 <= len) {
    const ip = p + off;
    const proto = buf[ip + 6];
    const ipEnd = Math.min(end, ip + 40 + buf.readUInt16BE(ip + 4));
    if (proto === 6) tcp(6, ip + 40, ipEnd, ip + 8, ip + 24, t, buf[ip + 7]);
    else if (proto === 17 && (buf.readUInt16BE(ip + 40) === 53 || buf.readUInt16BE(ip + 42) === 53)) dns(6, ip + 40, ipEnd, ip + 8, ip + 24, t, buf[ip + 7]);
  }
}

const fd = openSync(path, 'r');
let have = 0,
  pos = 0,
  header = true;
for (;;) {
  if (pos > 0) {
    buf.copyWithin(0, pos, have);
    have -= pos;
    pos = 0;
  }
  const n = readSync(fd, buf, have, BUF - have, null);
  if (n <= 0) break;
  have += n;
  if (header) {
    if (have < 24) continue;
    pos = 24;
    header = false;
  }
  while (have - pos >= 16) {
    const incl = buf.readUInt32LE(pos + 8);
    if (incl > BUF - 16) {
      console.error('record too large');
      process.exit(1);
    }
    if (have - pos < 16 + incl) break;
    const t = buf.readUInt32LE(pos) * 1e6 + buf.readUInt32LE(pos + 4);
    if (t > lastT) lastT = t;
    if ((packets & 255) === 0) expire(lastT, lastT);
    packet(pos + 16, incl, t);
    packets++;
    pos += 16 + incl;
  }
}
expire(Infinity, lastT);
const verdicts = {};
VERDICTS.forEach((v, i) => counts[i] > 0 && (verdicts[v] = counts[i]));
if (withEvidence) report();
console.log(JSON.stringify({ packets, flows, verdicts, peakFlowSlots: slotsUsed, ...(withFacts ? { facts: found } : {}), ...(withEvidence ? { evidence, familyPairs } : {}) }));
