import type { SingleBar } from 'cli-progress';
import { createRequire } from 'node:module';

/** Shown only once the analysis has run this long, so quick runs never flash a bar. */
const SHOW_AFTER_MS = 500;

/**
 * A progress bar on standard error for long file input: bytes, packets, rate and ETA. The caller
 * decides whether one is wanted (a regular file, stderr a terminal, not CI, not --quiet).
 */
export class Progress {
  private bar: SingleBar | null = null;
  private readonly started = performance.now();

  constructor(private readonly totalBytes: number) {}

  update(bytes: number, packets: number): void {
    const elapsedMs = performance.now() - this.started;
    if (this.bar === null) {
      if (elapsedMs < SHOW_AFTER_MS) return;
      // loaded only now: most runs show no bar, and loading it took ~20 ms of every run's start-up
      const { SingleBar: Bar } = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
      this.bar = new Bar({
        stream: process.stderr,
        format: ' {bar} {percentage}% | {mb}/{totalMb} MB | {packets} packets | {rate} MB/s | ETA {eta_formatted}',
        hideCursor: true,
        clearOnComplete: true,
        barsize: 24,
        etaBuffer: 20,
      });
      this.bar.start(this.totalBytes, Math.min(bytes, this.totalBytes), this.payload(bytes, packets, elapsedMs));
    }
    this.bar.update(Math.min(bytes, this.totalBytes), this.payload(bytes, packets, elapsedMs));
  }

  private payload(bytes: number, packets: number, elapsedMs: number): Record<string, string> {
    return {
      mb: (bytes / 1e6).toFixed(0),
      totalMb: (this.totalBytes / 1e6).toFixed(0),
      packets: packets.toLocaleString('en-US'),
      rate: elapsedMs > 0 ? (bytes / 1e3 / elapsedMs).toFixed(0) : '0',
    };
  }

  /** Removes the bar (if shown) before the report is printed. */
  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
