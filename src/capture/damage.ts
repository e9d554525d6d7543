/**
 * Damage and anomalies counted by stable snake_case name (Zeek's "weirds"), with the first
 * example of each kept as a human-readable line. Decoding goes on after every one of them.
 */
export class Anomalies {
  private readonly counts = new Map<string, number>();
  private readonly firstSeen = new Map<string, string>();

  add(code: string, detail?: string): void {
    const n = this.counts.get(code);
    if (n === undefined) {
      this.counts.set(code, 1);
      if (detail !== undefined) this.firstSeen.set(code, detail);
    } else {
      this.counts.set(code, n + 1);
    }
  }

  /** How many of this anomaly were counted (0 when none). */
  count(code: string): number {
    return this.counts.get(code) ?? 0;
  }

  get size(): number {
    return this.counts.size;
  }

  /**
   * Adds another set's counts to these. Where both have an example of a code, the other's is
   * kept: the analyzer merges the reader's (damage to the file itself) into its own.
   */
  merge(other: Anomalies): void {
    for (const [code, n] of other.counts) this.counts.set(code, (this.counts.get(code) ?? 0) + n);
    for (const [code, d] of other.firstSeen) this.firstSeen.set(code, d);
  }

  /** Every anomaly by code, in code order, with its first example ('' when none was given). */
  list(): { code: string; count: number; first: string }[] {
    return [...this.counts].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([code, count]) => ({ code, count, first: this.firstSeen.get(code) ?? '' }));
  }
}
