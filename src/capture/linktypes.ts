/** LINKTYPE_* values (tcpdump.org/linktypes.html) that pcapdiag decodes, and names for the rest. */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW_OPENBSD: 12,
  RAW_BSD: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const NAMES = new Map<number, string>([
  [0, 'BSD loopback'], [1, 'Ethernet'], [6, 'Token Ring'], [8, 'SLIP'], [9, 'PPP'], [10, 'FDDI'],
  [12, 'raw IP'], [14, 'raw IP'], [50, 'PPP in HDLC framing'], [51, 'PPPoE'], [101, 'raw IP'], [104, 'Cisco HDLC'],
  [105, 'IEEE 802.11'], [107, 'Frame Relay'], [108, 'OpenBSD loopback'], [113, 'Linux cooked (SLL)'],
  [119, 'Prism 802.11'], [127, '802.11 radiotap'], [138, 'Apple IP over IEEE 1394'], [143, 'DOCSIS'],
  [147, 'user 0'], [192, 'PPI'], [195, 'IEEE 802.15.4'], [201, 'Bluetooth HCI'], [215, 'IEEE 802.15.4 no FCS'],
  [220, 'USB Linux mmapped'], [228, 'raw IPv4'], [229, 'raw IPv6'], [239, 'nflog'], [249, 'netanalyzer'],
  [253, 'IP-over-InfiniBand'], [264, 'ISO 14443'], [270, 'Linux vsock'], [276, 'Linux cooked v2 (SLL2)'],
]);

export function linkTypeName(lt: number): string {
  return NAMES.get(lt) ?? `link type ${lt}`;
}

export function isDecodableLinkType(lt: number): boolean {
  switch (lt) {
    case LINKTYPE.NULL: case LINKTYPE.ETHERNET: case LINKTYPE.RAW_OPENBSD: case LINKTYPE.RAW_BSD:
    case LINKTYPE.RAW: case LINKTYPE.LOOP: case LINKTYPE.LINUX_SLL: case LINKTYPE.IPV4:
    case LINKTYPE.IPV6: case LINKTYPE.LINUX_SLL2:
      return true;
    default:
      return false;
  }
}
