// backoff_pause: honours a server's "come back later" for every request to that
// origin, not only the one that got it (issue 5 item 2). A 429 or 503 carrying
// Retry-After, RateLimit-Reset or RateLimit reports a pause until then to the driver
// (runtime.driver.reportBackoff, shared by every worker of the run); before sending,
// every request waits out the pause (runtime.driver.pausedUntil), resuming with a
// little jitter so paused requests do not all return in the same millisecond. Without
// a driver the pause is kept in this worker. buildChain always adds this just outside
// auth, so it runs once per attempt.
import { AbortedError } from '../transport/errors.js';
import { originOf } from '../transport/origin.js';
import { serverBackoffMs } from './retry-after.js';
import { sleep } from './sleep.js';
import type { MiddlewareFactory } from './types.js';

export interface BackoffPauseOptions {
  /** Longest pause a server can impose (a broken Retry-After must not freeze the run). Default 5 min. */
  max_pause_ms?: number;
}

/** Up to 10% of the pause, at least 10 ms, at most 1 s. */
function resumeJitter(pauseMs: number): number {
  return Math.random() * Math.min(1000, Math.max(10, pauseMs * 0.1));
}

export const backoffPause: MiddlewareFactory<BackoffPauseOptions> = (options, runtime) => {
  const maxPause = options.max_pause_ms ?? 5 * 60_000;
  const local = new Map<string, number>();
  const driver = runtime.driver;

  const pausedUntil = (origin: string): number => {
    const mine = local.get(origin) ?? 0;
    return driver ? Math.max(mine, driver.pausedUntil(origin)) : mine;
  };

  return async (ex, next) => {
    const origin = originOf(ex.request.url);
    for (;;) {
      const until = pausedUntil(origin);
      if (until === 0) break; // the common case: no pause, no clock read
      const now = Date.now();
      if (until <= now) {
        if ((local.get(origin) ?? 0) !== 0) local.delete(origin); // over: back to the no-clock path
        break;
      }
      // Re-check after waking: another response may have extended the pause meanwhile.
      if (!(await sleep(until - now + resumeJitter(until - now), ex.signal))) {
        ex.error = new AbortedError();
        return;
      }
    }
    await next();
    const res = ex.response;
    if (res !== null && (res.status === 429 || res.status === 503)) {
      const now = Date.now();
      const wait = serverBackoffMs(res.headers, now);
      if (wait !== null && wait > 0) {
        const until = now + Math.min(wait, maxPause);
        if (until > (local.get(origin) ?? 0)) {
          local.set(origin, until);
          driver?.reportBackoff(origin, until);
        }
      }
    }
  };
};
