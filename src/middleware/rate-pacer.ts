// The rate half of adaptive_concurrency. Concurrency alone cannot respect a server's
// rate limit: with 1 ms replies, one request in flight is already 1,000 requests/s.
// So each origin also gets a pacer, idle (zero cost) until the first 429:
//
//   - A cycle runs from one 429 to the next. At a 429 the pacer measures the rate the
//     server actually let through over the whole cycle (successes / cycle time) and
//     paces at 90% of it: requests are spaced so the server's bucket refills faster
//     than we drain it. The cycle ends where the server's Retry-After ends, not at the
//     429: a server that grants a burst of 50 in 20 ms and then says "wait 1 s" allows
//     ~50/s, not 2,500/s. Counting the pause also lets the very first 429 (a short
//     burst, too short to measure on its own) set a pace, so the requests that resume
//     after the pause do not burst into a second wall of 429s.
//   - Without 429s the pace rises 10% a second, probing for more; when it overshoots,
//     the next 429 measures again. Far above any measured limit, pacing switches off.
//   - But a cycle that is mostly the server's pause (its Retry-After at least as long as
//     the stretch of sending before it) measured the pause more than the server's rate:
//     the burst-then-wait server above, or one that says "come back in 30 s" (a
//     penalty, maintenance, another worker's wall) after a few seconds of sending,
//     which would set a pace of a few requests a second and keep the run near it for
//     half a minute. So the pace it sets (or the one kept from before, when nothing got
//     through) is a floor: it rises 2× a second until the next 429 measures again, as
//     after a cycle with few successes (slow start).
//   - A burst of 429s (everything in flight when the limit hit) is measured once: the
//     ones sent before the pace was set are ignored (see `epoch`).
//   - A cycle with no success measured nothing: the server's pause is not a rate (a
//     429 + Retry-After: 30 on the first request is no sign that the server allows one
//     request per 30 s). The pace stays as it was (none, or the last measured one), the
//     requests are held until the pause ends, and the next cycle measures; meanwhile
//     adaptive_concurrency's AIMD limit, halved by the 429, keeps the resumed requests
//     in check.
// Each worker paces its own share: every worker measures what it got through, so the
// shares add up to ~90% of the server's limit.
//
// Waiting requests queue (FIFO) and one timer lets them go one interval apart, always
// at the current pace: a raise speeds up those already waiting, and a 429 holds them
// all until the server's pause ends. (Reserving fixed future slots instead would keep
// requests queued at a pace that no longer holds.)

import { WaitQueue } from './wait-queue.js';

const MIN_CYCLE_MS = 500; // shorter cycles say too little to measure a rate (and random 429s come that close)
const BACKOFF = 0.9;
const RAISE = 1.1; // per second without a 429: back to full speed within a minute after a storm
const FEW = 10; // a cycle with fewer successes measures little: ramp up fast from it (slow start)
const RAISE_FROM_FEW = 2;
const OFF_BELOW_MS = 0.05; // interval under which pacing is pointless (20,000/s)

export class RatePacer {
  /** Milliseconds between sends; 0 = not pacing. */
  intervalMs = 0;
  /**
   * Bumped whenever a 429 re-sets the pace. The caller notes the epoch when its
   * request is let go and reports the outcome with it: a 429 of an older epoch was
   * sent before the pace was set (the rest of a burst, already measured) and is
   * ignored, as are successes of an older epoch (they say nothing of the new pace).
   */
  epoch = 0;
  /** Earliest time the next request may go; 0 when not pacing and no pause holds requests. */
  private nextAt = 0;
  private lastSent = 0;
  private cycleStart = -1;
  private successes = 0;
  private lastRaise = 0;
  private raise = RAISE;
  private readonly waiters = new WaitQueue();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly clock: () => number = Date.now) {}

  /** true when the request may go now; otherwise a promise of its turn (false if the signal aborts first). */
  acquire(signal: AbortSignal): true | Promise<boolean> {
    if (this.nextAt === 0 && this.waiters.length === 0) return true; // not pacing: no clock read
    if (this.waiters.length === 0) {
      const now = this.clock();
      if (now >= this.nextAt) {
        this.sent(now);
        return true;
      }
    }
    const turn = this.waiters.wait(signal);
    if (this.timer === null) this.schedule();
    return turn;
  }

  /** How long a request arriving now would wait (0 = it may go now). */
  delayMs(): number {
    if (this.nextAt === 0 && this.waiters.length === 0) return 0;
    return Math.max(0, this.nextAt - this.clock()) + this.waiters.length * this.intervalMs;
  }

  /** A success of a request let go in `epoch`. */
  success(epoch: number): void {
    if (epoch !== this.epoch) return;
    this.successes++;
    if (this.intervalMs === 0 && this.cycleStart >= 0) return;
    const now = this.clock();
    if (this.cycleStart < 0) {
      this.cycleStart = now;
      return;
    }
    if (now - this.lastRaise >= 1000) {
      this.lastRaise = now;
      this.intervalMs /= this.raise;
      if (this.intervalMs < OFF_BELOW_MS) this.intervalMs = 0;
      this.nextAt = Math.min(this.nextAt, this.lastSent + this.intervalMs);
      this.reschedule();
    }
  }

  /**
   * A 429 of a request let go in `epoch`; `pauseMs` is the server's Retry-After (or
   * RateLimit reset) in ms, when it gave one.
   */
  rateLimited(epoch: number, pauseMs: number | null): void {
    if (epoch !== this.epoch) return; // the rest of a burst already measured
    const now = this.clock();
    if (this.cycleStart < 0) this.cycleStart = now;
    const pause = Math.max(0, pauseMs ?? 0);
    const resumeAt = now + pause;
    const cycle = resumeAt - this.cycleStart;
    if (cycle < MIN_CYCLE_MS) return;
    // Nothing got through this cycle: no rate to infer (see above), the pace stays.
    if (this.successes > 0) {
      this.intervalMs = cycle / (this.successes * BACKOFF);
      this.raise = this.successes < FEW ? RAISE_FROM_FEW : RAISE;
    }
    // Mostly pause: the rate it gives (or the one kept from before it) is a floor, not a
    // measure (see above): ramp from it fast.
    if (pause > 0 && pause >= now - this.cycleStart) this.raise = RAISE_FROM_FEW;
    this.nextAt = resumeAt;
    this.lastRaise = resumeAt;
    this.cycleStart = resumeAt;
    this.successes = 0;
    this.epoch++;
    this.reschedule();
  }

  private sent(now: number): void {
    this.lastSent = now;
    this.nextAt = this.intervalMs === 0 ? 0 : now + this.intervalMs; // 0: back to the no-clock path
  }

  private reschedule(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.waiters.length > 0) this.schedule();
  }

  /** Let the first waiter go at nextAt, then the next one an interval later, … */
  private schedule(): void {
    const wait = this.nextAt - this.clock();
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = this.clock();
      // Not pacing any more: everyone waiting goes. Otherwise one per interval.
      while (this.waiters.length > 0 && now >= this.nextAt) {
        this.sent(now);
        this.waiters.next();
        if (this.intervalMs > 0) break;
      }
      if (this.waiters.length > 0) this.schedule();
    }, Math.max(0, wait));
  }
}
