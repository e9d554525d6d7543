import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { describeFsError, InputError } from '../errors.js';

/**
 * Where capture bytes come from. `read` fills `buf[off..off+len)` and returns the byte count,
 * 0 at end of input. Regular files are read with `fs.readSync` (no stream, no copy); pipes, FIFOs
 * and terminals as streams with backpressure, so that timers and signals run while input is quiet.
 */
export interface ByteSource {
  readonly name: string;
  /** True for pipes, FIFOs, sockets and terminals: input that may pause while a capture goes on. */
  readonly live: boolean;
  /** Total size when known (regular files), else -1. */
  readonly size: number;
  read(buf: Buffer, off: number, len: number): number | Promise<number>;
  close(): void;
  /**
   * --follow: the file was truncated and written again (tcpdump -w started over) while read; the
   * source ended the capture read so far (read gave 0) and reads on from the new file's start.
   * Set by the source, cleared by the reader that starts over.
   */
  restarted?: { at: number; size: number } | null;
}

export interface OpenOptions {
  /** Read a regular file that is still being written, like `tail -f`: at its end, wait for more. */
  follow?: boolean;
  /** Stops waiting for the first bytes (Ctrl-C before any input came). */
  signal?: AbortSignal;
  /**
   * --follow on a rotated set (ring.ts): asked at the end of what is written whether the writer
   * has gone on to the next part. Once it says so, the file is read to its end, which ends it.
   */
  movedOn?: () => boolean;
}

export function openSource(path: string, o: OpenOptions = {}): ByteSource {
  if (path === '-') {
    if (o.follow) throw new InputError('--follow needs a file name, not standard input');
    const st = fs.fstatSync(0);
    if (st.isFile()) return new FdSource('<stdin>', 0, st.size, false, false);
    if (st.isFIFO()) widenPipe(0);
    if (st.isFIFO() || st.isSocket()) return new StdinPipeSource(process.stdin);
    return new StreamSource('<stdin>', process.stdin);
  }
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw new InputError(`cannot open ${path}: ${describeFsError(e)}`);
  }
  const st = fs.fstatSync(fd);
  if (st.isDirectory()) {
    fs.closeSync(fd);
    throw new InputError(`cannot read ${path}: it is a directory`);
  }
  if (st.isFIFO()) widenPipe(fd);
  if (!st.isFile()) return new StreamSource(path, fs.createReadStream('', { fd, highWaterMark: 256 * 1024 }));
  return new FdSource(path, fd, o.follow ? -1 : st.size, o.follow === true, o.follow === true, o.follow ? (o.movedOn ?? null) : null);
}

/** Linux's fcntl command that sets a pipe's capacity, and the size asked for (the unprivileged limit, /proc/sys/fs/pipe-max-size). */
const F_SETPIPE_SZ = 1031;
const PIPE_SIZE = 1 << 20;

/**
 * Raises the capacity of the pipe behind `fd` from Linux's 64 KiB to 1 MiB. The writer (tcpdump)
 * then blocks less often and a burst waits in the pipe instead of in the capturing kernel's ring,
 * and each read takes up to 1 MiB: `cat 1GB.pcap | pcapdiag -` reads 3× faster on the benchmark
 * machine (a bare read of the pipe: 0.95 s → 0.33 s). Node has no fcntl, so a child process that
 * shares the pipe makes the call (perl, part of every Debian and most other systems; ~3 ms). If it
 * is missing or the call fails (another kernel, a lower limit), the pipe stays as it was.
 */
export function widenPipe(fd: number): void {
  if (process.platform !== 'linux') return;
  spawnSync('perl', ['-e', `fcntl(STDIN, ${F_SETPIPE_SZ}, ${PIPE_SIZE}) or exit 1`], { stdio: [fd, 'ignore', 'ignore'], timeout: 2000 });
}

