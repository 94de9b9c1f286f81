// Runs `spark-submit` (client mode) on the driver script and turns its output into
// typed events. spark-submit merges the Python script's stdout and stderr, and log4j
// writes to stderr: lines prefixed `RESTLAKE_EVENT ` are ours, the rest is kept as a
// bounded tail for error messages.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export type DriverEvent =
  | { event: 'started'; spark_version: string; app_id: string; parallelism: number }
  | { event: 'question'; file: string }
  | { event: 'pending'; rows: number; batches: number; source_rows: number; duplicates: number; skipped_succeeded: number | null }
  | { event: 'batch_start'; index: number; rows: number }
  | { event: 'tasks'; group: string; done: number; total: number }
  | { event: 'batch'; index: number; rows: number; ok: number; failed: number; failuresByClass: Record<string, number> }
  | {
      event: 'done';
      rows: number;
      ok: number;
      failed: number;
      failuresByClass: Record<string, number>;
      commits: number;
      latency_ms: { p50: number; p95: number; p99: number; max: number };
      table_version: number | null;
    }
  | { event: 'error'; message: string; kind: 'spark' | 'config'; trace?: string };

export interface SubmitOptions {
  sparkSubmit: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onEvent(e: DriverEvent): void | Promise<void>;
  /** How many non-event lines to keep for error messages. */
  tailLines?: number;
}

export interface SubmitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last non-event output lines (Spark's log, Python tracebacks). */
  tail: string[];
}

const PREFIX = 'RESTLAKE_EVENT ';

export function runSparkSubmit(opts: SubmitOptions): Promise<SubmitResult> {
  const keep = opts.tailLines ?? 200;
  const tail: string[] = [];
  const remember = (line: string): void => {
    tail.push(line);
    if (tail.length > keep) tail.shift();
  };

  return new Promise((resolve, reject) => {
    // Its own process group, so an abort stops spark-submit's JVM and the Python child together.
    const child = spawn(opts.sparkSubmit, opts.args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let chain: Promise<void> = Promise.resolve();
    let handlerError: unknown = null;
    // RESTLAKE_SPARK_DEBUG=1 shows spark-submit's whole output (Spark's log and our events).
    const echo = opts.env.RESTLAKE_SPARK_DEBUG === '1';
    const onLine = (line: string): void => {
      if (echo) process.stderr.write(`[spark] ${line}\n`);
      const i = line.indexOf(PREFIX);
      if (i < 0) return remember(line);
      let e: DriverEvent;
      try {
        e = JSON.parse(line.slice(i + PREFIX.length)) as DriverEvent;
      } catch {
        return remember(line);
      }
      // Events are handled one at a time, in order (a question must be answered before the next).
      chain = chain.then(() => opts.onEvent(e)).catch((err: unknown) => {
        handlerError ??= err;
        kill('SIGTERM');
      });
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);

    let killTimer: NodeJS.Timeout | null = null;
    const kill = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined || child.exitCode !== null) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
      if (sig === 'SIGTERM' && !killTimer) killTimer = setTimeout(() => kill('SIGKILL'), 15_000).unref();
    };
    const onAbort = (): void => kill('SIGTERM');
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      void chain.then(() => {
        if (handlerError) reject(handlerError);
        else resolve({ code, signal, tail });
      });
    });
  });
}
