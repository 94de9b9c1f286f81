// Test helpers: a fresh DuckDB connection and a one-value query.
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '../../duckdb.js';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function openConn(): Promise<{ conn: DuckDBConnection; close: () => void }> {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  return { conn, close: () => { conn.closeSync(); inst.closeSync(); } };
}

export async function rows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

export async function one(conn: DuckDBConnection, sql: string): Promise<unknown> {
  const r = await rows(conn, sql);
  return Object.values(r[0])[0];
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `restlake-${prefix}-`));
  return { dir, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

/**
 * The Spark-written golden tables (read-only): `shared/delta-golden` beside the repo
 * (where CI lays shared/ next to its clone), else /work/shared; RESTLAKE_DELTA_GOLDEN overrides.
 */
export const GOLDEN = process.env.RESTLAKE_DELTA_GOLDEN ?? findGolden();

function findGolden(): string {
  // This file runs as dist/delta/testing/duck.js: the repo root is three levels up.
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const candidates = [path.join(repo, '..', 'shared', 'delta-golden'), '/work/shared/delta-golden'];
  return candidates.find((c) => existsSync(path.join(c, 'README.md'))) ?? candidates[0];
}
