// retry: sends the request again on the listed statuses (default 429, 500, 502, 503,
// 504) and on retryable transport errors (timeouts, refused or reset connections),
// up to max_attempts in all. Waits between attempts with exponential backoff and full
// jitter: a uniform draw from [0, min(max_delay, base_delay * 2^(n-1))], which spreads
// a crowd of failing workers out instead of having them retry in lockstep. A server's
// Retry-After (seconds or HTTP date) replaces the draw, capped by max_delay, unless it
// is 0.
//
// A status not listed (404, 400, …) is never retried. Giving up leaves the last
// attempt's outcome on the exchange: the row fails with http_status (rate_limited
// for a 429) or with the transport error's class.
//
// Every attempt starts from the request as retry got it: layers inside retry (headers,
// signing, auth, your modules) change ex.request once per attempt, and their changes
// must not pile up (a query parameter appended twice, a header doubled). The request
// is copied once before the first attempt (its headers shallowly: values are strings)
// and a fresh copy of that put back before each further attempt; the last attempt's
// request, as sent, is what the row records.
import type { MiddlewareConfig } from '../config/types.js';
import { parseRetryAfter } from './retry-after.js';
import { sleep } from './sleep.js';
import type { Exchange, MiddlewareFactory } from './types.js';

export type RetryOptions = Partial<Omit<Extract<MiddlewareConfig, { type: 'retry' }>, 'type'>>;

export const DEFAULT_RETRY_STATUSES: readonly number[] = [429, 500, 502, 503, 504];

/** The full-jitter draw for the wait after attempt `attempt` (1-based). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return random() * ceiling;
}

export const retry: MiddlewareFactory<RetryOptions> = (options) => {
  const maxAttempts = options.max_attempts ?? 3;
  const base = options.base_delay_ms ?? 200;
  const max = options.max_delay_ms ?? 30_000;
  const onNetworkError = options.on_network_error ?? true;
  const statuses = new Set(options.statuses ?? DEFAULT_RETRY_STATUSES);

  // The wait before the next attempt, or null when this outcome is final.
  const waitFor = (ex: Exchange, attempt: number): number | null => {
    const err = ex.error;
    const res = ex.response;
    if (err) {
      // An error with a response (body_too_large) or a non-retryable one is final.
      if (res || !err.retryable || !onNetworkError) return null;
      return backoffDelay(attempt, base, max);
    }
    if (!res || !statuses.has(res.status)) return null;
    const asked = parseRetryAfter(res.headers['retry-after'], Date.now());
    // "Retry-After: 0" (or a date already past) asks for no wait in particular; it must
    // not turn backoff off, or a crowd of rows retries at once, again and again.
    return asked !== null && asked > 0 ? Math.min(asked, max) : backoffDelay(attempt, base, max);
  };

  return async (ex, next) => {
    if (maxAttempts === 1) return next();
    const asGiven = { ...ex.request, headers: { ...ex.request.headers } };
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) ex.request = { ...asGiven, headers: { ...asGiven.headers } };
      await next();
      if (attempt >= maxAttempts || ex.signal.aborted) return;
      const wait = waitFor(ex, attempt);
      if (wait === null) return;
      if (!(await sleep(wait, ex.signal))) return;
    }
  };
};
