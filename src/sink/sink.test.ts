// The sink on its own: schema typing, commits of spooled result files, idempotent retries, resume ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '../duckdb.js';
import { loadConfig } from '../config/load.js';
import { ConfigError, RunError } from '../errors.js';
import { createResultSerializer, failedResult } from '../worker/result.js';
import { queryTable, tempDir } from '../engine/e2e-support.js';
import { sinkSchema } from './schema.js';
import { checkAppendBeforeSpark, Sink } from './sink.js';

/** A pipeline over a CSV in `dir` writing to `dir`/sink, with `extra` keys on top. */
function pipelineIn(dir: string, name: string, extra: Record<string, unknown> = {}) {
  return loadConfig({
    version: 1,
    name,
    source: { path: join(dir, 'x.csv'), format: 'csv' },
    request: { url: 'http://127.0.0.1/{{ id }}' },
    sink: { path: join(dir, 'sink') },
    ...extra,
  });
}

test('sink schema: fixed columns typed, source columns keep source types, extracts typed, clashes are config errors', async () => {
  const config = await loadConfig({
    version: 1,
    name: 'schema_t',
    source: { path: '/tmp/x.parquet' },
    request: { url: 'http://127.0.0.1/{{ id }}' },
    response: { extract: { score: { path: '$.s', type: 'double' }, raw: { path: '$', type: 'json' } } },
    sink: { path: '/tmp/sink', source_columns: ['id', 'amount', 'day'] },
  });
  const schema = sinkSchema(config, [
    { name: 'id', duckType: 'BIGINT' },
    { name: 'amount', duckType: 'DECIMAL(10,2)' },
    { name: 'day', duckType: 'DATE' },
    { name: 'other', duckType: 'VARCHAR' },
  ]);
  const types = Object.fromEntries(schema.fields.map((f) => [f.name, [f.type, f.nullable]]));
  assert.deepEqual(types.request_id, ['string', false]);
  assert.deepEqual(types.success, ['boolean', false]);
  assert.deepEqual(types.attempts, ['integer', false]);
  assert.deepEqual(types.status_code, ['integer', true]);
  assert.deepEqual(types.started_at, ['timestamp', true]);
  assert.deepEqual(types.duration_ms, ['double', true]);
  assert.deepEqual(types.id, ['long', true]);
  assert.deepEqual(types.amount, ['decimal(10,2)', true]);
  assert.deepEqual(types.day, ['date', true]);
  assert.deepEqual(types.score, ['double', true]);
  assert.deepEqual(types.raw, ['string', true]);
  assert.equal('other' in types, false);
  assert.throws(() => sinkSchema(config, [{ name: 'id', duckType: 'BIGINT' }]), (e: unknown) => e instanceof ConfigError && /source has no column "amount"/.test(e.message));
});

