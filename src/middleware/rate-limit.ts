// `rate_limit` middleware: takes a permit from the run's token bucket before a request
// is sent. With a driver (DESIGN §5) the bucket lives there and is shared by every
// worker and Spark executor; the driver client leases permits in small batches.
// Without a driver (one process), the bucket lives here.
//
// buildChain takes every permit last (chainLayout in index.ts), in one layer
// (permitGate) after all the middleware listed and auth (which may wait for an OAuth2
// token), just before the transport. Listed after the last `retry` (or with no
// retry), every send takes a permit (sendPermits), a resend after a 401 included.
// Listed before (outside) `retry`, each row takes one (retries take none): rowPermits'
// `owe`, at the listed position, only notes that the row owes a permit, taken by the
// row's first send.
//
// A permit is spent when it is taken, so it must be taken when nothing holds the
// request back any more: requests that took permits and then waited (out a server's
// pause, for a circuit's probe, for a concurrency slot or a paced turn, for a token)
// would all go when the wait ends, in one burst over the limit. Taken last, no layer waits after
// it, whatever order the middleware is listed in; and a run-wide pause (backoff_pause)
// that begins while a request waits for its permit is waited out here, and a new
// permit taken after it: the one granted during the pause is dropped (the bucket
// refills meanwhile anyway).
import { RowError } from '../errors.js';
import { AbortedError } from '../transport/errors.js';
import { originOf } from '../transport/origin.js';
import { pausesOf } from './backoff-pause.js';
import type { DriverServices, Exchange, Middleware, MiddlewareFactory, MiddlewareRuntime } from './types.js';
import { BucketSet, rateLimitKey, type RateSpec } from './rate-limit-bucket.js';

export interface RateLimitOptions extends RateSpec {
  /** One bucket per origin instead of one for the whole pipeline. */
  per_origin: boolean;
}

/** Takes one permit for `ex` after any run-wide pause; false (the outcome left on `ex`) when it got none. */
type TakePermit = (ex: Exchange) => Promise<boolean>;

function permitTaker(options: RateLimitOptions, runtime: MiddlewareRuntime): TakePermit {
  const spec: RateSpec = { requests_per_second: options.requests_per_second, burst: options.burst };
  const acquire: DriverServices['acquirePermits'] = runtime.driver
    ? runtime.driver.acquirePermits.bind(runtime.driver)
    : localAcquire();
  const pauses = pausesOf(runtime);

  // The bucket key, chosen once: one shared string, or the origin's (the last one
  // remembered: rows of a pipeline nearly always share one origin, so no new string per request).
  let keyOf: (origin: string) => string;
  if (options.per_origin) {
    let lastOrigin = '';
    let lastKey = '';
    keyOf = (origin) => (origin === lastOrigin ? lastKey : (lastKey = rateLimitKey(spec, withoutUserinfo((lastOrigin = origin)))));
  } else {
    const sharedKey = rateLimitKey(spec, null);
    keyOf = () => sharedKey;
  }

  // Like every layer, leave the outcome on the exchange rather than throw past retry.
  const fail = (ex: Exchange, err: unknown): false => {
    ex.response = null;
    ex.error = ex.signal.aborted
      ? new AbortedError()
      : err instanceof RowError
        ? err
        : new RowError('rate_limited', 'RESTLAKE_RATE_LIMIT', `no rate-limit permit: ${(err as Error)?.message ?? String(err)}`);
    return false;
  };

  return async (ex) => {
    // The origin is needed whatever the key: pauses are per origin.
    const origin = originOf(ex.request.url);
    const key = keyOf(origin);
    for (;;) {
      try {
        await acquire(key, 1, ex.signal);
      } catch (err) {
        return fail(ex, err);
      }
      // until() first: no clock read when nothing is paused (the common case).
      const until = pauses.until(origin);
      if (until === 0 || until <= Date.now()) return true;
      if (!(await pauses.waitOut(origin, ex.signal))) return fail(ex, null);
    }
  };
}

/** A permit per call, wherever it is composed (buildChain uses sendPermits and permitGate). */
export const rateLimit: MiddlewareFactory<RateLimitOptions> = (options, runtime) => {
  const take = permitTaker(options, runtime);
  return async (ex, next) => {
    if (await take(ex)) await next();
  };
};

