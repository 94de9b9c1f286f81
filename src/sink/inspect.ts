// Summaries of a sink table for `restlake inspect`, computed by DuckDB over the
// table's live rows (the view `results`).
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeltaTable } from '../delta/index.js';
import { RunError } from '../errors.js';

export const RESULTS_VIEW = 'results';

export interface TableSummary {
  version: number | null;
  rows: number;
  request_ids: number;
  succeeded_ids: number;
  runs: { run_id: string; rows: number; succeeded: number; first: string; last: string }[];
  by_status: { status_code: number | null; rows: number }[];
  by_error_class: { error_class: string | null; rows: number }[];
  latency_ms: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  throughput: { minute: string; rows: number; rows_per_second: number }[];
  recent_failures: { finished_at: string; request_id: string; status_code: number | null; error_class: string | null; error_message: string | null }[];
}

async function rows<T>(conn: DuckDBConnection, sql: string): Promise<T[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson() as T[];
}

/** Registers the table's live rows as the view `results`; RunError when there is no table. */
export async function registerResults(conn: DuckDBConnection, path: string): Promise<DeltaTable> {
  const table = await DeltaTable.forPath(path);
  if (!(await table.exists())) throw new RunError('RESTLAKE_SINK', `no Delta table at ${path}`);
  await table.registerScan(conn, RESULTS_VIEW);
  return table;
}

export async function summariseTable(conn: DuckDBConnection, table: DeltaTable): Promise<TableSummary> {
  const v = RESULTS_VIEW;
  const [totals] = await rows<{ rows: number; request_ids: number; succeeded_ids: number }>(
    conn,
    `SELECT count(*)::DOUBLE AS rows, count(DISTINCT request_id)::DOUBLE AS request_ids,
            count(DISTINCT request_id) FILTER (WHERE success)::DOUBLE AS succeeded_ids FROM ${v}`,
  );
  const [lat] = await rows<TableSummary['latency_ms']>(
    conn,
    `SELECT quantile_cont(duration_ms, 0.5) AS p50, quantile_cont(duration_ms, 0.95) AS p95,
            quantile_cont(duration_ms, 0.99) AS p99, max(duration_ms) AS max FROM ${v}`,
  );
  let version: number | null = null;
  try {
    version = (await table.snapshot()).version;
  } catch {
    version = null;
  }
  return {
    version,
    rows: Number(totals?.rows ?? 0),
    request_ids: Number(totals?.request_ids ?? 0),
    succeeded_ids: Number(totals?.succeeded_ids ?? 0),
    runs: await rows(
      conn,
      `SELECT run_id, count(*)::DOUBLE AS rows, count(*) FILTER (WHERE success)::DOUBLE AS succeeded,
              strftime(min(started_at), '%Y-%m-%d %H:%M:%S') AS first, strftime(max(finished_at), '%Y-%m-%d %H:%M:%S') AS last
       FROM ${v} GROUP BY run_id ORDER BY min(started_at) DESC LIMIT 10`,
    ),
    by_status: await rows(conn, `SELECT status_code, count(*)::DOUBLE AS rows FROM ${v} GROUP BY status_code ORDER BY rows DESC`),
    by_error_class: await rows(conn, `SELECT error_class, count(*)::DOUBLE AS rows FROM ${v} GROUP BY error_class ORDER BY rows DESC`),
    latency_ms: lat ?? { p50: null, p95: null, p99: null, max: null },
    throughput: await rows(
      conn,
      `SELECT strftime(date_trunc('minute', finished_at), '%Y-%m-%d %H:%M') AS minute, count(*)::DOUBLE AS rows,
              round(count(*) / 60.0, 1) AS rows_per_second
       FROM ${v} WHERE finished_at IS NOT NULL GROUP BY 1 ORDER BY 1 DESC LIMIT 15`,
    ),
    recent_failures: await rows(
      conn,
      `SELECT strftime(finished_at, '%Y-%m-%d %H:%M:%S') AS finished_at, request_id, status_code, error_class,
              left(error_message, 160) AS error_message
       FROM ${v} WHERE NOT success ORDER BY finished_at DESC LIMIT 10`,
    ),
  };
}