/** How long `--follow` waits at the end of the file before looking again. */
const FOLLOW_POLL_MS = 200;
/** --follow: the first bytes of the file (a pcap header and first record header) kept to tell that it was written again. */
const HEAD_BYTES = 64;

/** A regular file (or stdin redirected from one), read with `fs.readSync` into the caller's buffer. */
class FdSource implements ByteSource {
  private closed = false;
  restarted: { at: number; size: number } | null = null;
  /** --follow: bytes read so far (the file is read at this offset), and the first HEAD_BYTES of them. */
  private pos = 0;
  private readonly head = Buffer.alloc(HEAD_BYTES);
  private headLen = 0;
  /** --follow on a rotated set: the writer went on to the next part, so this one ends at its end. */
  private ended = false;
  constructor(
    readonly name: string,
    private fd: number,
    readonly size: number,
    readonly live: boolean,
    private readonly follow: boolean,
    private readonly movedOn: (() => boolean) | null = null,
  ) {}
  read(buf: Buffer, off: number, len: number): number | Promise<number> {
    const n = this.readNow(buf, off, len);
    if (n > 0 || !this.follow || this.ended) return n;
    if (this.movedOn?.() === true) return this.lastRead(buf, off, len);
    return this.waitForMore(buf, off, len);
  }
  /**
   * The writer closed this part before it began the next one: what it wrote before is all there
   * is (read now, after the next part was seen), and the end of it ends the part.
   */
  private lastRead(buf: Buffer, off: number, len: number): number {
    if (this.rewritten()) return 0; // overtaken: a ring came round to this part again
    this.ended = true;
    return this.readNow(buf, off, len);
  }
  private readNow(buf: Buffer, off: number, len: number): number {
    try {
      if (!this.follow) return fs.readSync(this.fd, buf, off, len, null);
      const n = fs.readSync(this.fd, buf, off, len, this.pos);
      if (this.headLen < HEAD_BYTES && n > 0) {
        const k = Math.min(n, HEAD_BYTES - this.headLen);
        buf.copy(this.head, this.headLen, off, off + k);
        this.headLen += k;
      }
      this.pos += n;
      return n;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EOF') return 0;
      throw new InputError(`cannot read ${this.name}: ${describeFsError(e)}`);
    }
  }
  /** --follow: the writer has not written more yet; look again every FOLLOW_POLL_MS until closed. */
  private async waitForMore(buf: Buffer, off: number, len: number): Promise<number> {
    while (!this.closed) {
      await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
      if (this.closed) break;
      // bytes past the old end may be the middle of a new capture. The file's first bytes are
      // compared after the read, not before it: a writer that started the file over between the
      // look and the read had the middle of its new capture taken for more of the old one (seen
      // in a test run under load). When they changed, what was read is dropped and the next read
      // starts at byte 0 (rewritten)
      const n = this.readNow(buf, off, len);
      if (this.rewritten()) return 0;
      if (n > 0) return n;
      if (this.movedOn?.() === true) return this.lastRead(buf, off, len);
    }
    return 0;
  }

  /**
   * --follow, at the end of what was written: whether the file was truncated (shorter than what was
   * read) or written again from its start (its first bytes, the capture's header and first record,
   * changed). Then the capture read so far ends here, and the next read starts at byte 0.
   */
  private rewritten(): boolean {
    let size: number;
    try {
      size = fs.fstatSync(this.fd).size;
    } catch {
      return false;
    }
    let again = size < this.pos;
    if (!again && this.headLen > 0) {
      const now = Buffer.alloc(this.headLen);
      const n = fs.readSync(this.fd, now, 0, this.headLen, 0);
      again = n === this.headLen && !now.equals(this.head.subarray(0, this.headLen));
    }
    if (!again) return false;
    this.restarted = { at: this.pos, size };
    this.pos = 0;
    this.headLen = 0;
    return true;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd !== 0) fs.closeSync(this.fd);
  }
}

