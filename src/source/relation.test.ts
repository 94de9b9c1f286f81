import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '../duckdb.js';
import { RunError } from '../errors.js';
import type { SourceConfig } from '../config/types.js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startS3Server } from '../testkit/s3-server.js';
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
    const { relation } = await registerSource(conn, { path: header, format: 'csv', key: ['id'], limit: null });
    assert.deepEqual((await describe(conn, relation)).map((c) => c.name), ['id', 'name']);
  } finally {
    conn.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
});

test('an s3:// source skips hidden and _-prefixed files as a local directory does, and reads a directory named like a file', { timeout: 120_000 }, async () => {
  const s3 = await startS3Server();
  const dir = await mkdtemp(join(tmpdir(), 'restlake-relation-s3-'));
  const saved = { ...process.env };
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    Object.assign(process.env, s3.env, { RESTLAKE_S3_CACHE_DIR: join(dir, 'cache') });
    const put = (key: string, body: string) => s3.client().send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
    await put('in/c.csv', 'id\n1\n2\n3\n');
    await put('in/_temporary/0/task_1/stale.csv', 'id\n99999\n');
    await put('in/.hidden.csv', 'id\n99999\n');
    // What Spark's df.write.csv("orders.csv") leaves: a directory with a file's name.
    await put('exp/orders.csv/part-00000-abc.csv', 'id\n7\n8\n');
    await put('exp/orders.csv/_SUCCESS', '');
    const ids = async (path: string): Promise<number[]> => {
      const { relation } = await registerSource(conn, { path, format: 'csv', key: ['id'], limit: null });
      const r = await conn.runAndReadAll(`SELECT id::INT AS id FROM ${relation} ORDER BY id`);
      return r.getRows().map((x) => Number(x[0]));
    };
    assert.deepEqual(await ids(`s3://${s3.bucket}/in`), [1, 2, 3]);
    assert.deepEqual(await ids(`s3://${s3.bucket}/exp/orders.csv`), [7, 8]);
    // A bad line is named by its s3:// object, not by the local cache copy DuckDB read.
    await put('bad/a.csv', 'id,name\n1,a\n2,b,x\n');
    await put('bad/j.jsonl', '{"id":1}\n{"id":2,}\n');
    for (const [path, line] of [
      [`s3://${s3.bucket}/bad`, `  s3://${s3.bucket}/bad/a.csv line 3: 3 fields where the header has 2: "2,b,x"`],
      [`s3://${s3.bucket}/bad/a.csv`, `  s3://${s3.bucket}/bad/a.csv line 3: 3 fields where the header has 2: "2,b,x"`],
      [`s3://${s3.bucket}/bad/j.jsonl`, `  s3://${s3.bucket}/bad/j.jsonl line 2: not valid JSON (Expected double-quoted property name): "{\\"id\\":2,}"`],
    ]) {
      await assert.rejects(registerSource(conn, { path: path as string, format: path.endsWith('jsonl') ? 'json' : 'csv', key: ['id'], limit: null }), (e: unknown) => {
        assert.equal(String((e as Error).message).split('\n')[1], line);
        return true;
      });
    }
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    conn.closeSync();
    db.closeSync();
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
