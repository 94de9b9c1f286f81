import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '../duckdb.js';
import { RunError } from '../errors.js';
import type { SourceConfig } from '../config/types.js';
import { describe, registerSource } from './relation.js';

test('an empty CSV or JSON-lines file is named as empty (DuckDB would invent a column for it); a header-only CSV is a source of no rows', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-relation-'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    for (const [name, format, what] of [['e.csv', 'csv', 'header line'], ['e.jsonl', 'json', 'JSON line']] as const) {
      const path = join(dir, name);
      await writeFile(path, '');
      const source: SourceConfig = { path, format, key: ['id'], limit: null };
      await assert.rejects(registerSource(conn, source), (e: unknown) => {
        assert.ok(e instanceof RunError);
        assert.equal(e.message, `source ${path} is empty (0 bytes): no ${what}, so no columns and no rows`);
        return true;
      });
    }
    const header = join(dir, 'h.csv');
    await writeFile(header, 'id,name\n');
    const relation = await registerSource(conn, { path: header, format: 'csv', key: ['id'], limit: null });
    assert.deepEqual((await describe(conn, relation)).map((c) => c.name), ['id', 'name']);
  } finally {
    conn.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
});
