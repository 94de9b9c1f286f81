// Per-attempt deadlines with one timer for all of them. Every attempt of a transport
// has the same timeout, so deadlines fall due in the order attempts start: a FIFO
// list whose head is always the next one due. One timer is armed for the head; when
// it fires it expires every head that is due and re-arms for the next. An attempt
// that settles early just leaves the list (O(1)). A setTimeout per attempt (a Timeout
// object, a timer-list insert and a clearTimeout per row) cost ~3% of a worker's CPU
// with tiny replies (bench/README.md).

/** What the queue needs of an entry: its deadline, its links, and what to do when due. */
export interface Timed {
  deadline: number;
  prevDue: Timed | null;
  nextDue: Timed | null;
  /** Called once when the deadline passes and the entry is still queued (it is unlinked first). */
  expire(): void;
}

const MAX_DELAY_MS = 2 ** 31 - 1;

export class DeadlineQueue {
  private head: Timed | null = null;
  private tail: Timed | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  /** Queues `entry` due `timeoutMs` after `start` (a reading of the queue's clock the caller already took, or now). */
  add(entry: Timed, start: number = this.now()): void {
    entry.deadline = start + this.timeoutMs;
    entry.nextDue = null;
    entry.prevDue = this.tail;
    if (this.tail) this.tail.nextDue = entry;
    else this.head = entry;
    this.tail = entry;
    if (this.timer === null) this.arm();
  }

  /** Takes `entry` off the queue (settled before its deadline); harmless if it is not queued. */
  remove(entry: Timed): void {
    if (entry.prevDue) entry.prevDue.nextDue = entry.nextDue;
    else if (this.head === entry) this.head = entry.nextDue;
    else return;
    if (entry.nextDue) entry.nextDue.prevDue = entry.prevDue;
    else this.tail = entry.prevDue;
    entry.prevDue = null;
    entry.nextDue = null;
    // An empty queue holds no timer, so an idle worker can exit. A non-empty one keeps the
    // timer armed for an earlier head: it fires, finds nothing due and re-arms.
    if (this.head === null && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  get size(): number {
    let n = 0;
    for (let e = this.head; e !== null; e = e.nextDue) n++;
    return n;
  }

  private arm(): void {
    const head = this.head!;
    // +1: Node may fire a timer up to a millisecond early against performance.now().
    // Node fires a delay over 2^31-1 ms after 1 ms instead: such a timer is capped, and
    // on firing finds nothing due and re-arms.
    this.timer = setTimeout(() => this.fire(), Math.min(MAX_DELAY_MS, Math.max(0, head.deadline - this.now()) + 1));
  }

  private fire(): void {
    this.timer = null;
    const now = this.now();
    while (this.head !== null && this.head.deadline <= now) {
      const due = this.head;
      this.remove(due);
      due.expire();
    }
    if (this.head !== null && this.timer === null) this.arm();
  }
}
