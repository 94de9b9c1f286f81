// The onion. Middleware[0] is outermost; each gets `next`, which runs the rest of the
// chain down to the innermost handler (the transport call). `next` may be called more
// than once (retry does), and then the inner layers run again: auth and headers
// re-apply on every attempt. The caller puts the request back as it wants the next
// call to start from it (retry restores the request it was given before each attempt,
// so changes of inner layers do not pile up); `next` itself copies nothing, keeping
// the per-call cost to one small closure per layer.
import type { Exchange, Middleware } from './types.js';

export type Handler = (ex: Exchange) => Promise<void>;

/**
 * The chain as one handler, built once per worker: the per-call cost is one small
 * `next` closure per layer, nothing else.
 */
export function composeHandler(middleware: readonly Middleware[], inner: Handler): Handler {
  let handler = inner;
  for (let i = middleware.length - 1; i >= 0; i--) {
    const mw = middleware[i];
    const rest = handler;
    handler = (ex) => mw(ex, () => rest(ex));
  }
  return handler;
}

/** Several middleware as one (for user modules that bundle behaviours). */
export function compose(middleware: readonly Middleware[]): Middleware {
  if (middleware.length === 1) return middleware[0];
  return (ex, next) => {
    const run = (i: number): Promise<void> => (i === middleware.length ? next() : middleware[i](ex, () => run(i + 1)));
    return run(0);
  };
}