test('sink commits spooled lines with their types; a retried commit of the same batch lands once; succeeded ids for resume', async () => {
  const tmp = await tempDir();
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    const config = await pipelineIn(tmp.dir, 'sink_t', {
      response: { extract: { score: { path: '$.s', type: 'double' } } },
      sink: { path: join(tmp.dir, 'sink'), source_columns: ['id'] },
    });
    const schema = sinkSchema(config, [{ name: 'id', duckType: 'INTEGER' }]);
    const sink = await Sink.open(config, schema, 'run-s');
    assert.equal(sink.exists, false);
    const serialize = createResultSerializer(config);
    const lines = [1, 2, 3].map((i) => {
      const r = failedResult(config, 'run-s', `id${i}`, 'http_status', 'x', { id: i });
      Object.assign(r, { success: i !== 2, status_code: i === 2 ? 500 : 200, error_class: i === 2 ? 'http_status' : null, score: i * 0.5, started_at: 1_700_000_000_123_456, duration_ms: 1.25 });
      return serialize(r);
    });
    const file = join(tmp.dir, 'spool.ndjson');
    await writeFile(file, lines.join('\n') + '\n');
    const c1 = await sink.commit(conn, [file]);
    assert.equal(c1.rows, 3);
    const rows = await queryTable<Record<string, unknown>>(
      join(tmp.dir, 'sink'),
      `SELECT request_id, id, success, status_code, score, typeof(id) AS id_t, typeof(status_code) AS sc_t, strftime(started_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%f') AS ts FROM t ORDER BY request_id`,
    );
    assert.deepEqual(rows[0], { request_id: 'id1', id: 1, success: true, status_code: 200, score: 0.5, id_t: 'INTEGER', sc_t: 'INTEGER', ts: '2023-11-14 22:13:20.123456' });
    assert.equal(rows[1]?.success, false);

    const reopened = await Sink.open(config, schema, 'run-s2');
    assert.equal(reopened.exists, true);
    const succeeded = await reopened.succeededIds(conn);
    assert.ok(succeeded);
    const ids = (await conn.runAndReadAll(`SELECT request_id FROM ${succeeded} ORDER BY 1`)).getRowObjectsJson();
    assert.deepEqual(ids, [{ request_id: 'id1' }, { request_id: 'id3' }]);

    // The same run committing the same sequence number again (a retry after a commit
    // that landed) is a no-op thanks to the Delta txn action.
    const again = await Sink.open(config, schema, 'run-s');
    const c2 = await again.commit(conn, [file]);
    assert.equal(c2.rows, 0);
    const [n] = await queryTable<{ n: number }>(join(tmp.dir, 'sink'), 'SELECT count(*)::INT AS n FROM t');
    assert.equal(n?.n, 3);
  } finally {
    conn.closeSync();
    duck.closeSync();
    await tmp.cleanup();
  }
});

/** A fresh sink for a one-column pipeline, results with these response bodies spooled to a file, and DuckDB. */
async function withBodies(
  name: string,
  bodies: ReadonlyArray<string | null>,
  fn: (s: { sink: Sink; conn: DuckDBConnection; file: string; lines: string[]; path: string }) => Promise<void>,
): Promise<void> {
  const tmp = await tempDir();
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    const path = join(tmp.dir, 'sink');
    const config = await loadConfig({
      version: 1,
      name,
      source: { path: join(tmp.dir, 'x.csv'), format: 'csv' },
      request: { url: 'http://127.0.0.1/{{ id }}' },
      sink: { path, source_columns: ['id'] },
    });
    const serialize = createResultSerializer(config);
    const lines = bodies.map((body, i) => {
      const r = failedResult(config, 'run-b', `id${i}`, 'http_status', 'x', { id: i });
      r.response_body = body;
      return serialize(r);
    });
    const file = join(tmp.dir, 'spool.ndjson');
    await writeFile(file, lines.join('\n') + '\n');
    const sink = await Sink.open(config, sinkSchema(config, [{ name: 'id', duckType: 'INTEGER' }]), 'run-b');
    await fn({ sink, conn, file, lines, path });
  } finally {
    conn.closeSync();
    duck.closeSync();
    await tmp.cleanup();
  }
}

test('response bodies reach the table exactly as the worker saw them: quotes, backslashes, control characters, U+2028, emoji, long JSON', async () => {
  const mixed = 'ünï "quoted" \\ back\nslash\t€ 😀 \u0001\u2028';
  const bodies = [
    null,
    '',
    '{"short":true}',
    'x'.repeat(511),
    mixed.repeat(400),
    JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i, name: `item-${i}`, tags: ['a', 'b'] })) }),
  ];
  await withBodies('body_t', bodies, async ({ sink, conn, file, path }) => {
    await sink.commit(conn, [file]);
    const rows = await queryTable<{ response_body: string | null }>(path, 'SELECT response_body FROM t ORDER BY id');
    assert.deepEqual(rows.map((r) => r.response_body), bodies);
  });
});