/** Chunks received from a stream, handed out in order; readers wait for data or the end. */
class ChunkQueue {
  private readonly chunks: Buffer[] = [];
  private off = 0;
  private waiter: (() => void) | null = null;
  /** Bytes queued and not yet taken. */
  queued = 0;
  ended = false;

  push(c: Buffer): void {
    this.chunks.push(c);
    this.queued += c.length;
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  get empty(): boolean {
    return this.chunks.length === 0;
  }

  /** Resolves at the next push or end. */
  next(): Promise<void> {
    return new Promise<void>((r) => (this.waiter = r));
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    if (w) w();
  }

  /** Copies up to `len` queued bytes into buf[off…]; returns the count. */
  take(buf: Buffer, off: number, len: number): number {
    let n = 0;
    while (n < len && this.chunks.length > 0) {
      const c = this.chunks[0];
      const k = Math.min(len - n, c.length - this.off);
      c.copy(buf, off + n, this.off, this.off + k);
      n += k;
      this.off += k;
      if (this.off === c.length) {
        this.chunks.shift();
        this.off = 0;
      }
    }
    this.queued -= n;
    return n;
  }
}

/** At most this much is read ahead of the analyzer before the stream is paused (backpressure). */
const STREAM_HIGH_WATER = 4 << 20;

/**
 * Pipes, FIFOs, sockets and terminals: read as a stream, so the event loop stays free for the
 * wall-clock timers and signals while the input is quiet. The stream is paused whenever more than
 * STREAM_HIGH_WATER bytes wait to be taken (the writer then blocks: nothing is dropped). `read`
 * answers at once when bytes are queued, and with a promise only when it has to wait.
 */
class StreamSource implements ByteSource {
  readonly live = true;
  readonly size = -1;
  private readonly queue = new ChunkQueue();
  private paused = false;
  private error: string | null = null;

  constructor(
    readonly name: string,
    private readonly stream: NodeJS.ReadableStream & { destroy?: () => void },
  ) {
    stream.on('data', (c: Buffer) => {
      this.queue.push(c);
      if (this.queue.queued > STREAM_HIGH_WATER && !this.paused) {
        this.paused = true;
        stream.pause();
      }
    });
    stream.on('end', () => this.queue.end());
    stream.on('error', (e: NodeJS.ErrnoException) => {
      this.error = describeFsError(e);
      this.queue.end();
    });
  }

  read(buf: Buffer, off: number, len: number): number | Promise<number> {
    if (!this.queue.empty) return this.take(buf, off, len);
    if (this.queue.ended) return this.finalRead();
    return this.waitAndRead(buf, off, len);
  }

  private take(buf: Buffer, off: number, len: number): number {
    const n = this.queue.take(buf, off, len);
    if (this.paused && this.queue.queued < STREAM_HIGH_WATER / 2) {
      this.paused = false;
      this.stream.resume();
    }
    return n;
  }

  private finalRead(): number {
    if (this.error !== null) throw new InputError(`cannot read ${this.name}: ${this.error}`);
    return 0;
  }

  private async waitAndRead(buf: Buffer, off: number, len: number): Promise<number> {
    while (this.queue.empty && !this.queue.ended) await this.queue.next();
    return this.queue.empty ? this.finalRead() : this.take(buf, off, len);
  }

  close(): void {
    this.stream.pause();
    if (this.stream !== process.stdin) this.stream.destroy?.();
  }
}

/**
 * Standard input from a pipe (`tcpdump -w - | pcapdiag -`), read with `fs.readSync(0)` straight
 * into the caller's buffer while the pipe has bytes (widened to 1 MiB first: widenPipe): faster
 * than `process.stdin`'s chunks, whose events only come when the analysis yields (on the 1 GB
 * benchmark, with a 64 KiB pipe, 1.4× the file's time against 1.65×). Opening `process.stdin` makes the pipe
 * non-blocking, so an empty pipe throws EAGAIN instead of blocking the event loop; the source then
 * waits for the stream's 'readable' (timers and signals run meanwhile) and hands out what the
 * stream read before reading the fd again. Bytes stay in order: the stream only reads while the
 * event loop polls, and whatever it holds is handed out before the next `readSync`.
 */
class StdinPipeSource implements ByteSource {
  readonly name = '<stdin>';
  readonly live = true;
  readonly size = -1;
  /** Bytes the stream read and the caller has not taken yet. */
  private held: Buffer | null = null;
  private ended = false;
  private error: string | null = null;
  private waiter: (() => void) | null = null;

