// circuit_breaker: per origin, stop sending while a server is failing (issue 5 item 3).
//   closed     requests flow; outcomes are counted in a sliding window (10 buckets).
//              When at least min_requests were seen in the window and the share of
//              failures (transport errors, 5xx) reaches failure_ratio, it opens.
//   open       requests wait, sending nothing, for open_ms.
//   half-open  one probe request is let through; success closes the circuit (window
//              cleared) and lets every waiting request go, failure opens it again for
//              another open_ms. The others wait for the probe's outcome.
// Requests wait rather than fail: an outage of a few seconds must not fail every row
// of the run at full speed. A request fails with error_class circuit_open (not retried)
// only when the circuit stayed open for all of max_wait_ms (default 3 × open_ms: at least
// two probes) while it waited. A wait ends at once when the worker stops, and holds
// nothing but the exchange: the response of an earlier attempt is dropped before it.
// A 429 is the server rate limiting, not failing: it counts neither way.
import type { MiddlewareConfig } from '../config/types.js';
import { RowError } from '../errors.js';
import { AbortedError } from '../transport/errors.js';
import { originOf } from '../transport/origin.js';
import { sleep } from './sleep.js';
import type { Exchange, MiddlewareFactory } from './types.js';

export type CircuitBreakerOptions = Partial<Omit<Extract<MiddlewareConfig, { type: 'circuit_breaker' }>, 'type'>> & {
  /** The clock of every circuit and of the waits for them (tests drive it); default Date.now. */
  clock?: () => number;
};

const BUCKETS = 10;

export class CircuitOpenError extends RowError {
  constructor(origin: string, waitedMs: number) {
    super('circuit_open', 'RESTLAKE_CIRCUIT_OPEN', `circuit open for ${origin} after sustained failures; no probe succeeded in ${Math.round(waitedMs)} ms of waiting (circuit_breaker max_wait)`);
  }
}

export type CircuitState = 'closed' | 'open' | 'half_open';

export class Circuit {
  state: CircuitState = 'closed';
  private openedAt = 0;
  private probing = false;
  private probeDone: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly total = new Array<number>(BUCKETS).fill(0);
  private readonly failed = new Array<number>(BUCKETS).fill(0);
  private readonly epoch = new Array<number>(BUCKETS).fill(-1);
  private readonly bucketMs: number;

  constructor(
    private readonly o: { failure_ratio: number; min_requests: number; window_ms: number; open_ms: number },
    readonly clock: () => number = Date.now,
  ) {
    this.bucketMs = Math.max(1, o.window_ms / BUCKETS);
  }

  /** 'send', 'probe' (the one half-open trial), or ms until the next probe may go (0: a probe is out). */
  admit(): 'send' | 'probe' | number {
    if (this.state === 'closed') return 'send';
    const now = this.clock();
    const waited = now - this.openedAt;
    if (this.state === 'open' && waited >= this.o.open_ms) this.state = 'half_open';
    if (this.state === 'half_open' && !this.probing) {
      this.probing = true;
      return 'probe';
    }
    return this.state === 'half_open' ? 0 : this.o.open_ms - waited;
  }

  /** Resolves when the probe out now reports its outcome: one promise for every waiter. */
  probeSettled(): Promise<void> {
    return (this.probeDone ??= new Promise<void>((resolve) => (this.wake = resolve)));
  }

  record(outcome: 'success' | 'failure' | 'neutral', probe: boolean): void {
    const now = this.clock();
    if (probe) {
      this.probing = false;
      if (outcome === 'failure') this.open(now);
      else if (outcome === 'success') this.close();
      // Neutral (a 429, an abort): still half-open, the next waiter probes.
      this.wake?.();
      this.wake = this.probeDone = null;
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

/**
 * Waits while `c` is open: 'send' or 'probe' once it lets the request go, null when the
 * request failed instead (circuit_open after `maxWaitMs`, or the worker stopping).
 */
async function waitForTurn(c: Circuit, ex: Exchange, origin: string, maxWaitMs: number): Promise<'send' | 'probe' | null> {
  // An earlier attempt's outcome (the 503 retry is retrying) is not this attempt's: a row
  // that fails here must not land with that status, and a waiting row holds no body.
  ex.response = null;
  ex.error = null;
  // The circuit's clock, like admit(): one clock for when it reopens and when the wait ends.
  const deadline = c.clock() + maxWaitMs;
  for (;;) {
    const admitted = c.admit();
    if (typeof admitted !== 'number') return admitted;
    const left = deadline - c.clock();
    if (left <= 0) {
      ex.error = new CircuitOpenError(origin, maxWaitMs);
      return null;
    }
    // Open: sleep until the probe may go. A probe out (0): wait for its outcome.
    const woke = admitted > 0 ? sleep(Math.min(admitted, left), ex.signal) : sleep(left, ex.signal, c.probeSettled());
    if (!(await woke)) {
      ex.error = new AbortedError();
      return null;
    }
  }
}

export const circuitBreaker: MiddlewareFactory<CircuitBreakerOptions> = (options, runtime) => {
  if (options.enabled === false) return (_ex, next) => next();
  const settings = {
    failure_ratio: options.failure_ratio ?? 0.5,
    min_requests: options.min_requests ?? 20,
    window_ms: options.window_ms ?? 30_000,
    open_ms: options.open_ms ?? 30_000,
  };
  const maxWait = options.max_wait_ms ?? 3 * settings.open_ms;
  const clock = options.clock ?? Date.now;
  const circuits = new Map<string, Circuit>();
  const log = runtime.logger;

  return async (ex, next) => {
    const origin = originOf(ex.request.url);
    let c = circuits.get(origin);
    if (!c) circuits.set(origin, (c = new Circuit(settings, clock)));
    let admitted = c.admit();
    if (typeof admitted === 'number') {
      const turn = await waitForTurn(c, ex, origin, maxWait);
      if (turn === null) return;
      admitted = turn;
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
