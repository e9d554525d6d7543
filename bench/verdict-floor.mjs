#!/usr/bin/env node
// A floor under "within 3× / 5× the C walker": the least a JavaScript analysis can do and still
// count pcapdiag's verdicts on the bench captures, written for speed, not an analyser. It is
// node-walker.mjs (the same read loop, decoding and 5-tuple hashing) plus what the verdicts read:
// - per TCP packet: the handshake, resets and FINs by side and when, each side's next sequence
//   number (retransmissions), its TTL, whether it sent data;
// - per DNS packet: the header, the question (its name walked and hashed, not made a string), the
//   rcode and the answers' addresses (into the table that names addresses);
// - lookups of one client and name, one answered with an address and the other family's without
//   data, within 2 s (pcapdiag's dns-other-family), matched as the answers come; an unanswered
//   lookup the client asked again is a no-response, not cut off by the end of the capture;
// - flows expired 5 s of capture time after their last packet (a queue in the order they were
//   last checked), classified then, their slots reused: memory bounded by the live flows.
// The flows' state is in typed arrays, a flow's in two cache lines; nothing is allocated per
// packet or per flow. It prints its verdict counts, which bench/run.mjs compares with pcapdiag's
// summary of the same capture: the rules are the few these captures need (no ICMP, no
// application layer, no linking but the one above, no evidence), so this is a lower bound on the
// work, not on pcapdiag's.
// Usage: node bench/verdict-floor.mjs FILE.pcap   (classic little-endian pcap, as node-walker.mjs)
import { openSync, readSync } from 'node:fs';

const BUF = 64 * 1024;
const SYN_TIMEOUT_US = 3e6;
const DNS_TIMEOUT_US = 5e6;
const SIBLING_WAIT_US = 2e6;
/** closed-by-remote against delayed-reset (verdict/tcp-rules.ts PROMPT_CLOSE_NS) */
const PROMPT_CLOSE_US = 1e6;
/** A flow this long without a packet is decided (longer than the SYN and DNS timeouts and the sibling wait). */
const IDLE_US = 5e6;

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
const SEQ0 = 2; // the client's next sequence number; a lookup's name hash
const SEQ1 = 3; // the server's; a lookup's qtype
const PACKETS = 4;
const MISC = 5; // TTLs (client, server) | retransmissions << 16; a lookup's rcode
const ANCOUNT = 6;
const CLIENT = 7; // a lookup's client address, hashed
const ENTRY = 8; // its entry in H
const SERIAL = 9; // which flow holds the slot (L's entries name flows by slot and serial)
// Float64 words (µs): each side's last packet (int words 10-13, zeroed with them), then from byte 64:
const SIDE_LAST_T = 5; // and 6
const FIRST_T = 8,
  LAST_T = 9,
  SYNACK_T = 10,
  EST_T = 11,
  RST_GAP = 12, // the first RST's time after the other side's last packet (tcp.ts rstGapNs)
  FIN_T = 13, // and 14
  QUEUED_T = 15;
const QUERY_T = SYNACK_T,
  RESP_T = EST_T,
  NAME = SEQ0,
  QTYPE = SEQ1;
let flowCap = 1 << 11;
let I = new Int32Array(flowCap * 32);
let D = new Float64Array(I.buffer);
let slotsUsed = 0;
let free = new Int32Array(flowCap);
let freeN = 0;
let serials = 0;
// the live flows in the order they were last checked (a ring of slots)
let queue = new Int32Array(flowCap);
let qHead = 0,
  qLen = 0;

const F = { SYN: 1, SYNACK: 2, EST: 4, RST_S: 8, RST_C: 16, FIN_C: 32, FIN_S: 64, DATA_S: 128, DATA_C: 256, RETRY: 512, QUERY: 1024, ANSWER: 2048, OTHER_FAMILY: 4096, RST_AFTER_DATA: 8192, RST_AFTER_PEER_FIN: 16384 };

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
// the names table: address hash → name hash (a cache, overwritten)
const NSLOTS = 1 << 16;
const named = new Int32Array(NSLOTS * 2);

