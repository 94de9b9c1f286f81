// The embedded local engine: the driver reads the source with DuckDB, N worker
// processes send the requests, results are spooled to disk and committed to the
// Delta sink in micro-batches. Memory stays flat: DuckDB streams the source, each
// worker holds a bounded number of rows, and results go to disk, not to the heap.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { RunError } from '../errors.js';
import { inferSourceColumns, sinkSchema, type SourceColumn } from '../sink/schema.js';
import { Sink } from '../sink/sink.js';
import { describe, registerSource } from '../source/relation.js';
import { memoryRowStream, peekRows } from '../source/memory.js';
import { countRows, openRowStream, type RowStream } from '../source/stream.js';
import { createResultSerializer, failedResult } from '../worker/result.js';
import type { EngineContext } from './context.js';
import { Dispatcher } from './dispatch.js';
import { buildJob, needsDriverServices } from './job.js';
import { startServices, type RunningServices } from './services.js';
import { Spool } from './spool.js';
import { RunStats, type ProgressSnapshot } from './stats.js';
import type { RunOutcome, RunSummary } from './summary.js';

const WORKER_SCRIPT = fileURLToPath(new URL('../worker/main.js', import.meta.url));

export function workerCount(config: EngineContext['config']): number {
  const w = config.execution.workers;
  return w === 'auto' ? Math.max(1, availableParallelism()) : Math.max(1, w);
}

async function openDuckDb(runDir: string): Promise<DuckDBInstance> {
  // A memory cap with a spill directory keeps the driver's footprint independent of
  // the source size (dedupe and resume joins spill instead of growing). One thread:
  // the cores belong to the workers, and every DuckDB thread adds its own buffers to
  // a commit (measured: a 50,000-row commit peaks ~90 MB higher with two threads). One
  // thread still commits results far faster than workers produce them. DuckDB's
  // external file cache stays off: every file the driver reads is local (remote sources
  // and Delta files are downloaded first), so the OS page cache already holds what the
  // count, dedupe and stream passes read again, and the in-process copy cost ~100 MB of
  // driver RSS over a 10M-row source (40 MB of Parquet) for no measurable speed.
  return DuckDBInstance.create(':memory:', {
    memory_limit: process.env.RESTLAKE_DUCKDB_MEMORY ?? '128MB',
    temp_directory: join(runDir, 'duckdb-tmp'),
    threads: process.env.RESTLAKE_DUCKDB_THREADS ?? '1',
    enable_external_file_cache: 'false',
  });
}

async function utc(conn: DuckDBConnection): Promise<void> {
  try {
    await conn.run(`SET TimeZone = 'UTC'`);
  } catch {
    // Without ICU DuckDB is UTC already.
  }
}