test('a commit told the longest line (in bytes) reads lines longer than DuckDB\'s 16 MB default object size', async () => {
  // 6M characters, 18 MB of UTF-8: longer than DuckDB's default object size (16 MB).
  await withBodies('long_t', ['€'.repeat(6_000_000), 'short'], async ({ sink, conn, file, lines, path }) => {
    const longest = Math.max(...lines.map((l) => Buffer.byteLength(l)));
    assert.ok(longest > 16 << 20);
    assert.equal((await sink.commit(conn, [file], lines.length, longest)).rows, 2);
    const rows = await queryTable<{ n: number; same: boolean }>(path, `SELECT length(response_body)::INT AS n, response_body = repeat('€', 6000000) AS same FROM t WHERE id = 0`);
    assert.deepEqual(rows, [{ n: 6_000_000, same: true }]);
  });
});

test('append: a sink table with other columns is refused when the sink opens (before any request), naming the differences; overwrite replaces table and schema', async () => {
  const tmp = await tempDir();
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    const base = {
      version: 1,
      name: 'sink_schema_t',
      source: { path: join(tmp.dir, 'x.csv'), format: 'csv' },
      request: { url: 'http://127.0.0.1/{{ id }}' },
      sink: { path: join(tmp.dir, 'sink'), source_columns: ['id'] },
    };
    const first = await loadConfig(base);
    const sink = await Sink.open(first, sinkSchema(first, [{ name: 'id', duckType: 'INTEGER' }]), 'run-a');
    const file = join(tmp.dir, 'spool.ndjson');
    await writeFile(file, createResultSerializer(first)(failedResult(first, 'run-a', 'id1', 'http_status', 'x', { id: 1 })) + '\n');
    await sink.commit(conn, [file]);

    // In append mode: the same pipeline with an extract column added, and with a source column of another type.
    for (const [config, columns, problems] of [
      [await loadConfig({ ...base, response: { extract: { score: { path: '$.s', type: 'double' } } } }), [{ name: 'id', duckType: 'INTEGER' }], 'columns not in the table: score'],
      [await loadConfig(base), [{ name: 'id', duckType: 'VARCHAR' }], 'different types: id (table: integer, data: string)'],
    ] as const) {
      await assert.rejects(Sink.open(config, sinkSchema(config, [...columns]), 'run-b'), (e: unknown) => {
        assert.ok(e instanceof RunError);
        assert.equal(e.code, 'RESTLAKE_SINK');
        assert.equal(e.message, `sink ${join(tmp.dir, 'sink')} holds a Delta table with other columns than this pipeline writes (${problems}); write to a new sink.path, or remove that table first`);
        return true;
      });
    }
    // The unchanged pipeline still opens it.
    assert.equal((await Sink.open(first, sinkSchema(first, [{ name: 'id', duckType: 'INTEGER' }]), 'run-c')).exists, true);

    // Before a Spark run, in append mode: an added column is refused the same way; a
    // source column's type is Spark's to judge (it reads the source), so the unchanged
    // pipeline passes. Overwrite and a table not there yet pass.
    const refusal = (problems: string) => (e: unknown) =>
      e instanceof RunError &&
      e.message === `sink ${join(tmp.dir, 'sink')} holds a Delta table with other columns than this pipeline writes (${problems}); write to a new sink.path, or remove that table first`;
    const score = { extract: { score: { path: '$.s', type: 'double' } } };
    await assert.rejects(checkAppendBeforeSpark(await loadConfig({ ...base, response: score })), refusal('columns not in the table: score'));
    // A column the pipeline no longer writes is left null in its rows, as Delta appends do.
    await checkAppendBeforeSpark(await loadConfig({ ...base, sink: { ...base.sink, source_columns: [] } }));
    await checkAppendBeforeSpark(first);
    await checkAppendBeforeSpark(await loadConfig({ ...base, response: score, sink: { ...base.sink, mode: 'overwrite' } }));
    await checkAppendBeforeSpark(await loadConfig({ ...base, response: score, sink: { ...base.sink, path: join(tmp.dir, 'not-yet') } }));

    // Mode overwrite replaces the table, schema included: id becomes a string, score is added.
    const replacing = await loadConfig({ ...base, response: { extract: { score: { path: '$.s', type: 'double' } } }, sink: { ...base.sink, mode: 'overwrite' } });
    const over = await Sink.open(replacing, sinkSchema(replacing, [{ name: 'id', duckType: 'VARCHAR' }]), 'run-d');
    const line = failedResult(replacing, 'run-d', 'id9', 'http_status', 'x', { id: 'nine' });
    Object.assign(line, { score: 0.5 });
    await writeFile(file, createResultSerializer(replacing)(line) + '\n');
    await over.commit(conn, [file]);
    const rows = await queryTable<Record<string, unknown>>(join(tmp.dir, 'sink'), `SELECT request_id, id, typeof(id) AS t, score FROM t`);
    assert.deepEqual(rows, [{ request_id: 'id9', id: 'nine', t: 'VARCHAR', score: 0.5 }]);
    // A second commit of that run appends under the new schema.
    await writeFile(file, createResultSerializer(replacing)(failedResult(replacing, 'run-d', 'id10', 'http_status', 'x', { id: 'ten' })) + '\n');
    await over.commit(conn, [file]);
    const [n] = await queryTable<{ n: number }>(join(tmp.dir, 'sink'), 'SELECT count(*)::INT AS n FROM t');
    assert.equal(n?.n, 2);
  } finally {
    conn.closeSync();
    duck.closeSync();
    await tmp.cleanup();
  }
});

