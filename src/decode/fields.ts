/**
 * Header layouts: the offset of each field from the start of its header, and the header's
 * length (smoltcp's `field` modules). Decoders check a header's length once against `end`,
 * then read these offsets unchecked.
 *
 * They are `const enum`s, not `as const` objects: tsc writes each value into the code that uses it,
 * so reading a field costs what reading at a literal offset does. Node 20's V8 does not fold loads
 * from `as const` objects: with them, decoding the 100 MB bench capture took 7-10 % more CPU.
 * (Under vitest, which compiles file by file, they are ordinary enum objects: same values.)
 */

/** Ethernet II. */
export const enum ETH {
  DST = 0,
  SRC = 6,
  TYPE = 12,
  LEN = 14,
  /** A MAC address's length. */ ADDR_LEN = 6,
}
/** An 802.1Q / 802.1ad tag after the ethertype that announced it: tag control (its low 12 bits the VLAN id), then the next ethertype. */
export const enum VLAN_TAG {
  TCI = 0,
  TYPE = 2,
  LEN = 4,
  ID_MASK = 0x0fff,
}
/** Linux cooked capture v1 (LINKTYPE_LINUX_SLL). */
export const enum SLL {
  PKT_TYPE = 0,
  HA_TYPE = 2,
  ADDR_LEN = 4,
  ADDR = 6,
  PROTOCOL = 14,
  LEN = 16,
  /** The longest address it has room for (SLL2 too). */ ADDR_MAX = 8,
}
/** Linux cooked capture v2 (LINKTYPE_LINUX_SLL2). */
export const enum SLL2 {
  PROTOCOL = 0,
  RESERVED = 2,
  IF_INDEX = 4,
  HA_TYPE = 8,
  PKT_TYPE = 10,
  ADDR_LEN = 11,
  ADDR = 12,
  LEN = 20,
}
/** BSD null / OpenBSD loopback: a 32-bit address family. */
export const enum NULL_HDR {
  FAMILY = 0,
  LEN = 4,
}
/** PPP in HDLC-like framing: address, control, protocol (compressed to one odd byte, or two). */
export const enum PPP_HDLC {
  ADDRESS = 0,
  CONTROL = 1,
  LEN = 2,
}
/** Cisco HDLC: address, control, ethertype. */
export const enum C_HDLC {
  ADDRESS = 0,
  CONTROL = 1,
  PROTOCOL = 2,
  LEN = 4,
}
/** PPPoE session header (RFC 2516) with the PPP protocol after it. */
export const enum PPPOE {
  VER_TYPE = 0,
  CODE = 1,
  SESSION = 2,
  LENGTH = 4,
  PPP_PROTOCOL = 6,
  LEN = 8,
}
/** One MPLS label stack entry (RFC 3032): label (20 bits), TC, bottom-of-stack, TTL. */
export const enum MPLS {
  ENTRY_LEN = 4,
  LABEL_SHIFT = 12,
  BOTTOM_OF_STACK = 0x100,
  CONTROL_WORD_LEN = 4,
}

/** IPv4 (RFC 791). */
export const enum IPV4 {
  VER_IHL = 0,
  TOS = 1,
  TOTAL_LEN = 2,
  ID = 4,
  FRAG = 6,
  TTL = 8,
  PROTO = 9,
  CSUM = 10,
  SRC = 12,
  DST = 16,
  MIN_LEN = 20,
}
/** IPv4 FRAG field: the don't-fragment bit's position, and the fragment-offset mask. */
export const enum IPV4_FRAG {
  DF_SHIFT = 14,
  OFFSET_MASK = 0x1fff,
  /** More fragments follow. */ MF = 0x2000,
}
/** IPv6 fixed header (RFC 8200 §3). */
export const enum IPV6 {
  VER_TC_FLOW = 0,
  PAYLOAD_LEN = 4,
  NEXT_HDR = 6,
  HOP_LIMIT = 7,
  SRC = 8,
  DST = 24,
  LEN = 40,
}
/** An IPv6 extension header: next header, length (in 8-byte units after the first 8; AH: 4-byte units after the first 8). */
export const enum IPV6_EXT {
  NEXT_HDR = 0,
  LEN = 1,
  MIN_LEN = 8,
}
/** IPv6 fragment header (RFC 8200 §4.5). */
export const enum IPV6_FRAG {
  NEXT_HDR = 0,
  OFFSET_FLAGS = 2,
  ID = 4,
  LEN = 8,
  /** The fragment offset in the OFFSET_FLAGS word. */ OFFSET_MASK = 0xfff8,
  /** More fragments follow (the M flag in the OFFSET_FLAGS word). */ MF = 1,
}

/** TCP (RFC 9293 §3.1). */
export const enum TCP {
  SRC_PORT = 0,
  DST_PORT = 2,
  SEQ = 4,
  ACK = 8,
  DATA_OFF = 12,
  FLAGS = 13,
  WINDOW = 14,
  CSUM = 16,
  URG = 18,
  MIN_LEN = 20,
}
/** TCP option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018). */
export const enum TCP_OPT {
  END = 0,
  NOP = 1,
  MSS = 2,
  WSCALE = 3,
  SACK_OK = 4,
  SACK = 5,
  TIMESTAMPS = 8,
}

