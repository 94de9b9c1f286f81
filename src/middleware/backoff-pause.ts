// backoff_pause: honours a server's "come back later" for every request to that
// origin, not only the one that got it (issue 5 item 2). A 429 or 503 carrying
// Retry-After, RateLimit-Reset or RateLimit reports a pause until then to the driver
// (runtime.driver.reportBackoff, shared by every worker of the run); before sending,
// every request waits out the pause (runtime.driver.pausedUntil), resuming with a
// little jitter so paused requests do not all return in the same millisecond. Without
// a driver the pause is kept in this worker. buildChain always adds this inside the
// last retry listed (chainLayout in index.ts), so it runs once per attempt: a 429 that
// retry gets past still pauses the other rows. It comes before every rate-limit
// permit (buildChain takes them last) and before the adaptive_concurrency it adds or
// one listed after retry, so a request waiting out a pause holds neither a permit nor
// a concurrency slot.
import { AbortedError } from '../transport/errors.js';
import { originOf } from '../transport/origin.js';
import { serverBackoffMs } from './retry-after.js';
import { sleep } from './sleep.js';
import type { DriverServices, MiddlewareFactory, MiddlewareRuntime } from './types.js';

export interface BackoffPauseOptions {
  /** Longest pause a server can impose (a broken Retry-After must not freeze the run). Default 5 min. */
  max_pause_ms?: number;
}

/** Up to 10% of the pause, at least 10 ms, at most 1 s. */
function resumeJitter(pauseMs: number): number {
  return Math.random() * Math.min(1000, Math.max(10, pauseMs * 0.1));
}

/**
 * The run-wide pauses one worker honours: its own reports at once, every worker's
 * through the driver. One per runtime (pausesOf), shared by backoff_pause, which
 * reports and waits, and rate_limit, which waits out a pause that began while it
 * waited for a permit.
 */
export class Pauses {
  private readonly local = new Map<string, number>();

  constructor(private readonly driver: DriverServices | null) {}

  /** Epoch ms the pause for `origin` ends; 0 when none is known (no clock read). */
  until(origin: string): number {
    const mine = this.local.get(origin) ?? 0;
    return this.driver ? Math.max(mine, this.driver.pausedUntil(origin)) : mine;
  }

  /** Whether requests to `origin` must wait now. */
  active(origin: string): boolean {
    const until = this.until(origin);
    return until !== 0 && until > Date.now();
  }

  report(origin: string, until: number): void {
    if (until > (this.local.get(origin) ?? 0)) {
      this.local.set(origin, until);
      this.driver?.reportBackoff(origin, until);
    }
  }

  /** Waits until no pause holds `origin`; false when `signal` aborts first. */
  async waitOut(origin: string, signal: AbortSignal): Promise<boolean> {
    for (;;) {
      const until = this.until(origin);
      if (until === 0) return true; // the common case: no pause, no clock read
      const now = Date.now();
      if (until <= now) {
        if ((this.local.get(origin) ?? 0) !== 0) this.local.delete(origin); // over: back to the no-clock path
        return true;
      }
      // Re-check after waking: another response may have extended the pause meanwhile.
      if (!(await sleep(until - now + resumeJitter(until - now), signal))) return false;
    }
  }
}

const perRuntime = new WeakMap<MiddlewareRuntime, Pauses>();

/** The pauses of the worker `runtime` belongs to. */
export function pausesOf(runtime: MiddlewareRuntime): Pauses {
  let p = perRuntime.get(runtime);
  if (!p) perRuntime.set(runtime, (p = new Pauses(runtime.driver)));
  return p;
}

export const backoffPause: MiddlewareFactory<BackoffPauseOptions> = (options, runtime) => {
  const maxPause = options.max_pause_ms ?? 5 * 60_000;
  const pauses = pausesOf(runtime);

  return async (ex, next) => {
    const origin = originOf(ex.request.url);
    // until() first: no promise and no await per attempt when nothing is paused.
    if (pauses.until(origin) !== 0 && !(await pauses.waitOut(origin, ex.signal))) {
      ex.error = new AbortedError();
      return;
    }
    await next();
    const res = ex.response;
    if (res !== null && (res.status === 429 || res.status === 503)) {
      const now = Date.now();
      const wait = serverBackoffMs(res.headers, now);
      if (wait !== null && wait > 0) pauses.report(origin, now + Math.min(wait, maxPause));
    }
  };
};
