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
// Usage: node bench/verdict-floor.mjs [--facts] FILE.pcap   (classic little-endian pcap, as node-walker.mjs)
import { openSync, readSync } from 'node:fs';

const withFacts = process.argv[2] === '--facts';
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
const F = { SYN: 1, SYNACK: 2, EST: 4, RST: 8, RST_S: 16, FIN_C: 32, FIN_S: 64, DATA_S: 128, DATA_C: 256, RETRY: 512, QUERY: 1024, ANSWER: 2048, OTHER_FAMILY: 4096, RST_AFTER_DATA: 8192, RST_AFTER_PEER_FIN: 16384, DNS: 32768, TC: 65536 };

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
];
const [OK, REFUSED, TIMEOUT, CAPTURE_ENDED, HANDSHAKE_INCOMPLETE, CLOSED_BY_REMOTE, DELAYED_RESET, MID_STREAM_RESET, MIDSTREAM, DNS_OK, DNS_NODATA, DNS_NXDOMAIN, DNS_SERVFAIL, DNS_REFUSED, DNS_ERROR, DNS_NO_RESPONSE, DNS_OTHER_FAMILY] =
  VERDICTS.keys();
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
  counts[verdict(s, now)]++;
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
function question(off, end) {
  let h = -2128831035;
  for (;;) {
    if (off >= end) return -1;
    const n = buf[off++];
    if (n === 0) break;
    if (n > 63 || off + n > end) return -1;
    for (let i = 0; i < n; i++) h = mix(h, buf[off + i] | 0x20);
    h = mix(h, 46);
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

function dns(ver, l4, end, sOff, dOff, t) {
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
  if (!response) {
    remember(lookupEntry(I[s + PAIR], qHash, qtype | ASKED, true), s, t);
    return;
  }
  if (qtype !== 1 && qtype !== 28) return;
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
}

function packet(p, len, t) {
  if (len < 14) return;
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
    else if (proto === 17 && (buf.readUInt16BE(ip + ihl) === 53 || buf.readUInt16BE(ip + ihl + 2) === 53)) dns(4, ip + ihl, ipEnd, ip + 12, ip + 16, t);
  } else if (type === 0x86dd && off + 60 <= len) {
    const ip = p + off;
    const proto = buf[ip + 6];
    const ipEnd = Math.min(end, ip + 40 + buf.readUInt16BE(ip + 4));
    if (proto === 6) tcp(6, ip + 40, ipEnd, ip + 8, ip + 24, t, buf[ip + 7]);
    else if (proto === 17 && (buf.readUInt16BE(ip + 40) === 53 || buf.readUInt16BE(ip + 42) === 53)) dns(6, ip + 40, ipEnd, ip + 8, ip + 24, t);
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
console.log(JSON.stringify({ packets, flows, verdicts, peakFlowSlots: slotsUsed, ...(withFacts ? { facts: found } : {}) }));
