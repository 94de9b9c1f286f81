// Streams the rows to send, in batches, from a registered source relation. The
// request_id, the row's JSON and the resume anti-join are all computed by DuckDB,
// so the driver does no per-row parsing or hashing; only one string per row crosses
// into JavaScript and goes to a worker as is.
import type { DuckDBConnection, DuckDBResult } from '@duckdb/node-api';
import type { PipelineConfig } from '../config/types.js';
import { quoteIdent, quoteLiteral } from '../delta/schema/duckdb-types.js';
import { ConfigError, firstLine, RunError } from '../errors.js';
import { duckdbIdOfKeySql, duckdbRequestIdSql, duckdbRequestKeySql, REQUEST_ID_FIELD } from '../request/request-id.js';
import type { SourceColumn } from '../sink/schema.js';
import { threadsOf, withMemoryLimit } from '../duckdb-settings.js';

export interface SourceBatch {
  ids: string[];
  lines: string[];
}

export interface RowStream {
  /** Rows to send, deduplicated (first wins) and without already-succeeded ids. */
  batches(): AsyncGenerator<SourceBatch>;
  /** Rows dropped so far because their request_id appeared earlier in the source. */
  readonly duplicates: number;
  /**
   * Rows the stream will yield (distinct request_ids not already succeeded), when known
   * before it starts: the run's progress total. Null for rows given in memory.
   */
  readonly pending: number | null;
}

// The dedupe pass spills its aggregate beyond this, per DuckDB thread (measured over 10M
// ids of a Parquet source: same speed as at 256 MiB, and ~180 MB less RSS, which the
// process keeps long after the pass). A text reader holds buffers of its own within the
// limit: CSV two of 8 MB (relation.ts; at DuckDB's default of 32 MB, any CSV over ~32 MB
// ran out of memory at 64 MiB), JSON two of 32 MB (a 286 MB JSON-lines file needs 96 MiB).
function dedupeMemoryMib(format: string | undefined): number {
  return format === 'json' ? 128 : 64;
}

/** The key columns, checked against the source; default: every column. */
export function keyColumns(config: PipelineConfig, columns: readonly SourceColumn[]): string[] {
  const names = columns.map((c) => c.name);
  const key = config.source?.key ?? names;
  const missing = key.filter((k) => !names.includes(k));
  if (missing.length > 0) {
    throw new ConfigError(missing.map((k) => ({ path: 'source.key', message: `the source has no column "${k}" (it has: ${names.join(', ')})` })));
  }
  return key;
}

/**
 * Prepares the stream over `relation`. `succeeded` names a table/view with a
 * `request_id` column of ids to skip (resume), or null.
 */
export async function openRowStream(
  conn: DuckDBConnection,
  config: PipelineConfig,
  relation: string,
  columns: readonly SourceColumn[],
  succeeded: string | null,
  sourceRows?: number,
): Promise<RowStream> {
  const key = keyColumns(config, columns);
  const idKey = duckdbRequestKeySql(config.name, key);
  // Duplicate keys are rare, so only they are remembered: a first pass finds them
  // and the stream flags them. The pass groups 64-bit hashes of the string each
  // request_id is the sha256 of (same string, same id), not the ids themselves: 8 bytes
  // a row instead of ~80, so 10M rows stay within the memory limit (DuckDB spills
  // beyond it), and no sha256 in this pass (at 1M rows: 0.45 s of CPU before the first
  // request, now 0.16). A hash collision only flags a row as a possible duplicate; the
  // stream then compares the ids themselves.
  const dedupe = (): Promise<unknown> =>
    conn.run(
      `CREATE OR REPLACE TEMP TABLE restlake_dups AS SELECT h, count(*) - 1 AS extra FROM (SELECT hash(${idKey}) AS h FROM ${relation}) GROUP BY h HAVING count(*) > 1`,
    );
  try {
    await withMemoryLimit(conn, dedupeMemoryMib(config.source?.format) * (await threadsOf(conn)), dedupe);
  } catch (e) {
    // Short of memory at the lowered limit (a reader's buffers larger than measured):
    // once more at the run's own limit, RESTLAKE_DUCKDB_MEMORY, which the error then names.
    if (!/^Out of Memory Error/.test((e as Error).message ?? '')) throw e;
    await dedupe().catch((again: unknown) => {
      throw new RunError('RESTLAKE_SOURCE', `cannot find the source's duplicate keys: ${firstLine(again)}`, { cause: again });
    });
  }
  const pending = await countPending(conn, relation, idKey, succeeded, sourceRows);
  // _request_id goes last: the worker deletes it from the parsed row, and V8 keeps an
  // object fast only when the property deleted is the last one added.
  const payload = [...columns.flatMap((c) => [quoteLiteral(c.name), 'k.' + quoteIdent(c.name)]), quoteLiteral(REQUEST_ID_FIELD), 'k.__rid'];
  const resume = succeeded ? ` WHERE NOT EXISTS (SELECT 1 FROM ${succeeded} s WHERE s.request_id = k.__rid)` : '';
  // The flag is a membership test, not a LEFT JOIN: DuckDB may swap a join's sides and
  // emit rows out of source order, and "first wins" must mean first in the source.
  const sql =
    `SELECT CAST(json_object(${payload.join(', ')}) AS VARCHAR) AS line, hash(k.__key) IN (SELECT h FROM restlake_dups) AS dup ` +
    `FROM (SELECT ${duckdbIdOfKeySql('__key')} AS __rid, * FROM (SELECT ${idKey} AS __key, * FROM ${relation})) k${resume}`;

  let duplicates = 0;
  return {
    get duplicates() {
      return duplicates;
    },
    pending,
    async *batches() {
      const result: DuckDBResult = await conn.stream(sql);
      const seenDups = new Set<string>();
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        // The id is read off the line's tail, not fetched as a column of its own: every
        // string that crosses from DuckDB into JavaScript costs a decode and an allocation.
        let lines = chunk.getColumnValues(0) as string[];
        let ids = lines.map(idOfLine);
        const dup = chunk.getColumnValues(1) as boolean[];
        if (dup.includes(true)) {
          const keepIds: string[] = [];
          const keepLines: string[] = [];
          for (let i = 0; i < ids.length; i++) {
            const id = ids[i] as string;
            if (dup[i]) {
              if (seenDups.has(id)) {
                duplicates++;
                continue;
              }
              seenDups.add(id);
            }
            keepIds.push(id);
            keepLines.push(lines[i] as string);
          }
          ids = keepIds;
          lines = keepLines;
        }
        if (ids.length > 0) yield { ids, lines };
      }
    },
  };
}

