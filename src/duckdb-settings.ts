// Reading and changing a DuckDB database's memory limit and thread count for one phase
// of a run. Types only from the package: loading DuckDB stays with src/duckdb.ts.
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral } from './delta/schema/duckdb-types.js';

/** Bytes of a DuckDB size setting as current_setting() prints it ("122.0 MiB", "1.5 GiB"). */
export function settingBytes(text: string): number {
  const m = /^([\d.]+)\s*([KMGT]i?B|bytes?)$/i.exec(text.trim());
  if (!m) return Number.POSITIVE_INFINITY;
  const unit = m[2].toUpperCase().replace('I', '');
  const scale = unit.startsWith('K') ? 2 ** 10 : unit.startsWith('M') ? 2 ** 20 : unit.startsWith('G') ? 2 ** 30 : unit.startsWith('T') ? 2 ** 40 : 1;
  return Number(m[1]) * scale;
}

async function setting(conn: DuckDBConnection, name: 'memory_limit' | 'threads'): Promise<string> {
  const r = await conn.runAndReadAll(`SELECT current_setting(${quoteLiteral(name)}) AS v`);
  return String((r.getRowObjectsJson()[0] as { v: unknown }).v);
}

/** The database's threads. */
export async function threadsOf(conn: DuckDBConnection): Promise<number> {
  return Number(await setting(conn, 'threads'));
}

/** Runs `fn` with DuckDB's memory limit lowered (never raised) to `mib`, then restores it. */
export async function withMemoryLimit<T>(conn: DuckDBConnection, mib: number, fn: () => Promise<T>): Promise<T> {
  const was = await setting(conn, 'memory_limit');
  if (settingBytes(was) <= mib * 2 ** 20) return fn();
  await conn.run(`SET memory_limit = '${mib}MiB'`);
  try {
    return await fn();
  } finally {
    await conn.run(`SET memory_limit = ${quoteLiteral(was)}`);
  }
}

/**
 * Runs `fn` with DuckDB's memory limit at least `perThread` bytes times its threads
 * (raised if lower, never lowered), then restores the limit it had.
 */
export async function withMemoryAtLeast<T>(conn: DuckDBConnection, perThread: number, fn: () => Promise<T>): Promise<T> {
  const was = await setting(conn, 'memory_limit');
  const want = Math.ceil((perThread * Number(await setting(conn, 'threads'))) / 1024);
  if (settingBytes(was) >= want * 1024) return fn();
  await conn.run(`SET memory_limit = '${want}KiB'`);
  try {
    return await fn();
  } finally {
    await conn.run(`SET memory_limit = ${quoteLiteral(was)}`);
  }
}

/**
 * Raises the database's threads to `threads` (never lowers them) and its memory limit
 * in proportion, and resolves to the threads it has then. The limit grows because every
 * thread of a query holds buffers of its own (a commit's JSON reader and Parquet
 * writer): at the same limit two threads ran out of memory where one did not.
 */
export async function widenThreads(conn: DuckDBConnection, threads: number): Promise<number> {
  const had = Number(await setting(conn, 'threads'));
  const want = Math.floor(threads);
  if (!(want > had)) return had;
  const limit = settingBytes(await setting(conn, 'memory_limit'));
  if (Number.isFinite(limit)) await conn.run(`SET memory_limit = '${Math.ceil((limit * want) / had / 1024)}KiB'`);
  await conn.run(`SET threads = ${want}`);
  return want;
}
