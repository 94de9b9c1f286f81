// DuckDB's Node API, loaded with require(). The package is CommonJS; imported from ESM,
// Node lexes each file it re-exports to find the named exports, which cost every run
// ~115 ms of CPU and ~60 ms of wall time before the first row (measured: import 250 ms
// of CPU, require 137 ms). Types still come from the package itself.
import { createRequire } from 'node:module';
import type * as DuckDB from '@duckdb/node-api';

const duckdb = createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckDB;

export const DuckDBInstance = duckdb.DuckDBInstance;
export type DuckDBInstance = DuckDB.DuckDBInstance;
