// timing: durations into ex.state.timing for later middleware, logs or user code.
//   attempts_ms  one entry per call of next(): per attempt when timing sits inside
//                (after) retry, one entry for the whole series when outside it
//   total_ms     first call's start to the last call's end (includes backoff)
//   ttfb_ms      time to response headers of the last attempt (from the transport)
//   transport_ms time to the last body byte of the last attempt (from the transport)
import type { MiddlewareFactory } from './types.js';

export interface TimingState {
  attempts_ms: number[];
  total_ms: number;
  ttfb_ms: number | null;
  transport_ms: number | null;
}

export const timing: MiddlewareFactory<Record<string, unknown>> = () => async (ex, next) => {
  const start = performance.now();
  let t = ex.state.timing as (TimingState & { first: number }) | undefined;
  if (!t) ex.state.timing = t = { attempts_ms: [], total_ms: 0, ttfb_ms: null, transport_ms: null, first: start };
  try {
    await next();
  } finally {
    const end = performance.now();
    t.attempts_ms.push(end - start);
    t.total_ms = end - t.first;
    t.ttfb_ms = ex.response?.ttfb_ms ?? null;
    t.transport_ms = ex.response?.duration_ms ?? null;
  }
};
