import type { Linker } from './relate.js';
import { dnsUpstreamLinker } from './dns-upstream.js';

/**
 * The linkers every capture's records go through, one per way records relate (see Linker). Each
 * is made fresh per capture: what a linker remembers belongs to one capture.
 */
export const LINKERS: readonly (() => Linker)[] = [dnsUpstreamLinker];
