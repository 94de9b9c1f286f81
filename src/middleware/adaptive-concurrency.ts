// adaptive_concurrency: an AIMD limit on requests in flight per origin (issue 5
// item 2). Each origin starts at `max` (default execution.concurrency); a sign of
// overload (429, 503, a timeout) halves its limit, at most once per round trip (only
// an attempt started after the last cut can cut again, so a burst of 429s from
// requests already in flight counts once); each success adds 1/limit, i.e. about one
// slot per round trip of successes. Attempts over the limit wait (FIFO) for a slot.
// A 429 also engages the origin's rate pacer (rate-pacer.ts): concurrency alone cannot
// hold a request rate. buildChain puts backoff_pause just outside this (the default
// one, or one listed after retry), so requests that waited out a server's pause pass
// the pacer when they resume. List it inside (after) retry: a slot is then held per
// attempt, not during backoff. Wherever it is listed, no rate-limit permit is held
// waiting for it (buildChain takes permits last).
import type { MiddlewareConfig } from '../config/types.js';
import { AbortedError } from '../transport/errors.js';
import { originOf } from '../transport/origin.js';
import { RatePacer } from './rate-pacer.js';
import { serverBackoffMs } from './retry-after.js';
import type { Exchange, MiddlewareFactory } from './types.js';
import { WaitQueue } from './wait-queue.js';

export type AdaptiveOptions = Partial<Omit<Extract<MiddlewareConfig, { type: 'adaptive_concurrency' }>, 'type'>> & {
  /** The longest a server's Retry-After may hold this origin's requests (default 60 s). */
  max_pause_ms?: number;
};

type Outcome = 'rate_limited' | 'overload' | 'success' | 'neutral';

export class AimdLimiter {
  limit: number;
  inFlight = 0;
  /** Bumped by every cut; an attempt remembers the generation it was admitted in. */
  generation = 0;
  private readonly waiters = new WaitQueue();

  constructor(
    readonly min: number,
    readonly max: number,
  ) {
    this.limit = max;
  }

  /** true when a slot is free now; otherwise a promise of a slot (false if the signal aborts first). */
  acquire(signal: AbortSignal): true | Promise<boolean> {
    if (this.waiters.length === 0 && this.inFlight < Math.floor(this.limit)) {
      this.inFlight++;
      return true;
    }
    return this.waiters.wait(signal);
  }

  /** Give the slot back with what the attempt (admitted in `generation`) said about the server. */
  release(outcome: Outcome, generation: number): void {
    this.inFlight--;
    if (outcome === 'overload' || outcome === 'rate_limited') {
      if (generation === this.generation) {
        this.limit = Math.max(this.min, this.limit / 2);
        this.generation++;
      }
    } else if (outcome === 'success' && this.limit < this.max) {
      this.limit = Math.min(this.max, this.limit + 1 / this.limit);
    }
    while (this.waiters.length > 0 && this.inFlight < Math.floor(this.limit)) {
      this.inFlight++;
      this.waiters.next();
    }
  }
}

function outcomeOf(ex: Exchange): Outcome {
  const res = ex.response;
  if (res !== null) {
    if (res.status === 429) return 'rate_limited';
    if (res.status === 503) return 'overload';
    return res.status < 500 ? 'success' : 'neutral';
  }
  return ex.error?.errorClass === 'timeout' && ex.error.code === 'RESTLAKE_TIMEOUT' ? 'overload' : 'neutral';
}

export const adaptiveConcurrency: MiddlewareFactory<AdaptiveOptions> = (options) => {
  if (options.enabled === false) return (_ex, next) => next();
  const min = Math.max(1, options.min ?? 1);
  const max = Math.max(min, options.max ?? 64);
  const maxPause = options.max_pause_ms ?? 60_000;
  const origins = new Map<string, { limiter: AimdLimiter; pacer: RatePacer }>();

  return async (ex, next) => {
    const origin = originOf(ex.request.url);
    let o = origins.get(origin);
    if (!o) origins.set(origin, (o = { limiter: new AimdLimiter(min, max), pacer: new RatePacer() }));
    const { limiter, pacer } = o;
    const turn = pacer.acquire(ex.signal);
    if (turn !== true && !(await turn)) {
      ex.error = new AbortedError();
      return;
    }
    const epoch = pacer.epoch;
    const got = limiter.acquire(ex.signal);
    if (got !== true && !(await got)) {
      ex.error = new AbortedError();
      return;
    }
    const generation = limiter.generation;
    let outcome: Outcome = 'neutral';
    try {
      await next();
      outcome = outcomeOf(ex);
    } finally {
      limiter.release(outcome, generation);
    }
    if (outcome === 'success') pacer.success(epoch);
    else if (outcome === 'rate_limited') {
      // A Retry-After of an hour would otherwise stall every row of the run for that hour.
      const pause = serverBackoffMs(ex.response!.headers, Date.now());
      pacer.rateLimited(epoch, pause === null ? null : Math.min(pause, maxPause));
    }
  };
};
