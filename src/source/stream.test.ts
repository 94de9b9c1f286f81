import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '../duckdb.js';
import { testConfig } from '../request/test-support.js';
import { requestIdOf } from '../request/request-id.js';
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
      assert.equal(stream.pending, 700, 'the progress total is known before the first row');
      assert.equal(new Set(ids).size, 700);
      assert.equal(stream.duplicates, 300);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  }
});

test('dedupe follows the request_id exactly: key values that make the same id are sent once, with the id JS computes; resume skips by id', async () => {
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await db.connect();
  try {
    // ('a\x1fb', 'c') and ('a', 'b\x1fc') differ as values but join into the same id
    // string, so they are one request; ('a', null) and ('a', '\0') likewise.
    await conn.run(
      `CREATE TEMP TABLE src AS SELECT * FROM (VALUES ('a' || chr(31) || 'b', 'c', 1), ('a', 'b' || chr(31) || 'c', 2), ('a', NULL, 3), ('a', chr(0), 4), ('z', 'z', 5)) t(k1, k2, n)`,
    );
    const config = testConfig({ request: { url: 'http://127.0.0.1/{{ k1 }}' } });
    await conn.run(`CREATE TEMP TABLE done AS SELECT '${requestIdOf(config.name, ['z', 'z'])}' AS request_id`);
    config.source = { path: 'x', format: 'parquet', key: ['k1', 'k2'] } as unknown as typeof config.source;
    const columns = [{ name: 'k1', duckType: 'VARCHAR' }, { name: 'k2', duckType: 'VARCHAR' }, { name: 'n', duckType: 'INTEGER' }];
    for (const succeeded of [null, 'done']) {
      const stream = await openRowStream(conn, config, 'src', columns, succeeded);
      const rows: Array<{ id: string; n: number }> = [];
      for await (const b of stream.batches()) b.ids.forEach((id, i) => rows.push({ id, n: JSON.parse(b.lines[i]!).n }));
      rows.sort((x, y) => x.n - y.n);
      const expected = [
        { id: requestIdOf(config.name, ['a\u001fb', 'c']), n: 1 },
        { id: requestIdOf(config.name, ['a', null]), n: 3 },
        ...(succeeded ? [] : [{ id: requestIdOf(config.name, ['z', 'z']), n: 5 }]),
      ];
      assert.deepEqual(rows, expected);
      assert.equal(stream.pending, expected.length, `pending ${succeeded ? 'with' : 'without'} resume`);
      assert.equal(requestIdOf(config.name, ['a', 'b\u001fc']), expected[0]!.id);
      assert.equal(stream.duplicates, 2);
    }
  } finally {
    conn.closeSync();
    db.closeSync();
  }
});

test('the first row of a key wins in source order, whatever order the duplicates come in, and rows keep their order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-stream-'));
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await db.connect();
  try {
    // Interleaved duplicates that differ in a non-key column (it changes the request), and
    // keys that are null or missing. Through a LEFT JOIN this came out as a, d, b, g.
    const file = join(dir, 'dup.jsonl');
    await writeFile(file, ['{"id":1,"name":"a"}', '{"id":2,"name":"b"}', '{"id":1,"name":"c"}', '{"id":null,"name":"d"}', '{"name":"e"}', '{"id":null,"name":"f"}', '{"id":3,"name":"g"}', '{"id":2,"name":"h"}'].join('\n') + '\n');
    const config = testConfig({ request: { url: 'http://127.0.0.1/{{ id }}/{{ name }}' } });
    config.source = { path: file, format: 'json', key: ['id'] } as unknown as typeof config.source;
    const stream = await openRowStream(conn, config, `read_json_auto('${file}')`, [{ name: 'id', duckType: 'BIGINT' }, { name: 'name', duckType: 'VARCHAR' }], null);
    const names: string[] = [];
    for await (const b of stream.batches()) for (const l of b.lines) names.push(JSON.parse(l).name as string);
    assert.deepEqual(names, ['a', 'b', 'd', 'g']);
    assert.equal(stream.pending, 4);
    assert.equal(stream.duplicates, 4);
  } finally {
    conn.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
});
