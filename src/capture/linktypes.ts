/** LINKTYPE_* values (tcpdump.org/linktypes.html) that pcapdiag decodes, and names for the rest. */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  PPP: 9,
  RAW_OPENBSD: 12,
  RAW_BSD: 14,
  PPP_HDLC: 50,
  PPP_ETHER: 51,
  RAW: 101,
  C_HDLC: 104,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** Names from tcpdump.org's LINKTYPE list, for messages about link types pcapdiag does not decode. */
const NAMES = new Map<number, string>([
  [0, 'BSD loopback'],
  [1, 'Ethernet'],
  [3, 'AX.25'],
  [6, 'Token Ring'],
  [7, 'ARCNET (BSD)'],
  [8, 'SLIP'],
  [9, 'PPP'],
  [10, 'FDDI'],
  [12, 'raw IP'],
  [14, 'raw IP'],
  [50, 'PPP in HDLC framing'],
  [51, 'PPPoE'],
  [100, 'ATM RFC 1483'],
  [101, 'raw IP'],
  [104, 'Cisco HDLC'],
  [105, 'IEEE 802.11'],
  [106, 'Linux ATM CLIP'],
  [107, 'Frame Relay'],
  [108, 'OpenBSD loopback'],
  [113, 'Linux cooked (SLL)'],
  [117, 'OpenBSD pflog'],
  [119, '802.11 Prism'],
  [122, 'IP over Fibre Channel'],
  [123, 'SunATM'],
  [127, '802.11 radiotap'],
  [129, 'ARCNET (Linux)'],
  [130, 'Juniper MLPPP'],
  [131, 'Juniper MLFR'],
  [132, 'Juniper ES'],
  [133, 'Juniper GGSN'],
  [134, 'Juniper MFR'],
  [135, 'Juniper ATM2'],
  [136, 'Juniper services'],
  [137, 'Juniper ATM1'],
  [138, 'Apple IP over IEEE 1394'],
  [139, 'MTP2 with pseudo-header'],
  [140, 'MTP2'],
  [141, 'MTP3'],
  [142, 'SCCP'],
  [143, 'DOCSIS'],
  [144, 'Linux IrDA'],
  ...Array.from({ length: 16 }, (_, i): [number, string] => [147 + i, `user ${i}`]),
  [163, '802.11 AVS'],
  [164, 'Juniper monitor'],
  [165, 'BACnet MS/TP'],
  [166, 'PPP (pppd)'],
  [177, 'Linux LAPD'],
  [178, 'Juniper Ethernet'],
  [182, 'Multilink Frame Relay'],
  [187, 'Bluetooth HCI H4'],
  [189, 'USB (Linux)'],
  [192, 'PPI'],
  [195, 'IEEE 802.15.4'],
  [197, 'ERF'],
  [201, 'Bluetooth HCI H4 with pseudo-header'],
  [204, 'PPP with direction'],
  [205, 'Cisco HDLC with direction'],
  [206, 'Frame Relay with direction'],
  [209, 'IPMB (Linux)'],
  [215, 'IEEE 802.15.4 non-ASK PHY'],
  [220, 'USB (Linux, mmapped)'],
  [224, 'Fibre Channel FC-2'],
  [226, 'Solaris ipnet'],
  [227, 'SocketCAN'],
  [228, 'raw IPv4'],
  [229, 'raw IPv6'],
  [230, 'IEEE 802.15.4 without FCS'],
  [231, 'D-Bus'],
  [235, 'DVB-CI'],
  [239, 'Linux nflog'],
  [240, 'netANALYZER'],
  [242, 'IP over InfiniBand'],
  [243, 'MPEG-2 TS'],
  [247, 'InfiniBand'],
  [248, 'SCTP'],
  [249, 'USBPcap'],
  [251, 'Bluetooth LE link layer'],
  [253, 'Linux netlink'],
  [254, 'Bluetooth Linux monitor'],
  [256, 'Bluetooth LE with pseudo-header'],
  [258, 'Apple PKTAP'],
  [259, 'EPON'],
  [264, 'ISO 14443'],
  [266, 'USB (Darwin)'],
  [270, 'LoRaTap'],
  [271, 'Linux vsock'],
  [272, 'Nordic BLE'],
  [274, 'Ethernet mPackets'],
  [276, 'Linux cooked v2 (SLL2)'],
  [279, 'EBHSCR'],
  [281, 'Broadcom switch tag'],
  [282, 'Broadcom switch tag (prepended)'],
  [283, 'IEEE 802.15.4 TAP'],
  [284, 'Marvell DSA tag'],
  [285, 'Marvell EDSA tag'],
  [290, 'Event Tracing for Windows'],
]);

export function linkTypeName(lt: number): string {
  return NAMES.get(lt) ?? `link type ${lt}`;
}

export function isDecodableLinkType(lt: number): boolean {
  switch (lt) {
    case LINKTYPE.NULL:
    case LINKTYPE.ETHERNET:
    case LINKTYPE.RAW_OPENBSD:
    case LINKTYPE.RAW_BSD:
    case LINKTYPE.RAW:
    case LINKTYPE.LOOP:
    case LINKTYPE.LINUX_SLL:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
    case LINKTYPE.LINUX_SLL2:
    case LINKTYPE.PPP:
    case LINKTYPE.PPP_HDLC:
    case LINKTYPE.PPP_ETHER:
    case LINKTYPE.C_HDLC:
      return true;
    default:
      return false;
  }
}
