/**
 * Damage and anomalies counted by stable snake_case name (Zeek's "weirds"), with the first
 * example of each kept as a human-readable line. Decoding goes on after every one of them.
 */
export class Anomalies {
  readonly counts = new Map<string, number>();
  readonly firstSeen = new Map<string, string>();

  add(code: string, detail?: string): void {
    const n = this.counts.get(code);
    if (n === undefined) {
      this.counts.set(code, 1);
      if (detail !== undefined) this.firstSeen.set(code, detail);
    } else {
      this.counts.set(code, n + 1);
    }
  }

  get size(): number {
    return this.counts.size;
  }
}
