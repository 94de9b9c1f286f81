import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance } from '../duckdb.js';
import { testConfig } from '../request/test-support.js';
import { openRowStream } from './stream.js';

async function setting(conn: import('@duckdb/node-api').DuckDBConnection): Promise<string> {
  return String((await conn.runAndReadAll(`SELECT current_setting('memory_limit') AS m`)).getRowObjectsJson()[0]!.m);
}

test('the dedupe pass runs under a lower memory limit and restores the one set; duplicates are flagged and sent once', async () => {
  for (const [limit, expected] of [['128MB', '122.0 MiB'], ['32MB', '30.5 MiB']] as const) {
    const db = await DuckDBInstance.create(':memory:', { memory_limit: limit, threads: '1' });
    const conn = await db.connect();
    try {
      await conn.run(`CREATE TEMP TABLE src AS SELECT i % 700 AS id, 'r' || i AS region FROM range(1000) t(i)`);
      const config = testConfig({ request: { url: 'http://127.0.0.1/{{ id }}' } });
      config.source = { path: 'x', format: 'parquet', key: ['id'] } as unknown as typeof config.source;
      const stream = await openRowStream(conn, config, 'src', [{ name: 'id', duckType: 'BIGINT' }, { name: 'region', duckType: 'VARCHAR' }], null);
      assert.equal(await setting(conn), expected, 'memory limit restored (never raised)');
      const ids: string[] = [];
      for await (const b of stream.batches()) {
        ids.push(...b.ids);
        for (let i = 0; i < b.ids.length; i++) assert.equal(JSON.parse(b.lines[i]!)._request_id, b.ids[i], 'id read off the line tail');
      }
      assert.equal(ids.length, 700);
      assert.equal(new Set(ids).size, 700);
      assert.equal(stream.duplicates, 300);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  }
});