export async function runLocal(ctx: EngineContext): Promise<RunSummary> {
  const { config, runId, log } = ctx;
  const runDir = await mkdtemp(join(tmpdir(), 'restlake-run-'));
  await mkdir(join(runDir, 'spool'));
  const duck = await openDuckDb(runDir);
  const srcConn = await duck.connect();
  const sinkConn = await duck.connect();
  await utc(srcConn);
  await utc(sinkConn);
  let services: RunningServices | null = null;
  let dispatcher: Dispatcher | null = null;
  try {
    // Source and schema: nothing is sent before both are known to be readable.
    let columns: SourceColumn[];
    let sourceRows: number | null = null;
    let makeStream: (succeeded: string | null) => Promise<RowStream>;
    if (ctx.rows) {
      const { head, rest } = await peekRows(ctx.rows, 256);
      columns = inferSourceColumns(head, config.sink.source_columns);
      makeStream = async (succeeded) => memoryRowStream(srcConn, config, head, rest, succeeded, ctx.key);
    } else {
      if (!config.source) throw new RunError('RESTLAKE_SOURCE', 'the config has no source and no rows were given');
      const relation = await registerSource(srcConn, config.source);
      columns = await describe(srcConn, relation);
      sourceRows = await countRows(srcConn, relation);
      makeStream = (succeeded) => openRowStream(srcConn, config, relation, columns, succeeded);
    }
    const schema = sinkSchema(config, columns);
    const sink = await Sink.open(config, schema, runId);
    const succeeded = await sink.succeededIds(srcConn);
    const alreadyDone = succeeded ? await countRows(srcConn, succeeded) : 0;
    const stream = await makeStream(succeeded);

    if (needsDriverServices(config)) services = await startServices(config, runId, log);
    const jobPath = join(runDir, 'job.json');
    await writeFile(jobPath, JSON.stringify(buildJob(config, runId, services ? { url: services.url, secret: services.secret } : null)), { mode: 0o600 });

    const stats = new RunStats();
    const spool = new Spool(join(runDir, 'spool'));
    const serialize = createResultSerializer(config);
    let tableVersion: number | null = null;
    let committedRows = 0;
    let fatal: unknown = null;
    let stopReading = false;

    // Commits run one at a time, in order, on their own connection (the source stream
    // keeps its connection busy); results keep spooling meanwhile.
    let commitChain: Promise<void> = Promise.resolve();
    let commitQueued = false;
    const commit = (): Promise<void> => {
      if (commitQueued) return commitChain;
      commitQueued = true;
      commitChain = commitChain.then(async () => {
        commitQueued = false;
        if (fatal) return;
        const file = await spool.rotate();
        if (!file) return;
        try {
          const t0 = performance.now();
          const r = await sink.commit(sinkConn, [file.path], file.rows);
          tableVersion = r.version;
          committedRows += file.rows;
          log('debug', `committed ${file.rows} rows (table version ${r.version}) in ${Math.round(performance.now() - t0)} ms`);
        } catch (e) {
          fatal = e;
          stopReading = true;
        } finally {
          await Spool.remove(file);
        }
      });
      return commitChain;
    };

    const accept = (line: Buffer | string, success: boolean, errorClass: string | null, durationMs: number): void => {
      stats.record(success, errorClass, durationMs);
      spool.append(line);
      if (spool.rows >= config.execution.commit_rows) void commit();
    };

    const workers = workerCount(config);
    dispatcher = new Dispatcher({
      workers,
      perWorker: Math.max(2, config.execution.concurrency * 2),
      script: WORKER_SCRIPT,
      jobPath,
      onResult: (line, h) => accept(line, h.success, h.errorClass, h.durationMs),
      onAbandoned: (id, line, message) => {
        let row: Record<string, unknown> | undefined;
        try {
          row = JSON.parse(line) as Record<string, unknown>;
        } catch {
          row = undefined;
        }
        accept(serialize(failedResult(config, runId, id, 'internal', message, row)), false, 'internal', 0);
      },
      log: (level, message) => log(level, message),
    });

    let sent = 0;
    let streamed = 0;
    let exhausted = false;
    const expected = sourceRows !== null ? Math.max(0, sourceRows - alreadyDone) : null;
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
            await dispatcher.send(batch.ids[i] as string, batch.lines[i] as string);
            sent++;
            if (budget !== null && sent >= budget) {
              outcome = 'max_requests';
              break outer;
            }
          }
        }
        exhausted = outcome === 'completed' && !stopReading;
      } else if (budget !== null && budget <= 0) outcome = 'max_requests';
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
      throw fatal;
    }
    await commit();
    if (fatal) throw fatal;
    if (sink.commits === 0 && !sink.exists) {
      // A run with nothing to send still leaves a (empty) table for readers and inspect.
      const empty = join(runDir, 'spool', 'empty.ndjson');
      await writeFile(empty, '');
      tableVersion = (await sink.commit(sinkConn, [empty])).version;
    }
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
      skipped_succeeded: exhausted && sourceRows !== null ? Math.max(0, sourceRows - streamed - stream.duplicates) : null,
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
    srcConn.closeSync();
    sinkConn.closeSync();
    duck.closeSync();
    await rm(runDir, { recursive: true, force: true });
  }
}
