import { registerMark } from '../verdict/marks.js';
import { wiresharkFilter } from '../verdict/wireshark.js';
import { HEALTHY, VERDICT_IDS, type FlowRecord, type VerdictId } from '../verdict/types.js';
import { DnsNames } from '../verdict/names.js';
import type { FlowMatch } from '../filter/filter.js';
import type { Report } from './report.js';
import { Relater } from '../related/relate.js';
import { LINKERS } from '../related/index.js';
import { Grouper, type ProblemGroup } from './groups.js';
import { CAUSE } from '../verdict/facts.js';
import { described } from '../verdict/classify.js';
import { flatten } from '../memory.js';

/**
 * Which records the report keeps (records are always counted, and passed to `onFlow` as decided):
 * all, none, or the problems up to a number per group of problems alike (what the text report
 * shows; a flood of a million timeouts must not be held in memory to print twenty).
 */
export type Keep = 'all' | 'none' | { problemsPerGroup: number };

/** Where decided records go, and what of them is kept, handed on and counted. */
export interface EmitOptions {
  keep: Keep;
  /** Called with each record as soon as its verdict is final. */
  onFlow: ((r: FlowRecord) => void) | null;
  /** onFlow wants problem records only (live text output): healthy ones are counted, not described. */
  onFlowProblemsOnly: boolean;
  /**
   * When given, only the records it accepts are counted, kept and handed on (`tcpConversations`
   * counts only conversations it accepts). Rejected records still take their id.
   */
  filter: FlowMatch | null;
  /** Id of the first record. */
  firstId: number;
  /** Label for every record's `file`. */
  file: string | undefined;
}

/**
 * On a record, that its TCP flow was the first of its 4-tuple (Emitter.newConversation), until
 * emit counts it. A mark on the record rather than a Set of records: a sweep's Set grew and
 * shrank with each batch, its tables rehashed each time (24 MB of them outlived a young
 * collection on the dense 1 GB bench capture). A symbol, as lifecycle's marks: JSON leaves it out.
 */
const NEW_CONVERSATION: unique symbol = Symbol('newConversation');
registerMark(NEW_CONVERSATION);
type Marked = FlowRecord & { [NEW_CONVERSATION]?: boolean };

/**
 * The end of the pipeline: numbers decided records, filters them, counts them for the summary,
 * names their endpoints from the DNS answers seen, keeps them for the report and hands them on.
 */
export class Emitter {
  /** The id the next decided record takes. */
  nextId: number;
  /** Whether the record emit handed on last began a new TCP conversation (the hand-off keeps it with the record). */
  lastNewConversation = false;
  readonly kept: FlowRecord[] = [];
  private readonly verdictCounts = new Map<VerdictId, number>();
  private problems = 0;
  private tcpConnections = 0;
  private tcpConversations = 0;
  private dnsTransactions = 0;
  /** Addresses named by the DNS answers seen so far. */
  private readonly names = new DnsNames();
  /** Links records to the earlier ones that tell their cause (src/related/). */
  private readonly relater = new Relater(LINKERS.map((make) => make()));
  /** Problems alike, grouped as they are decided (every problem joins one). */
  private readonly grouper = new Grouper();
  /** A chunk related and not handed on yet (see emit). */
  private held: FlowRecord[] | null = null;

  constructor(private readonly o: EmitOptions) {
    this.nextId = o.firstId;
  }

  /**
   * Whether a record of this verdict may be kept or handed on (see emit), and so needs its facts.
   * A problem always may: which group it joins, and so whether it is among the first of its group,
   * depends on its facts (its cause). Healthy records that are only counted are built without.
   */
  readonly describe = (v: VerdictId): boolean => {
    const keep = this.o.keep;
    if (keep === 'all') return true;
    const problem = !HEALTHY.has(v);
    if (this.o.onFlow !== null && (problem || !this.o.onFlowProblemsOnly)) return true;
    return problem && keep !== 'none';
  };