  constructor(private readonly stream: NodeJS.ReadStream) {
    const wake = () => {
      const w = this.waiter;
      this.waiter = null;
      if (w) w();
    };
    stream.on('end', () => {
      this.ended = true;
      wake();
    });
    stream.on('error', (e: NodeJS.ErrnoException) => {
      this.error = describeFsError(e);
      this.ended = true;
      wake();
    });
    stream.on('readable', wake);
  }

  read(buf: Buffer, off: number, len: number): number | Promise<number> {
    const n = this.takeHeld(buf, off, len);
    if (n > 0) return n;
    if (this.ended) return this.finalRead();
    try {
      const k = fs.readSync(0, buf, off, len, null);
      if (k === 0) this.ended = true;
      return k;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') return this.waitAndRead(buf, off, len);
      if (code === 'EOF') return 0;
      throw new InputError(`cannot read <stdin>: ${describeFsError(e)}`);
    }
  }

  /** The stream's bytes first: what it read from the pipe came before anything still in the pipe. */
  private takeHeld(buf: Buffer, off: number, len: number): number {
    if (this.held === null) {
      const c = this.stream.read() as Buffer | null;
      if (c === null) return 0;
      this.held = c;
    }
    const h = this.held;
    const n = Math.min(len, h.length);
    h.copy(buf, off, 0, n);
    this.held = n === h.length ? null : h.subarray(n);
    return n;
  }

  private async waitAndRead(buf: Buffer, off: number, len: number): Promise<number> {
    while (!this.ended && this.stream.readableLength === 0) await new Promise<void>((r) => (this.waiter = r));
    return this.read(buf, off, len);
  }

  private finalRead(): number {
    if (this.error !== null) throw new InputError(`cannot read <stdin>: ${this.error}`);
    return 0;
  }

