// Run counters and a latency histogram with fixed memory (log-spaced buckets, ~2%
// resolution), so percentiles cost nothing per row whatever the run size.

const BUCKETS_PER_DOUBLING = 32;
const MAX_BUCKET = BUCKETS_PER_DOUBLING * 40; // up to 2^40 ms

export interface LatencyPercentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(MAX_BUCKET + 1);
  private n = 0;
  private maxSeen = 0;

  record(ms: number): void {
    if (!(ms >= 0)) ms = 0;
    const b = ms < 1 ? 0 : Math.min(MAX_BUCKET, 1 + Math.floor(Math.log2(ms) * BUCKETS_PER_DOUBLING));
    this.counts[b]++;
    this.n++;
    if (ms > this.maxSeen) this.maxSeen = ms;
  }

  get count(): number {
    return this.n;
  }

  /** The upper edge of the bucket holding the q-quantile (never above the max seen). */
  quantile(q: number): number {
    if (this.n === 0) return 0;
    const target = Math.ceil(q * this.n);
    let seen = 0;
    for (let b = 0; b <= MAX_BUCKET; b++) {
      seen += this.counts[b] as number;
      if (seen >= target) {
        const upper = b === 0 ? 1 : 2 ** (b / BUCKETS_PER_DOUBLING);
        return Math.min(upper, this.maxSeen);
      }
    }
    return this.maxSeen;
  }

  percentiles(): LatencyPercentiles {
    return { p50: this.quantile(0.5), p95: this.quantile(0.95), p99: this.quantile(0.99), max: this.maxSeen };
  }
}

export interface ProgressSnapshot {
  /** Rows with a result so far this run. */
  rows: number;
  succeeded: number;
  failed: number;
  /** Rows this run expects to send (an estimate until the source is exhausted), or null. */
  expected: number | null;
  /** Rows handed to workers and not yet answered. */
  in_flight: number;
  committed_rows: number;
  elapsed_ms: number;
  rows_per_second: number;
}

export class RunStats {
  readonly started = Date.now();
  rows = 0;
  succeeded = 0;
  failed = 0;
  readonly failuresByClass: Record<string, number> = {};
  readonly latency = new LatencyHistogram();

  record(success: boolean, errorClass: string | null, durationMs: number): void {
    this.rows++;
    if (success) this.succeeded++;
    else {
      this.failed++;
      const c = errorClass ?? 'unknown';
      this.failuresByClass[c] = (this.failuresByClass[c] ?? 0) + 1;
    }
    this.latency.record(durationMs);
  }

  elapsedMs(): number {
    return Date.now() - this.started;
  }

  rate(): number {
    const s = this.elapsedMs() / 1000;
    return s > 0 ? this.rows / s : 0;
  }
}
