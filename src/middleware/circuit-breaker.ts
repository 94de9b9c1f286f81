// circuit_breaker: per origin, stop sending while a server is failing (issue 5 item 3).
//   closed     requests flow; outcomes are counted in a sliding window (10 buckets).
//              When at least min_requests were seen in the window and the share of
//              failures (transport errors, 5xx) reaches failure_ratio, it opens.
//   open       requests fail at once with error_class circuit_open (not retried),
//              for open_ms.
//   half-open  one probe request is let through; success closes the circuit (window
//              cleared), failure opens it again for another open_ms. Other requests
//              fail fast while the probe is out.
// A 429 is the server rate limiting, not failing: it counts neither way.
import type { MiddlewareConfig } from '../config/types.js';
import { RowError } from '../errors.js';
import { originOf } from '../transport/origin.js';
import type { Exchange, MiddlewareFactory } from './types.js';

export type CircuitBreakerOptions = Partial<Omit<Extract<MiddlewareConfig, { type: 'circuit_breaker' }>, 'type'>>;

const BUCKETS = 10;

export class CircuitOpenError extends RowError {
  constructor(origin: string, retryInMs: number) {
    super('circuit_open', 'RESTLAKE_CIRCUIT_OPEN', `circuit open for ${origin} after sustained failures; next probe in ${Math.max(0, Math.ceil(retryInMs))} ms`);
  }
}

export type CircuitState = 'closed' | 'open' | 'half_open';

export class Circuit {
  state: CircuitState = 'closed';
  private openedAt = 0;
  private probing = false;
  private readonly total = new Array<number>(BUCKETS).fill(0);
  private readonly failed = new Array<number>(BUCKETS).fill(0);
  private readonly epoch = new Array<number>(BUCKETS).fill(-1);
  private readonly bucketMs: number;

  constructor(
    private readonly o: { failure_ratio: number; min_requests: number; window_ms: number; open_ms: number },
    private readonly clock: () => number = Date.now,
  ) {
    this.bucketMs = Math.max(1, o.window_ms / BUCKETS);
  }

  /** 'send', 'probe' (the one half-open trial), or ms until the next probe when failing fast. */
  admit(): 'send' | 'probe' | number {
    if (this.state === 'closed') return 'send';
    const now = this.clock();
    const waited = now - this.openedAt;
    if (this.state === 'open' && waited >= this.o.open_ms) this.state = 'half_open';
    if (this.state === 'half_open' && !this.probing) {
      this.probing = true;
      return 'probe';
    }
    return Math.max(0, this.o.open_ms - waited);
  }

  record(outcome: 'success' | 'failure' | 'neutral', probe: boolean): void {
    const now = this.clock();
    if (probe) {
      this.probing = false;
      if (outcome === 'failure') this.open(now);
      else if (outcome === 'success') this.close();
      return;
    }
    if (outcome === 'neutral' || this.state !== 'closed') return;
    const e = Math.floor(now / this.bucketMs);
    const i = e % BUCKETS;
    if (this.epoch[i] !== e) {
      this.epoch[i] = e;
      this.total[i] = 0;
      this.failed[i] = 0;
    }
    this.total[i]++;
    if (outcome === 'failure') {
      this.failed[i]++;
      let total = 0;
      let failed = 0;
      for (let j = 0; j < BUCKETS; j++) {
        if (e - this.epoch[j] < BUCKETS) {
          total += this.total[j];
          failed += this.failed[j];
        }
      }
      if (total >= this.o.min_requests && failed / total >= this.o.failure_ratio) this.open(now);
    }
  }

  private open(now: number): void {
    this.state = 'open';
    this.openedAt = now;
  }

  private close(): void {
    this.state = 'closed';
    this.epoch.fill(-1);
  }
}

function outcomeOf(ex: Exchange): 'success' | 'failure' | 'neutral' {
  const res = ex.response;
  if (res !== null) return res.status >= 500 ? 'failure' : res.status === 429 ? 'neutral' : 'success';
  const err = ex.error;
  if (!err) return 'neutral';
  return err.errorClass === 'timeout' || err.errorClass === 'connection' || err.errorClass === 'tls'
    ? err.code === 'RESTLAKE_ABORTED' ? 'neutral' : 'failure'
    : 'neutral';
}

export const circuitBreaker: MiddlewareFactory<CircuitBreakerOptions> = (options, runtime) => {
  if (options.enabled === false) return (_ex, next) => next();
  const settings = {
    failure_ratio: options.failure_ratio ?? 0.5,
    min_requests: options.min_requests ?? 20,
    window_ms: options.window_ms ?? 30_000,
    open_ms: options.open_ms ?? 30_000,
  };
  const circuits = new Map<string, Circuit>();
  const log = runtime.logger;

  return async (ex, next) => {
    const origin = originOf(ex.request.url);
    let c = circuits.get(origin);
    if (!c) circuits.set(origin, (c = new Circuit(settings)));
    const admitted = c.admit();
    if (typeof admitted === 'number') {
      ex.error = new CircuitOpenError(origin, admitted);
      return;
    }
    const probe = admitted === 'probe';
    const before = c.state;
    let outcome: 'success' | 'failure' | 'neutral' = 'neutral'; // a middleware that throws says nothing about the server
    try {
      await next();
      outcome = outcomeOf(ex);
    } finally {
      c.record(outcome, probe);
      if (c.state !== before && c.state !== 'half_open') log.warn({ origin, circuit: c.state }, `circuit ${c.state} for ${origin}`);
    }
  };
};
