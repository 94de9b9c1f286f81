// The Delta sink of one run: resume ids, and commits of spooled result files.
import type { DuckDBConnection } from '@duckdb/node-api';
import { stat } from 'node:fs/promises';
import type { PipelineConfig } from '../config/types.js';
import { DeltaError, DeltaTable, SchemaMismatchError, TableGoneError, type Action, type AddFile, type Snapshot, type StructType, type WriteObserver } from '../delta/index.js';
import { dvUniqueId } from '../delta/log/actions.js';
import { fileKey } from '../delta/log/snapshot.js';
import { quoteIdent, quoteLiteral } from '../delta/schema/duckdb-types.js';
import type { LogLevel } from '../engine/context.js';
import { firstLine, RunError } from '../errors.js';
import { maxResultLineBytes } from '../worker/result.js';
import { rowGroupRowsFor } from './commit-memory.js';
import { sinkSchema } from './schema.js';
import { spoolSelectSql } from './spool-sql.js';

export const SUCCEEDED_TABLE = 'restlake_succeeded';

/** error_class of a result another run committed a success row for first (see commit). */
export const DUPLICATE_CLASS = 'duplicate';

/** Request_ids another run committed as successes during this run (on the sink connection). */
const OTHERS_TABLE = 'restlake_other_successes';

/** Ids other runs committed that the send loop remembers to skip; past this many it stops remembering. */
const SKIP_MEMORY_IDS = 250_000;

/** Lost races against a commit holding some of this commit's successes, before the run gives up. */
const MAX_DUPLICATE_RACES = 20;

/** A commit another writer made first holds success rows for request_ids this commit has as successes too. */
class ConcurrentSuccessError extends Error {
  constructor(readonly version: number) {
    super(`version ${version}, committed first by another writer, holds success rows for request_ids this commit has`);
  }
}

function keyOf(a: AddFile): string {
  return fileKey(a.path, dvUniqueId(a.deletionVector));
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

export type SinkLog = (level: LogLevel, message: string) => void;
const LASTING_ERRNO = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'EFBIG']);
const LASTING_TEXT = /out of memory error|permission denied|read-only file system|no space left on device|disk quota exceeded|file too large|\(HTTP 403\)/i;
const LASTING_DELTA = new Set(['DELTA_SCHEMA_MISMATCH', 'DELTA_NOT_NULL_VIOLATION', 'DELTA_UNSUPPORTED_FEATURE', 'DELTA_INVALID_ARGUMENT', 'DELTA_VERSION_NOT_FOUND', 'DELTA_TABLE_GONE']);

/**
 * Whether a commit that failed with `e` would fail the same way if tried again at once:
 * no permission, a read-only or full file system, a quota or file-size limit (from
 * Node, or in DuckDB's words), S3 access denied, a table that no longer takes these
 * rows, DuckDB out of memory (a commit runs alone, with the same limit, on the same
 * rows). Retrying those only holds up the run's end.
 */
export function lastingCommitError(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    if (x instanceof SchemaMismatchError || x instanceof TableGoneError) return true;
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string' && (LASTING_ERRNO.has(code) || (x instanceof DeltaError && LASTING_DELTA.has(code)))) return true;
    if (x instanceof Error && LASTING_TEXT.test(x.message)) return true;
  }
  return false;
}

export interface CommitHooks {
  /** A commit attempt failed and will be tried again (after a pause): the caller may hold off new work meanwhile. */
  onRetry?(error: unknown, attempt: number): void;
}

export class Sink {
  private committed = 0;
  /** The version this run's last commit made. */
  private lastVersion = 0;
  /**
   * Concurrent writers: the table as this run last looked at it (version, and the keys of its
   * live files). Files live now that were not then were added by someone else since (or by this
   * run's own commits: their rows carry this run's run_id, and are told apart by it).
   */
  private seen: { snap: Snapshot | null; files: Set<string> };
  private othersTable = false;
  private othersCount = 0;
  /** Request_ids other runs committed as successes since this run started, for the send loop (bounded). */
  private readonly otherIds = new Set<string>();
  private otherIdsFull = false;
  private readonly otherRuns = new Set<string>();
  private duplicateRows = 0;
  /** The id of the table this run writes to (metaData.id), once there is one. */
  private tableId: string | undefined;

