// A wait that ends early when the exchange's signal aborts (the worker is stopping),
// or when something it waits for happens first (`until`). Also the token service's
// wait between grant attempts (src/auth). No imports: workers load this file, and
// config's schema would bring zod into their start.

/** The longest a Node timer waits (2^31-1 ms, ~24.8 days); beyond it Node fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A delay a timer can hold. Node fires a timer set beyond MAX_TIMER_MS after 1 ms (with a
 * TimeoutOverflowWarning), so an unclamped long delay becomes a busy loop.
 */
export function timerMs(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}

/**
 * Resolves true after `ms` or as soon as `until` settles, or false as soon as `signal`
 * aborts. The timer and the abort listener go as soon as it resolves, whichever way.
 * `ms` is held to what a timer can wait (timerMs).
 */
export function sleep(ms: number, signal?: AbortSignal, until?: Promise<unknown>): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const end = (ok: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => end(false);
    const timer = setTimeout(() => end(true), timerMs(ms));
    signal?.addEventListener('abort', onAbort, { once: true });
    until?.then(
      () => end(true),
      () => end(true),
    );
  });
}