const buf = Buffer.allocUnsafe(BUF);
const key = new Int32Array(8);
const VERDICTS = [
  'ok',
  'refused',
  'timeout',
  'capture-ended',
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
const [OK, REFUSED, TIMEOUT, CAPTURE_ENDED, CLOSED_BY_REMOTE, DELAYED_RESET, MID_STREAM_RESET, MIDSTREAM, DNS_OK, DNS_NODATA, DNS_NXDOMAIN, DNS_SERVFAIL, DNS_REFUSED, DNS_ERROR, DNS_NO_RESPONSE, DNS_OTHER_FAMILY] = VERDICTS.keys();
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

/** Decides the flows idle for IDLE_US at t (all of them at the end: t Infinity, `end` the capture's last packet). */
function expire(t, end) {
  while (qLen > 0) {
    const s = queue[qHead];
    const d = s >> 1;
    if (D[d + QUEUED_T] + IDLE_US > t) return;
    qHead = (qHead + 1) % queue.length;
    qLen--;
    if (D[d + LAST_T] + IDLE_US > t) {
      // still busy: checked again later
      D[d + QUEUED_T] = D[d + LAST_T];
      queue[(qHead + qLen++) % queue.length] = s;
      continue;
    }
    counts[verdict(s, Math.min(t, end))]++;
    removeEntry(I[s + ENTRY]);
    I[s + SERIAL] = 0;
    free[freeN++] = s;
  }
}

/** The verdict of the flow in slot s, decided at `now` (its index in VERDICTS). */
function verdict(s, now) {
  const b = I[s + BITS];
  const d = s >> 1;
  if ((b & (F.QUERY | F.ANSWER)) === 0) {
    if ((b & F.SYN) === 0) return MIDSTREAM;
    if ((b & F.SYNACK) === 0) return b & F.RST_S ? REFUSED : now - D[d + FIRST_T] >= SYN_TIMEOUT_US ? TIMEOUT : CAPTURE_ENDED;
    if ((b & F.EST) === 0) return CAPTURE_ENDED;
    if (b & F.RST_S && (b & (F.DATA_S | F.RST_AFTER_PEER_FIN)) === 0) return D[d + RST_GAP] < PROMPT_CLOSE_US ? CLOSED_BY_REMOTE : DELAYED_RESET;
    if (b & (F.RST_S | F.RST_C) && (b & (F.RST_AFTER_DATA | F.RST_AFTER_PEER_FIN)) === F.RST_AFTER_DATA) return MID_STREAM_RESET;
    return OK;
  }
  if ((b & F.ANSWER) === 0) {
    if (now - D[d + QUERY_T] >= DNS_TIMEOUT_US || b & F.RETRY) return DNS_NO_RESPONSE;
    const e = lookupEntry(I[s + CLIENT], I[s + NAME], I[s + QTYPE] | ASKED, false);
    return e >= 0 && LD[(e >> 1) + 3] > D[d + QUERY_T] ? DNS_NO_RESPONSE : CAPTURE_ENDED;
  }
  if (b & F.OTHER_FAMILY) return DNS_OTHER_FAMILY;
  const r = I[s + MISC];
  return r === 3 ? DNS_NXDOMAIN : r === 2 ? DNS_SERVFAIL : r === 5 ? DNS_REFUSED : r !== 0 ? DNS_ERROR : I[s + ANCOUNT] === 0 ? DNS_NODATA : DNS_OK;
}

function tcp(ver, l4, end, sOff, dOff, t, hopLimit) {
  const sp = buf.readUInt16BE(l4),
    dp = buf.readUInt16BE(l4 + 2);
  const s = flowOf(ver, 6, sOff, dOff, sp, dp, -1, t);
  const d = s >> 1;
  const flags = buf[l4 + 13];
  const seq = buf.readUInt32BE(l4 + 4);
  const len = end - l4 - (buf[l4 + 12] >> 4) * 4;
  // the first packet's sender is the client, unless it is a SYN-ACK
  if (fresh) I[s + CLIENT_IS_A] = (flags & 0x12) === 0x12 ? (swapped ? 1 : 0) : swapped ? 0 : 1;
  D[d + LAST_T] = t;
  I[s + PACKETS]++;
  const side = (swapped ? 0 : 1) === I[s + CLIENT_IS_A] ? 0 : 1;
  D[d + SIDE_LAST_T + side] = t;
  I[s + MISC] = side === 0 ? (I[s + MISC] & ~0xff) | hopLimit : (I[s + MISC] & ~0xff00) | (hopLimit << 8);
  let b = I[s + BITS];
  if (flags & 0x04) {
    if ((b & (F.RST_S | F.RST_C)) === 0) {
      const peerLast = D[d + SIDE_LAST_T + 1 - side];
      D[d + RST_GAP] = t - (peerLast > 0 ? peerLast : D[d + FIRST_T]);
      if (b & (F.DATA_C | F.DATA_S)) b |= F.RST_AFTER_DATA;
      if (b & (side === 0 ? F.FIN_S : F.FIN_C)) b |= F.RST_AFTER_PEER_FIN;
    }
    b |= side === 1 ? F.RST_S : F.RST_C;
  } else if (flags & 0x02) {
    if (side === 0) {
      if (b & F.SYN) b |= F.RETRY;
      b |= F.SYN;
    } else if ((b & F.SYNACK) === 0) {
      b |= F.SYNACK;
      D[d + SYNACK_T] = t;
    }
    I[s + SEQ0 + side] = seq + 1;
  } else {
    if (side === 0 && (b & (F.SYNACK | F.EST)) === F.SYNACK && flags & 0x10) {
      b |= F.EST;
      D[d + EST_T] = t;
    }
    if (len > 0) {
      b |= side === 0 ? F.DATA_C : F.DATA_S;
      const next = I[s + SEQ0 + side];
      if (next !== 0 && ((seq - next) | 0) < 0) I[s + MISC] += 1 << 16;
      else I[s + SEQ0 + side] = seq + len;
    }
    if (flags & 0x01) {
      if ((b & (side === 0 ? F.FIN_C : F.FIN_S)) === 0) D[d + FIN_T + side] = t;
      b |= side === 0 ? F.FIN_C : F.FIN_S;
      I[s + SEQ0 + side] = seq + len + 1;
    }
  }
  I[s + BITS] = b;
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

/** The end of a name in an answer (labels ending in a root or a pointer), or -1. */
function skipName(off, end) {
  for (;;) {
    if (off >= end) return -1;
    const n = buf[off];
    if (n === 0) return off + 1;
    if ((n & 0xc0) === 0xc0) return off + 2;
    off += n + 1;
  }
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
  // the table before last, when it is as large: a new one is page-faulted in (~100 ms for 32 MB here)
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
    I[s + CLIENT_IS_A] = response === swapped ? 1 : 0;
    // the client (the query's sender) as one number
    const c = response ? 4 : 0;
    I[s + CLIENT] = mix(mix(mix(mix(-2128831035, key[c]), key[c + 1]), key[c + 2]), key[c + 3]);
  }
  D[d + LAST_T] = t;
  I[s + PACKETS]++;
  if (buf.readUInt16BE(m + 4) !== 1) return;
  let q = question(m + 12, end);
  if (q < 0 || q + 4 > end) return;
  const qtype = buf.readUInt16BE(q);
  q += 4;
  I[s + NAME] = qHash;
  I[s + QTYPE] = qtype;
  let b = I[s + BITS];
  if (!response) {
    if (b & F.QUERY) b |= F.RETRY;
    I[s + BITS] = b | F.QUERY;
    D[d + QUERY_T] = t;
    remember(lookupEntry(I[s + CLIENT], qHash, qtype | ASKED, true), s, t);
    return;
  }
  if (b & F.ANSWER) return;
  I[s + BITS] = b | F.ANSWER;
  D[d + RESP_T] = t;
  const rcode = fl & 15;
  const ancount = buf.readUInt16BE(m + 6);
  I[s + MISC] = rcode;
  I[s + ANCOUNT] = ancount;
  // the answers' addresses name their hosts
  let a = q;
  let data = 0;
  for (let i = 0; i < ancount; i++) {
    a = skipName(a, end);
    if (a < 0 || a + 10 > end) break;
    const type = buf.readUInt16BE(a);
    const rdlen = buf.readUInt16BE(a + 8);
    a += 10;
    if (a + rdlen > end) break;
    if ((type === 1 && rdlen === 4) || (type === 28 && rdlen === 16)) {
      data++;
      const addr = type === 1 ? buf.readInt32BE(a) : mix(mix(mix(buf.readInt32BE(a), buf.readInt32BE(a + 4)), buf.readInt32BE(a + 8)), buf.readInt32BE(a + 12));
      const slot = (mix(-2128831035, addr) & (NSLOTS - 1)) * 2;
      named[slot] = addr;
      named[slot + 1] = qHash;
    }
    a += rdlen;
  }
  if (qtype !== 1 && qtype !== 28) return;
  const other = qtype === 1 ? 28 : 1;
  const client = I[s + CLIENT];
  if (rcode === 0 && data > 0) {
    remember(lookupEntry(client, qHash, qtype | ANSWERED, true), s, t);
    // a lookup of the other family without data, waiting for this one
    const w = lookupEntry(client, qHash, other | WAITING, false);
    if (w >= 0 && L[w + 3] === 1 && I[L[w + 4] + SERIAL] === L[w + 5] && t - LD[(w >> 1) + 3] <= SIBLING_WAIT_US) {
      I[L[w + 4] + BITS] |= F.OTHER_FAMILY;
      L[w + 3] = -1;
    }
  } else if (rcode === 0 && ancount === 0) {
    const e = lookupEntry(client, qHash, other | ANSWERED, false);
    if (e >= 0 && L[e + 3] === 1 && t - LD[(e >> 1) + 3] <= SIBLING_WAIT_US) I[s + BITS] |= F.OTHER_FAMILY;
    else remember(lookupEntry(client, qHash, qtype | WAITING, true), s, t);
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

const fd = openSync(process.argv[2], 'r');
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
console.log(JSON.stringify({ packets, flows, verdicts, peakFlowSlots: slotsUsed }));
