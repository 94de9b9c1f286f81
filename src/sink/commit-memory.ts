// What a commit of spooled results needs from DuckDB, in bytes: row groups sized by the
// results' bytes, and a memory limit that fits the longest result line.
import type { DuckDBConnection } from '@duckdb/node-api';
import { DEFAULT_ROW_GROUP_ROWS } from '../delta/index.js';
import { withMemoryAtLeast } from '../duckdb-settings.js';

// Parquet row groups of about this much result text: DuckDB's writer holds a row group
// in memory, and at its default row count a commit of result rows with response bodies
// costs the driver hundreds of MB (measured with 700-byte rows: row groups of 8,192 rows
// add ~100 MB to the driver's RSS during a commit, of 50,000 rows ~230 MB).
const ROW_GROUP_BYTES = 4 << 20;
// Where results differ in size, a row group of the average's row count could be all long
// rows: the row count is also held to this many bytes of the longest row.
const ROW_GROUP_MAX_BYTES = 16 << 20;

/**
 * Rows per row group for a commit of `rows` rows in `bytes` bytes whose longest line has
 * `longestLine` bytes. The writer fills a row group with whole chunks of the JSON reader,
 * which stay within one spool file (SPOOL_FILE_BYTES), so a row group holds at most this
 * many rows' bytes plus one file's.
 */
export function rowGroupRowsFor(bytes: number, rows: number, longestLine: number): number {
  const perRow = Math.max(1, bytes / Math.max(1, rows));
  const byAverage = Math.floor(ROW_GROUP_BYTES / perRow);
  const byLongest = Math.floor(ROW_GROUP_MAX_BYTES / Math.max(1, longestLine));
  return Math.max(1, Math.min(DEFAULT_ROW_GROUP_ROWS, byAverage, byLongest));
}

/**
 * DuckDB memory a commit needs per thread: its JSON reader's buffer (twice the longest
 * line, 32 MB at least), the line's parsed document, its strings, the row group, the
 * Parquet page and its compressed copy. Measured (random, incompressible results, one
 * per file, zstd): 8 MB lines commit within 64 MB a thread, 20 MB lines need 128-160 MB
 * a thread; small results stay within the default 128 MB.
 */
export function commitMemoryPerThread(longestLine: number): number {
  return (24 << 20) + 7 * Math.max(0, longestLine);
}

/**
 * Runs a commit with DuckDB's memory limit raised (never lowered) to what its longest
 * line needs on the database's threads, and restores it after: a response of up to
 * max_response_bytes must never make a commit fail, whatever RESTLAKE_DUCKDB_MEMORY says.
 */
export function withCommitMemory<T>(conn: DuckDBConnection, longestLine: number, fn: () => Promise<T>): Promise<T> {
  return withMemoryAtLeast(conn, commitMemoryPerThread(longestLine), fn);
}
