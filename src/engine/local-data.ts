// The DuckDB side of a local run: the driver's database, the source as a stream of
// rows, and the sink. Its own module because loading it (DuckDB's native library, the
// Delta code) takes ~150 ms; local.ts imports it only after the workers are spawned,
// so a worker's own start (~200 ms: Node, undici, the middleware chain) overlaps it.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '../duckdb.js';
import { widenThreads } from '../duckdb-settings.js';
import { RunError } from '../errors.js';
import { inferSourceColumns, sinkSchema, type SourceColumn } from '../sink/schema.js';
import { Sink } from '../sink/sink.js';
import { checkTemplateColumns } from '../request/template-columns.js';
import { memoryRowStream, peekRows } from '../source/memory.js';
import { describe, registerSource } from '../source/relation.js';
import { countRows, openRowStream, type RowStream } from '../source/stream.js';
import type { EngineContext } from './context.js';

export interface RunData {
  sink: Sink;
  /** Rows to send: deduplicated, without the ids a resumed run already has. */
  stream: RowStream;
  /** Source rows (null for rows given in memory). */
  sourceRows: number | null;
  /** The connection commits run on (the stream keeps its own busy). */
  sinkConn: DuckDBConnection;
  /**
   * Gives DuckDB every core (up to 4), and the memory that takes, once every row has its
   * result: the last commit is then all that is left of the run. Resolves to its threads.
   */
  widenForLastCommit(): Promise<number>;
  close(): void;
}

const LAST_COMMIT_MAX_THREADS = 4;

const duckDbThreads = (): number => Math.max(1, Number.parseInt(process.env.RESTLAKE_DUCKDB_THREADS ?? '1', 10) || 1);

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
    threads: String(duckDbThreads()),
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

/** Opens the source and the sink; nothing is sent before both are known to be readable. */
export async function openRunData(ctx: EngineContext, runDir: string): Promise<RunData> {
  const { config, runId } = ctx;
  const duck = await openDuckDb(runDir);
  const srcConn = await duck.connect();
  const sinkConn = await duck.connect();
  const close = (): void => {
    srcConn.closeSync();
    sinkConn.closeSync();
    duck.closeSync();
  };
  try {
    await utc(srcConn);
    await utc(sinkConn);
    // DuckDB computes ~1 MB of a streamed result before handing out its first chunk:
    // with rows of ~100 bytes that is ~35 ms at the start of every run before the first
    // row reaches a worker (measured on the bench's 100k-row source). 64 KiB makes it
    // ~6 ms; reading the whole source takes the same time either way.
    await srcConn.run(`SET streaming_buffer_size = '64KiB'`);
    let columns: SourceColumn[];
    let sourceRows: number | null = null;
    let makeStream: (succeeded: string | null) => Promise<RowStream>;
    if (ctx.rows) {
      const { head, rest } = await peekRows(ctx.rows, 256);
      columns = inferSourceColumns(head, config.sink.source_columns);
      makeStream = async (succeeded) => memoryRowStream(srcConn, config, head, rest, succeeded, ctx.key);
    } else {
      if (!config.source) throw new RunError('RESTLAKE_SOURCE', 'the config has no source and no rows were given');
      const source = await registerSource(srcConn, config.source);
      const relation = source.relation;
      columns = await describe(srcConn, relation);
      checkTemplateColumns(config, columns.map((c) => c.name));
      // CSV and JSON were counted while their lines were checked.
      sourceRows = source.rows ?? (await countRows(srcConn, relation));
      makeStream = (succeeded) => openRowStream(srcConn, config, relation, columns, succeeded, sourceRows ?? undefined);
    }
    const sink = await Sink.open(config, sinkSchema(config, columns), runId, ctx.log);
    const succeeded = await sink.succeededIds(srcConn);
    const stream = await makeStream(succeeded);
    const widenForLastCommit = (): Promise<number> =>
      widenThreads(sinkConn, Math.min(LAST_COMMIT_MAX_THREADS, Math.max(duckDbThreads(), availableParallelism())));
    return { sink, stream, sourceRows, sinkConn, widenForLastCommit, close };
  } catch (e) {
    close();
    throw e;
  }
}
