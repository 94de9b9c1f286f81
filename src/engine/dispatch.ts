// Spreads rows over N worker processes with backpressure: a worker holds at most
// `perWorker` unanswered rows, and `send` waits when every worker is full. A worker
// that filled up takes rows again only once a quarter of its rows are answered, so
// rows reach it in batches: one pipe write (and one wake-up of the worker) for many
// rows instead of one per answer (a 100k-row run: ~1,750 writes instead of ~2,800).
// It still holds at least 3/4 of `perWorker`, which is twice its concurrency, so it
// never runs short of rows while the source has more. A worker
// that dies has its unanswered rows re-sent (first) to a respawned worker; a row that
// keeps killing workers ends as a failed result instead of looping forever.
import { RunError } from '../errors.js';
import type { ResultHead } from '../worker/result.js';
import type { LogLevel } from './context.js';
import { formatWorkerLog } from './worker-log.js';
import { WorkerProcess } from './worker-process.js';
import { WORKER_EXIT_START_FAILED, WORKER_START_FAILED_PREFIX as START_FAILED_PREFIX } from '../worker/types.js';

export interface DispatcherOptions {
  workers: number;
  perWorker: number;
  script: string;
  jobPath: string;
  env?: NodeJS.ProcessEnv;
  unsetEnv?: readonly string[];
  onResult(line: Buffer, head: ResultHead): void;
  /** A row given up on after `maxRowDeaths` workers died holding it (the last ones holding it alone). */
  onAbandoned(requestId: string, line: string, message: string): void;
  log(level: LogLevel, message: string): void;
  /**
   * Scrubs the config's secrets from worker stderr (their logs, the reason one could not
   * start), with the driver's list: workers lack the OAuth2 ones the token service alone uses.
   */
  redact?: (text: string) => string;
  maxRowDeaths?: number;
  /** Deaths that end the run count within this window (default 60 s): a long run survives an occasional OOM kill. */
  restartWindowMs?: number;
  /**
   * How long workers get to stop after `drain` before they are killed: a worker that
   * does not answer (user middleware that ignores the abort, a stopped process) must
   * not hold up the stop. Default: never killed.
   */
  drainDeadlineMs?: number;
}

export class Dispatcher {
  private readonly live = new Set<WorkerProcess>();
  private readonly retry: Array<[string, string]> = [];
  private readonly deaths = new Map<string, number>();
  private nextId = 0;
  private slotWaiters: Array<() => void> = [];
  private doneWaiters: Array<() => void> = [];
  private ending = false;
  /** Set by drain: rows a worker leaves unanswered are dropped, not re-sent. */
  private draining = false;
  private drainTimer: NodeJS.Timeout | null = null;
  /** Set by killAll: workers exiting from then on are neither replaced nor reported. */
  private stopped = false;
  private failure: RunError | null = null;
  restarts = 0;
  /** When the restarts of the last window happened. */
  private recentRestarts: number[] = [];
  private readonly maxRestarts: number;
  /** Load at which a full worker takes rows again. */
  private readonly refillAt: number;

  constructor(private readonly opts: DispatcherOptions) {
    this.maxRestarts = Math.max(3, opts.workers * 3);
    this.refillAt = opts.perWorker - Math.max(1, Math.floor(opts.perWorker / 4));
    for (let i = 0; i < opts.workers; i++) this.spawn();
  }

  get inFlight(): number {
    let n = this.retry.length;
    for (const w of this.live) n += w.load;
    return n;
  }

  get workerPids(): number[] {
    return [...this.live].map((w) => w.pid).filter((p): p is number => p !== undefined);
  }

  private spawn(): WorkerProcess {
    const w = new WorkerProcess({
      id: this.nextId++,
      script: this.opts.script,
      jobPath: this.opts.jobPath,
      env: this.opts.env,
      unsetEnv: this.opts.unsetEnv,
      redact: this.opts.redact,
      onResult: (w, line, head) => {
        if (w.load === 0) w.isolating = false;
        this.opts.onResult(line, head);
        if (w.full && w.load <= this.refillAt) {
          w.full = false;
          this.wake();
        } else if (this.ending || w.load === 0) this.wake();
      },
      onExit: (w, code, signal) => this.workerExited(w, code, signal),
      onLog: (w, line) => {
        const { level, text } = formatWorkerLog(line);
        this.opts.log(level, `worker ${w.id}: ${text}`);
      },
    });
    this.live.add(w);
    return w;
  }

  /**
   * Hands one row to the least loaded worker if one has room now; false when all are
   * full (then await `room()` and try again). No promise and no await per row while
   * workers keep up, which is almost always.
   */
  trySend(requestId: string, line: string): boolean {
    if (this.failure) throw this.failure;
    if (this.draining) return false;
    this.drainRetry();
    const w = this.retry.length === 0 ? this.pick() : null;
    if (!w) return false;
    w.send(requestId, line);
    if (w.load >= this.opts.perWorker) w.full = true;
    return true;
  }

