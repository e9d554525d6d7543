/**
 * Wire values pcapdiag decodes, in one place (smoltcp's `enum_with_unknown!`, dns-packet's
 * tables): numbers stay numbers inside the decoders; names are made only for output.
 *
 * They are `const enum`s, not `as const` objects: tsc writes each value into the code that uses it,
 * so comparing with one costs what comparing with a literal does. Node 20's V8 does not fold loads
 * from `as const` objects: with them, decoding the 100 MB bench capture took 7-10 % more CPU.
 * (Under vitest, which compiles file by file, they are ordinary enum objects: same values.)
 */

/** Ethernet types (IEEE 802 numbers). */
export const enum ETHERTYPE {
  IPV4 = 0x0800,
  ARP = 0x0806,
  VLAN = 0x8100,
  QINQ = 0x88a8,
  QINQ_OLD = 0x9100,
  IPV6 = 0x86dd,
  MPLS = 0x8847,
  MPLS_MULTICAST = 0x8848,
  PPPOE_SESSION = 0x8864,
  /** Transparent Ethernet bridging: an Ethernet frame inside GRE or GENEVE. */
  TEB = 0x6558,
  ERSPAN_II = 0x88be,
  ERSPAN_III = 0x22eb,
}

/** IP protocol numbers (IANA). */
export const enum IPPROTO {
  HOPOPTS = 0,
  ICMP = 1,
  IPIP = 4,
  TCP = 6,
  UDP = 17,
  IPV6 = 41,
  ROUTING = 43,
  FRAGMENT = 44,
  GRE = 47,
  ESP = 50,
  AH = 51,
  ICMPV6 = 58,
  NONE = 59,
  DSTOPTS = 60,
  MOBILITY = 135,
  HIP = 139,
  SHIM6 = 140,
}

/** ICMPv4 message types (RFC 792, 950). */
export const enum ICMP4 {
  EchoReply = 0,
  DestUnreachable = 3,
  SourceQuench = 4,
  Redirect = 5,
  EchoRequest = 8,
  RouterAdvertisement = 9,
  RouterSolicitation = 10,
  TimeExceeded = 11,
  ParameterProblem = 12,
  Timestamp = 13,
  TimestampReply = 14,
}

/** ICMPv4 destination-unreachable codes (RFC 792, 1122, 1812). */
export const enum ICMP4_UNREACH {
  Net = 0,
  Host = 1,
  Protocol = 2,
  Port = 3,
  FragNeeded = 4,
  SourceRouteFailed = 5,
  NetUnknown = 6,
  HostUnknown = 7,
  SourceHostIsolated = 8,
  NetProhibited = 9,
  HostProhibited = 10,
  NetTos = 11,
  HostTos = 12,
  AdminProhibited = 13,
  HostPrecedenceViolation = 14,
  PrecedenceCutoff = 15,
}

/** ICMPv6 message types (RFC 4443, 4861). */
export const enum ICMP6 {
  DestUnreachable = 1,
  PacketTooBig = 2,
  TimeExceeded = 3,
  ParameterProblem = 4,
  EchoRequest = 128,
  EchoReply = 129,
  RouterSolicitation = 133,
  RouterAdvertisement = 134,
  NeighborSolicitation = 135,
  NeighborAdvertisement = 136,
  Redirect = 137,
}

/** ICMPv6 destination-unreachable codes (RFC 4443 §3.1). */
export const enum ICMP6_UNREACH {
  NoRoute = 0,
  AdminProhibited = 1,
  BeyondScope = 2,
  Address = 3,
  Port = 4,
  SourcePolicyFailed = 5,
  RejectRoute = 6,
}

/** ICMPv4 types whose body quotes the offending datagram (RFC 792). */
export function icmp4Quotes(type: number): boolean {
  return type === ICMP4.DestUnreachable || type === ICMP4.SourceQuench || type === ICMP4.Redirect || type === ICMP4.TimeExceeded || type === ICMP4.ParameterProblem;
}

/** ICMPv6 error types (1-4) quote the offending packet (RFC 4443 §2.1: errors are types 0-127). */
export function icmp6Quotes(type: number): boolean {
  return type >= ICMP6.DestUnreachable && type <= ICMP6.ParameterProblem;
}

/** ARP (RFC 826) for IPv4 over Ethernet. */
export const enum ARP_HW {
  Ethernet = 1,
}
export const enum ARP_OP {
  Request = 1,
  Reply = 2,
}

/** PPP protocol numbers (RFC 1661, 5072, 3032). */
export const enum PPP_PROTO {
  IPV4 = 0x0021,
  IPV6 = 0x0057,
  MPLS = 0x0281,
}
/** PPP in HDLC-like framing: the address and control bytes before the protocol (RFC 1662). */
export const enum PPP_HDLC_BYTE {
  Address = 0xff,
  Control = 0x03,
}

/** Address families in BSD null/loopback headers: AF_INET, and AF_INET6 as each BSD numbers it. */
export const enum BSD_AF {
  INET = 2,
  INET6_LINUX = 10,
  INET6_NETBSD = 24,
  INET6_FREEBSD = 28,
  INET6_DARWIN = 30,
}

/** Linux SLL ARPHRD_* hardware type of Ethernet, whose address is a MAC. */
export const enum ARPHRD {
  Ether = 1,
}

/** UDP ports of the tunnels pcapdiag opens. */
export const enum UDP_PORT {
  DNS = 53,
  VXLAN = 4789,
  GENEVE = 6081,
}

/** DNS opcodes (RFC 1035 §4.1.1, 1996, 2136): only QUERY messages are lookups. */
export const enum DNS_OPCODE {
  Query = 0,
  IQuery = 1,
  Status = 2,
  Notify = 4,
  Update = 5,
}
/** DNS response codes (RFC 1035 §4.1.1, 2136, 6895); names for all of them are decode/dns.ts's rcodeName. */
export const enum DNS_RCODE {
  NoError = 0,
  FormErr = 1,
  ServFail = 2,
  NXDomain = 3,
  NotImp = 4,
  Refused = 5,
  NotAuth = 9,
}
/** DNS record types read in answers (RFC 1035, 3596, 6672). */
export const enum DNS_TYPE {
  A = 1,
  NS = 2,
  CNAME = 5,
  PTR = 12,
  AAAA = 28,
  DNAME = 39,
}

/** TLS record content types (RFC 8446 §5.1). */
export const enum TLS_CONTENT {
  ChangeCipherSpec = 20,
  Alert = 21,
  Handshake = 22,
  ApplicationData = 23,
  Heartbeat = 24,
}
/** TLS handshake message types (RFC 8446 §4). */
export const enum TLS_HANDSHAKE {
  ClientHello = 1,
  ServerHello = 2,
  Certificate = 11,
}
/** TLS extension types (RFC 6066 §3, RFC 8446 §4.2.1). */
export const enum TLS_EXT {
  ServerName = 0,
  SupportedVersions = 43,
}
/** server_name's name type host_name (RFC 6066 §3). */
export const enum TLS_SNI_TYPE {
  HostName = 0,
}
/** TLS alert descriptions pcapdiag treats specially. */
export const enum TLS_ALERT {
  CloseNotify = 0,
}
