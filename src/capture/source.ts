import * as fs from 'node:fs';
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

class StdinSource implements ByteSource {
  readonly name = '<stdin>';
  readonly live: boolean;
  readonly size: number;
  private useStream = false;
  private chunks: Buffer[] = [];
  private chunkOff = 0;
  private ended = false;
  private waiter: (() => void) | null = null;

  constructor() {
    const st = fs.fstatSync(0);
    this.size = st.isFile() ? st.size : -1;
    this.live = !st.isFile();
  }

  read(buf: Buffer, off: number, len: number): number | Promise<number> {
    if (!this.useStream) {
      try {
        return fs.readSync(0, buf, off, len, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EOF') return 0;
        if (code !== 'EAGAIN') throw new InputError(`cannot read standard input: ${describeFsError(e)}`);
        this.startStream();
      }
    }
    return this.readStream(buf, off, len);
  }

  private startStream(): void {
    this.useStream = true;
    const stdin = process.stdin;
    stdin.on('data', (c: Buffer) => {
      this.chunks.push(c);
      stdin.pause(); // backpressure: resume only when the analyzer has taken what it has
      this.wake();
    });
    stdin.on('end', () => {
      this.ended = true;
      this.wake();
    });
    stdin.on('error', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    if (w) w();
  }

  private async readStream(buf: Buffer, off: number, len: number): Promise<number> {
    while (this.chunks.length === 0 && !this.ended) {
      process.stdin.resume();
      await new Promise<void>((r) => (this.waiter = r));
    }
    let n = 0;
    while (n < len && this.chunks.length > 0) {
      const c = this.chunks[0];
      const take = Math.min(len - n, c.length - this.chunkOff);
      c.copy(buf, off + n, this.chunkOff, this.chunkOff + take);
      n += take;
      this.chunkOff += take;
      if (this.chunkOff === c.length) {
        this.chunks.shift();
        this.chunkOff = 0;
      }
    }
    return n;
  }

  close(): void {
    if (this.useStream) process.stdin.pause();
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
