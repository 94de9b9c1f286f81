// A FIFO of callers waiting for their turn (a concurrency slot, a paced send), each
// able to give up when its signal aborts. Shared by the adaptive limiter and its pacer.

interface Waiter {
  resolve: (ok: boolean) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export class WaitQueue {
  private readonly waiters: Waiter[] = [];

  get length(): number {
    return this.waiters.length;
  }

  /** A promise of a turn: true when `next()` grants it, false if the signal aborts first. */
  wait(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const w: Waiter = {
        resolve,
        signal,
        onAbort: () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(false);
        },
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  /** Grants the turn of the longest waiting caller; false when nobody waits. */
  next(): boolean {
    const w = this.waiters.shift();
    if (!w) return false;
    w.signal.removeEventListener('abort', w.onAbort);
    w.resolve(true);
    return true;
  }
}