  /**
   * Whether a record of this verdict, described, may be described only when emit hands it on
   * (verdict/classify.ts described): a healthy record handed on and dropped, never kept, with no
   * --filter to read it first. Until then it is as small as a counted one: a sweep's records all
   * live until it emits them, through the young collections that its describing and writing
   * bring, and records built with their facts were then promoted to die in the old generation.
   */
  readonly describeLater = (v: VerdictId): boolean => {
    const o = this.o;
    return o.keep !== 'all' && o.filter === null && o.onFlow !== null && !o.onFlowProblemsOnly && HEALTHY.has(v);
  };

  /** `r` is the record of a TCP flow that was the first of its 4-tuple: counted as a conversation when emitted. */
  newConversation(r: FlowRecord): void {
    (r as Marked)[NEW_CONVERSATION] = true;
  }

  /**
   * Numbers, counts, keeps and hands on a batch of decided records. `more`: the batch is a chunk of
   * what one sweep (or the end) decided and more follows (a flood's TCP flows, Lifecycle): it is
   * held, related, until the next batch is related, so that a link between records on either side
   * of the cut is written both ways, as within a batch (the earlier record would otherwise be
   * handed on without it, and without the cause it tells). Chunks are of 1,024 (FLOOD_CHUNK): with
   * 4,096, holding a whole one kept twice the records alive, and the 1 M SYN flood's text run took
   * 18.9 s against 18.0 s (nineteenth pass of #20); held whole, 1,024 keep at most 2,048 alive.
   */
  emit(batch: FlowRecord[], more = false): void {
    sortByDecisionOrder(batch);
    // numbered and related before filtering, so that an id names the same flow with or without a
    // filter, and a shown record may name a related one the filter hides
    for (let i = 0; i < batch.length; i++) batch[i].id = this.nextId++;
    const held = this.held;
    this.relater.relate(batch, held ?? undefined);
    if (held !== null) {
      this.held = null;
      this.handOn(held);
    }
    if (more) this.held = batch;
    else this.handOn(batch);
  }

  /** Counts, keeps and hands on the records of a related batch. */
  private handOn(batch: FlowRecord[]): void {
    const { keep, onFlow, filter, file } = this.o;
    for (let i = 0; i < batch.length; i++) {
      const r = described(batch[i]);
      const newConversation = (r as Marked)[NEW_CONVERSATION] === true;
      if (newConversation) (r as Marked)[NEW_CONVERSATION] = false; // counted once, as a Set's delete would
      this.lastNewConversation = newConversation;
      if (filter !== null && !filter(r)) {
        // a lookup the filter hides still names the addresses it answered (as it does unfiltered)
        this.names.learn(r);
        continue;
      }
      if (r.proto === 'tcp') {
        this.tcpConnections++;
        if (newConversation) this.tcpConversations++;
      } else if (r.proto === 'dns') this.dnsTransactions++;
      this.verdictCounts.set(r.verdict, (this.verdictCounts.get(r.verdict) ?? 0) + 1);
      const problem = !HEALTHY.has(r.verdict);
      const handOn = onFlow !== null && (problem || !this.o.onFlowProblemsOnly);
      // the file of what is grouped, kept or handed on: a healthy record only counted is dropped
      // here, and a field more moved its fields out of the object (a second object, each record)
      if (file !== undefined && (problem || handOn || keep === 'all')) r.file = file;
      // a connection seen before and after a NAT (src/related/nat-leg.ts) is one problem, not two;
      // with a filter the first leg may not have been counted, so each leg counts
      if (problem && (filter !== null || !sameConnectionAgain(r))) this.problems++;
      const inGroup = this.grouper.add(r);
      const kept = keep === 'all' || (problem && keep !== 'none' && inGroup <= keep.problemsPerGroup);
      // names label what is shown; every lookup teaches them, shown or not
      if (kept || handOn) {
        this.names.label(r);
        r.wireshark = wiresharkFilter(r);
      }
      this.names.learn(r);
      if (kept) this.kept.push(compact(r));
      if (handOn) onFlow(r);
    }
  }

