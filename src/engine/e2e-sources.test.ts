// Source formats and row selection on the local engine: Parquet, NDJSON, CSV globs
// and directories, a Delta table; duplicate keys, limit, max_requests, overwrite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '../duckdb.js';
import { runPipeline } from '../index.js';
import { RunError } from '../errors.js';
import { queryTable, startTestServer, tempDir, type TestServer } from './e2e-support.js';

function pipeline(server: TestServer, source: Record<string, unknown>, sink: string, extra: Record<string, unknown> = {}) {
  return {
    version: 1,
    name: 'sources',
    source,
    request: { url: `${server.url}/items/{{ id }}` },
    sink: { path: sink, source_columns: ['id'] },
    execution: { workers: 1, concurrency: 8 },
    ...extra,
  };
}

function ids(server: TestServer, from = 0): number[] {
  return server.seen.slice(from).map((r) => Number(/\/items\/(\d+)/.exec(r.url)?.[1])).sort((a, b) => a - b);
}

test('Parquet, NDJSON, CSV glob and directory sources, and a Delta table as source', { timeout: 90_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    const duck = await DuckDBInstance.create(':memory:');
    const conn = await duck.connect();
    await conn.run(`COPY (SELECT range::INT AS id, 'p' || range AS name FROM range(1, 51)) TO '${join(tmp.dir, 'a.parquet')}' (FORMAT parquet)`);
    conn.closeSync();
    duck.closeSync();
    await writeFile(join(tmp.dir, 'b.ndjson'), Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: 100 + i, name: `j${i}` })).join('\n') + '\n');
    await mkdir(join(tmp.dir, 'csvs', 'nested'), { recursive: true });
    await writeFile(join(tmp.dir, 'csvs', 'one.csv'), 'id,name\n201,a\n202,b\n');
    await writeFile(join(tmp.dir, 'csvs', 'nested', 'two.csv'), 'id,name\n203,c\n');

    let mark = server.count();
    let s = await runPipeline(pipeline(server, { path: join(tmp.dir, 'a.parquet'), key: ['id'] }, join(tmp.dir, 's1')));
    assert.equal(s.succeeded, 50);
    assert.deepEqual(ids(server, mark), Array.from({ length: 50 }, (_, i) => i + 1));
    const [typed] = await queryTable<{ t: string }>(join(tmp.dir, 's1'), 'SELECT typeof(id) AS t FROM t LIMIT 1');
    assert.equal(typed?.t, 'INTEGER', 'source column keeps its Parquet type');

    mark = server.count();
    s = await runPipeline(pipeline(server, { path: join(tmp.dir, 'b.ndjson') }, join(tmp.dir, 's2')));
    assert.equal(s.succeeded, 30);
    assert.deepEqual(ids(server, mark), Array.from({ length: 30 }, (_, i) => 100 + i));

    mark = server.count();
    s = await runPipeline(pipeline(server, { path: join(tmp.dir, 'csvs') , format: 'csv' }, join(tmp.dir, 's3')));
    assert.deepEqual(ids(server, mark), [201, 202, 203], 'a directory reads every CSV under it');

    mark = server.count();
    s = await runPipeline(pipeline(server, { path: join(tmp.dir, 'csvs', '*.csv') }, join(tmp.dir, 's4')));
    assert.deepEqual(ids(server, mark), [201, 202]);

    // The first sink is a Delta table: use it as the source of another pipeline.
    mark = server.count();
    s = await runPipeline(pipeline(server, { path: join(tmp.dir, 's1'), key: ['id'] }, join(tmp.dir, 's5')));
    assert.equal(s.succeeded, 50);
    assert.deepEqual(ids(server, mark), Array.from({ length: 50 }, (_, i) => i + 1));

    await assert.rejects(runPipeline(pipeline(server, { path: join(tmp.dir, 'missing.parquet') }, join(tmp.dir, 's6'))), (e: unknown) => e instanceof RunError && /missing\.parquet/.test((e as Error).message));
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('duplicate keys are sent once (first wins), limit caps the source, max_requests stops resumably, overwrite replaces', { timeout: 90_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    const csv = join(tmp.dir, 'dups.csv');
    const lines = ['id,name'];
    for (let i = 1; i <= 100; i++) lines.push(`${i},first`);
    for (let i = 1; i <= 20; i++) lines.push(`${i},second`);
    await writeFile(csv, lines.join('\n') + '\n');
    const sink = join(tmp.dir, 'sink');
    const cfg = (extra: Record<string, unknown> = {}, source: Record<string, unknown> = {}) =>
      pipeline(server, { path: csv, key: ['id'], ...source }, sink, { request: { url: `${server.url}/items/{{ id }}?name={{ name }}` }, ...extra });

    let s = await runPipeline(cfg({ execution: { workers: 2, concurrency: 4, max_requests: 30 } }));
    assert.equal(s.outcome, 'max_requests');
    assert.equal(s.rows, 30);
    assert.equal(server.count(), 30);
    // Rows go in source order: the first 30 ids.
    assert.deepEqual(server.seen.map((r) => Number(/\/items\/(\d+)/.exec(r.url)?.[1])).sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1));

    s = await runPipeline(cfg());
    assert.equal(s.outcome, 'completed');
    assert.equal(s.rows, 70, 'the rest, after max_requests');
    // The second rows of ids 1-20 are skipped as already succeeded, like the first 30.
    assert.equal(s.duplicates, 0);
    assert.equal(s.skipped_succeeded, 50);
    assert.equal(server.count(), 100);
    assert.equal(server.seen.filter((r) => r.url.includes('name=second')).length, 0, 'the first row of a key wins');

    const mark = server.count();
    s = await runPipeline(cfg({ sink: { path: sink, mode: 'overwrite', source_columns: ['id'] } }, { limit: 10 }));
    assert.equal(s.rows, 10, 'overwrite sends again, limited to the first 10 source rows');
    assert.equal(server.count() - mark, 10);
    const [after] = await queryTable<{ n: number }>(sink, 'SELECT count(*)::INT AS n FROM t');
    assert.equal(after?.n, 10, 'overwrite replaced the table');

    // An overwrite run whose source has no rows replaces the table with an empty one
    // (before, the old rows stayed and the run said "rows 0").
    const empty = join(tmp.dir, 'empty.csv');
    await writeFile(empty, 'id,name\n');
    s = await runPipeline(
      pipeline(server, { path: empty, key: ['id'] }, sink, { request: { url: `${server.url}/items/{{ id }}` }, sink: { path: sink, mode: 'overwrite', source_columns: ['id'] } }),
    );
    assert.deepEqual([s.outcome, s.rows, s.commits], ['completed', 0, 1]);
    const [none] = await queryTable<{ n: number }>(sink, 'SELECT count(*)::INT AS n FROM t');
    assert.equal(none?.n, 0);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});