test('a sink deleted or rolled back mid-run is not quietly replaced by a new table', async () => {
  const tmp = await tempDir();
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    const config = await pipelineIn(tmp.dir, 'gone_t');
    const schema = sinkSchema(config, [{ name: 'id', duckType: 'INTEGER' }]);
    const serialize = createResultSerializer(config);
    const file = join(tmp.dir, 'spool.ndjson');
    await writeFile(file, serialize(failedResult(config, 'run-g', 'id1', 'http_status', 'x')) + '\n');

    const sink = await Sink.open(config, schema, 'run-g');
    assert.equal((await sink.commit(conn, [file])).version, 0);
    await rm(join(tmp.dir, 'sink'), { recursive: true });
    await assert.rejects(sink.commit(conn, [file]), (e: unknown) => {
      assert.ok(e instanceof RunError);
      assert.equal(e.message, `sink ${join(tmp.dir, 'sink')} is gone since this run committed version 0; not writing a new table in its place`);
      return true;
    });
    // A table that existed when the run started (append) is checked from the first commit.
    const again = await Sink.open(config, schema, 'run-g2');
    await again.commit(conn, [file]);
    const later = await Sink.open(config, schema, 'run-g3');
    assert.equal(later.exists, true);
    await rm(join(tmp.dir, 'sink'), { recursive: true });
    await assert.rejects(later.commit(conn, [file]), /is gone since this run started/);
  } finally {
    conn.closeSync();
    duck.closeSync();
    await tmp.cleanup();
  }
});

test('a sink path that is a file is refused when the sink opens, before any request', async () => {
  const tmp = await tempDir();
  try {
    const config = await pipelineIn(tmp.dir, 'file_t', { sink: { path: join(tmp.dir, 'not-a-dir') } });
    await writeFile(join(tmp.dir, 'not-a-dir'), 'x');
    const schema = sinkSchema(config, [{ name: 'id', duckType: 'INTEGER' }]);
    await assert.rejects(Sink.open(config, schema, 'run-f'), (e: unknown) => {
      assert.ok(e instanceof RunError);
      assert.equal(e.message, `cannot open sink ${join(tmp.dir, 'not-a-dir')}: it is a file, not a Delta table directory`);
      return true;
    });
  } finally {
    await tmp.cleanup();
  }
});