  /** A 'readable' listener keeps the pipe open and read (pause() does not stop it): let it go. */
  close(): void {
    this.stream.removeAllListeners('readable');
    this.stream.destroy();
  }
}

/**
 * A pending read, or -1 as soon as `signal` aborts. (Not `Promise.race` with one long-lived abort
 * promise: every race would leave a reaction on it, a leak over hours of live input.)
 */
export function readOrAbort(read: Promise<number>, signal: AbortSignal | undefined): Promise<number> {
  if (signal === undefined) return read;
  if (signal.aborted) return Promise.resolve(-1);
  return new Promise<number>((resolve, reject) => {
    const onAbort = () => resolve(-1);
    signal.addEventListener('abort', onAbort, { once: true });
    read.then(
      (n) => {
        signal.removeEventListener('abort', onAbort);
        resolve(n);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** A source that reads through another one: its name, liveness, size and close are the other's. */
export abstract class ThroughSource implements ByteSource {
  constructor(protected readonly inner: ByteSource) {}
  get name(): string {
    return this.inner.name;
  }
  get live(): boolean {
    return this.inner.live;
  }
  get size(): number {
    return this.inner.size;
  }
  get restarted(): { at: number; size: number } | null {
    return this.inner.restarted ?? null;
  }
  set restarted(r: { at: number; size: number } | null) {
    this.inner.restarted = r;
  }
  abstract read(buf: Buffer, off: number, len: number): number | Promise<number>;
  close(): void {
    this.inner.close();
  }
}

/** Replays bytes already read from `inner` (to sniff the format), then reads on. */
class PrefixedSource extends ThroughSource {
  constructor(
    inner: ByteSource,
    private prefix: Buffer,
  ) {
    super(inner);
  }
  read(buf: Buffer, off: number, len: number): number | Promise<number> {
    if (this.prefix.length > 0) {
      const n = Math.min(len, this.prefix.length);
      this.prefix.copy(buf, off, 0, n);
      this.prefix = this.prefix.subarray(n);
      return n;
    }
    return this.inner.read(buf, off, len);
  }
}

/**
 * Decompresses a gzip stream (as tshark reads `capture.pcap.gz`) from `inner` with zlib, with
 * backpressure: compressed bytes are read only when the analyzer wants more. A stream that is
 * cut short still yields everything before the cut: zlib has written out all it could decompress
 * before a final Z_FINISH flush reports the cut ("unexpected end of file"). Several gzip members
 * one after the other (`cat a.gz b.gz`) are one stream, as gzip and tshark read them; only the
 * end of the input is checked, not each member's trailer against the whole output (which took a
 * valid multi-member file for a cut one). Corrupt data ends the input. Either sets `damage`.
 */
export class GunzipSource extends ThroughSource {
  private readonly z = zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
  private readonly queue = new ChunkQueue();
  private inputDone = false;
  private readonly inBuf = Buffer.allocUnsafe(256 * 1024);
  /** Set when the compressed stream was damaged; the input ends there. */
  damage: string | null = null;

  constructor(inner: ByteSource) {
    super(inner);
    this.z.on('data', (c: Buffer) => {
      this.queue.push(c);
    });
    this.z.on('end', () => {
      this.queue.end();
    });
    this.z.on('error', (e: Error & { code?: string }) => {
      this.damage = e.code === 'Z_BUF_ERROR' ? 'the compressed stream ends early' : `the compressed stream is damaged (${e.message})`;
      this.queue.end();
    });
  }
  /** The decompressed size is not known before the end. */
  override get size(): number {
    return -1;
  }

  async read(buf: Buffer, off: number, len: number): Promise<number> {
    const q = this.queue;
    while (q.empty && !q.ended) {
      const arrived = q.next();
      if (this.inputDone) {
        await arrived;
        continue;
      }
      const got = this.inner.read(this.inBuf, 0, this.inBuf.length);
      const n = typeof got === 'number' ? got : await got;
      if (n === 0) {
        this.inputDone = true;
        // Z_FINISH fails with Z_BUF_ERROR when the last member is cut short; its output is out already
        this.z.flush(zlib.constants.Z_FINISH, () => this.z.end());
        continue;
      }
      this.z.write(Buffer.from(this.inBuf.subarray(0, n)));
      // zlib answers asynchronously: wait for output, or go on to feed it more input
      await Promise.race([arrived, new Promise<void>((r) => setImmediate(r))]);
    }
    return q.take(buf, off, len);
  }

  override close(): void {
    this.z.destroy();
    super.close();
  }
}

/**
 * Opens a capture for reading: a path or '-' (stdin). A gzip-compressed capture (magic 1f 8b)
 * is decompressed on the fly.
 */
export async function openCapture(path: string, o: OpenOptions = {}): Promise<ByteSource> {
  const src = openSource(path, o);
  try {
    const head = Buffer.alloc(2);
    let n = 0;
    while (n < 2 && o.signal?.aborted !== true) {
      const got = src.read(head, n, 2 - n);
      const k = typeof got === 'number' ? got : Math.max(0, await readOrAbort(got, o.signal));
      if (k === 0) break;
      n += k;
    }
    const prefixed = new PrefixedSource(src, head.subarray(0, n));
    if (n === 2 && head[0] === 0x1f && head[1] === 0x8b) return new GunzipSource(prefixed);
    return prefixed;
  } catch (e) {
    src.close();
    throw e;
  }
}
