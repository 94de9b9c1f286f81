// A bounded in-flight pool: at most `concurrency` tasks run at once and at most
// `queueLimit` more wait. The producer asks `hasRoom` before offering more work and
// waits for `room()` when full — that is what turns into backpressure on stdin.
export class BoundedPool<T> {
  private readonly queue: T[] = [];
  private head = 0;
  private running = 0;
  private roomWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly queueLimit: number,
    private readonly handler: (item: T) => Promise<void>,
  ) {
    if (!(concurrency >= 1)) throw new RangeError('concurrency must be at least 1');
  }

  get size(): number {
    return this.running + this.queue.length - this.head;
  }

  get hasRoom(): boolean {
    return this.queue.length - this.head < this.queueLimit || this.running < this.concurrency;
  }

  /** Adds one item; callers must respect `hasRoom` (the pool never drops work). */
  offer(item: T): void {
    if (this.running < this.concurrency) this.start(item);
    else this.queue.push(item);
  }

  /** Forgets every waiting item (none is started); returns how many there were. */
  dropQueued(): number {
    const dropped = this.queue.length - this.head;
    this.queue.length = 0;
    this.head = 0;
    if (this.size === 0) this.settleIdle();
    return dropped;
  }

  /** Resolves when there is room for at least one more item. */
  room(): Promise<void> {
    if (this.hasRoom) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private start(item: T): void {
    this.running++;
    // The handler must not throw; a rejection here would be a bug, so it still frees the slot.
    this.handler(item).then(
      () => this.done(),
      () => this.done(),
    );
  }

  private done(): void {
    this.running--;
    if (this.head < this.queue.length) {
      const next = this.queue[this.head] as T;
      this.queue[this.head++] = undefined as T;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.start(next);
    }
    if (this.roomWaiters.length > 0 && this.hasRoom) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const w of waiters) w();
    }
    if (this.size === 0) this.settleIdle();
  }

  private settleIdle(): void {
    if (this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
