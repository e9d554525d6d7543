import type { HostTable } from '../flow/hosts.js';
import type { LoopDetector } from '../flow/loops.js';
import type { VerdictId } from './types.js';

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
  /** A request unanswered this long is no-response. */
  responseTimeoutNs: number;
  hosts: HostTable;
  /** Routers answering time exceeded per destination: routing loops. */
  loops: LoopDetector;
  /** Idle time after which a TCP connection is final. */
  tcpIdleNs: number;
  /**
   * Whether a record with this verdict can be shown or handed on, and so needs its facts (from
   * which its sentences are written when it is shown). When not, it is only counted (built
   * without facts, summary, evidence and check, which are most of the cost of a record on a busy
   * capture): text output of a file shows the problems only, and only the first --limit of each
   * verdict.
   */
  describe: (verdict: VerdictId) => boolean;
  /**
   * Whether a record with this verdict, though it needs its facts, may have them written when it is
   * handed on (verdict/classify.ts described) instead of when it is decided: a healthy record
   * that is handed on and dropped (ndjson), not kept or filtered.
   */
  describeLater: (verdict: VerdictId) => boolean;
  /** A --filter reads the endpoints of every record, the counted ones too. */
  filtering: boolean;
}