/**
 * How many rows the stream will yield. Without resume that is the source's rows less the
 * later copies of duplicate keys (the dedupe table has them). With resume it is counted
 * against the succeeded ids, which costs a sha256 per source row (~0.35 µs) before the
 * first request: the sink's successes cannot stand in for it, as a sink often holds the
 * results of other sources (yesterday's file, another partition) and the total would be
 * wrong, down to zero.
 */
async function countPending(conn: DuckDBConnection, relation: string, idKey: string, succeeded: string | null, sourceRows?: number): Promise<number> {
  if (!succeeded) {
    const total = sourceRows ?? (await countRows(conn, relation));
    return Math.max(0, total - (await numberOf(conn, `SELECT coalesce(sum(extra), 0) FROM restlake_dups`)));
  }
  // Rows not yet succeeded, each duplicate key once (count(DISTINCT) over the few flagged rows only).
  return numberOf(
    conn,
    `SELECT count(*) FILTER (WHERE NOT dup) + count(DISTINCT h) FILTER (WHERE dup) FROM (` +
      `SELECT h, h IN (SELECT h FROM restlake_dups) AS dup FROM (SELECT hash(__key) AS h, ${duckdbIdOfKeySql('__key')} AS rid FROM (SELECT ${idKey} AS __key FROM ${relation})) k` +
      ` WHERE NOT EXISTS (SELECT 1 FROM ${succeeded} s WHERE s.request_id = k.rid))`,
  );
}

const ID_TAIL = `,${JSON.stringify(REQUEST_ID_FIELD)}:"`;

/** The request_id of a line whose last member is `"_request_id":"<64 hex>"` (json_object above). */
function idOfLine(line: string): string {
  const end = line.length - 2;
  if (line.startsWith(ID_TAIL, end - 64 - ID_TAIL.length) && line.charCodeAt(end) === 34 /* " */) return line.slice(end - 64, end);
  // Not the expected shape (it cannot be, but a wrong id must never reach the sink).
  const id = (JSON.parse(line) as Record<string, unknown>)[REQUEST_ID_FIELD];
  if (typeof id !== 'string') throw new Error(`source row without ${REQUEST_ID_FIELD}: ${line.slice(0, 200)}`);
  return id;
}

/** Rows in a relation (cheap for Parquet and Delta, a scan for CSV/JSON). */
export async function countRows(conn: DuckDBConnection, relation: string): Promise<number> {
  return numberOf(conn, `SELECT count(*) FROM ${relation}`);
}

/** The one number a query returns. */
async function numberOf(conn: DuckDBConnection, sql: string): Promise<number> {
  const r = await conn.runAndReadAll(`SELECT (${sql})::DOUBLE AS n`);
  return Number((r.getRowObjectsJson()[0] as { n: number }).n);
}

/** The first `n` rows of a relation as JSON lines with their request_id (plan: no dedupe, no resume). */
export async function previewRows(
  conn: DuckDBConnection,
  config: PipelineConfig,
  relation: string,
  columns: readonly SourceColumn[],
  n: number,
): Promise<SourceBatch> {
  const key = keyColumns(config, columns);
  const rid = duckdbRequestIdSql(config.name, key);
  const payload = [...columns.flatMap((c) => [quoteLiteral(c.name), quoteIdent(c.name)]), quoteLiteral(REQUEST_ID_FIELD), '__rid'];
  const r = await conn.runAndReadAll(
    `SELECT __rid, CAST(json_object(${payload.join(', ')}) AS VARCHAR) FROM (SELECT ${rid} AS __rid, * FROM ${relation} LIMIT ${Math.max(0, Math.floor(n))})`,
  );
  const rows = r.getRows() as [string, string][];
  return { ids: rows.map((x) => x[0]), lines: rows.map((x) => x[1]) };
}
