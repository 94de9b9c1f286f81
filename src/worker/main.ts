#!/usr/bin/env node
// The worker entrypoint, the same under both engines:
//   node dist/worker/main.js job.json        (or RESTLAKE_JOB=job.json)
// Rows arrive as JSON lines on stdin; exactly one result JSON line per row leaves on
// stdout; logs go to stderr. Under Spark this runs inside SELECT TRANSFORM ... USING.
import { createWriteStream, fstatSync, readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { nodeTooOld } from '../node-version.js';
import { createRedactor } from '../middleware/redact.js';
import { serveLines } from './serve.js';
import { createWorkerRuntime } from './runtime.js';
import { drainGraceMs, WORKER_EXIT_START_FAILED, WORKER_START_FAILED_PREFIX, type WorkerJob } from './types.js';

function readJob(): WorkerJob {
  const path = process.argv[2] ?? process.env.RESTLAKE_JOB;
  if (!path) throw new Error('usage: restlake-worker <job.json> (or set RESTLAKE_JOB)');
  const job = JSON.parse(readFileSync(path, 'utf8')) as WorkerJob;
  if (job?.version !== 1 || !job.config) throw new Error(`${path} is not a restlake worker job`);
  return job;
}

/**
 * Where result lines go. Node writes to a stdout pipe synchronously on Linux, so a
 * driver busy for a moment (a commit) would freeze this whole event loop, and every
 * request in flight with it. Writing through an fs stream moves the blocking write to
 * libuv's thread pool; backpressure still reaches serveLines through write()/'drain'.
 */
function resultOutput(): Writable {
  try {
    if (fstatSync(1).isFIFO()) return createWriteStream('', { fd: 1, autoClose: false, highWaterMark: 1 << 20 });
  } catch {
    // fall through to process.stdout
  }
  return process.stdout;
}

async function main(): Promise<number> {
  // Under Spark this runs on the executors' Node, which the CLI never saw.
  const tooOld = nodeTooOld(process.versions.node);
  if (tooOld) {
    process.stderr.write(`${WORKER_START_FAILED_PREFIX}${tooOld}\n`);
    return WORKER_EXIT_START_FAILED;
  }
  let job: WorkerJob;
  try {
    job = readJob();
  } catch (e) {
    process.stderr.write(`restlake worker: ${(e as Error).message}\n`);
    return 2;
  }
  // The driver owns shutdown: it closes stdin and we finish what we hold, or (Ctrl-C)
  // sends SIGUSR2: rows not started are dropped, and what is in flight gets until the
  // transport timeout (at most 30 s) before it is aborted, so a stop takes bounded time
  // even with retries and backoff pending.
  const drain = new AbortController();
  let runtimeToAbort: { abort(): void } | null = null;
  if (process.env.RESTLAKE_WORKER_MANAGED === '1') {
    process.on('SIGINT', () => {});
    process.on('SIGTERM', () => {});
    process.on('SIGUSR2', () => {
      if (drain.signal.aborted) return;
      drain.abort();
      setTimeout(() => runtimeToAbort?.abort(), drainGraceMs(job.config.transport.timeout_ms)).unref();
    });
    // A driver that died (kill -9) cannot take a result any more, and closing our stdin
    // only asks us to finish what we hold, which a request that never settles never
    // does: we go when our parent does, instead of sending on as an orphan.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) process.exit(0);
    }, 1000).unref();
  }
  const output = resultOutput();
  // A driver that went away closes our stdout; nothing more can be delivered.
  output.on('error', () => process.exit(0));
  let runtime: Awaited<ReturnType<typeof createWorkerRuntime>>;
  try {
    runtime = await createWorkerRuntime(job);
  } catch (e) {
    // One line the driver shows as the reason the run stopped; the stack only on request.
    // Redacted: user code that failed (a middleware factory, a module's top level) may
    // quote a secret it was given or read.
    const why = e instanceof Error ? (process.env.RESTLAKE_DEBUG === '1' ? (e.stack ?? e.message) : e.message) : String(e);
    const text = createRedactor(job.config.secrets).text(why);
    process.stderr.write(`${WORKER_START_FAILED_PREFIX}${text.replace(/\n(?!\s+at )/g, ' ')}\n`);
    return WORKER_EXIT_START_FAILED;
  }
  runtimeToAbort = runtime;
  const concurrency = Math.max(1, job.config.execution.concurrency);
  try {
    await serveLines({ input: process.stdin, output, handle: (l) => runtime.handleLine(l), concurrency, drain: drain.signal });
    await new Promise<void>((resolve) => output.end(resolve));
  } finally {
    await runtime.close();
  }
  if (process.env.RESTLAKE_DEBUG === '1') {
    const m = process.memoryUsage();
    const cpu = process.cpuUsage();
    process.stderr.write(
      `restlake worker ${process.pid}: rss ${Math.round(m.rss / 1048576)} MB, heap ${Math.round(m.heapUsed / 1048576)}/${Math.round(m.heapTotal / 1048576)} MB, cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s\n`,
    );
  }
  return 0;
}

// Every result is written and flushed once main() settles (stderr is a pipe or a file,
// written synchronously), so the worker exits then: a timer or socket that user
// middleware left open must not keep it, and with it the whole run or Spark task, alive.
main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`restlake worker failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
