// The onion. Middleware[0] is outermost; each gets `next`, which runs the rest of the
// chain down to the innermost handler (the transport call). `next` may be called more
// than once (retry does): every call runs the inner layers again from the request as
// the caller left it, so inner middleware (auth, headers) re-apply on every attempt.
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
