import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { InputError } from './errors.js';

/**
 * Where capture bytes come from. `read` fills `buf[off..off+len)` and returns the byte count,
 * 0 at end of input. Files and blocking pipes are read with `fs.readSync` (no stream, no copy);
 * a non-blocking stdin (EAGAIN) falls back to `process.stdin` with backpressure.
 */
export interface ByteSource {
  readonly name: string;
  /** True for pipes, FIFOs, sockets and terminals: input that may pause while a capture goes on. */
  readonly live: boolean;
  /** Total size when known (regular files), else -1. */
  readonly size: number;
  read(buf: Buffer, off: number, len: number): number | Promise<number>;
  close(): void;
}

export function openSource(path: string): ByteSource {
  if (path === '-') return new StdinSource();
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
  return new FdSource(path, fd, st.isFile() ? st.size : -1, !st.isFile());
}

class FdSource implements ByteSource {
  constructor(readonly name: string, private fd: number, readonly size: number, readonly live: boolean) {}
  read(buf: Buffer, off: number, len: number): number {
    try {
      return fs.readSync(this.fd, buf, off, len, null);
    } catch (e) {
      throw new InputError(`cannot read ${this.name}: ${describeFsError(e)}`);
    }
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Chunks received from a stream, handed out in order; readers wait for data or the end. */
class ChunkQueue {
  private readonly chunks: Buffer[] = [];
  private off = 0;
  private waiter: (() => void) | null = null;
  ended = false;

  push(c: Buffer): void {
    this.chunks.push(c);
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
    return n;
  }
}

class StdinSource implements ByteSource {
  readonly name = '<stdin>';
  readonly live: boolean;
  readonly size: number;
  private queue: ChunkQueue | null = null;

  constructor() {
    const st = fs.fstatSync(0);
    this.size = st.isFile() ? st.size : -1;
    this.live = !st.isFile();
  }

  read(buf: Buffer, off: number, len: number): number | Promise<number> {
    if (this.queue === null) {
      try {
        return fs.readSync(0, buf, off, len, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EOF') return 0;
        if (code !== 'EAGAIN') throw new InputError(`cannot read standard input: ${describeFsError(e)}`);
        this.queue = this.startStream();
      }
    }
    return this.readStream(this.queue, buf, off, len);
  }

  /** A non-blocking stdin: read it as a stream, pausing it whenever a chunk waits to be taken. */
  private startStream(): ChunkQueue {
    const q = new ChunkQueue();
    const stdin = process.stdin;
    stdin.on('data', (c: Buffer) => {
      stdin.pause(); // backpressure: resume only when the analyzer has taken what it has
      q.push(c);
    });
    stdin.on('end', () => q.end());
    stdin.on('error', () => q.end());
    return q;
  }

  private async readStream(q: ChunkQueue, buf: Buffer, off: number, len: number): Promise<number> {
    while (q.empty && !q.ended) {
      const arrived = q.next();
      process.stdin.resume();
      await arrived;
    }
    return q.take(buf, off, len);
  }

  close(): void {
    if (this.queue !== null) process.stdin.pause();
  }
}

export function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'it is a directory';
    case 'EIO': return 'I/O error';
    default: return err.code ?? String(err.message ?? e);
  }
}

/** Replays bytes already read from `inner` (to sniff the format), then reads on. */
class PrefixedSource implements ByteSource {
  constructor(private inner: ByteSource, private prefix: Buffer) {}
  get name(): string {
    return this.inner.name;
  }
  get live(): boolean {
    return this.inner.live;
  }
  get size(): number {
    return this.inner.size;
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
  close(): void {
    this.inner.close();
  }
}

/**
 * Decompresses a gzip stream (as tshark reads `capture.pcap.gz`) from `inner` with zlib, with
 * backpressure: compressed bytes are read only when the analyzer wants more. A stream that is
 * cut short still yields everything before the cut (Z_SYNC_FLUSH at the end, so zlib does not
 * fail and drop its last output); the cut is recognised by the gzip trailer, whose last four
 * bytes (ISIZE) must equal the decompressed length modulo 2^32. Corrupt data ends the input.
 * Either sets `damage`.
 */
export class GunzipSource implements ByteSource {
  private readonly z = zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
  /** The last four compressed bytes seen (the trailer's ISIZE once the input ends) and the output length. */
  private readonly tail = Buffer.alloc(4);
  private tailLen = 0;
  private produced = 0;
  private readonly queue = new ChunkQueue();
  private inputDone = false;
  private readonly inBuf = Buffer.allocUnsafe(256 * 1024);
  /** Set when the compressed stream was damaged; the input ends there. */
  damage: string | null = null;

  constructor(private inner: ByteSource) {
    this.z.on('data', (c: Buffer) => {
      this.produced += c.length;
      this.queue.push(c);
    });
    this.z.on('end', () => {
      if (this.tailLen < 4 || this.tail.readUInt32LE(0) !== this.produced % 4294967296) this.damage = 'the compressed stream ends early';
      this.queue.end();
    });
    this.z.on('error', (e: Error) => {
      this.damage = `the compressed stream is damaged (${e.message})`;
      this.queue.end();
    });
  }
  get name(): string {
    return this.inner.name;
  }
  get live(): boolean {
    return this.inner.live;
  }
  readonly size = -1;

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
        this.z.end();
        continue;
      }
      const chunk = Buffer.from(this.inBuf.subarray(0, n));
      this.keepTail(chunk);
      this.z.write(chunk);
      // zlib answers asynchronously: wait for output, or go on to feed it more input
      await Promise.race([arrived, new Promise<void>((r) => setImmediate(r))]);
    }
    return q.take(buf, off, len);
  }

  private keepTail(chunk: Buffer): void {
    if (chunk.length >= 4) {
      chunk.copy(this.tail, 0, chunk.length - 4);
      this.tailLen = 4;
      return;
    }
    const keep = Math.min(this.tailLen, 4 - chunk.length);
    this.tail.copy(this.tail, 0, this.tailLen - keep, this.tailLen);
    chunk.copy(this.tail, keep);
    this.tailLen = keep + chunk.length;
  }

  close(): void {
    this.z.destroy();
    this.inner.close();
  }
}

/**
 * Opens a capture for reading: a path or '-' (stdin). A gzip-compressed capture (magic 1f 8b)
 * is decompressed on the fly.
 */
export async function openCapture(path: string): Promise<ByteSource> {
  const src = openSource(path);
  try {
    const head = Buffer.alloc(2);
    let n = 0;
    while (n < 2) {
      const got = src.read(head, n, 2 - n);
      const k = typeof got === 'number' ? got : await got;
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
