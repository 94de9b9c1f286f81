// A wait that ends early when the exchange's signal aborts (the worker is stopping),
// or when something it waits for happens first (`until`).

/**
 * Resolves true after `ms` or as soon as `until` settles, or false as soon as `signal`
 * aborts. The timer and the abort listener go as soon as it resolves, whichever way.
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
    const timer = setTimeout(() => end(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    until?.then(
      () => end(true),
      () => end(true),
    );
  });
}
