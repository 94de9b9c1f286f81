// request_id = sha256 hex of the pipeline name and the key columns' values, stable
// across runs and engines. Each value is taken as its SQL string cast (null as U+0000)
// and the parts are joined with U+001F. The driver computes it in SQL (DuckDB for the
// local engine, Spark SQL for Spark), so resume is an anti-join there, and sends it to
// the worker with the row as the field `_request_id`; `requestIdOf` is the same rule in
// JS for rows given in memory (strings, integers and booleans cast alike everywhere).
import { createHash } from 'node:crypto';

export const REQUEST_ID_FIELD = '_request_id';
const SEP = '\u001f';
const NULL = '\u0000';

export function requestIdOf(pipeline: string, keyValues: readonly unknown[]): string {
  let s = pipeline;
  for (const v of keyValues) s += SEP + (v === null || v === undefined ? NULL : typeof v === 'object' ? JSON.stringify(v) : String(v));
  return createHash('sha256').update(s).digest('hex');
}

function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}
function quoteSparkIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}
function sqlString(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}

/**
 * DuckDB expression for the string request_id is the sha256 of. Two rows share a
 * request_id exactly when they share this string, so the dedupe pass groups a cheap
 * hash of it instead of hashing the sha256 (two thirds of that pass at 1M rows).
 */
export function duckdbRequestKeySql(pipeline: string, keys: readonly string[]): string {
  const parts = [sqlString(pipeline), ...keys.map((k) => `coalesce(CAST(${quoteIdent(k)} AS VARCHAR), chr(0))`)];
  return `concat_ws(chr(31), ${parts.join(', ')})`;
}

/** DuckDB expression: the request_id of a key string made by duckdbRequestKeySql. */
export function duckdbIdOfKeySql(keySql: string): string {
  return `sha256(${keySql})`;
}

/** DuckDB expression computing request_id for the given key columns. */
export function duckdbRequestIdSql(pipeline: string, keys: readonly string[]): string {
  return duckdbIdOfKeySql(duckdbRequestKeySql(pipeline, keys));
}

/** Spark SQL expression computing request_id; same bytes as the DuckDB one for strings, integers, booleans. */
export function sparkRequestIdSql(pipeline: string, keys: readonly string[]): string {
  // The pipeline name is [a-z0-9_]+ (validated), so it is safe inside a SQL literal.
  const parts = [sqlString(pipeline), ...keys.map((k) => `coalesce(CAST(${quoteSparkIdent(k)} AS STRING), char(0))`)];
  return `sha2(concat_ws(char(31), ${parts.join(', ')}), 256)`;
}
