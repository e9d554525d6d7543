/**
 * What kind of box a MAC vendor makes, for wording ("gateway 00:01:d7:… = F5 Inc. (load balancer)")
 * and as supporting evidence in attribution: a vendor never decides who sent a packet on its own
 * (a Cisco MAC may be a plain router or an ASA firewall; an F5 OUI may front the server or be it).
 *
 * Matched against the organisation name the IEEE registry gives (describeMac's `vendor`), except the
 * virtualisation OUIs, which are matched by prefix (Microsoft's 00:15:5d is Hyper-V, its other OUIs
 * are not). Cloud NICs are mostly locally administered random MACs (AWS, GCP's 42:01:…): those are
 * marked "locally administered" by describeMac, not named here. The list is short on purpose: the
 * vendors whose boxes terminate or filter connections, the usual routers and switches, and the
 * hypervisors; README "MAC vendors" lists it.
 */
export type VendorClass = 'load balancer' | 'firewall' | 'router or switch' | 'virtual machine';

/** By organisation name, first match wins. */
const BY_NAME: readonly (readonly [RegExp, VendorClass])[] = [
  // load balancers / application delivery controllers
  [/^F5(,| Networks| Inc)/i, 'load balancer'],
  [/^Citrix Systems/i, 'load balancer'],
  [/^A10 Networks/i, 'load balancer'],
  [/^Radware/i, 'load balancer'],
  [/^KEMP Technologies/i, 'load balancer'],
  [/^Array Networks/i, 'load balancer'],
  // firewalls
  [/^Palo Alto Networks/i, 'firewall'],
  [/^Fortinet/i, 'firewall'],
  [/^Check Point Software/i, 'firewall'],
  [/^SonicWall/i, 'firewall'],
  [/^Sophos/i, 'firewall'],
  [/^WatchGuard/i, 'firewall'],
  [/^Barracuda Networks/i, 'firewall'],
  [/^Stormshield/i, 'firewall'],
  [/^Forcepoint/i, 'firewall'],
  [/^Zscaler/i, 'firewall'],
  // routers and switches (Juniper and Cisco also make firewalls: SRX, ASA/Firepower share their OUIs)
  [/^Cisco Systems/i, 'router or switch'],
  [/^Cisco Meraki/i, 'router or switch'],
  [/^Juniper Networks/i, 'router or switch'],
  [/^Arista Networks/i, 'router or switch'],
  [/^Extreme Networks/i, 'router or switch'],
  [/^Routerboard\.com/i, 'router or switch'],
  [/^Ubiquiti/i, 'router or switch'],
  [/^Brocade/i, 'router or switch'],
  [/^Aruba/i, 'router or switch'],
  [/^Huawei Technologies/i, 'router or switch'],
  [/^MikroTik/i, 'router or switch'],
  // hypervisors by name (all of VMware's and XenSource's OUIs are virtual NICs)
  [/^VMware/i, 'virtual machine'],
  [/^Xensource/i, 'virtual machine'],
  [/^Parallels/i, 'virtual machine'],
];

/** By 24-bit prefix (6 lower-case hex digits): vendors with other products under their other OUIs. */
const BY_PREFIX = new Map<string, VendorClass>([
  ['00155d', 'virtual machine'], // Microsoft Hyper-V
  ['0003ff', 'virtual machine'], // Microsoft Virtual PC / Virtual Server
  ['080027', 'virtual machine'], // VirtualBox (PCS Systemtechnik)
  ['001c42', 'virtual machine'], // Parallels
]);

/** Locally administered prefixes that hypervisors use by default. */
const LOCAL_PREFIX = new Map<string, VendorClass>([
  ['525400', 'virtual machine'], // QEMU/KVM (libvirt)
]);

/** The class of the box behind a MAC, from its vendor name (as describeMac gives it) and its address. */
export function vendorClass(mac: string, vendor: string | undefined): VendorClass | undefined {
  const prefix = mac.replace(/[:-]/g, '').slice(0, 6).toLowerCase();
  const p = BY_PREFIX.get(prefix) ?? LOCAL_PREFIX.get(prefix);
  if (p !== undefined) return p;
  if (vendor === undefined) return undefined;
  for (const [re, cls] of BY_NAME) if (re.test(vendor)) return cls;
  return undefined;
}

/** Whether boxes of this class commonly answer for servers (terminate TCP or reset connections). */
export function terminatesConnections(cls: VendorClass | undefined): boolean {
  return cls === 'load balancer' || cls === 'firewall';
}
