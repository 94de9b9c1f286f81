// Interop: tables that restlake's Delta writer produced are read with the same rows and schema by
// delta-rs (Python `deltalake`) and by Apache Spark with delta-spark; a table Spark wrote and restlake
// appended to reads back correctly in Spark. One Python process (scripts/interop/delta_session.py)
// serves every read of this file, so Spark starts once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeltaTable } from './index.js';
import type { StructField, StructType } from './schema/types.js';
import { openConn, tempDir } from './testing/duck.js';
import { startS3Server, type S3TestServer } from '../testkit/s3-server.js';
import { interopScript, sparkEnv, sparkJars, sparkS3Jars, startPythonSession, type PythonSession } from '../testkit/python.js';

type Row = Record<string, string | number | boolean | null>;
interface ReadResult { version: number; schema: StructType; rows: Row[]; numFiles: number }

const field = (name: string, type: StructField['type'], nullable = true): StructField => ({ name, type, nullable, metadata: {} });
// The primitive types of restlake's sink, plus the ones users' sources bring (date, decimal, integer).
const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    field('id', 'long', false),
    field('name', 'string'),
    field('amount', 'double'),
    field('ok', 'boolean'),
    field('ts', 'timestamp'),
    field('day', 'date'),
    field('price', 'decimal(10,2)'),
    field('region', 'string'),
    field('qty', 'integer'),
  ],
};
// What Spark creates from a DataFrame: every column nullable.
const SCHEMA_NULLABLE: StructType = { type: 'struct', fields: SCHEMA.fields.map((f) => ({ ...f, nullable: true })) };
const SPARK_DDL = 'id BIGINT, name STRING, amount DOUBLE, ok BOOLEAN, ts TIMESTAMP, day DATE, price DECIMAL(10,2), region STRING, qty INT';
// Partition values that need escaping in paths (space, slash, '=', '%') and a null partition.
const REGIONS = ['eu', 'us east', 'ap/south', 'x=1%', null];

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** Row i in the normalised form the Python side prints (UTC micros timestamps, ISO dates, decimal text). */
function row(i: number): Row {
  const t = new Date(Date.UTC(2024, 0, 1) + i * 3_600_000 + (i % 60) * 1000);
  const micros = (i * 7919) % 1_000_000;
  return {
    id: i,
    name: i % 7 === 3 ? null : `name-${i} ✓ "q"`,
    amount: i % 11 === 5 ? null : i * 1.25 - 3,
    ok: i % 2 === 0,
    ts: `${t.toISOString().slice(0, 19)}.${pad(micros, 6)}`,
    day: t.toISOString().slice(0, 10),
    price: `${i % 3 === 0 && i > 0 ? '-' : ''}${i}.${pad(i % 100, 2)}`,
    region: REGIONS[i % REGIONS.length],
    qty: i % 13 === 0 ? null : i * 3,
  };
}
const rows = (from: number, count: number): Row[] => Array.from({ length: count }, (_, k) => row(from + k));

let tmp: { dir: string; cleanup: () => Promise<void> };
let duck: { conn: DuckDBConnection; close: () => void };
let s3: S3TestServer;
let py: PythonSession;
let batch = 0;

/** Appends/overwrites `data` with restlake's writer: rows go in as NDJSON, the writer casts to the table types. */
async function restlakeWrite(uri: string, data: Row[], opts: { mode?: 'append' | 'overwrite'; partitionColumns?: string[]; schema?: StructType } = {}) {
  const file = path.join(tmp.dir, `batch-${++batch}.ndjson`);
  // ts with an explicit UTC offset: the writer's TIMESTAMPTZ cast must not depend on the machine's zone
  await fs.writeFile(file, data.map((r) => JSON.stringify({ ...r, ts: r.ts === null ? null : `${r.ts}Z` })).join('\n') + '\n');
  const columns = "{id: 'BIGINT', name: 'VARCHAR', amount: 'DOUBLE', ok: 'BOOLEAN', ts: 'VARCHAR', day: 'VARCHAR', price: 'VARCHAR', region: 'VARCHAR', qty: 'INTEGER'}";
  return DeltaTable.forPath(uri).write(duck.conn, {
    selectSql: `SELECT * FROM read_json('${file}', format = 'newline_delimited', columns = ${columns})`,
    schema: opts.schema ?? SCHEMA,
    mode: opts.mode ?? 'append',
    partitionColumns: opts.partitionColumns,
  });
}

const byId = (a: Row, b: Row): number => Number(a.id) - Number(b.id);

function assertSame(got: ReadResult, expected: { rows: Row[]; version: number; schema?: StructType; numFiles?: number }, who: string): void {
  assert.equal(got.version, expected.version, `${who}: version`);
  const want = expected.schema ?? SCHEMA;
  assert.deepEqual(
    got.schema.fields.map((f) => ({ name: f.name, type: f.type, nullable: f.nullable })),
    want.fields.map((f) => ({ name: f.name, type: f.type, nullable: f.nullable })),
    `${who}: schema`,
  );
  assert.equal(got.rows.length, expected.rows.length, `${who}: row count`);
  // Compare row by row so a failure shows the one row that differs, not two hundred.
  const g = [...got.rows].sort(byId);
  const e = [...expected.rows].sort(byId);
  for (let k = 0; k < e.length; k++) assert.deepEqual(g[k], e[k], `${who}: row ${k} (id ${String(e[k].id)})`);
  if (expected.numFiles !== undefined) assert.equal(got.numFiles, expected.numFiles, `${who}: live files`);
}

