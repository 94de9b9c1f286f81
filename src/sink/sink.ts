// The Delta sink of one run: resume ids, and commits of spooled result files.
import type { DuckDBConnection } from '@duckdb/node-api';
import { stat } from 'node:fs/promises';
import type { PipelineConfig } from '../config/types.js';
import { DEFAULT_ROW_GROUP_ROWS, DeltaTable, SchemaMismatchError, TableGoneError, type StructType } from '../delta/index.js';
import { quoteIdent } from '../delta/schema/duckdb-types.js';
import { firstLine, RunError } from '../errors.js';
import { maxResultLineBytes } from '../worker/result.js';
import { sinkSchema } from './schema.js';
import { spoolSelectSql } from './spool-sql.js';

export const SUCCEEDED_TABLE = 'restlake_succeeded';

// Parquet row groups of about this much result text: DuckDB's writer holds a row group
// in memory, and at its default row count a commit of result rows with response bodies
// costs the driver hundreds of MB (measured with 700-byte rows: row groups of 8,192 rows
// add ~100 MB to the driver's RSS during a commit, of 50,000 rows ~230 MB). Never more
// rows than DuckDB's default; the writer rounds up to whole 2,048-row vectors.
const ROW_GROUP_BYTES = 4 << 20;

function rowGroupRowsFor(bytes: number, rows: number): number {
  const perRow = Math.max(1, bytes / Math.max(1, rows));
  return Math.min(DEFAULT_ROW_GROUP_ROWS, Math.max(256, Math.floor(ROW_GROUP_BYTES / perRow)));
}

async function totalBytes(files: readonly string[]): Promise<number> {
  let n = 0;
  for (const f of files) n += (await stat(f)).size;
  return n;
}

/** Why a sink cannot take this pipeline's rows, worded alike for both engines. */
function sinkRefusal(config: PipelineConfig, e: unknown): RunError {
  if (e instanceof SchemaMismatchError) {
    return new RunError(
      'RESTLAKE_SINK',
      `sink ${config.sink.path} holds a Delta table with other columns than this pipeline writes (${e.problems.join('; ')}); write to a new sink.path, or remove that table first`,
      { cause: e },
    );
  }
  return new RunError('RESTLAKE_SINK', `cannot open sink ${config.sink.path}: ${firstLine(e)}`, { cause: e });
}

/**
 * The Spark engine's check of an existing sink table before any request, in mode
 * append (overwrite replaces the table, schema included). The types of the source
 * columns are known only once Spark reads the source, so each is taken as the table's
 * own here (delta-spark refuses a changed one at the first batch); every column name,
 * and the type of every other column, is checked now, as Sink.open does. A table this
 * process cannot read (Spark may hold object-store credentials that restlake does not)
 * is left to Spark: only a table known to differ is refused.
 */
export async function checkAppendBeforeSpark(config: PipelineConfig): Promise<void> {
  if (config.sink.mode !== 'append') return;
  try {
    const table = await DeltaTable.forPath(config.sink.path);
    const snap = await table.latestSnapshot();
    if (!snap) return;
    const existing = new Map(snap.schema.fields.map((f) => [f.name.toLowerCase(), f.type]));
    const fromSource = new Set(config.sink.source_columns.map((c) => c.toLowerCase()));
    const planned = sinkSchema(config, config.sink.source_columns.map((name) => ({ name, duckType: 'VARCHAR' })));
    const fields = planned.fields.map((f) => {
      const type = fromSource.has(f.name.toLowerCase()) ? existing.get(f.name.toLowerCase()) : undefined;
      return type === undefined ? f : { ...f, type };
    });
    await table.checkWrite({ schema: { ...planned, fields }, mode: 'append' });
  } catch (e) {
    if (e instanceof SchemaMismatchError) throw sinkRefusal(config, e);
  }
}

export interface CommitResult {
  version: number;
  rows: number;
}

export class Sink {
  private committed = 0;
  /** The version this run's last commit made. */
  private lastVersion = 0;

  private constructor(
    readonly table: DeltaTable,
    private readonly config: PipelineConfig,
    readonly schema: StructType,
    private readonly existed: boolean,
    private readonly runId: string,
  ) {}

