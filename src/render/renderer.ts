import type { Keep, Report } from '../analyze.js';
import type { RunReport } from '../run-report.js';
import type { FlowRecord } from '../verdict/types.js';
import type { Step } from '../explain.js';

/** Where a renderer writes (buffered standard output). */
export interface Output {
  write(s: string): void;
  line(s: string): void;
}

export interface RenderSettings {
  color: boolean;
  /** text, html: problems shown per group of problems alike. */
  limit: number;
  /** More than one capture is read: a total follows the captures' own reports. */
  several: boolean;
}

/** How the analysis of one capture feeds a renderer. */
export interface Feed {
  /** The records the report keeps for onFile and onEnd. */
  keep: Keep;
  /** Called with each record the moment its verdict is decided, or null. */
  onRecord: ((r: FlowRecord) => void) | null;
  /** onRecord wants problems only: healthy records are then counted, not described. */
  problemsOnly: boolean;
}

/**
 * An output format. The command calls feed() before each capture, onFile() after it and onEnd()
 * once after all of them; a renderer never decides anything, it only writes what it is given.
 */
export interface Renderer {
  /** live: the capture is read as it is written (a pipe, --live, --follow). */
  feed(live: boolean): Feed;
  onFile(report: Report, live: boolean): void;
  /** After all captures, with the CI gates' findings in `run.checks`. */
  onEnd(run: RunReport): void;
  /** A renderer that draws flows' packets (html): the command reads them again after the analysis. */
  readonly packets?: PacketsWanted;
  /** The output shows each capture's warnings itself; otherwise they go to standard error. */
  readonly showsWarnings: boolean;
}

export type RendererFactory = (out: Output, s: RenderSettings) => Renderer;

/**
 * The flows whose packets a renderer draws (the HTML report's ladders). After the analysis the
 * command reads each capture file once more (the way `pcapdiag explain` does) and gives the
 * packets found; a capture that cannot be read again (standard input, a FIFO) gives null and why.
 */
export interface PacketsWanted {
  /** At most this many packets per flow (and the deciding one). */
  maxSteps: number;
  flows(): readonly FlowRecord[];
  give(file: string, packets: Map<FlowRecord, Step[]> | null, why: string): void;
}
