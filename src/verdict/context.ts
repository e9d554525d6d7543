import type { HostTable } from '../flow/hosts.js';

/** Everything a verdict rule may read besides the flow itself. */
export interface ClassifyContext {
  /** Capture time now (the last record so far, or the end of the capture), ns since the first record. */
  captureEndT: number;
  /** True once the capture has ended (nothing more will come), false while it is being read. */
  atEnd: boolean;
  captureStartSec: number;
  captureStartNsec: number;
  synTimeoutNs: number;
  dnsTimeoutNs: number;
  hosts: HostTable;
  /** Idle time after which a TCP connection is final. */
  tcpIdleNs: number;
  /**
   * Healthy records are only counted (text output of a file shows problems only): build them
   * without their sentences, which are most of the cost of a record on a busy capture.
   */
  countHealthy: boolean;
}
