// Run-wide pauses, kept by the driver: a 429 (or 503) with Retry-After seen by one
// worker pauses every worker's requests to that origin (the backoff_pause middleware
// reports them and waits them out, with resume jitter, through DriverServices).

/** Longest pause a server can impose; a broken Retry-After must not freeze a run. */
export const MAX_PAUSE_MS = 5 * 60_000;

export class PauseBoard {
  private readonly until = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}

  /** Pause `origin` until `untilMs` (epoch ms); an earlier time never shortens a pause. */
  report(origin: string, untilMs: number): void {
    const capped = Math.min(untilMs, this.now() + MAX_PAUSE_MS);
    if (capped > (this.until.get(origin) ?? 0)) this.until.set(origin, capped);
  }

  /** Epoch ms the pause for `origin` ends, 0 when none. */
  pausedUntil(origin: string): number {
    const u = this.until.get(origin);
    if (u === undefined) return 0;
    if (u <= this.now()) {
      this.until.delete(origin);
      return 0;
    }
    return u;
  }

  /** Active pauses as remaining ms: the clock-independent form that travels to workers. */
  remaining(): Record<string, number> {
    const now = this.now();
    const out: Record<string, number> = {};
    for (const [origin, u] of this.until) {
      if (u > now) out[origin] = u - now;
      else this.until.delete(origin);
    }
    return out;
  }
}
