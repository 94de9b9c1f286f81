// The embedded local engine: the driver reads the source with DuckDB, N worker
// processes send the requests, results are spooled to disk and committed to the
// Delta sink in micro-batches. Memory stays flat: DuckDB streams the source, each
// worker holds a bounded number of rows, and results go to disk, not to the heap.
import { rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstLine, RunError } from '../errors.js';
import { createRedactor } from '../middleware/redact.js';
import { parseRowJson } from '../request/row-json.js';
import { withCommitMemory } from '../sink/commit-memory.js';
import { createResultSerializer, failedResult } from '../worker/result.js';
import { drainGraceMs } from '../worker/types.js';
import type { EngineContext } from './context.js';
import { Dispatcher } from './dispatch.js';
import { buildJob, driverOnlyEnv, needsDriverServices } from './job.js';
import type { RunData } from './local-data.js';
import { createRunDir, removeStaleRunDirs } from './run-dir.js';
import { startServices, type RunningServices } from './services.js';
import { Spool } from './spool.js';
import { RunStats, type ProgressSnapshot } from './stats.js';
import type { RunOutcome, RunSummary } from './summary.js';

const WORKER_SCRIPT = fileURLToPath(new URL('../worker/main.js', import.meta.url));
/** After the workers' drain grace, how long a stopping run waits before it kills one that is still there. */
const DRAIN_KILL_MARGIN_MS = 5_000;

export function workerCount(config: EngineContext['config']): number {
  const w = config.execution.workers;
  return w === 'auto' ? Math.max(1, availableParallelism()) : Math.max(1, w);
}