  static async open(config: PipelineConfig, schema: StructType, runId: string): Promise<Sink> {
    // A file where the table directory should be: every request would be sent, and then
    // the first commit would fail with all of them (EEXIST).
    const isFile = await stat(config.sink.path).then((s) => !s.isDirectory(), () => false);
    if (isFile) throw new RunError('RESTLAKE_SINK', `cannot open sink ${config.sink.path}: it is a file, not a Delta table directory`);
    try {
      const table = await DeltaTable.forPath(config.sink.path);
      // Every commit must fit the table: in append mode a table of another schema (an
      // extract column added, a source column's type changed) is refused now, before a
      // single request is sent. Mode overwrite replaces the table, schema included (as
      // the Spark engine's overwrite does).
      const snap = await table.checkWrite({ schema, mode: config.sink.mode, overwriteSchema: config.sink.mode === 'overwrite' });
      return new Sink(table, config, schema, snap !== null, runId);
    } catch (e) {
      throw sinkRefusal(config, e);
    }
  }

  /** Whether the table existed when the run started. */
  get exists(): boolean {
    return this.existed;
  }

  /**
   * Materialises the request_ids that already succeeded as the temp table
   * `restlake_succeeded` (resume); null when there is nothing to skip.
   */
  async succeededIds(conn: DuckDBConnection): Promise<string | null> {
    if (!this.existed || !this.config.execution.resume || this.config.sink.mode === 'overwrite') return null;
    try {
      await this.table.registerScan(conn, 'restlake_sink');
      await conn.run(
        `CREATE OR REPLACE TEMP TABLE ${SUCCEEDED_TABLE} AS SELECT DISTINCT request_id FROM ${quoteIdent('restlake_sink')} WHERE success`,
      );
    } catch (e) {
      throw new RunError('RESTLAKE_SINK', `cannot read sink ${this.config.sink.path} for resume: ${firstLine(e)}`, { cause: e });
    }
    return SUCCEEDED_TABLE;
  }

  /**
   * Commits spooled result files as one Delta transaction. With mode overwrite the
   * first commit of the run replaces the table; every later one appends. `longestLine`
   * (bytes), when the caller knows it, bounds the JSON reader's object size below the
   * configured worst case: the reader allocates twice that as its buffer (42 MB with the
   * default max_response_bytes, 32 MB at DuckDB's floor of 16 MB).
   */
  async commit(conn: DuckDBConnection, files: readonly string[], rows?: number, longestLine?: number): Promise<CommitResult> {
    const mode = this.committed === 0 && this.config.sink.mode === 'overwrite' ? 'overwrite' : 'append';
    const maxLine = maxResultLineBytes(this.config);
    const selectSql = spoolSelectSql(this.schema, files, longestLine === undefined ? maxLine : Math.min(maxLine, longestLine));
    const rowGroupRows = rows ? rowGroupRowsFor(await totalBytes(files), rows) : undefined;
    let lastError: unknown;
    // Object stores hiccup; a commit is retried a few times before the run gives up. The
    // Delta txn action (this run, this commit's sequence number) makes a retry of a commit
    // that did land a no-op, so a retry can never write the same results twice. A
    // DELTA_CONCURRENT_CONFLICT (another writer changed the table under our overwrite) is
    // retried the same way: each write plans against the then-latest table, as a re-run would;
    // after the last attempt the run fails naming the conflicting commit.
    const txn = { appId: `restlake-${this.runId}`, version: this.committed };
    // The table this run writes to must still be there: deleted mid-run (or replaced by an
    // older copy), a write would quietly start a new table, and the run's summary would
    // count rows the table no longer holds. The write checks it against the log it reads anyway.
    const minVersion = this.committed > 0 ? this.lastVersion : this.existed && mode === 'append' ? 0 : undefined;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const r = await this.table.write(conn, { selectSql, schema: this.schema, mode, overwriteSchema: mode === 'overwrite', txn, rowGroupRows, minVersion });
        this.committed++;
        this.lastVersion = r.version;
        return { version: r.version, rows: r.rows };
      } catch (e) {
        if (e instanceof TableGoneError) {
          throw new RunError(
            'RESTLAKE_SINK',
            `sink ${this.config.sink.path} ${e.latest === null ? 'is gone' : `went back to version ${e.latest}`} since this run ${this.committed > 0 ? `committed version ${minVersion}` : 'started'}; not writing a new table in its place`,
            { cause: e },
          );
        }
        lastError = e;
        if (attempt < 3) await new Promise((res) => setTimeout(res, 200 * attempt * attempt));
      }
    }
    throw new RunError('RESTLAKE_SINK', `cannot commit to sink ${this.config.sink.path}: ${firstLine(lastError)}`, { cause: lastError });
  }

  get commits(): number {
    return this.committed;
  }
}
