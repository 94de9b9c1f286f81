import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '../duckdb.js';
import { DeltaTable, type StructType } from '../delta/index.js';
import { tempDir } from '../delta/testing/duck.js';
import { runTable } from './table.js';

const SCHEMA: StructType = { type: 'struct', fields: [{ name: 'id', type: 'long', nullable: true, metadata: {} }] };

function io(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  return { cwd, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, out: () => out.join(''), err: () => err.join('') };
}

async function countRows(path: string): Promise<{ rows: number; sum: number }> {
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    await DeltaTable.forPath(path).registerScan(conn, 't');
    const r = (await conn.runAndReadAll('SELECT count(*)::INT AS n, sum(id)::BIGINT AS s FROM t')).getRowObjectsJson()[0];
    return { rows: Number(r.n), sum: Number(r.s) };
  } finally {
    conn.closeSync();
    duck.closeSync();
  }
}

test('table compact, history, vacuum and checkpoint on a table of many small appends', async () => {
  const { dir, cleanup } = await tempDir('table-cli');
  try {
    const path = join(dir, 'lake');
    const duck = await DuckDBInstance.create(':memory:');
    const conn = await duck.connect();
    const table = DeltaTable.forPath(path);
    for (let i = 0; i < 6; i++) await table.write(conn, { selectSql: `SELECT (range + ${i * 10})::BIGINT AS id FROM range(10)`, schema: SCHEMA, mode: 'append' });
    conn.closeSync();
    duck.closeSync();
    const before = await countRows(path);
    const filesBefore = (await table.snapshot()).files.map((f) => f.path);
    assert.equal(filesBefore.length, 6);

    let t = io(dir);
    assert.equal(await runTable(['compact', 'lake'], t), 0, t.err());
    assert.match(t.out(), /compacted 6 files into 1 at version 6/);
    const snap = await table.snapshot();
    assert.equal(snap.files.length, 1);
    assert.deepEqual(await countRows(path), before);

    t = io(dir);
    assert.equal(await runTable(['history', 'lake', '--limit', '3'], t), 0, t.err());
    const lines = t.out().trim().split('\n');
    assert.equal(lines.length, 4, t.out()); // header + 3 commits
    assert.match(lines[1], /^\s+6 .* \+1 -6 files/);

    // Below the 168 h retention: refused unless forced, and nothing is deleted.
    t = io(dir);
    assert.equal(await runTable(['vacuum', 'lake', '--retain', '0h'], t), 2);
    assert.match(t.err(), /below the table's retention of 168h/);
    for (const f of filesBefore) assert.ok(existsSync(join(path, decodeURIComponent(f))), f);

    t = io(dir);
    assert.equal(await runTable(['vacuum', 'lake', '--retain', '0h', '--force', '--dry-run'], t), 0, t.err());
    assert.match(t.out(), /would delete 6 files/);
    for (const f of filesBefore) assert.ok(existsSync(join(path, decodeURIComponent(f))), f);

    t = io(dir);
    assert.equal(await runTable(['vacuum', 'lake', '--retain', '0h', '--force'], t), 0, t.err());
    assert.match(t.out(), /deleted 6 files/);
    for (const f of filesBefore) assert.ok(!existsSync(join(path, decodeURIComponent(f))), f);
    assert.deepEqual(await countRows(path), before);

    t = io(dir);
    assert.equal(await runTable(['checkpoint', 'lake'], t), 0, t.err());
    assert.ok(existsSync(join(path, '_delta_log', '00000000000000000006.checkpoint.parquet')));
    assert.ok(existsSync(join(path, '_delta_log', '_last_checkpoint')));
  } finally {
    await cleanup();
  }
});

test('table: usage errors exit 2, a missing table exits 3', async () => {
  const { dir, cleanup } = await tempDir('table-cli-usage');
  try {
    const cases: [string[], number, RegExp][] = [
      [[], 2, /missing subcommand/],
      [['shrink', 'x'], 2, /unknown subcommand "shrink"/],
      [['compact'], 2, /compact: missing <table>/],
      [['compact', 'x', '--min-files', '0'], 3, /no Delta table at/],
      [['vacuum', join(dir, 'nope')], 3, /no Delta table at/],
      [['history', 'a', 'b'], 2, /unexpected argument "b"/],
    ];
    for (const [args, code, message] of cases) {
      const t = io(dir);
      assert.equal(await runTable(args, t), code, `${args.join(' ')}: ${t.err()}`);
      assert.match(t.err(), message, args.join(' '));
    }
  } finally {
    await cleanup();
  }
});

test('table checkpoint refuses a table with writer features restlake does not support, naming them', async () => {
  const { dir, cleanup } = await tempDir('table-cli-features');
  try {
    const log = join(dir, 'lake', '_delta_log');
    await mkdir(log, { recursive: true });
    const protocol = { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['domainMetadata', 'rowTracking', 'clustering'] };
    const metaData = { id: 'f', format: { provider: 'parquet', options: {} }, schemaString: JSON.stringify(SCHEMA), partitionColumns: [], configuration: {} };
    await writeFile(join(log, '00000000000000000000.json'), `${JSON.stringify({ protocol })}\n${JSON.stringify({ metaData })}\n`);
    const t = io(dir);
    assert.equal(await runTable(['checkpoint', 'lake'], t), 3);
    assert.match(t.err(), /cannot write a checkpoint of .*'rowTracking', 'clustering' are not supported/);
    assert.ok(!existsSync(join(log, '00000000000000000000.checkpoint.parquet')), 'no checkpoint written');
  } finally {
    await cleanup();
  }
});