/** What one rate_limit asks of a send, for permitGate. */
export interface PermitTaker {
  /** true when the send may go (at once, without a promise, when nothing is owed); false when not (the outcome left on `ex`). */
  take(ex: Exchange): true | Promise<boolean>;
  /** The permit `take` just gave `ex` goes unused (permitGate waits for a token): owe it again. */
  drop?(ex: Exchange): void;
}

/** A rate_limit listed after the last retry (or with none): a permit for every send. */
export function sendPermits(options: RateLimitOptions, runtime: MiddlewareRuntime): PermitTaker {
  return { take: permitTaker(options, runtime) };
}

/**
 * A rate_limit listed outside retry, in two parts: `owe`, at its listed position,
 * notes that the exchange owes a permit (once per call of it: once per row, or per
 * attempt of an outer retry); `take`, in the permitGate buildChain puts last, takes it
 * on the first send that gets there. So the permit is never held through a wait, nor
 * through a pause, and later sends take none.
 */
export function rowPermits(options: RateLimitOptions, runtime: MiddlewareRuntime): { owe: Middleware } & Required<PermitTaker> {
  const take = permitTaker(options, runtime);
  // A mark on the exchange's own state, not a WeakSet of exchanges: a long-lived
  // collection every row enters and leaves made V8 promote each row's objects to the
  // old generation (bench/README.md, the transport's attempts Set).
  const owes = Symbol('rate_limit permit owed');
  const marks = (ex: Exchange) => ex.state as Record<symbol, boolean | undefined>;
  return {
    owe: (ex, next) => {
      marks(ex)[owes] = true;
      return next();
    },
    take: (ex) => {
      if (marks(ex)[owes] !== true) return true;
      return take(ex).then((ok) => {
        if (ok) marks(ex)[owes] = false; // else still owed: a later attempt tries again
        return ok;
      });
    },
    drop: (ex) => {
      if (marks(ex)[owes] === false) marks(ex)[owes] = true;
    },
  };
}

/**
 * What the auth layer asks of permitGate (oauth2-middleware.ts): `ready` puts the token
 * to send in the request and says true, when the worker holds one safe to send; else
 * it waits for one (false: none came, the outcome left on `ex`), and the gate takes
 * its permits again after that wait.
 */
export interface SendReady {
  ready(ex: Exchange): true | Promise<boolean>;
  /** Puts the newest token the worker has in the request, without asking for one. */
  stamp(ex: Exchange): void;
}

/**
 * The one layer that takes the permits of every rate_limit (`takers`, in config order)
 * for a send, then calls next: buildChain puts it last, after auth, so no layer makes a
 * request wait while it holds a permit. With `auth`, a request whose token went stale
 * while it waited for its permits (an OAuth2 refresh under way) drops them, waits for
 * the new token holding none, and takes them again: once; after that it goes with the
 * newest token.
 */
export function permitGate(takers: readonly PermitTaker[], auth: SendReady | null = null): Middleware {
  const drop = (ex: Exchange) => {
    for (let i = 0; i < takers.length; i++) takers[i].drop?.(ex);
  };
  return async (ex, next) => {
    for (let round = 0; ; round++) {
      for (let i = 0; i < takers.length; i++) {
        const ok = takers[i].take(ex);
        if (ok !== true && !(await ok)) return;
      }
      if (auth === null) break;
      if (round > 0) {
        auth.stamp(ex);
        break;
      }
      const ready = auth.ready(ex);
      if (ready === true) break;
      drop(ex);
      if (!(await ready)) return;
    }
    await next();
  };
}

function localAcquire(): DriverServices['acquirePermits'] {
  const buckets = new BucketSet();
  return (key, want, signal) => buckets.get(key)!.take(want, { signal });
}

/** Keys travel to the driver: never let a user:password@ in them. */
function withoutUserinfo(origin: string): string {
  const at = origin.lastIndexOf('@');
  return at < 0 ? origin : origin.slice(0, origin.indexOf('//') + 2) + origin.slice(at + 1);
}
