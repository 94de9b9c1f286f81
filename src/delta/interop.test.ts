// Interop: tables that restlake's Delta writer produced are read with the same rows and schema by
// delta-rs (Python `deltalake`) and by Apache Spark with delta-spark; a table Spark wrote and restlake
// appended to reads back correctly in Spark. Checkpoints with typed stats (writeStatsAsStruct) and tables
// with in-commit timestamps are read by both, and restlake reads delta-rs' stats_parsed-only checkpoint. One Python process (scripts/interop/delta_session.py)
// serves every read of this file, so Spark starts once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeltaTable, type AddFile } from './index.js';
import type { StructField, StructType } from './schema/types.js';
import { openConn, rows as duckRows, tempDir } from './testing/duck.js';
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
async function restlakeWrite(uri: string, data: Row[], opts: { mode?: 'append' | 'overwrite'; partitionColumns?: string[]; schema?: StructType; configuration?: Record<string, string> } = {}) {
  const file = path.join(tmp.dir, `batch-${++batch}.ndjson`);
  // ts with an explicit UTC offset: the writer's TIMESTAMPTZ cast must not depend on the machine's zone
  await fs.writeFile(file, data.map((r) => JSON.stringify({ ...r, ts: r.ts === null ? null : `${r.ts}Z` })).join('\n') + '\n');
  const columns = "{id: 'BIGINT', name: 'VARCHAR', amount: 'DOUBLE', ok: 'BOOLEAN', ts: 'VARCHAR', day: 'VARCHAR', price: 'VARCHAR', region: 'VARCHAR', qty: 'INTEGER'}";
  return DeltaTable.forPath(uri).write(duck.conn, {
    selectSql: `SELECT * FROM read_json('${file}', format = 'newline_delimited', columns = ${columns})`,
    schema: opts.schema ?? SCHEMA,
    mode: opts.mode ?? 'append',
    partitionColumns: opts.partitionColumns,
    configuration: opts.configuration,
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

/** Removes the JSON commits before `version`: readers then have the checkpoint at `version` or nothing. */
async function dropCommitsBefore(uri: string, version: number): Promise<void> {
  for (let v = 0; v < version; v++) await fs.rm(path.join(uri, '_delta_log', `${pad(v, 20)}.json`));
}

/** The DuckDB type of add.<field> in a checkpoint file. */
async function checkpointAddField(file: string, field: string): Promise<string> {
  const [r] = await duckRows(duck.conn, `SELECT column_type t FROM (DESCRIBE SELECT add.${field} FROM read_parquet('${file}'))`);
  return String(r.t);
}

interface SkipStats { minValues: Record<string, unknown>; maxValues: Record<string, unknown>; numRecords: number }
const statsOf = (f: AddFile): SkipStats => JSON.parse(f.stats!) as SkipStats;
interface DeltaRsStats { files: { path: string; numRecords: number; min: Record<string, unknown>; max: Record<string, unknown> }[] }

describe('checkpoints with delta.checkpoint.writeStatsAsStruct=true', () => {
  test('restlake writes partitionValues_parsed and stats_parsed; Spark and delta-rs read the table from it, Spark prunes and skips files', async () => {
    const uri = path.join(tmp.dir, 'struct_stats');
    const configuration = { 'delta.checkpoint.writeStatsAsStruct': 'true', 'delta.checkpointInterval': '3' };
    for (let b = 0; b < 5; b++) await restlakeWrite(uri, rows(4000 + b * 10, 10), { partitionColumns: ['region'], configuration });
    const cp = path.join(uri, '_delta_log', '00000000000000000003.checkpoint.parquet');
    assert.ok(existsSync(cp), 'restlake wrote the checkpoint at 3');
    assert.equal(await checkpointAddField(cp, 'partitionValues_parsed'), 'STRUCT(region VARCHAR)');
    assert.match(await checkpointAddField(cp, 'stats_parsed'), /^STRUCT\(numRecords BIGINT, minValues STRUCT\(id BIGINT, "name" VARCHAR, amount DOUBLE, ts TIMESTAMP WITH TIME ZONE, "day" DATE, price DECIMAL\(10,2\), qty INTEGER\), /);
    const snap = await DeltaTable.forPath(uri).snapshot();
    await dropCommitsBefore(uri, 3);
    const expected = { rows: rows(4000, 50), version: 4, numFiles: snap.files.length };
    assertSame(await read('deltalake', uri), expected, 'deltalake');
    assertSame(await read('spark', uri), expected, 'spark');

    // Spark: a stats filter reads only the files whose id range overlaps (data skipping), a partition filter one region.
    const scan = (where: string): Promise<{ rows: Row[]; filesRead: number }> => py.call({ op: 'scan', engine: 'spark', path: uri, where });
    const overlapping = snap.files.filter((f) => Number(statsOf(f).minValues.id) <= 4019 && Number(statsOf(f).maxValues.id) >= 4010);
    const byId = await scan('id BETWEEN 4010 AND 4019');
    assert.deepEqual(byId.rows.map((r) => r.id).sort(), rows(4010, 10).map((r) => r.id).sort());
    assert.equal(byId.filesRead, overlapping.length, 'Spark read only the files of the second write');
    assert.ok(overlapping.length < snap.files.length);
    const eu = await scan("region = 'eu'");
    assert.deepEqual(eu.rows.map((r) => r.id).sort(), rows(4000, 50).filter((r) => r.region === 'eu').map((r) => r.id).sort());
    assert.equal(eu.filesRead, snap.files.filter((f) => f.partitionValues.region === 'eu').length);

    // delta-rs took each file's statistics from the checkpoint (commits 0-2 are gone)
    const drs = await py.call<DeltaRsStats>({ op: 'stats', engine: 'deltalake', path: uri });
    assert.equal(drs.files.length, snap.files.length);
    for (const f of snap.files) {
      const got = drs.files.find((x) => decodeURIComponent(x.path) === decodeURIComponent(f.path));
      assert.ok(got, `delta-rs lists ${f.path}`);
      assert.equal(got.numRecords, statsOf(f).numRecords);
      assert.equal(got.min.id, statsOf(f).minValues.id);
      assert.equal(got.max.id, statsOf(f).maxValues.id);
    }
  });

  test('without JSON stats (writeStatsAsJson=false) delta-rs takes the statistics from stats_parsed; Spark reads the rows', async () => {
    const uri = path.join(tmp.dir, 'struct_only');
    const configuration = { 'delta.checkpoint.writeStatsAsStruct': 'true', 'delta.checkpoint.writeStatsAsJson': 'false', 'delta.checkpointInterval': '2' };
    for (let b = 0; b < 3; b++) await restlakeWrite(uri, rows(5000 + b * 7, 7), { configuration });
    const cp = path.join(uri, '_delta_log', '00000000000000000002.checkpoint.parquet');
    assert.ok(existsSync(cp), 'restlake wrote the checkpoint at 2');
    await assert.rejects(checkpointAddField(cp, 'stats'), /stats/);
    const snap = await DeltaTable.forPath(uri).snapshot();
    await dropCommitsBefore(uri, 2);
    const drs = await py.call<DeltaRsStats>({ op: 'stats', engine: 'deltalake', path: uri });
    assert.deepEqual(
      drs.files.map((f) => [f.numRecords, f.min.id, f.max.id, f.min.name]).sort(),
      snap.files.map((f) => statsOf(f)).map((s) => [s.numRecords, s.minValues.id, s.maxValues.id, s.minValues.name]).sort(),
    );
    const expected = { rows: rows(5000, 21), version: 2, numFiles: 3 };
    assertSame(await read('deltalake', uri), expected, 'deltalake');
    assertSame(await read('spark', uri), expected, 'spark');
  });

  test('a column-mapping table Spark wrote: restlake checkpoints it under physical names, as Spark does; both engines read it', async () => {
    const uri = path.join(tmp.dir, 'struct_cm');
    const properties = { 'delta.columnMapping.mode': 'name', 'delta.checkpoint.writeStatsAsStruct': 'true', 'delta.checkpointInterval': '100' };
    for (let b = 0; b < 3; b++) {
      await py.call({ op: 'write', engine: 'spark', path: uri, ddl: SPARK_DDL, rows: rows(6000 + b * 6, 6), partitionBy: ['region'], properties });
    }
    await DeltaTable.forPath(uri).checkpoint();
    const ours = path.join(uri, '_delta_log', '00000000000000000002.checkpoint.parquet');
    const snap = await DeltaTable.forPath(uri).snapshot();
    const physical = (name: string): string => String(snap.schema.fields.find((f) => f.name === name)!.metadata['delta.columnMapping.physicalName']);
    assert.match(physical('region'), /^col-/);
    assert.equal(await checkpointAddField(ours, 'partitionValues_parsed'), `STRUCT("${physical('region')}" VARCHAR)`);
    assert.ok((await checkpointAddField(ours, 'stats_parsed')).includes(`minValues STRUCT("${physical('id')}" BIGINT, "${physical('name')}" VARCHAR`));
    const [stat] = await duckRows(duck.conn, `SELECT add.stats_parsed.minValues."${physical('id')}" AS id FROM read_parquet('${ours}') WHERE add.path = '${snap.files[0].path}'`);
    assert.equal(Number(stat.id), Object.values(statsOf(snap.files[0]).minValues)[0] as number);
    await dropCommitsBefore(uri, 2);
    const expected = { rows: rows(6000, 18), version: 2, schema: SCHEMA_NULLABLE };
    assertSame(await read('spark', uri), expected, 'spark');
    // delta-rs 1.6.6 reads the data columns of a column-mapping table as nulls whatever the checkpoint
    // (Spark's own, none at all): only what it takes from the log is compared.
    const drs = await read('deltalake', uri);
    assert.equal(drs.version, 2, 'deltalake: version');
    assert.deepEqual(drs.rows.map((r) => r.region).sort(), expected.rows.map((r) => r.region).sort(), 'deltalake: partition values');
    const byId = await py.call<{ rows: Row[]; filesRead: number }>({ op: 'scan', engine: 'spark', path: uri, where: 'id >= 6012' });
    assert.equal(byId.rows.length, 6);
    // Spark's own checkpoint of the next version has the same partitionValues_parsed
    await py.call({ op: 'write', engine: 'spark', path: uri, ddl: SPARK_DDL, rows: rows(6018, 2), partitionBy: ['region'] });
    await py.call({ op: 'checkpoint', engine: 'spark', path: uri });
    const sparks = path.join(uri, '_delta_log', '00000000000000000003.checkpoint.parquet');
    assert.equal(await checkpointAddField(sparks, 'partitionValues_parsed'), await checkpointAddField(ours, 'partitionValues_parsed'));
  });

  test('restlake reads a delta-rs checkpoint that has stats only as stats_parsed', async () => {
    const uri = path.join(tmp.dir, 'drs_struct_only');
    const configuration = { 'delta.checkpoint.writeStatsAsStruct': 'true', 'delta.checkpoint.writeStatsAsJson': 'false' };
    const data = (from: number) => Array.from({ length: 4 }, (_, k) => ({ id: from + k, name: `n${from + k}`, region: k % 2 ? 'eu' : 'us' }));
    await py.call({ op: 'write', engine: 'deltalake', path: uri, rows: data(0), partitionBy: ['region'], configuration });
    await py.call({ op: 'write', engine: 'deltalake', path: uri, rows: data(10), partitionBy: ['region'] });
    await py.call({ op: 'checkpoint', engine: 'deltalake', path: uri });
    const cp = path.join(uri, '_delta_log', '00000000000000000001.checkpoint.parquet');
    await assert.rejects(checkpointAddField(cp, 'stats'), /stats/, 'delta-rs wrote no JSON stats');
    await dropCommitsBefore(uri, 2);
    const snap = await DeltaTable.forPath(uri).snapshot();
    const got = snap.files.map((f) => statsOf(f)).map((s) => [s.numRecords, s.minValues.id, s.maxValues.id, s.minValues.name]).sort();
    assert.deepEqual(got, [[2, 0, 2, 'n0'], [2, 1, 3, 'n1'], [2, 10, 12, 'n10'], [2, 11, 13, 'n11']].sort());
  });
});

describe('in-commit timestamps', () => {
  test('a table restlake created with delta.enableInCommitTimestamps=true: Spark reads it and time travels by the in-commit timestamps', async () => {
    const uri = path.join(tmp.dir, 'ict');
    for (let b = 0; b < 3; b++) await restlakeWrite(uri, rows(7000 + b * 3, 3), b === 0 ? { configuration: { 'delta.enableInCommitTimestamps': 'true' } } : {});
    const icts: number[] = [];
    const old = new Date('2001-01-01T00:00:00Z'); // file times that say nothing: only the in-commit timestamps tell
    for (let v = 0; v < 3; v++) {
      const file = path.join(uri, '_delta_log', `${pad(v, 20)}.json`);
      icts.push(JSON.parse((await fs.readFile(file, 'utf8')).split('\n')[0]).commitInfo.inCommitTimestamp);
      await fs.utimes(file, old, old);
    }
    const history = await py.call<{ commits: { version: number; timestamp: number }[] }>({ op: 'history', engine: 'spark', path: uri });
    assert.deepEqual(history.commits, icts.map((timestamp, version) => ({ version, timestamp })));
    const asOf = await py.call<ReadResult>({ op: 'read', engine: 'spark', path: uri, timestampAsOf: icts[1] });
    assert.deepEqual(asOf.rows.map((r) => r.id).sort(), rows(7000, 6).map((r) => r.id).sort());
    assertSame(await read('spark', uri), { rows: rows(7000, 9), version: 2 }, 'spark');
    assertSame(await read('deltalake', uri), { rows: rows(7000, 9), version: 2 }, 'deltalake');
  });
});

describe('expired log cleanup', () => {
  const versioned = (name: string): number | null => (/^(\d{20})\./.exec(name) ? Number(name.slice(0, 20)) : null);
  const readAt = (engine: 'deltalake' | 'spark', uri: string, versionAsOf: number): Promise<ReadResult> => py.call<ReadResult>({ op: 'read', engine, path: uri, versionAsOf });

  test('restlake deletes the log before the cutoff checkpoint after its checkpoint; Spark and delta-rs read the table and time travel to the oldest version kept', async () => {
    const uri = path.join(tmp.dir, 'log_cleanup');
    const configuration = { 'delta.checkpointInterval': '3' };
    for (let b = 0; b < 10; b++) await restlakeWrite(uri, rows(8000 + b * 2, 2), { configuration });
    // versions 0-6 written 40 days ago (a second apart), 7-9 now: the cutoff commit is 6, and so the cutoff checkpoint
    const logDir = path.join(uri, '_delta_log');
    const old = Date.now() - 40 * 86_400_000;
    for (const name of await fs.readdir(logDir)) {
      const v = versioned(name);
      if (v !== null && v <= 6) await fs.utimes(path.join(logDir, name), (old + v * 1000) / 1000, (old + v * 1000) / 1000);
    }
    for (let b = 10; b < 13; b++) await restlakeWrite(uri, rows(8000 + b * 2, 2), { configuration });
    assert.deepEqual((await fs.readdir(logDir)).sort(), [
      ...[6, 7, 8, 9, 10, 11, 12].map((v) => `${pad(v, 20)}.json`),
      ...[6, 9, 12].map((v) => `${pad(v, 20)}.checkpoint.parquet`),
      '_last_checkpoint',
    ].sort());
    const latest = { rows: rows(8000, 26), version: 12, numFiles: 13 };
    assertSame(await read('deltalake', uri), latest, 'deltalake');
    assertSame(await read('spark', uri), latest, 'spark');
    const oldest = { rows: rows(8000, 14), version: 6, numFiles: 7 };
    assertSame(await readAt('deltalake', uri, 6), oldest, 'deltalake version 6');
    assertSame(await readAt('spark', uri, 6), oldest, 'spark version 6');
    // Spark finds version 6 by its commit time too, and its history starts there
    const t6 = (await fs.stat(path.join(logDir, `${pad(6, 20)}.json`))).mtimeMs;
    const asOf = await py.call<ReadResult>({ op: 'read', engine: 'spark', path: uri, timestampAsOf: Math.ceil(t6) });
    assert.deepEqual(asOf.rows.map((r) => r.id).sort(), oldest.rows.map((r) => r.id).sort());
    const history = await py.call<{ commits: { version: number }[] }>({ op: 'history', engine: 'spark', path: uri });
    assert.deepEqual(history.commits.map((c) => c.version), [6, 7, 8, 9, 10, 11, 12]);
    await assert.rejects(DeltaTable.forPath(uri).snapshot({ version: 5 }), /version 5 .* cannot be reconstructed/);
  });

  test('on S3 (a later clock instead of older files): Spark and delta-rs read the cleaned table and its oldest version', async () => {
    const uri = `s3://${s3.bucket}/lake/log_cleanup`;
    for (let b = 0; b < 5; b++) {
      // S3 keeps times to the second: commit 4 in the same second as 3 would count as 3's time + 1 ms, and
      // then cannot be the cutoff (its time would change once 3 is gone)
      if (b === 4) await new Promise((r) => setTimeout(r, 1100));
      await restlakeWrite(uri, rows(9000 + b * 3, 3), { configuration: { 'delta.checkpointInterval': '2' } });
    }
    const r = await DeltaTable.forPath(uri).cleanupExpiredLogs({ now: Date.now() + 40 * 86_400_000 });
    assert.equal(r.cutoffCheckpoint, 4);
    const log = (await DeltaTable.forPath(uri).storage.list('_delta_log')).map((f) => f.path.slice('_delta_log/'.length));
    assert.deepEqual(log, [`${pad(4, 20)}.checkpoint.parquet`, `${pad(4, 20)}.json`, '_last_checkpoint']);
    const expected = { rows: rows(9000, 15), version: 4, numFiles: 5 };
    assertSame(await read('deltalake', uri), expected, 'deltalake');
    assertSame(await read('spark', uri), expected, 'spark');
    assertSame(await readAt('spark', uri, 4), expected, 'spark version 4');
  });
});
