// A process-wide DuckDB instance for the log machinery (checkpoints, DV-free metadata reads). Scans and
// writes run on the caller's connection; this one never holds user data.
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '../duckdb.js';

let instance: Promise<DuckDBInstance> | null = null;

export async function withInternalConnection<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  instance ??= DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await (await instance).connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
  }
}

/** Runs a query and returns rows as plain JSON-compatible objects. */
export async function queryJson(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  const r = await conn.runAndReadAll(sql);
  return r.getRowObjectsJson() as Record<string, unknown>[];
}
