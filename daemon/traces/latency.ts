/**
 * Latency distribution in constant memory: log-spaced buckets (about 1.6 %
 * wide) from 100 ns to about 100 s, so p50/p99 are within a bucket of the
 * truth however many samples come in; the maximum is exact.
 */
const MIN_NS = 100;
const PER_DECADE = 144; // 10^(1/144) ~ 1.016
const DECADES = 9;

export class LatencyHistogram {
  private readonly counts = new Float64Array(PER_DECADE * DECADES + 2);
  private n = 0;
  private maxNs = 0;

  /** Record `count` samples of `ns` (the bursts of one vector share its latency). */
  add(ns: number, count = 1): void {
    this.n += count;
    if (ns > this.maxNs) this.maxNs = ns;
    let b = ns <= MIN_NS ? 0 : Math.floor(Math.log10(ns / MIN_NS) * PER_DECADE) + 1;
    if (b >= this.counts.length) b = this.counts.length - 1;
    this.counts[b] += count;
  }

  get count(): number {
    return this.n;
  }

  get max(): number {
    return this.maxNs;
  }

  /** The q-quantile (0..1) in ns: the upper edge of the bucket holding it, capped at the maximum. */
  quantile(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let b = 0; b < this.counts.length; b++) {
      seen += this.counts[b];
      if (seen >= rank) return Math.min(this.maxNs, b === 0 ? MIN_NS : MIN_NS * 10 ** (b / PER_DECADE));
    }
    return this.maxNs;
  }
}