export async function runLocal(ctx: EngineContext): Promise<RunSummary> {
  const { config, runId, log } = ctx;
  // Run directories of this user's runs that were killed (kill -9) hold credentials and
  // responses too: gone with their owner, they are removed here (run-dir.ts).
  for (const dir of await removeStaleRunDirs()) log('debug', `removed the run directory ${dir} of a run that is gone`);
  const runDir = await createRunDir();
  // The run directory holds the job (with the pipeline's basic/bearer credentials) and
  // spooled responses: a second Ctrl-C exits at once, past the finally below, so the
  // process's exit removes it too.
  const removeRunDir = (): void => rmSync(runDir, { recursive: true, force: true });
  process.once('exit', removeRunDir);
  await mkdir(join(runDir, 'spool'));
  let services: RunningServices | null = null;
  let dispatcher: Dispatcher | null = null;
  let data: RunData | null = null;
  try {
    const stats = new RunStats();
    let tableVersion: number | null = null;
    let committedRows = 0;
    let fatal: unknown = null;
    /** Set when a commit failed: the sink takes nothing more from this run. */
    let sinkFailed = false;
    let stopReading = false;
    // Set while a failed commit waits for its retry: no new row goes out meanwhile (rows in
    // flight still land in the spool), so a commit that fails for good wastes no more
    // requests than a crash would. A retry that succeeds lets sending go on.
    let commitFailing = false;
    let resumeFeeding: (() => void) | null = null;
    const wakeFeeder = (): void => {
      const f = resumeFeeding;
      resumeFeeding = null;
      f?.();
    };
    // A spool file that cannot be written (TMPDIR full, a file-size limit) ends the run:
    // the workers stop now (what they hold is sent again next run), and what made it to
    // disk is committed before the run fails.
    const spool = new Spool(join(runDir, 'spool'), (e) => {
      if (!fatal) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'EFBIG' ? ' (a file-size limit: ulimit -f)' : code === 'ENOSPC' || code === 'EDQUOT' ? ' (its disk is full: free space, or point TMPDIR at a larger disk)' : '';
        fatal = new RunError('RESTLAKE_SPOOL', `cannot write results to the spool directory ${spool.dir}: ${e.message}${why}`, { cause: e });
      }
      stopReading = true;
      dispatcher?.killAll();
      wakeFeeder();
    });
    const serialize = createResultSerializer(config);

    // Commits run one at a time, in order, on their own connection (the source stream
    // keeps its connection busy); results keep spooling meanwhile.
    let commitChain: Promise<void> = Promise.resolve();
    let commitQueued = false;
    const commit = (): Promise<void> => {
      if (commitQueued) return commitChain;
      commitQueued = true;
      commitChain = commitChain.then(async () => {
        commitQueued = false;
        // No sink yet means no row was sent yet: nothing to commit.
        if (sinkFailed || !data) return;
        const file = await spool.rotate();
        if (!file) {
          // Nothing to commit: still take in what other runs committed, so the send loop
          // skips their request_ids (a failed look only waits for the next one).
          if (!allSent) await data.sink.refresh(data.sinkConn).catch((e: unknown) => log('debug', `sink refresh: ${firstLine(e)}`));
          return;
        }
        try {
          const t0 = performance.now();
          const { sink, sinkConn } = data;
          const r = await withCommitMemory(sinkConn, file.longestLine, () =>
            sink.commit(sinkConn, file.paths, file.rows, file.longestLine, {
              onRetry: (e, attempt) => {
                if (!commitFailing) log('warn', `commit failed (${firstLine(e)}); sending no new rows until it is retried`);
                commitFailing = true;
                log('debug', `commit attempt ${attempt} failed`);
              },
            }),
          );
          tableVersion = r.version;
          committedRows += file.rows;
          log('debug', `committed ${file.rows} rows (table version ${r.version}) in ${Math.round(performance.now() - t0)} ms`);
          if (commitFailing) {
            commitFailing = false;
            log('info', 'the commit succeeded when retried; sending goes on');
            wakeFeeder();
          }
        } catch (e) {
          fatal ??= e;
          sinkFailed = true;
          stopReading = true;
          commitFailing = false;
          wakeFeeder();
        } finally {
          await Spool.remove(file);
        }
      });
      return commitChain;
    };

    // Set once every row is sent: the result that leaves nothing in flight is then the
    // run's last, and its commit is the last commit below, on more DuckDB threads.
    let allSent = false;
    const accept = (line: Buffer | string, success: boolean, errorClass: string | null, durationMs: number): void => {
      stats.record(success, errorClass, durationMs);
      spool.append(line);
      if (spool.rows >= config.execution.commit_rows && !(allSent && dispatcher?.inFlight === 0)) void commit();
    };

    const startWorkers = async (): Promise<Dispatcher> => {
      const jobPath = join(runDir, 'job.json');
      await writeFile(jobPath, JSON.stringify(buildJob(config, runId, services ? { url: services.url, secret: services.secret } : null)), { mode: 0o600 });
      return new Dispatcher({
        workers: workerCount(config),
        perWorker: Math.max(2, config.execution.concurrency * 2),
        script: WORKER_SCRIPT,
        jobPath,
        unsetEnv: driverOnlyEnv(config),
        // A stop (Ctrl-C) waits for workers as long as they wait for their requests, and
        // a little more: a worker that still does not exit is killed.
        drainDeadlineMs: drainGraceMs(config.transport.timeout_ms) + DRAIN_KILL_MARGIN_MS,
        onResult: (line, h) => accept(line, h.success, h.errorClass, h.durationMs),
        onAbandoned: (id, line, message) => {
          let row: Record<string, unknown> | undefined;
          try {
            row = parseRowJson(line) as Record<string, unknown>;
          } catch {
            row = undefined;
          }
          accept(serialize(failedResult(config, runId, id, 'internal', message, row)), false, 'internal', 0);
        },
        log: (level, message) => log(level, message),
        redact: createRedactor(config.secrets).text,
      });
    };

    // Workers start first when they need nothing from the driver's services: a worker's
    // own start (~200 ms) then overlaps loading DuckDB and opening the source and sink.
    // They send nothing until rows arrive, so a source or sink refused below costs no
    // request. Driver services come after those checks (the token service gets its first
    // token when it starts), and the workers after the services (the job names them).
    const servicesNeeded = needsDriverServices(config);
    if (!servicesNeeded) dispatcher = await startWorkers();
    data = await (await import('./local-data.js')).openRunData(ctx, runDir);
    const { stream, sourceRows, sink } = data;
    if (servicesNeeded) services = await startServices(config, runId, log);
    dispatcher ??= await startWorkers();

    let sent = 0;
    let streamed = 0;
    let skippedElsewhere = 0;
    let exhausted = false;
    const expected = stream.pending;
    const progress = (): ProgressSnapshot => ({
      rows: stats.rows,
      succeeded: stats.succeeded,
      failed: stats.failed,
      expected: exhausted ? sent : expected,
      in_flight: dispatcher ? dispatcher.inFlight : 0,
      committed_rows: committedRows,
      elapsed_ms: stats.elapsedMs(),
      rows_per_second: stats.rate(),
    });
    const commitTimer = setInterval(() => void commit(), config.execution.commit_interval_ms);
    const progressTimer = ctx.onProgress ? setInterval(() => ctx.onProgress?.(progress()), 500) : null;

    let outcome: RunOutcome = 'completed';
    const onAbort = (): void => {
      stopReading = true;
      outcome = 'interrupted';
      dispatcher?.drain();
      wakeFeeder();
    };
    if (ctx.signal?.aborted) onAbort();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });

    const budget = config.execution.max_requests;
    try {
      if (!stopReading && !(budget !== null && budget <= 0)) {
        outer: for await (const batch of stream.batches()) {
          streamed += batch.ids.length;
          for (let i = 0; i < batch.ids.length; i++) {
            if (stopReading) break outer;
            const id = batch.ids[i] as string;
            const line = batch.lines[i] as string;
            // Another run of this pipeline committed it since this run started (Sink.refresh).
            if (sink.committedElsewhere(id)) {
              skippedElsewhere++;
              continue;
            }
            for (;;) {
              while (commitFailing && !stopReading) await new Promise<void>((resolve) => (resumeFeeding = resolve));
              if (stopReading) break outer;
              if (dispatcher.trySend(id, line)) break;
              await dispatcher.room();
            }
            sent++;
            if (budget !== null && sent >= budget) {
              outcome = 'max_requests';
              break outer;
            }
          }
        }
        exhausted = outcome === 'completed' && !stopReading;
      } else if (budget !== null && budget <= 0) outcome = 'max_requests';
      allSent = true;
      await dispatcher.finish();
    } catch (e) {
      fatal ??= e;
    } finally {
      ctx.signal?.removeEventListener('abort', onAbort);
      clearInterval(commitTimer);
      if (progressTimer) clearInterval(progressTimer);
    }
    if (fatal) {
      dispatcher.killAll();
      await commitChain;
      // Results in hand are kept when the sink is fine (workers that keep dying, a source
      // that broke mid-read): they are committed before the run fails, not sent again.
      if (!sinkFailed) await commit();
      throw fatal;
    }
    // Every row has its result and the workers are on their way out: the last commit is
    // all that is left of the run, so DuckDB gets their cores (extract bench, a last
    // commit of 50k rows of 10 KB: ~1.4 → ~0.8 s), and their exit overlaps it.
    await commitChain;
    try {
      log('debug', `the last commit runs on ${await data.widenForLastCommit()} DuckDB threads`);
    } catch (e) {
      // Only a speed-up: the results still get committed, on the threads DuckDB has.
      log('debug', `the last commit keeps DuckDB's threads: ${firstLine(e)}`);
    }
    await commit();
    if (fatal) throw fatal;
    const replaceWithNothing = config.sink.mode === 'overwrite' && outcome === 'completed' && !stopReading;
    if (sink.commits === 0 && (!sink.exists || replaceWithNothing)) {
      // A run with nothing to send still leaves a (empty) table for readers and inspect;
      // in mode overwrite a completed run with no rows replaces the old table with it.
      const empty = join(runDir, 'spool', 'empty.ndjson');
      await writeFile(empty, '');
      tableVersion = (await sink.commit(data.sinkConn, [empty])).version;
    }
    // A worker's last log lines and its exit status are still reported.
    await dispatcher.exited();
    ctx.onProgress?.(progress());
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    log('debug', `driver: rss ${Math.round(mem.rss / 1048576)} MB, heap ${Math.round(mem.heapUsed / 1048576)} MB, external ${Math.round(mem.external / 1048576)} MB, cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`);
    if (outcome === 'completed' && stopReading) outcome = 'interrupted';
    return {
      run_id: runId,
      pipeline: config.name,
      engine: 'local',
      sink: config.sink.path,
      outcome,
      source_rows: sourceRows,
      skipped_succeeded: exhausted && sourceRows !== null ? Math.max(0, sourceRows - streamed - stream.duplicates) + skippedElsewhere : null,
      duplicates: stream.duplicates,
      rows: stats.rows,
      succeeded: stats.succeeded,
      failed: stats.failed,
      failures_by_class: { ...stats.failuresByClass },
      latency_ms: stats.latency.percentiles(),
      elapsed_ms: stats.elapsedMs(),
      rows_per_second: stats.rate(),
      commits: sink.commits,
      table_version: tableVersion,
      worker_restarts: dispatcher.restarts,
    };
  } finally {
    dispatcher?.killAll();
    if (services) await services.close().catch(() => {});
    data?.close();
    await rm(runDir, { recursive: true, force: true });
    process.off('exit', removeRunDir);
  }
}
