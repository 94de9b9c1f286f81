// The rate half of adaptive_concurrency. Concurrency alone cannot respect a server's
// rate limit: with 1 ms replies, one request in flight is already 1,000 requests/s.
// So each origin also gets a pacer, idle (zero cost) until the first 429:
//
//   - A cycle runs from one 429 to the next. At a 429 the pacer measures the rate the
//     server actually let through over the whole cycle (successes / cycle time, the
//     server's pause included) and paces at 90% of it: requests are spaced so the
//     server's bucket refills faster than we drain it.
//   - Without 429s the pace rises 10% a second, probing for more; when it overshoots,
//     the next 429 measures again. Far above any measured limit, pacing switches off.
//   - A burst of 429s (everything in flight when the limit hit) is measured once: the
//     ones after the first find an empty cycle and are ignored.
// Each worker paces its own share: every worker measures what it got through, so the
// shares add up to ~90% of the server's limit.

const MIN_CYCLE_MS = 500; // shorter cycles say too little to measure a rate (and random 429s come that close)
const BACKOFF = 0.9;
const RAISE = 1.1; // per second without a 429: back to full speed within a minute after a storm
const OFF_BELOW_MS = 0.05; // interval under which pacing is pointless (20,000/s)

export class RatePacer {
  /** Milliseconds between sends; 0 = not pacing. */
  intervalMs = 0;
  private nextAt = 0;
  private cycleStart = -1;
  private successes = 0;
  private lastRaise = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  /** Reserve the next send slot; returns how long to wait for it (0 = send now). */
  reserve(): number {
    if (this.intervalMs === 0) return 0;
    const now = this.clock();
    const at = Math.max(now, this.nextAt);
    this.nextAt = at + this.intervalMs;
    return at - now;
  }

  success(): void {
    this.successes++;
    if (this.intervalMs === 0 && this.cycleStart >= 0) return;
    const now = this.clock();
    if (this.cycleStart < 0) {
      this.cycleStart = now;
      return;
    }
    if (now - this.lastRaise >= 1000) {
      this.lastRaise = now;
      this.intervalMs /= RAISE;
      if (this.intervalMs < OFF_BELOW_MS) this.intervalMs = 0;
    }
  }

  rateLimited(): void {
    const now = this.clock();
    if (this.successes === 0) return; // part of a burst already measured, or nothing to measure yet
    if (this.cycleStart < 0) this.cycleStart = now;
    const cycle = now - this.cycleStart;
    if (cycle < MIN_CYCLE_MS) return;
    this.intervalMs = cycle / (this.successes * BACKOFF);
    this.nextAt = now;
    this.lastRaise = now;
    this.cycleStart = now;
    this.successes = 0;
  }
}
