// A phase of a run may change DuckDB's threads and memory limit: both are read back from
// a real database, not assumed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance } from './duckdb.js';
import { settingBytes, widenThreads, withMemoryLimit } from './duckdb-settings.js';

async function settings(conn: Awaited<ReturnType<DuckDBInstance['connect']>>): Promise<{ threads: number; mib: number }> {
  const r = await conn.runAndReadAll(`SELECT current_setting('threads') AS t, current_setting('memory_limit') AS m`);
  const row = r.getRowObjectsJson()[0] as { t: unknown; m: string };
  return { threads: Number(row.t), mib: Math.round(settingBytes(row.m) / 2 ** 20) };
}

test('settingBytes reads the sizes DuckDB prints', () => {
  const table: Array<[string, number]> = [
    ['122.0 MiB', 122 * 2 ** 20],
    ['1.5 GiB', 1.5 * 2 ** 30],
    ['512 KiB', 512 * 2 ** 10],
    ['0 bytes', 0],
    ['not a size', Number.POSITIVE_INFINITY],
  ];
  for (const [text, bytes] of table) assert.equal(settingBytes(text), bytes, text);
});

test('widenThreads raises threads and the memory limit in proportion, and never lowers them', async () => {
  const db = await DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '100MiB' });
  const conn = await db.connect();
  try {
    assert.equal(await widenThreads(conn, 3), 3);
    assert.deepEqual(await settings(conn), { threads: 3, mib: 300 });
    assert.equal(await widenThreads(conn, 2), 3, 'fewer threads than it has: unchanged');
    assert.deepEqual(await settings(conn), { threads: 3, mib: 300 });
    // Under the raised limit a query still runs on the widened database.
    const r = await conn.runAndReadAll('SELECT sum(i)::BIGINT AS s FROM range(1000000) t(i)');
    assert.equal(String((r.getRowObjectsJson()[0] as { s: unknown }).s), '499999500000');
  } finally {
    conn.closeSync();
    db.closeSync();
  }
});

test('withMemoryLimit lowers the limit for its function only, and leaves a lower one alone', async () => {
  const db = await DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '200MiB' });
  const conn = await db.connect();
  try {
    const inside = await withMemoryLimit(conn, 64, () => settings(conn));
    assert.equal(inside.mib, 64);
    assert.equal((await settings(conn)).mib, 200);
    const untouched = await withMemoryLimit(conn, 500, () => settings(conn));
    assert.equal(untouched.mib, 200);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
});