  private constructor(
    readonly table: DeltaTable,
    private readonly config: PipelineConfig,
    readonly schema: StructType,
    private readonly existed: boolean,
    private readonly runId: string,
    snap: Snapshot | null,
    private readonly log: SinkLog,
  ) {
    this.seen = { snap, files: new Set(snap?.files.map(keyOf) ?? []) };
  }

  static async open(config: PipelineConfig, schema: StructType, runId: string, log: SinkLog = () => {}): Promise<Sink> {
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
      const sink = new Sink(table, config, schema, snap !== null, runId, config.sink.mode === 'overwrite' ? null : snap, log);
      sink.tableId = snap?.metadata.id;
      return sink;
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
  async commit(conn: DuckDBConnection, files: readonly string[], rows?: number, longestLine?: number, hooks: CommitHooks = {}): Promise<CommitResult> {
    const mode = this.committed === 0 && this.config.sink.mode === 'overwrite' ? 'overwrite' : 'append';
    const maxLine = maxResultLineBytes(this.config);
    const spoolSql = spoolSelectSql(this.schema, files, longestLine === undefined ? maxLine : Math.min(maxLine, longestLine));
    const rowGroupRows = rows ? rowGroupRowsFor(await totalBytes(files), rows, longestLine ?? maxLine) : undefined;
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
    let races = 0;
    for (let attempt = 1; attempt <= 3; attempt++) {
      let duplicates = 0;
      // Another run of this pipeline (an overlapping cron run, an orchestrator's retry) may
      // commit results for the same request_ids. A success row another writer committed
      // since this run last looked is not written again as a success: the write reads the
      // table anyway, and the observer reads that writer's new files from it first; a commit
      // landing between that read and this commit is checked by the observer too, and one
      // holding some of this commit's successes sends the write round again. The overwrite
      // that starts a mode-overwrite run replaces whatever is there, so it needs no look.
      const observer: WriteObserver | undefined =
        mode === 'overwrite'
          ? undefined
          : {
              planned: async (snap) => {
                await this.refresh(conn, snap);
                duplicates = this.othersTable ? await this.countDuplicates(conn, spoolSql) : 0;
                // Only a commit that holds such rows reads the spool through the marking
                // join: DuckDB does not stream a join's output into Parquet in bounded
                // memory (a commit of 8 MB results ran out of it), and most commits have none.
                return duplicates > 0 ? this.markDuplicatesSql(spoolSql) : undefined;
              },
              concurrent: (theirs, v, ours) => this.checkRace(conn, theirs, v, ours),
              committed: (_v, ours) => {
                for (const f of ours) this.seen.files.add(keyOf(f));
              },
            };
      try {
        const r = await this.table.write(conn, {
          // The rows query reads OTHERS_TABLE, filled by `planned` before the query runs.
          selectSql: spoolSql,
          schema: this.schema,
          mode,
          overwriteSchema: mode === 'overwrite',
          txn,
          rowGroupRows,
          minVersion,
          tableId: minVersion === undefined ? undefined : this.tableId,
          observer,
        });
        this.committed++;
        this.lastVersion = r.version;
        this.tableId = r.tableId;
        if (!r.skipped && duplicates > 0) {
          this.duplicateRows += duplicates;
          this.log(
            'warn',
            `${duplicates} results of this run (commit version ${r.version}) had been committed as successes by another run first; they are kept as rows with success false, error_class '${DUPLICATE_CLASS}'`,
          );
        }
        return { version: r.version, rows: r.rows };
      } catch (e) {
        if (e instanceof TableGoneError) {
          throw new RunError(
            'RESTLAKE_SINK',
            `sink ${this.config.sink.path} ${e.why === 'gone' ? 'is gone' : e.why === 'older' ? `went back to version ${e.latest}` : 'was deleted or replaced'} since this run ${this.committed > 0 ? `committed version ${minVersion}` : 'started'}; not writing a new table in its place`,
            { cause: e },
          );
        }
        if (e instanceof ConcurrentSuccessError && ++races <= MAX_DUPLICATE_RACES) {
          // Not a failure: the write goes round again, and its look at the table takes in
          // that commit's successes.
          attempt--;
          continue;
        }
        lastError = e;
        // A full disk or a read-only sink does not heal in a second: fail now.
        if (lastingCommitError(e)) break;
        if (attempt < 3) {
          hooks.onRetry?.(e, attempt);
          await new Promise((res) => setTimeout(res, 200 * attempt * attempt));
        }
      }
    }
    throw new RunError('RESTLAKE_SINK', `cannot commit to sink ${this.config.sink.path}: ${firstLine(lastError)}`, { cause: lastError });
  }

  /**
   * Takes in what other writers added to the table since this run last looked: their
   * files' success rows of another run_id go into OTHERS_TABLE (the commit turns this
   * run's rows for those ids into duplicate rows) and into the send loop's skip set. Warns
   * once per other run of this pipeline. `snap`: the table now (default: read it).
   */
  async refresh(conn: DuckDBConnection, snap?: Snapshot | null): Promise<void> {
    if (this.config.sink.mode === 'overwrite' && this.committed === 0) return;
    if (!this.othersTable) {
      await conn.run(`CREATE OR REPLACE TEMP TABLE ${OTHERS_TABLE} (request_id VARCHAR, run_id VARCHAR)`);
      this.othersTable = true;
    }
    if (snap === undefined) snap = await this.table.latestSnapshot();
    if (!snap || (this.seen.snap && snap.version <= this.seen.snap.version)) return;
    const fresh = snap.files.filter((a) => !this.seen.files.has(keyOf(a)));
    this.seen = { snap, files: new Set(snap.files.map(keyOf)) };
    if (fresh.length === 0) return;
    await this.table.registerFiles(conn, 'restlake_fresh', snap, fresh);
    const ours = quoteLiteral(this.runId);
    // Who is committing: files a compaction rewrote (dataChange false) hold old rows, not news.
    const news = fresh.filter((a) => a.dataChange !== false);
    if (news.length > 0) await this.table.registerFiles(conn, 'restlake_fresh_data', snap, news);
    const runs = news.length === 0 ? [] : (await conn.runAndReadAll(
      `SELECT DISTINCT run_id FROM restlake_fresh_data WHERE success AND run_id IS DISTINCT FROM ${ours} AND pipeline = ${quoteLiteral(this.config.name)}`,
    )).getRowObjectsJson();
    for (const r of runs as { run_id: string | null }[]) {
      const other = r.run_id ?? '(none)';
      if (this.otherRuns.has(other)) continue;
      this.otherRuns.add(other);
      this.log(
        'warn',
        `another run of pipeline ${this.config.name} (run_id ${other}) is committing to sink ${this.config.sink.path} while this run goes on: ` +
          `request_ids it commits are skipped here, and a request both runs complete keeps one success row ` +
          `(the later commit's row gets success false, error_class '${DUPLICATE_CLASS}'), but requests both runs send meanwhile reach the API twice. ` +
          `Let a run finish before the next starts (docs/operations.md, "Concurrent runs")`,
      );
    }
    const added = await conn.runAndReadAll(
      `INSERT INTO ${OTHERS_TABLE} SELECT request_id, any_value(run_id) FROM restlake_fresh ` +
        `WHERE success AND run_id IS DISTINCT FROM ${ours} AND request_id NOT IN (SELECT request_id FROM ${OTHERS_TABLE}) GROUP BY request_id RETURNING request_id`,
    );
    this.othersCount += added.currentRowCount;
    for (const row of added.getRowObjectsJson() as { request_id: string }[]) {
      if (this.otherIds.size >= SKIP_MEMORY_IDS) {
        if (!this.otherIdsFull) {
          this.log('warn', `other runs committed more than ${SKIP_MEMORY_IDS} request_ids while this run went on: this run no longer skips further ones (their results still land as '${DUPLICATE_CLASS}' rows, not as second successes)`);
        }
        this.otherIdsFull = true;
        break;
      }
      this.otherIds.add(row.request_id);
    }
  }

  /** Whether another run committed a success for this request_id while this run went on (the send loop skips it). */
  committedElsewhere(requestId: string): boolean {
    return this.otherIds.size > 0 && this.otherIds.has(requestId);
  }

  /** Rows this run committed as error_class duplicate. */
  get duplicates(): number {
    return this.duplicateRows;
  }

  /** The spool's rows, a success that another writer already committed turned into a duplicate row. */
  private markDuplicatesSql(spoolSql: string): string {
    // A LEFT JOIN against the (small) ids of other runs, built once, that the spooled rows
    // stream through. A correlated subquery for the other run's id made DuckDB gather the
    // spooled rows first: with results of 8 MB a commit ran out of its memory.
    const dup = `(__rl_s.success AND __rl_o.request_id IS NOT NULL)`;
    return (
      `SELECT __rl_s.* REPLACE (` +
      `CASE WHEN ${dup} THEN false ELSE __rl_s.success END AS success, ` +
      `CASE WHEN ${dup} THEN '${DUPLICATE_CLASS}' ELSE __rl_s.error_class END AS error_class, ` +
      `CASE WHEN ${dup} THEN 'another run (run_id ' || coalesce(__rl_o.run_id, '?') || ') committed a success row for this request_id first; this response is kept for the record only' ELSE __rl_s.error_message END AS error_message` +
      `) FROM (${spoolSql}) __rl_s LEFT JOIN (SELECT request_id, any_value(run_id) AS run_id FROM ${OTHERS_TABLE} GROUP BY request_id) __rl_o ON __rl_o.request_id = __rl_s.request_id`
    );
  }

  private async countDuplicates(conn: DuckDBConnection, spoolSql: string): Promise<number> {
    if (this.othersCount === 0) return 0;
    const r = await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM (${spoolSql}) WHERE success AND request_id IN (SELECT request_id FROM ${OTHERS_TABLE})`);
    return Number((r.getRowObjectsJson()[0] as { n: number }).n);
  }

  /** A commit another writer made first: throws ConcurrentSuccessError when it holds a success row for an id this commit has one for. */
  private async checkRace(conn: DuckDBConnection, theirs: Action[], version: number, ours: AddFile[]): Promise<void> {
    const added = theirs.filter((a): a is { add: AddFile } => 'add' in a).map((a) => a.add);
    if (added.length === 0 || ours.length === 0) return;
    const snap = this.seen.snap ?? (await this.table.latestSnapshot());
    if (!snap) return;
    await this.table.registerFiles(conn, 'restlake_race_theirs', snap, added);
    await this.table.registerFiles(conn, 'restlake_race_ours', snap, ours);
    const r = await conn.runAndReadAll(
      `SELECT count(*)::INTEGER AS n FROM restlake_race_theirs WHERE success AND run_id IS DISTINCT FROM ${quoteLiteral(this.runId)} ` +
        `AND request_id IN (SELECT request_id FROM restlake_race_ours WHERE success)`,
    );
    if (Number((r.getRowObjectsJson()[0] as { n: number }).n) > 0) throw new ConcurrentSuccessError(version);
  }

  get commits(): number {
    return this.committed;
  }
}
