// DuckDB is loaded one way: src/duckdb.ts requires it (see there why); modules import
// its values from there and only types from the package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DUCKDB_ALLOCATOR_CONF, DuckDBInstance } from './duckdb.js';

const srcDir = fileURLToPath(new URL('../src/', import.meta.url));

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('DuckDBInstance is the package class, loaded with require', async () => {
  const pkg = createRequire(import.meta.url)('@duckdb/node-api') as { DuckDBInstance: unknown };
  assert.equal(DuckDBInstance, pkg.DuckDBInstance);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const r = await conn.runAndReadAll('SELECT 41 + 1 AS n');
  assert.deepEqual(r.getRowObjectsJson(), [{ n: 42 }]);
  conn.closeSync();
  db.closeSync();
});

test('no module but src/duckdb.ts imports values from @duckdb/node-api', () => {
  const offenders = tsFiles(srcDir)
    .filter((f) => !f.endsWith(join('src', 'duckdb.ts')))
    .filter((f) => /^import\s+(?!type\b)[^;]*from\s+'@duckdb\/node-api'/m.test(readFileSync(f, 'utf8')))
    .map((f) => relative(srcDir, f));
  assert.deepEqual(offenders, []);
});

test("DuckDB's allocator is told to return freed pages at once", () => {
  // Set before the library loaded (jemalloc reads it at its first allocation).
  assert.equal(process.env.DUCKDB_JE_MALLOC_CONF, DUCKDB_ALLOCATOR_CONF);
});