  /** The groups of problems alike so far (report/groups.ts). */
  groups(): ProblemGroup[] {
    return this.grouper.groups();
  }

  /** The report's summary; `udpFlows` is counted by the flow tracker. */
  summary(udpFlows: number): Report['summary'] {
    const verdicts: Record<string, number> = {};
    for (const v of VERDICT_IDS) {
      const n = this.verdictCounts.get(v);
      if (n !== undefined) verdicts[v] = n;
    }
    return {
      verdicts,
      problems: this.problems,
      tcpConnections: this.tcpConnections,
      tcpConversations: this.tcpConversations,
      dnsTransactions: this.dnsTransactions,
      udpFlows,
    };
  }
}

/**
 * A kept record's text as flat strings: it is held to the end of the run, and its sentences and
 * filter, written with `+`, are ropes of up to a hundred pieces (3.9 KB a record against ~2 KB).
 */
function compact(r: FlowRecord): FlowRecord {
  r.summary = flatten(r.summary);
  r.check = flatten(r.check);
  const ev = r.evidence;
  for (let i = 0; i < ev.length; i++) ev[i] = flatten(ev[i]);
  if (r.wireshark !== undefined) r.wireshark = flatten(r.wireshark);
  r.key = flatten(r.key);
  r.client = flatten(r.client);
  r.server = flatten(r.server);
  if (r.mac !== undefined) r.mac = flatten(r.mac);
  return r;
}

/** A batch's sort keys, by index in the batch (grown as needed; see sortByDecisionOrder). */
let keyT = new Float64Array(1024);
let keyFrame = new Float64Array(1024);
let keyProto = new Uint8Array(1024);
let order = new Int32Array(1024);
/** The protocols in the order of their names (the order `<` gives their strings). */
const PROTO_RANK: Readonly<Record<FlowRecord['proto'], number>> = { arp: 0, dns: 1, icmp: 2, tcp: 3, udp: 4 };

/**
 * Sorts records in time order, then first frame, then protocol, keeping the order of records
 * alike. The keys are read once a record into typed arrays and indexes are sorted: a comparator
 * of records read `x.t` of records of many shapes, each read a new heap number, two a comparison
 * (19 MB over the dense 100 MB benchmark capture, issue #20). Exported for tests.
 */
export function sortByDecisionOrder(batch: FlowRecord[]): void {
  const n = batch.length;
  if (n < 2) return;
  if (order.length < n) {
    const size = Math.max(n, order.length * 2);
    keyT = new Float64Array(size);
    keyFrame = new Float64Array(size);
    keyProto = new Uint8Array(size);
    order = new Int32Array(size);
  }
  for (let i = 0; i < n; i++) {
    const r = batch[i];
    keyT[i] = r.t;
    keyFrame[i] = r.firstFrame;
    keyProto[i] = PROTO_RANK[r.proto];
    order[i] = i;
  }
  const sorted = order.subarray(0, n).sort(byKeys);
  const was = batch.slice();
  for (let i = 0; i < n; i++) batch[i] = was[sorted[i]];
}

/** Answers -1, 1 or the indexes' difference (an int), never a fractional difference: that would come back as a heap number. */
function byKeys(a: number, b: number): number {
  if (keyT[a] !== keyT[b]) return keyT[a] < keyT[b] ? -1 : 1;
  if (keyFrame[a] !== keyFrame[b]) return keyFrame[a] < keyFrame[b] ? -1 : 1;
  if (keyProto[a] !== keyProto[b]) return keyProto[a] < keyProto[b] ? -1 : 1;
  return a - b;
}

/** The later leg of a NATed connection whose earlier leg ended the same way (counted already). */
function sameConnectionAgain(r: FlowRecord): boolean {
  const c = r[CAUSE];
  return c !== undefined && c.kind === 'nat-leg' && c.same;
}
