import type { Linker } from './relate.js';
import { proxyLeg } from './proxy-leg.js';
import { natLeg } from './nat-leg.js';
import { otherFamily } from './other-family.js';
import { sameHost } from './same-host.js';
import { dnsUpstreamLinker } from './dns-upstream.js';

/**
 * The linkers every capture's records go through, one per way records relate (see Linker). Each
 * is made fresh per capture: what a linker remembers belongs to one capture.
 */
export const LINKERS: readonly (() => Linker)[] = [proxyLeg, natLeg, otherFamily, sameHost, dnsUpstreamLinker];