const read = (engine: 'deltalake' | 'spark', uri: string): Promise<ReadResult> => py.call<ReadResult>({ op: 'read', engine, path: uri });

let local: { appends: string; overwrite: string; partitioned: string; sparkFirst: string };
let s3Table: string;

before(async () => {
  tmp = await tempDir('interop');
  duck = await openConn();
  s3 = await startS3Server();
  // restlake's S3 storage takes its settings from the standard AWS variables, as in production.
  Object.assign(process.env, s3.env, { RESTLAKE_S3_CACHE_DIR: path.join(tmp.dir, 's3-cache') });
  const work = path.join(tmp.dir, 'spark-work');
  await fs.mkdir(work);
  py = startPythonSession(
    [interopScript('delta_session.py'), '--spark-jars', [...sparkJars(), ...sparkS3Jars()].join(','), '--work-dir', work],
    { env: sparkEnv({ ...s3.env, TZ: 'UTC' }), cwd: work },
  );
  local = {
    appends: path.join(tmp.dir, 'appends'),
    overwrite: path.join(tmp.dir, 'overwrite'),
    partitioned: path.join(tmp.dir, 'partitioned'),
    sparkFirst: path.join(tmp.dir, 'spark_first'),
  };
  s3Table = `s3://${s3.bucket}/lake/interop_events`;
});

after(async () => {
  await py?.close();
  duck?.close();
  await s3?.stop();
  await tmp?.cleanup();
});

describe('tables restlake wrote', () => {
  test('12 appends with a checkpoint at 10 read the same in delta-rs and Spark', async () => {
    for (let b = 0; b < 12; b++) await restlakeWrite(local.appends, rows(b * 4, 4));
    assert.ok(existsSync(path.join(local.appends, '_delta_log', '00000000000000000010.checkpoint.parquet')), 'restlake wrote a checkpoint at 10');
    const expected = { rows: rows(0, 48), version: 11, numFiles: 12 };
    assertSame(await read('deltalake', local.appends), expected, 'deltalake');
    assertSame(await read('spark', local.appends), expected, 'spark');
  });

  test('an overwrite replaces every row for both readers', async () => {
    for (let b = 0; b < 3; b++) await restlakeWrite(local.overwrite, rows(b * 10, 10));
    await restlakeWrite(local.overwrite, rows(500, 7), { mode: 'overwrite' });
    const expected = { rows: rows(500, 7), version: 3, numFiles: 1 };
    assertSame(await read('deltalake', local.overwrite), expected, 'deltalake');
    assertSame(await read('spark', local.overwrite), expected, 'spark');
  });

  test('a partitioned table with escaped and null partition values', async () => {
    await restlakeWrite(local.partitioned, rows(0, 20), { partitionColumns: ['region'] });
    await restlakeWrite(local.partitioned, rows(20, 13), { partitionColumns: ['region'] });
    const expected = { rows: rows(0, 33), version: 1, numFiles: 10 };
    assertSame(await read('deltalake', local.partitioned), expected, 'deltalake');
    assertSame(await read('spark', local.partitioned), expected, 'spark');
  });

  test('a table on S3 (12 appends, checkpoint on S3) reads the same in delta-rs and Spark (s3a)', async () => {
    for (let b = 0; b < 12; b++) await restlakeWrite(s3Table, rows(1000 + b * 5, 5));
    const log = await DeltaTable.forPath(s3Table).storage.list('_delta_log');
    assert.ok(log.some((f) => f.path === '_delta_log/00000000000000000010.checkpoint.parquet'), 'checkpoint at 10 on S3');
    const expected = { rows: rows(1000, 60), version: 11, numFiles: 12 };
    assertSame(await read('deltalake', s3Table), expected, 'deltalake');
    assertSame(await read('spark', s3Table), expected, 'spark');
  });
});

describe('a table Spark wrote', () => {
  test('restlake appends to it, across checkpoints each side wrote, and Spark reads every row back', async () => {
    // checkpointInterval 3: Spark writes the checkpoint at 3, which restlake must read to append, and
    // restlake writes the one at 6 (honouring the table's setting), which Spark must read.
    for (let b = 0; b < 4; b++) {
      await py.call({
        op: 'write', engine: 'spark', path: local.sparkFirst, ddl: SPARK_DDL, rows: rows(2000 + b * 3, 3), partitionBy: ['region'], checkpointInterval: 3,
      });
    }
    const logDir = path.join(local.sparkFirst, '_delta_log');
    assert.ok(existsSync(path.join(logDir, '00000000000000000003.checkpoint.parquet')), 'Spark wrote a checkpoint at 3');
    const versions = [];
    for (const [from, n] of [[3000, 9], [3009, 4], [3013, 2]]) versions.push((await restlakeWrite(local.sparkFirst, rows(from, n), { schema: SCHEMA_NULLABLE })).version);
    assert.deepEqual(versions, [4, 5, 6]);
    assert.ok(existsSync(path.join(logDir, '00000000000000000006.checkpoint.parquet')), 'restlake wrote a checkpoint at 6');
    const expected = { rows: [...rows(2000, 12), ...rows(3000, 15)], version: 6, schema: SCHEMA_NULLABLE };
    assertSame(await read('spark', local.sparkFirst), expected, 'spark');
    assertSame(await read('deltalake', local.sparkFirst), expected, 'deltalake');
  });
});
