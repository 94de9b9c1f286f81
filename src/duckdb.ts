// DuckDB's Node API, loaded with require(). The package is CommonJS; imported from ESM,
// Node lexes each file it re-exports to find the named exports, which cost every run
// ~115 ms of CPU and ~60 ms of wall time before the first row (measured: import 250 ms
// of CPU, require 137 ms). Types still come from the package itself.
import { createRequire } from 'node:module';
import type * as DuckDB from '@duckdb/node-api';

/**
 * DuckDB allocates through its own jemalloc, which keeps freed pages for reuse (10 s by
 * default) in an arena per thread, and DuckDB's queries run on any of libuv's pool
 * threads: each commit left ~20 MB more resident, up to ~150 MB (measured: driver RSS
 * after five 50k-row commits 289 MB, 124 MB when freed pages go back at once; a 1M-row
 * run's driver peak 263 → 208 MB, CPU and wall time within noise). Read by jemalloc at
 * its first allocation, so set before the library loads; a value in the environment wins.
 */
export const DUCKDB_ALLOCATOR_CONF = 'dirty_decay_ms:0,muzzy_decay_ms:0';
process.env.DUCKDB_JE_MALLOC_CONF ??= DUCKDB_ALLOCATOR_CONF;

const duckdb = createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckDB;

export const DuckDBInstance = duckdb.DuckDBInstance;
export type DuckDBInstance = DuckDB.DuckDBInstance;
