// `rate_limit` middleware: every attempt (retries included — it sits inside `retry`)
// takes a permit from the run's token bucket before it is sent. With a driver
// (DESIGN §5) the bucket lives there and is shared by every worker and Spark executor;
// the driver client leases permits in small batches. Without a driver (one process),
// the bucket lives here.
//
// A permit is spent when it is taken, so it must be taken when nothing holds the
// request back any more: requests that took permits and then waited (out a server's
// pause, for a circuit's probe, for a concurrency slot) would all go when the wait
// ends, in one burst over the limit. So buildChain puts those waits outside rate_limit,
// and a run-wide pause (backoff_pause) that begins while a request waits for its
// permit is waited out here, and a new permit taken after it: the one granted during
// the pause is dropped (the bucket refills meanwhile anyway).
import { RowError } from '../errors.js';
import { AbortedError } from '../transport/errors.js';
import { originOf } from '../transport/origin.js';
import { pausesOf } from './backoff-pause.js';
import type { DriverServices, Exchange, MiddlewareFactory } from './types.js';
import { BucketSet, rateLimitKey, type RateSpec } from './rate-limit-bucket.js';

export interface RateLimitOptions extends RateSpec {
  /** One bucket per origin instead of one for the whole pipeline. */
  per_origin: boolean;
}

export const rateLimit: MiddlewareFactory<RateLimitOptions> = (options, runtime) => {
  const spec: RateSpec = { requests_per_second: options.requests_per_second, burst: options.burst };
  const sharedKey = rateLimitKey(spec, null);
  const acquire: DriverServices['acquirePermits'] = runtime.driver
    ? runtime.driver.acquirePermits.bind(runtime.driver)
    : localAcquire();

  const pauses = pausesOf(runtime);

  // Like every layer, leave the outcome on the exchange rather than throw past retry.
  const fail = (ex: Exchange, err: unknown): void => {
    ex.response = null;
    ex.error = ex.signal.aborted
      ? new AbortedError()
      : err instanceof RowError
        ? err
        : new RowError('rate_limited', 'RESTLAKE_RATE_LIMIT', `no rate-limit permit: ${(err as Error)?.message ?? String(err)}`);
  };

  return async (ex, next) => {
    const origin = originOf(ex.request.url);
    const key = options.per_origin ? rateLimitKey(spec, withoutUserinfo(origin)) : sharedKey;
    for (;;) {
      try {
        await acquire(key, 1, ex.signal);
      } catch (err) {
        fail(ex, err);
        return;
      }
      if (!pauses.active(origin)) break;
      if (!(await pauses.waitOut(origin, ex.signal))) {
        fail(ex, null);
        return;
      }
    }
    await next();
  };
};

function localAcquire(): DriverServices['acquirePermits'] {
  const buckets = new BucketSet();
  return (key, want, signal) => buckets.get(key)!.take(want, { signal });
}

/** Keys travel to the driver: never let a user:password@ in them. */
function withoutUserinfo(origin: string): string {
  const at = origin.lastIndexOf('@');
  return at < 0 ? origin : origin.slice(0, origin.indexOf('//') + 2) + origin.slice(at + 1);
}
