import { openSync, createWriteStream } from 'node:fs';
import { describeFsError, EXIT, InputError } from '../errors.js';
import type { Output } from '../render/renderer.js';
import { escapeTerminal } from '../render/escape.js';

/** Output queued for a slow reader before the analysis waits for it. */
const OUTPUT_HIGH_WATER = 4 << 20;

/** Where a command writes: a renderer's Output, with the flow control the commands need. */
export interface Sink extends Output {
  /** Writes what is buffered (live input: after each wall-clock tick). */
  flush(): void;
  /** A promise to wait for before reading on when the reader of the output is slow, else null. */
  busy(): Promise<void> | null;
  /** Resolves once everything is written. */
  drain(): Promise<void>;
}

/** A run with more to do than write stdout (CI gates, a --write-pcap file): when the reader closes stdout, it goes on. */
let outlivesStdout = false;
/** The reader closed stdout (EPIPE) and the run went on: what is written to it is dropped. */
let stdoutClosed = false;

/**
 * This run has CI gates, or writes a --write-pcap file: a closed stdout (`… | head`) must not end
 * it before the gates are checked (their exit code is what a `set -o pipefail` pipeline sees) or
 * the file is written.
 */
export function runOutlivesStdout(): void {
  outlivesStdout = true;
}

/**
 * stdout's reader is gone (EPIPE). Whether the run goes on (runOutlivesStdout), its output dropped
 * from now on; otherwise it stops quietly.
 */
export function stdoutClosedByReader(): boolean {
  stdoutClosed = true;
  return outlivesStdout;
}

/** Output encoded before it is handed to the stream, in blocks of about this many bytes. */
const BLOCK = 65536;

/**
 * Buffers output and writes it to stdout (or another stream: see FileWriter) in blocks of about
 * 64 KiB. Each line is encoded straight into the block (UTF-8, as the stream would): joining the
 * lines into one string first copied every byte of an ndjson run once more (137 MB on the 100 MB
 * dense capture), and each `line + '\n'` made a rope to be flattened again.
 */
export class LineWriter implements Sink {
  private block = Buffer.allocUnsafe(BLOCK);
  private used = 0;
  /** The reader of this stream (a pipe named by `-o`) went away and the run goes on: nothing more is written. */
  protected readerGone = false;
  constructor(protected readonly stream: NodeJS.WritableStream & { writableLength: number } = process.stdout) {}
  /** The reader closed the stream (stdout's, or an `-o` pipe's) and the run goes on: nothing more is written. */
  private get gone(): boolean {
    return this.readerGone || (stdoutClosed && this.stream === process.stdout);
  }
  line(s: string): void {
    this.write(s);
    if (this.used === this.block.length) this.flush();
    this.block[this.used++] = 0x0a;
  }
  write(s: string): void {
    // at most 3 bytes of UTF-8 per UTF-16 unit (a surrogate pair: 4 bytes for 2 units)
    if (this.used + 3 * s.length > this.block.length) {
      this.flush();
      if (3 * s.length > this.block.length) {
        if (!this.gone) this.stream.write(s);
        return;
      }
    }
    this.used += this.block.write(s, this.used);
    if (this.used >= BLOCK - 1024) this.flush();
  }
  flush(): void {
    if (this.used === 0) return;
    if (this.gone) {
      this.used = 0;
      return;
    }
    // the stream keeps the block until it is written: a new one for what follows
    this.stream.write(this.block.subarray(0, this.used));
    this.block = Buffer.allocUnsafe(BLOCK);
    this.used = 0;
  }
  /**
   * Backpressure: when stdout (a slow pipe) has more than OUTPUT_HIGH_WATER queued, a promise that
   * resolves once it drained; the analysis waits for it before reading on. Null otherwise.
   */
  busy(): Promise<void> | null {
    if (this.gone || this.stream.writableLength < OUTPUT_HIGH_WATER) return null;
    // or once it is closed: a reader that goes away (EPIPE) drains nothing, and a gated run goes on
    return new Promise((r) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        r();
      };
      this.stream.once('drain', done);
      this.stream.once('close', done);
    });
  }
  /** Flushes, and resolves once stdout has written everything (or failed; see the EPIPE handler). */
  drain(): Promise<void> {
    this.flush();
    if (this.gone) return Promise.resolve();
    return new Promise((r) => this.stream.write('', () => r()));
  }
}

/**
 * `-o FILE`: the output goes to a file, created (or truncated) before the analysis starts, so a
 * path that cannot be written fails at once (InputError, exit 3) instead of after the capture.
 */
export class FileWriter extends LineWriter {
  static open(path: string): FileWriter {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (e) {
      throw new InputError(`cannot write ${path}: ${describeFsError(e)}`);
    }
    const stream = createWriteStream('', { fd });
    const w = new FileWriter(stream);
    stream.on('error', (e: NodeJS.ErrnoException) => {
      // a pipe (`-o /dev/stdout | head`, a FIFO) whose reader went away, as stdout's (main.ts):
      // the run stops quietly, or goes on (runOutlivesStdout) with nothing more written to it
      if (e.code === 'EPIPE') {
        if (!outlivesStdout) process.exit(EXIT.OK);
        w.readerGone = true;
        return;
      }
      say(`cannot write ${path}: ${e.code ?? e.message}`);
      process.exit(EXIT.INPUT);
    });
    return w;
  }
  /** Flushes, closes the file and resolves once it is written. */
  override drain(): Promise<void> {
    this.flush();
    return new Promise((r) => this.stream.end(() => r()));
  }
}

/** The reader of stderr is gone (`2>&1 | head`): nothing more is said. */
let stderrClosed = false;

/**
 * Stops saying anything once stderr's reader is gone. A gated run goes on after its stdout closed
 * (runOutlivesStdout); with `2>&1` that is the same pipe, and its warnings or failure line then
 * failed with an uncaught EPIPE: exit 1, "a gate failed", for a gate that passed.
 */
export function stderrClosedByReader(): void {
  stderrClosed = true;
}

/** One line on stderr, as every message of pcapdiag's own: `pcapdiag: <what>`. */
export function say(line: string): void {
  if (!stderrClosed) process.stderr.write(`pcapdiag: ${escapeTerminal(line)}\n`);
}