/** UDP (RFC 768). */
export const enum UDP {
  SRC_PORT = 0,
  DST_PORT = 2,
  LENGTH = 4,
  CSUM = 6,
  LEN = 8,
}
/**
 * ICMP and ICMPv6: type, code, checksum, then 4 bytes whose meaning depends on the type (echo id
 * and sequence), then the body (the quoted packet of an error, the target of a neighbour message).
 */
export const enum ICMP {
  TYPE = 0,
  CODE = 1,
  CSUM = 2,
  ECHO_ID = 4,
  ECHO_SEQ = 6,
  LEN = 8,
  BODY = 8,
}
/** IPv6 neighbour solicitation / advertisement (RFC 4861 §4.3, §4.4): the target address after the reserved word. */
export const enum ND {
  TARGET = 8,
  MIN_LEN = 24,
}

/** ARP for IPv4 over Ethernet (RFC 826). */
export const enum ARP {
  HTYPE = 0,
  PTYPE = 2,
  HLEN = 4,
  PLEN = 5,
  OPER = 6,
  SHA = 8,
  SPA = 14,
  THA = 18,
  TPA = 24,
  LEN = 28,
}

/** VXLAN (RFC 7348). */
export const enum VXLAN {
  FLAGS = 0,
  VNI = 4,
  LEN = 8,
  /** The I flag: the VNI is valid. */ FLAG_VNI = 0x08,
}
/** GENEVE (RFC 8926): version and option length (in 4-byte words), protocol type, VNI. */
export const enum GENEVE {
  VER_OPT_LEN = 0,
  PROTOCOL = 2,
  VNI = 4,
  MIN_LEN = 8,
}
/** GRE (RFC 2784, 2890): flags, version, protocol; optional checksum+offset, key, sequence words follow. */
export const enum GRE {
  FLAGS = 0,
  VERSION = 1,
  PROTOCOL = 2,
  MIN_LEN = 4,
  OPTION_LEN = 4,
  /** The version bits of the VERSION byte. */ VERSION_MASK = 0x07,
}
export const enum GRE_FLAG {
  CHECKSUM_OR_ROUTING = 0xc0,
  KEY = 0x20,
  SEQUENCE = 0x10,
}
/** ERSPAN type II and III headers after GRE: the 10-bit session id is in the second 16-bit word. */
export const enum ERSPAN_II {
  SESSION = 2,
  LEN = 8,
  SESSION_MASK = 0x03ff,
}
/** ERSPAN III; FLAG_O in the FLAGS byte: a platform-specific subheader follows. */
export const enum ERSPAN_III {
  SESSION = 2,
  FLAGS = 11,
  LEN = 12,
  PLATFORM_SUBHEADER_LEN = 8,
  SESSION_MASK = 0x03ff,
  FLAG_O = 0x01,
}

/** DNS message header (RFC 1035 §4.1.1). */
export const enum DNS {
  ID = 0,
  FLAGS = 2,
  QDCOUNT = 4,
  ANCOUNT = 6,
  NSCOUNT = 8,
  ARCOUNT = 10,
  LEN = 12,
}
/** The FLAGS word: QR (bit 15), OPCODE (bits 11-14), AA, TC (bit 9), RD, RA, Z, RCODE (bits 0-3). */
export const enum DNS_FLAGS {
  QR_SHIFT = 15,
  OPCODE_SHIFT = 11,
  OPCODE_MASK = 0xf,
  AA_SHIFT = 10,
  TC_SHIFT = 9,
  RD_SHIFT = 8,
  RA_SHIFT = 7,
  RCODE_MASK = 0xf,
}
/** A name's length byte: a label of up to 63 bytes, or (top two bits set) a compression pointer (§4.1.4). */
export const enum DNS_LABEL {
  POINTER = 0xc0,
  OFFSET_MASK = 0x3f,
  MAX_NAME = 255,
}
/** A question after its name (§4.1.2). */
export const enum DNS_QUESTION {
  QTYPE = 0,
  QCLASS = 2,
  LEN = 4,
}
/** A resource record after its name (§4.1.3). */
export const enum DNS_RR {
  TYPE = 0,
  CLASS = 2,
  TTL = 4,
  RDLENGTH = 8,
  RDATA = 10,
}

/** TLS record header (RFC 8446 §5.1). */
export const enum TLS_RECORD {
  TYPE = 0,
  VERSION_MAJOR = 1,
  VERSION_MINOR = 2,
  LENGTH = 3,
  LEN = 5,
}
/** TLS handshake message header: type, 24-bit length. */
export const enum TLS_HS {
  TYPE = 0,
  LENGTH = 1,
  LEN = 4,
}
/**
 * ClientHello / ServerHello: legacy version, random, then the session id (RFC 8446 §4.1.2,
 * §4.1.3); a ServerHello then has one cipher suite and one compression method (SERVER_CHOICE bytes).
 */
export const enum TLS_HELLO {
  VERSION = 0,
  RANDOM = 2,
  SESSION_ID = 34,
  SERVER_CHOICE = 3,
}
/** Certificate message (RFC 5246 §7.4.2): 24-bit lengths, of the list and of each DER certificate. */
export const enum TLS_CERT {
  LENGTH_BYTES = 3,
}
/** An extension: type, length, data. */
export const enum TLS_EXT_HDR {
  TYPE = 0,
  LENGTH = 2,
  LEN = 4,
}
/** server_name extension data: list length, name type, name length, name (RFC 6066 §3). */
export const enum TLS_SNI {
  LIST_LEN = 0,
  NAME_TYPE = 2,
  NAME_LEN = 3,
  NAME = 5,
}