  /**
   * The run is stopping (Ctrl-C): no more rows go out, each worker drops the rows it has
   * not started and finishes (or, after a grace, aborts) those in flight. Rows that get
   * no result are not re-sent: they are simply not in the sink, so the next run sends
   * them. `finish()` then resolves once the workers are gone.
   */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.retry.length = 0;
    for (const w of this.live) w.kill('SIGUSR2');
    const deadline = this.opts.drainDeadlineMs;
    if (deadline !== undefined && this.live.size > 0) {
      this.drainTimer = setTimeout(() => {
        this.drainTimer = null;
        for (const w of this.live) {
          this.opts.log('warn', `worker ${w.id} (pid ${w.pid}) did not stop within ${Math.round(deadline / 1000)} s of the stop; killed it, its ${w.load} unanswered rows are sent again by the next run`);
          w.kill('SIGKILL');
        }
      }, deadline);
    }
    this.wake();
  }

  /** Resolves when a full worker has room again, an idle one could take a re-sent row, or a worker exits. */
  room(): Promise<void> {
    return new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  /**
   * Ends input to every worker and waits until every row sent has its result. The
   * workers may still be exiting then (a worker's exit waits ~0.1 s for V8 to finish
   * compiling undici's HTTP parser): `exited()` waits for that.
   */
  async finish(): Promise<void> {
    this.ending = true;
    for (;;) {
      if (this.failure) throw this.failure;
      this.drainRetry();
      // Workers are told "no more rows" only once no orphaned row still needs a home.
      if (this.retry.length === 0) {
        for (const w of this.live) w.end();
        if (this.inFlight === 0) return;
      }
      await new Promise<void>((resolve) => this.doneWaiters.push(resolve));
    }
  }

  /** Resolves once every worker process has exited (after `finish`, or `killAll`). */
  async exited(): Promise<void> {
    while (this.live.size > 0) await new Promise<void>((resolve) => this.doneWaiters.push(resolve));
  }

  /** Stops everything now (a second Ctrl-C, a fatal error): rows in flight get no result. */
  killAll(): void {
    this.stopped = true;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = null;
    for (const w of this.live) w.kill('SIGKILL');
    // Rows waiting for a home get none now (no worker is spawned after a stop): they stay
    // unsent for the next run, and finish() must not wait for them.
    this.retry.length = 0;
    this.wake();
  }

  private pick(): WorkerProcess | null {
    let best: WorkerProcess | null = null;
    for (const w of this.live) {
      if (!w.accepting || w.isolating || w.full) continue;
      if (!best || w.load < best.load) best = w;
    }
    return best;
  }

  /**
   * Re-sends orphaned rows, ahead of new ones. After a first death (an OOM kill, most
   * likely) they go like any row, in bulk: one at a time, 128 orphans of a 500 ms API
   * would hold up the run for half a minute. A row that was held by a second dying
   * worker goes alone to an idle worker, which gets nothing else until it answers: if
   * that worker dies too, the row itself is the cause, and the rows that merely shared
   * a dying worker with it are not blamed.
   */
  private drainRetry(): void {
    while (this.retry.length > 0) {
      const [id, line] = this.retry[0]!;
      let w: WorkerProcess | null = null;
      if ((this.deaths.get(id) ?? 0) >= 2) {
        for (const x of this.live) if (x.accepting && x.load === 0) w = x;
        if (w) w.isolating = true;
      } else w = this.pick();
      if (!w) return;
      this.retry.shift();
      w.send(id, line);
      if (w.load >= this.opts.perWorker) w.full = true;
    }
  }

  private wake(): void {
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const f of waiters) f();
    if (this.ending) {
      const done = this.doneWaiters;
      this.doneWaiters = [];
      for (const f of done) f();
    }
  }

  private workerExited(w: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.live.delete(w);
    if (this.live.size === 0 && this.drainTimer) {
      clearTimeout(this.drainTimer);
      this.drainTimer = null;
    }
    const orphaned = [...w.holding];
    w.holding.clear();
    const clean = code === 0 && orphaned.length === 0;
    if (this.draining) {
      if (orphaned.length > 0) this.opts.log('debug', `worker ${w.id} stopped with ${orphaned.length} rows not started or not finished; the next run sends them`);
    } else if (code === WORKER_EXIT_START_FAILED && !this.stopped) {
      // A broken middleware module or the like: another worker would fail the same way,
      // and its rows were never handled, so they stay unsent (a rerun sends them).
      const reason = w.recentLog.findLast((l) => l.includes(START_FAILED_PREFIX));
      const text = reason ? reason.slice(reason.indexOf(START_FAILED_PREFIX) + START_FAILED_PREFIX.length) : `exit code ${code}`;
      this.failure ??= new RunError('RESTLAKE_WORKER', `a worker could not start: ${text}`);
    } else if (!clean && !this.stopped) {
      const why = signal ? `signal ${signal}` : `exit code ${code}`;
      const last = w.recentLog.at(-1);
      const rows = orphaned.length > 0 ? `holding ${orphaned.length} unanswered rows, which go to another worker` : 'holding no rows';
      this.opts.log('warn', `worker ${w.id} (pid ${w.pid}) died (${why}), ${rows}${last ? ` — last log: ${last}` : ''}`);
      const limit = this.opts.maxRowDeaths ?? 3;
      for (const [id, line] of orphaned) {
        const n = (this.deaths.get(id) ?? 0) + 1;
        if (n >= limit) {
          this.deaths.delete(id);
          this.opts.onAbandoned(id, line, `worker processes died ${n} times while handling this row`);
        } else {
          this.deaths.set(id, n);
          this.retry.push([id, line]);
        }
      }
      const needed = !this.ending || this.retry.length > 0;
      if (needed) {
        const now = Date.now();
        const windowMs = this.opts.restartWindowMs ?? 60_000;
        this.recentRestarts = this.recentRestarts.filter((t) => now - t < windowMs);
        if (this.recentRestarts.length >= this.maxRestarts) {
          this.failure = new RunError(
            'RESTLAKE_WORKER',
            `worker processes keep dying (${this.recentRestarts.length} restarts in ${Math.round(windowMs / 1000)} s)${last ? `: ${last}` : ''}`,
          );
        } else {
          this.recentRestarts.push(now);
          this.restarts++;
          this.spawn();
          this.drainRetry();
        }
      }
    }
    this.wake();
    const done = this.doneWaiters;
    this.doneWaiters = [];
    for (const f of done) f();
  }
}
