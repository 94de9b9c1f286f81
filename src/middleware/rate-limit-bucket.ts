// Token buckets for the run-wide rate limit (issue 5 item 1).
//
// The driver owns one bucket per key and workers lease permits from it over HTTP;
// without a driver, the rate_limit middleware uses the same bucket in process. Waiters
// are served first come, first served, so no worker starves another.
//
// A key names its own rate ("200/50" = 200 requests/s, burst 50; "200/50 https://api:443"
// = the same, per origin). Workers and driver derive it from the same middleware config,
// so they agree on buckets without any extra wiring between them.

export interface RateSpec {
  requests_per_second: number;
  burst: number;
}

export function rateLimitKey(spec: RateSpec, origin: string | null): string {
  const base = `${spec.requests_per_second}/${spec.burst}`;
  return origin === null ? base : `${base} ${origin}`;
}

/** The rate a key names, or null when it is not a rate-limit key. */
export function parseRateLimitKey(key: string): RateSpec | null {
  const m = /^(\d+(?:\.\d+)?)\/(\d+)(?: \S+)?$/.exec(key);
  if (!m) return null;
  const spec = { requests_per_second: Number(m[1]), burst: Number(m[2]) };
  return spec.requests_per_second > 0 && spec.burst >= 1 ? spec : null;
}

interface Waiter {
  want: number;
  resolve(n: number): void;
  done: boolean;
}

export class TokenBucket {
  readonly rate: number; // permits per ms
  readonly burst: number;
  /**
   * A queued waiter is served once this many permits (about 10 ms worth, at most what it
   * wants) have built up, rather than one at a time: fewer, fuller leases for the same rate.
   */
  private readonly batch: number;
  private tokens: number;
  private last: number;
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  /** Permits handed out so far. */
  granted = 0;

  constructor(spec: RateSpec, now: () => number = Date.now) {
    this.rate = spec.requests_per_second / 1000;
    this.burst = Math.max(1, Math.floor(spec.burst));
    this.batch = Math.max(1, Math.min(this.burst, Math.floor(this.rate * 10)));
    this.tokens = this.burst;
    this.now = now;
    this.last = now();
  }

  /**
   * Takes up to `want` permits: at once when some are available and nobody is queued,
   * else in turn as the bucket refills. Resolves with at least 1, or with 0 when
   * `maxWaitMs` passed first (lets an HTTP long-poll end). Rejects when `signal` aborts.
   */
  take(want: number, opts: { signal?: AbortSignal; maxWaitMs?: number } = {}): Promise<number> {
    want = Math.max(1, Math.floor(want));
    if (this.waiters.length === 0) {
      const n = this.takeNow(want);
      if (n > 0) return Promise.resolve(n);
    }
    const { signal, maxWaitMs } = opts;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<number>((resolve, reject) => {
      let timeout: NodeJS.Timeout | null = null;
      const finish = () => {
        w.done = true;
        if (timeout) clearTimeout(timeout);
        signal?.removeEventListener('abort', onAbort);
      };
      const w: Waiter = {
        want,
        done: false,
        resolve: (n) => {
          finish();
          resolve(n);
        },
      };
      const onAbort = () => {
        finish();
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (maxWaitMs !== undefined) timeout = setTimeout(() => w.resolve(0), maxWaitMs);
      this.waiters.push(w);
      this.schedule();
    });
  }

  /** Permits available right now (fractional), after refill. */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private takeNow(want: number): number {
    this.refill();
    const n = Math.min(want, Math.floor(this.tokens));
    if (n > 0) {
      this.tokens -= n;
      this.granted += n;
    }
    return n;
  }

  private refill(): void {
    const now = this.now();
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.rate);
      this.last = now;
    }
  }

  /** Permits the head waiter needs before it is served. */
  private need(w: Waiter): number {
    return Math.min(w.want, this.batch);
  }

  private schedule(): void {
    if (this.timer) return;
    const head = this.waiters.find((w) => !w.done);
    if (!head) return;
    this.refill();
    const delay = Math.max(1, Math.ceil((this.need(head) - this.tokens) / this.rate));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.serve();
    }, delay);
  }

  private serve(): void {
    while (this.waiters.length > 0) {
      const w = this.waiters[0];
      if (w.done) {
        this.waiters.shift();
        continue;
      }
      this.refill();
      if (Math.floor(this.tokens) < this.need(w)) break;
      const n = this.takeNow(w.want);
      this.waiters.shift();
      w.resolve(n);
    }
    // Drop settled waiters at the tail too, so an idle bucket keeps no timer.
    while (this.waiters.length > 0 && this.waiters[this.waiters.length - 1].done) this.waiters.pop();
    if (this.waiters.some((w) => !w.done)) this.schedule();
    else this.waiters.length = 0;
  }
}

/** The buckets of a run, created on first use from the rate their key names. */
export class BucketSet {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly allowed: Set<string> | null;

  /** `allowed`: when given, only keys for these rates are served (guards against a stray worker). */
  constructor(allowed?: RateSpec[]) {
    this.allowed = allowed ? new Set(allowed.map((s) => rateLimitKey(s, null))) : null;
  }

  /** The bucket for `key`, or null when the key names no (allowed) rate. */
  get(key: string): TokenBucket | null {
    let b = this.buckets.get(key);
    if (b) return b;
    const spec = parseRateLimitKey(key);
    if (!spec || (this.allowed && !this.allowed.has(rateLimitKey(spec, null)))) return null;
    b = new TokenBucket(spec);
    this.buckets.set(key, b);
    return b;
  }

  /** Permits granted per key. */
  stats(): Record<string, number> {
    return Object.fromEntries([...this.buckets].map(([k, b]) => [k, b.granted]));
  }
}
