// Writer round trips: create, append, overwrite, partitions, stats, checkpoints, time travel, txn,
// schema rules, compaction and vacuum, each checked on disk and by reading back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeltaError, DeltaTable, LocalStorage, TableGoneError, type StructType } from './index.js';
import { GOLDEN, one, openConn, rows, tempDir } from './testing/duck.js';

let conn: DuckDBConnection;
let close: () => void;
before(async () => ({ conn, close } = await openConn()));
after(() => close());

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'name', type: 'string', nullable: true, metadata: {} },
    { name: 'at', type: 'timestamp', nullable: true, metadata: {} },
    { name: 'amount', type: 'decimal(12,2)', nullable: true, metadata: {} },
    { name: 'region', type: 'string', nullable: true, metadata: {} },
  ],
};

/** Rows from..to-1: region cycles through 'eu', 'us west', null. */
const rowsSql = (from: number, to: number): string =>
  `SELECT range::BIGINT AS id, 'n' || range AS name, TIMESTAMPTZ '2024-03-01 12:00:00.123456+00' + to_seconds(range) AS "at",
   (range * 1.25)::DECIMAL(12,2) AS amount, CASE range % 3 WHEN 0 THEN 'eu' WHEN 1 THEN 'us west' ELSE NULL END AS region
   FROM range(${from}, ${to})`;

async function withTable<T>(fn: (t: DeltaTable, dir: string) => Promise<T>): Promise<T> {
  const d = await tempDir('write');
  try {
    return await fn(DeltaTable.forPath(d.dir), d.dir);
  } finally {
    await d.cleanup();
  }
}

async function commitLines(dir: string, v: number): Promise<Record<string, any>[]> {
  const text = await fs.readFile(path.join(dir, '_delta_log', `${String(v).padStart(20, '0')}.json`), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l));
}

let viewSeq = 0;
async function scanCount(t: DeltaTable, version?: number): Promise<number> {
  const v = `w${viewSeq++}`;
  await t.registerScan(conn, v, version === undefined ? {} : { version });
  return Number(await one(conn, `SELECT count(*) FROM ${v}`));
}

describe('DeltaTable.write', () => {
  test('create: protocol 1/2, Spark metaData, commitInfo, add actions with stats, zstd files with UTC micros', async () => {
    await withTable(async (t, dir) => {
      assert.equal(await t.exists(), false);
      assert.equal(await t.latestVersion(), null);
      const r = await t.write(conn, { selectSql: rowsSql(0, 10), schema: SCHEMA, mode: 'append', configuration: { 'delta.appendOnly': 'false' } });
      const { tableId, ...rest } = r;
      assert.deepEqual(rest, { version: 0, files: 1, rows: 10, skipped: false });
      assert.match(tableId, /^[0-9a-f-]{36}$/);
      const lines = await commitLines(dir, 0);
      assert.deepEqual(Object.keys(lines[0]), ['commitInfo']);
      const ci = lines[0].commitInfo;
      assert.equal(ci.operation, 'WRITE');
      assert.equal(ci.isBlindAppend, true);
      assert.match(ci.engineInfo, /^restlake\/\d+\.\d+\.\d+/);
      assert.equal(typeof ci.timestamp, 'number');
      assert.deepEqual(ci.operationParameters, { mode: 'Append', partitionBy: '[]' });
      assert.deepEqual(lines[1], { protocol: { minReaderVersion: 1, minWriterVersion: 2 } });
      const md = lines[2].metaData;
      assert.deepEqual(md.format, { provider: 'parquet', options: {} });
      assert.deepEqual(md.partitionColumns, []);
      assert.deepEqual(md.configuration, { 'delta.appendOnly': 'false' });
      assert.deepEqual(JSON.parse(md.schemaString), SCHEMA);
      assert.equal(typeof md.createdTime, 'number');
      const add = lines[3].add;
      assert.match(add.path, /^part-[0-9a-f-]{36}\.c000\.zstd\.parquet$/);
      assert.equal(add.dataChange, true);
      assert.equal(add.size, (await fs.stat(path.join(dir, add.path))).size);
      const stats = JSON.parse(add.stats);
      assert.deepEqual(stats, {
        numRecords: 10,
        minValues: { id: 0, name: 'n0', at: '2024-03-01T12:00:00.123Z', amount: 0, region: 'eu' },
        maxValues: { id: 9, name: 'n9', at: '2024-03-01T12:00:09.124Z', amount: 11.25, region: 'us west' },
        nullCount: { id: 0, name: 0, at: 0, amount: 0, region: 3 },
      });
      const pq = await rows(conn, `SELECT name, type, logical_type FROM parquet_schema('${path.join(dir, add.path)}') WHERE name = 'at'`);
      assert.equal(pq[0].type, 'INT64');
      assert.match(String(pq[0].logical_type), /isAdjustedToUTC=1.*MICROS=MicroSeconds/);
      const meta = await rows(conn, `SELECT DISTINCT compression FROM parquet_metadata('${path.join(dir, add.path)}')`);
      assert.deepEqual(meta, [{ compression: 'ZSTD' }]);
      // and it reads back in logical types
      await t.registerScan(conn, 'created');
      assert.deepEqual(await rows(conn, `SELECT id::INT id, name, epoch_us("at")::BIGINT::VARCHAR us, amount::VARCHAR amount, region FROM created WHERE id = 4`), [
        { id: 4, name: 'n4', us: String(Date.UTC(2024, 2, 1, 12, 0, 4) * 1000 + 123456), amount: '5.00', region: 'us west' },
      ]);
    });
  });

  test('append and overwrite: overwrite removes every live file in the same commit; time travel sees the past', async () => {
    await withTable(async (t, dir) => {
      await t.write(conn, { selectSql: rowsSql(0, 10), schema: SCHEMA, mode: 'append' });
      await t.write(conn, { selectSql: rowsSql(10, 25), schema: SCHEMA, mode: 'append' });
      assert.equal(await scanCount(t), 25);
      const before = await t.snapshot();
      const r = await t.write(conn, { selectSql: rowsSql(100, 104), schema: SCHEMA, mode: 'overwrite' });
      assert.equal(r.version, 2);
      const lines = await commitLines(dir, 2);
      assert.equal(lines[0].commitInfo.operationParameters.mode, 'Overwrite');
      assert.equal(lines[0].commitInfo.isBlindAppend, false);
      const removed = lines.filter((l) => l.remove).map((l) => l.remove);
      assert.deepEqual(removed.map((x) => x.path).sort(), before.files.map((f) => f.path).sort());
      for (const x of removed) {
        assert.equal(x.dataChange, true);
        assert.equal(typeof x.deletionTimestamp, 'number');
        assert.equal(x.extendedFileMetadata, true);
      }
      assert.equal(await scanCount(t), 4);
      assert.equal(await scanCount(t, 1), 25);
      assert.equal(await scanCount(t, 0), 10);
      const snap = await t.snapshot();
      assert.equal(snap.tombstones.length, 2);
    });
  });

  test('targetFileRows splits files', async () => {
    await withTable(async (t) => {
      const r = await t.write(conn, { selectSql: rowsSql(0, 10), schema: SCHEMA, mode: 'append', targetFileRows: 3 });
      assert.equal(r.files, 4);
      const snap = await t.snapshot();
      const counts = snap.files.map((f) => JSON.parse(f.stats!).numRecords).sort();
      assert.deepEqual(counts, [1, 3, 3, 3]);
      assert.equal(await scanCount(t), 10);
    });
  });

  test('unpartitioned writes stream into files of at most targetFileRows, in row groups of whole vectors, rows in order', async () => {
    await withTable(async (t, dir) => {
      const r = await t.write(conn, { selectSql: rowsSql(0, 20_000), schema: SCHEMA, mode: 'append', targetFileRows: 8192, rowGroupRows: 3000 });
      assert.equal(r.rows, 20_000);
      const snap = await t.snapshot();
      const files = snap.files.map((f) => ({ path: f.path, stats: JSON.parse(f.stats!) })).sort((a, b) => a.stats.minValues.id - b.stats.minValues.id);
      assert.deepEqual(files.map((f) => f.stats.numRecords), [8192, 8192, 3616]);
      // Each file holds a contiguous range of ids: the source order is kept across files.
      let next = 0;
      for (const f of files) {
        assert.equal(f.stats.minValues.id, next);
        assert.equal(f.stats.maxValues.id, next + f.stats.numRecords - 1);
        assert.equal(f.stats.nullCount.region, Math.floor((next + f.stats.numRecords) / 3) - Math.floor(next / 3)); // null when id % 3 == 2
        next += f.stats.numRecords;
        // rowGroupRows 3000 rounds down to whole 2,048-row vectors.
        const groups = await rows(conn, `SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata('${path.join(dir, f.path)}') ORDER BY 1`);
        assert.ok(groups.every((g) => Number(g.row_group_num_rows) <= 2048), JSON.stringify(groups));
      }
      assert.equal(await scanCount(t), 20_000);
    });
  });

  test('partitioned: Hive directories with escaping, null partition, typed values read back', async () => {
    await withTable(async (t, dir) => {
      const schema: StructType = {
        type: 'struct',
        fields: [
          ...SCHEMA.fields,
          { name: 'day', type: 'date', nullable: true, metadata: {} },
          { name: 'odd', type: 'string', nullable: true, metadata: {} },
        ],
      };
      const sql = `SELECT *, DATE '2024-01-31' + (id % 2)::INT AS day, CASE WHEN id = 0 THEN 'a/b:c%d' ELSE 'x' END AS odd FROM (${rowsSql(0, 9)})`;
      const r = await t.write(conn, { selectSql: sql, schema, mode: 'append', partitionColumns: ['region', 'day', 'odd'] });
      assert.equal(r.rows, 9);
      const snap = await t.snapshot();
      assert.deepEqual(snap.partitionColumns, ['region', 'day', 'odd']);
      const special = snap.files.find((f) => f.partitionValues.odd === 'a/b:c%d')!;
      assert.deepEqual(special.partitionValues, { region: 'eu', day: '2024-01-31', odd: 'a/b:c%d' });
      assert.match(special.path, /^region=eu\/day=2024-01-31\/odd=a%252Fb%253Ac%2525d\/part-/);
      await fs.access(path.join(dir, decodeURIComponent(special.path)));
      const nullPart = snap.files.find((f) => f.partitionValues.region === null)!;
      assert.match(nullPart.path, /^region=__HIVE_DEFAULT_PARTITION__\//);
      // data files hold only the data columns
      const cols = await rows(conn, `SELECT column_name c FROM (DESCRIBE SELECT * FROM read_parquet('${path.join(dir, decodeURIComponent(special.path))}', hive_partitioning = false))`);
      assert.deepEqual(cols.map((c) => c.c), ['id', 'name', 'at', 'amount']);
      await t.registerScan(conn, 'parts');
      assert.deepEqual(await rows(conn, `SELECT region, "day"::VARCHAR "day", odd, typeof("day") t FROM parts WHERE id = 0`), [{ region: 'eu', day: '2024-01-31', odd: 'a/b:c%d', t: 'DATE' }]);
      assert.equal(Number(await one(conn, `SELECT count(*) FROM parts WHERE region IS NULL`)), 3);
      // appending with other partition columns is refused
      await assert.rejects(t.write(conn, { selectSql: sql, schema, mode: 'append', partitionColumns: ['day'] }), (e: unknown) => e instanceof DeltaError && e.code === 'DELTA_SCHEMA_MISMATCH');
    });
  });

  test('non-ASCII partition values: percent-encoded as UTF-8 in the log (java.net.URI parses it), raw on disk, read back', async () => {
    await withTable(async (t, dir) => {
      const schema: StructType = { type: 'struct', fields: [
        { name: 'id', type: 'integer', nullable: true, metadata: {} },
        { name: 'city', type: 'string', nullable: true, metadata: {} },
      ] };
      // no-break space, line separator, ideographic space, a C1 control, plain non-ASCII
      const cities = ['New\u00A0York', 'a\u2028b', '東京\u3000x', 'c1\u0085', 'Zürich ✓'];
      const sql = cities.map((c, i) => `SELECT ${i}::INT AS id, '${c}' AS city`).join(' UNION ALL ');
      await t.write(conn, { selectSql: sql, schema, mode: 'append', partitionColumns: ['city'] });
      const adds = (await commitLines(dir, 0)).filter((a) => a.add).map((a) => a.add);
      const ny = adds.find((a) => a.partitionValues.city === 'New\u00A0York')!;
      assert.match(ny.path, /^city=New%C2%A0York\/part-/);
      assert.match(adds.find((a) => a.partitionValues.city === 'Zürich ✓')!.path, /^city=Z%C3%BCrich%20%E2%9C%93\/part-/);
      for (const a of adds) assert.match(a.path, /^[\x21-\x7e]+$/, 'only printable ASCII in the log path');
      await fs.access(path.join(dir, 'city=New\u00A0York', ny.path.split('/')[1]));
      await t.registerScan(conn, 'cities');
      assert.deepEqual((await rows(conn, 'SELECT city FROM cities ORDER BY id')).map((r) => r.city), cities);
    });
  });

  test('float/double partition values: NaN, Infinity, -Infinity as Java spells them; finite values read back', async () => {
    await withTable(async (t, dir) => {
      const schema: StructType = { type: 'struct', fields: [
        { name: 'id', type: 'integer', nullable: true, metadata: {} },
        { name: 'd', type: 'double', nullable: true, metadata: {} },
        { name: 'f', type: 'float', nullable: true, metadata: {} },
      ] };
      // [DuckDB literal, the log string Double.parseDouble / Float.parseFloat accept]
      const cases: [string, string][] = [['nan', 'NaN'], ['inf', 'Infinity'], ['-inf', '-Infinity'], ['1e20', '1e+20'], ['-1.5', '-1.5']];
      const sql = cases.map(([v], i) => `SELECT ${i}::INT AS id, '${v}'::DOUBLE AS d, '${v}'::FLOAT AS f`).join(' UNION ALL ');
      await t.write(conn, { selectSql: sql, schema, mode: 'append', partitionColumns: ['d', 'f'] });
      const adds = (await commitLines(dir, 0)).filter((a) => a.add).map((a) => a.add);
      assert.deepEqual(adds.map((a) => a.partitionValues).sort((a, b) => a.d.localeCompare(b.d)),
        cases.map(([, s]) => ({ d: s, f: s })).sort((a, b) => a.d.localeCompare(b.d)));
      assert.ok(adds.some((a) => a.path.startsWith('d=NaN/f=NaN/')) && adds.some((a) => a.path.startsWith('d=-Infinity/f=-Infinity/')));
      await t.registerScan(conn, 'floats');
      assert.deepEqual(await rows(conn, 'SELECT d::VARCHAR d, f::VARCHAR f FROM floats ORDER BY id'),
        [['nan', 'nan'], ['inf', 'inf'], ['-inf', '-inf'], ['1e+20', '1e+20'], ['-1.5', '-1.5']].map(([d, f]) => ({ d, f })));
    });
  });

  test('timestamp partitions are written as ISO-8601 UTC and read back exactly', async () => {
    await withTable(async (t) => {
      const schema: StructType = { type: 'struct', fields: [
        { name: 'id', type: 'integer', nullable: true, metadata: {} },
        { name: 'ts', type: 'timestamp', nullable: true, metadata: {} },
      ] };
      await t.write(conn, { selectSql: `SELECT 1 AS id, TIMESTAMPTZ '2024-01-01 10:00:00.5+00' AS ts`, schema, mode: 'append', partitionColumns: ['ts'] });
      const snap = await t.snapshot();
      assert.equal(snap.files[0].partitionValues.ts, '2024-01-01T10:00:00.500000Z');
      await t.registerScan(conn, 'tsp');
      assert.equal(await one(conn, `SELECT epoch_ms(ts)::BIGINT::VARCHAR FROM tsp`), String(Date.UTC(2024, 0, 1, 10, 0, 0, 500)));
    });
  });

  test('stats: strings cut to 32 characters with an upper-bound max; timestamps min truncated, max rounded up', async () => {
    await withTable(async (t) => {
      const schema: StructType = { type: 'struct', fields: [
        { name: 's', type: 'string', nullable: true, metadata: {} },
        { name: 'ts', type: 'timestamp_ntz', nullable: true, metadata: {} },
        { name: 'f', type: 'double', nullable: true, metadata: {} },
      ] };
      const long = 'a'.repeat(40);
      await t.write(conn, {
        selectSql: `SELECT * FROM (VALUES ('${long}', TIMESTAMP '2024-01-01 00:00:00.000999', 1.5::DOUBLE), ('b', TIMESTAMP '2024-01-01 00:00:01.000001', 'NaN'::DOUBLE)) v(s, ts, f)`,
        schema, mode: 'append', targetFileRows: 10,
      });
      const stats = JSON.parse((await t.snapshot()).files[0].stats!);
      assert.equal(stats.minValues.s, 'a'.repeat(32));
      assert.equal(stats.maxValues.s, 'b');
      assert.equal(stats.minValues.ts, '2024-01-01T00:00:00.000');
      assert.equal(stats.maxValues.ts, '2024-01-01T00:00:01.001');
      assert.equal(stats.maxValues.f, undefined, 'NaN has no JSON form');
      await t.write(conn, { selectSql: `SELECT '${'z'.repeat(33)}' AS s, NULL::TIMESTAMP AS ts, NULL::DOUBLE AS f`, schema, mode: 'append' });
      const s2 = JSON.parse((await t.snapshot()).files.find((f) => JSON.parse(f.stats!).numRecords === 1)!.stats!);
      assert.equal(s2.maxValues.s, 'z'.repeat(32) + '\u007f');
      assert.deepEqual(s2.nullCount, { s: 0, ts: 1, f: 1 });
    });
  });

  test('checkpoint every 10 commits in Spark layout; a reader using only the checkpoint gets the same state', async () => {
    await withTable(async (t, dir) => {
      for (let i = 0; i < 12; i++) await t.write(conn, { selectSql: rowsSql(i * 5, i * 5 + 5), schema: SCHEMA, mode: i === 6 ? 'overwrite' : 'append', txn: { appId: 'app', version: i } });
      const log = await fs.readdir(path.join(dir, '_delta_log'));
      assert.ok(log.includes('00000000000000000010.checkpoint.parquet'));
      assert.ok(!log.some((n) => n.startsWith('00000000000000000009.checkpoint') || n.startsWith('00000000000000000011.checkpoint')));
      const last = JSON.parse(await fs.readFile(path.join(dir, '_delta_log/_last_checkpoint'), 'utf8'));
      const full = await t.snapshot({ version: 10 });
      assert.equal(last.version, 10);
      assert.equal(last.numOfAddFiles, full.files.length);
      assert.equal(last.size, 2 + 1 + full.files.length + full.tombstones.length);
      // Spark's column layout, maps as MAP, one action per row
      const cp = path.join(dir, '_delta_log/00000000000000000010.checkpoint.parquet');
      const desc = await rows(conn, `SELECT column_name c, column_type t FROM (DESCRIBE SELECT * FROM read_parquet('${cp}'))`);
      assert.deepEqual(desc.map((d) => d.c), ['txn', 'add', 'remove', 'metaData', 'protocol', 'domainMetadata']);
      assert.match(String(desc[1].t), /partitionValues MAP\(VARCHAR, VARCHAR\)/);
      assert.match(String(desc[1].t), /stats VARCHAR/);
      assert.equal(Number(await one(conn, `SELECT count(*) FROM read_parquet('${cp}') WHERE (add IS NOT NULL)::INT + (remove IS NOT NULL)::INT + (txn IS NOT NULL)::INT + (metaData IS NOT NULL)::INT + (protocol IS NOT NULL)::INT <> 1`)), 0);
      // delete commits 0..10: the state must come from the checkpoint alone
      const copy = await tempDir('ckpt');
      try {
        await fs.cp(dir, copy.dir, { recursive: true });
        for (let v = 0; v <= 10; v++) await fs.rm(path.join(copy.dir, '_delta_log', `${String(v).padStart(20, '0')}.json`));
        const t2 = DeltaTable.forPath(copy.dir);
        const s10 = await t2.snapshot({ version: 10 });
        assert.deepEqual(s10.files.map((f) => f.path).sort(), full.files.map((f) => f.path).sort());
        assert.deepEqual(s10.files.map((f) => f.stats).sort(), full.files.map((f) => f.stats).sort());
        assert.deepEqual(s10.tombstones.map((f) => f.path).sort(), full.tombstones.map((f) => f.path).sort());
        assert.equal(s10.appTransactions.get('app'), 10);
        assert.deepEqual(s10.schema, SCHEMA);
        assert.equal(await scanCount(t2), await scanCount(t));
        await assert.rejects(t2.snapshot({ version: 5 }), (e: unknown) => e instanceof DeltaError && e.code === 'DELTA_VERSION_NOT_FOUND');
      } finally {
        await copy.cleanup();
      }
    });
  });

  test('checkpoint stats properties: writeStatsAsJson=false omits add.stats; writeStatsAsStruct=true adds typed partitionValues_parsed and stats_parsed', async () => {
    const cases: { configuration: Record<string, string>; partitionColumns?: string[] }[] = [
      { configuration: { 'delta.checkpoint.writeStatsAsJson': 'false' } },
      { configuration: { 'delta.checkpoint.writeStatsAsStruct': 'true' }, partitionColumns: ['region'] },
      { configuration: { 'delta.checkpoint.writeStatsAsStruct': 'TRUE', 'delta.checkpoint.writeStatsAsJson': 'false' } },
      { configuration: { 'delta.checkpoint.writeStatsAsStruct': 'true', 'delta.checkpoint.writeStatsAsJson': 'false' }, partitionColumns: ['region'] },
      { configuration: { 'delta.checkpoint.writeStatsAsStruct': 'false' }, partitionColumns: ['region'] },
    ];
    for (const c of cases) {
      await withTable(async (t, dir) => {
        const configuration = { ...c.configuration, 'delta.checkpointInterval': '2' };
        for (let i = 0; i < 3; i++) await t.write(conn, { selectSql: rowsSql(i * 3, i * 3 + 3), schema: SCHEMA, mode: 'append', partitionColumns: c.partitionColumns, configuration });
        const cp = path.join(dir, '_delta_log/00000000000000000002.checkpoint.parquet');
        const what = JSON.stringify(c);
        const expected = await t.snapshot();
        const addType = String((await rows(conn, `SELECT column_type t FROM (DESCRIBE SELECT * FROM read_parquet('${cp}')) WHERE column_name = 'add'`))[0].t);
        const jsonStats = c.configuration['delta.checkpoint.writeStatsAsJson'] !== 'false';
        const structStats = /true/i.test(c.configuration['delta.checkpoint.writeStatsAsStruct'] ?? '');
        assert.equal(/\bstats VARCHAR/.test(addType), jsonStats, `${what}: add.stats column`);
        if (!structStats) {
          assert.doesNotMatch(addType, /_parsed/, `${what}: no typed columns`);
        } else {
          // As Spark's statsSchema: min/max only where Spark keeps them (not boolean/binary), nullCount for every
          // data column, typed after the schema; the partition column only in partitionValues_parsed.
          const dataCols = SCHEMA.fields.filter((f) => !c.partitionColumns?.includes(f.name)).map((f) => f.name);
          const dataTypes: Record<string, string> = { id: 'BIGINT', name: 'VARCHAR', at: 'TIMESTAMP WITH TIME ZONE', amount: 'DECIMAL(12,2)', region: 'VARCHAR' };
          const q = (n: string): string => (n === 'at' || n === 'name' ? `"${n}"` : n); // DuckDB quotes keywords
          const minMax = `STRUCT(${dataCols.map((n) => `${q(n)} ${dataTypes[n]}`).join(', ')})`;
          const nulls = `STRUCT(${dataCols.map((n) => `${q(n)} BIGINT`).join(', ')})`;
          assert.ok(addType.includes(`stats_parsed STRUCT(numRecords BIGINT, minValues ${minMax}, maxValues ${minMax}, nullCount ${nulls})`), `${what}: stats_parsed in ${addType}`);
          assert.equal(addType.includes('partitionValues_parsed STRUCT(region VARCHAR)'), Boolean(c.partitionColumns), `${what}: partitionValues_parsed`);
          // Values: the same as the JSON stats and partition values of each file.
          const got = await rows(conn, `SELECT add.path p, to_json(add.stats_parsed) s, ${c.partitionColumns ? 'add.partitionValues_parsed.region' : 'NULL'} r FROM read_parquet('${cp}') WHERE add IS NOT NULL`);
          assert.equal(got.length, expected.files.length);
          for (const g of got) {
            const f = expected.files.find((x) => x.path === g.p)!;
            const want = JSON.parse(f.stats!);
            const s = JSON.parse(String(g.s));
            assert.equal(s.numRecords, want.numRecords);
            assert.deepEqual(s.nullCount, want.nullCount);
            assert.equal(s.minValues.id, want.minValues.id);
            assert.equal(s.maxValues.name, want.maxValues.name);
            assert.equal(s.minValues.amount, want.minValues.amount);
            assert.equal(new Date(s.maxValues.at).toISOString(), want.maxValues.at);
            if (c.partitionColumns) assert.equal(g.r, f.partitionValues.region);
          }
        }
        // A reader with the checkpoint alone: stats from `stats`, or else from stats_parsed
        for (let v = 0; v <= 2; v++) await fs.rm(path.join(dir, '_delta_log', `${String(v).padStart(20, '0')}.json`));
        const snap = await DeltaTable.forPath(dir).snapshot();
        assert.equal(snap.files.length, c.partitionColumns ? 9 : 3); // a file per region per write when partitioned
        const byPath = new Map(expected.files.map((f) => [f.path, JSON.parse(f.stats!)]));
        for (const f of snap.files) {
          if (!jsonStats && !structStats) assert.equal(f.stats ?? null, null, `${what}: no stats in the checkpoint`);
          else assert.deepEqual(JSON.parse(f.stats!), byPath.get(f.path), `${what}: stats of ${f.path} from the checkpoint`);
        }
        assert.equal(await scanCount(DeltaTable.forPath(dir)), 9);
        // ... and a second checkpoint from that state keeps them (stats_parsed -> stats -> stats_parsed)
        await DeltaTable.forPath(dir).checkpoint();
        await fs.rm(path.join(dir, '_delta_log', `${String(3).padStart(20, '0')}.json`), { force: true });
        const again = await DeltaTable.forPath(dir).snapshot();
        assert.deepEqual(again.files.map((f) => f.stats ?? null).sort(), snap.files.map((f) => f.stats ?? null).sort(), `${what}: stats survive a second checkpoint`);
      });
    }
  });

  test('stats_parsed with column mapping: physical names (nested too), min/max only for skipping types, tightBounds with deletion vectors', async () => {
    await withTable(async (t, dir) => {
      const f = (name: string, type: StructType['fields'][number]['type'], phys: string) => ({ name, type, nullable: true, metadata: { 'delta.columnMapping.id': phys.length, 'delta.columnMapping.physicalName': phys } });
      const schema: StructType = {
        type: 'struct',
        fields: [
          f('id', 'long', 'col-id'),
          f('ok', 'boolean', 'col-ok'),
          f('bin', 'binary', 'col-bin'),
          f('tags', { type: 'map', keyType: 'string', valueType: 'string', valueContainsNull: true }, 'col-tags'),
          f('st', { type: 'struct', fields: [f('a', 'integer', 'col-a'), f('arr', { type: 'array', elementType: 'long', containsNull: true }, 'col-arr')] }, 'col-st'),
          f('day', 'date', 'col-day'),
        ],
      };
      const stats = '{"numRecords":2,"minValues":{"col-id":1,"col-st":{"col-a":5}},"maxValues":{"col-id":9,"col-st":{"col-a":7}},"nullCount":{"col-id":0,"col-ok":1,"col-bin":0,"col-tags":2,"col-st":{"col-a":0,"col-arr":1}},"tightBounds":true}';
      await t.commit([
        { commitInfo: { timestamp: 1, operation: 'CREATE TABLE' } },
        { protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['columnMapping', 'deletionVectors'], writerFeatures: ['columnMapping', 'deletionVectors'] } },
        { metaData: { id: 'cm', format: { provider: 'parquet', options: {} }, schemaString: JSON.stringify(schema), partitionColumns: ['day'], configuration: { 'delta.columnMapping.mode': 'name', 'delta.columnMapping.maxColumnId': '9', 'delta.checkpoint.writeStatsAsStruct': 'true' }, createdTime: 1 } },
        { add: { path: 'col-day=2024-01-02/a.parquet', partitionValues: { 'col-day': '2024-01-02' }, size: 1, modificationTime: 1, dataChange: true, stats } },
        { add: { path: 'b.parquet', partitionValues: { 'col-day': null }, size: 1, modificationTime: 1, dataChange: true } },
      ], { readVersion: -1 });
      await t.checkpoint();
      const cp = path.join(dir, '_delta_log/00000000000000000000.checkpoint.parquet');
      const addType = String((await rows(conn, `SELECT column_type t FROM (DESCRIBE SELECT add FROM read_parquet('${cp}'))`))[0].t);
      assert.ok(addType.endsWith(
        'partitionValues_parsed STRUCT("col-day" DATE), stats_parsed STRUCT(numRecords BIGINT, minValues STRUCT("col-id" BIGINT, "col-st" STRUCT("col-a" INTEGER)), ' +
          'maxValues STRUCT("col-id" BIGINT, "col-st" STRUCT("col-a" INTEGER)), nullCount STRUCT("col-id" BIGINT, "col-ok" BIGINT, "col-bin" BIGINT, "col-tags" BIGINT, ' +
          '"col-st" STRUCT("col-a" BIGINT, "col-arr" BIGINT)), tightBounds BOOLEAN))',
      ), addType);
      const got = await rows(conn, `SELECT add.path p, add.partitionValues_parsed."col-day"::VARCHAR d, to_json(add.stats_parsed) s FROM read_parquet('${cp}') WHERE add IS NOT NULL ORDER BY 1`);
      assert.deepEqual(got.map((g) => [g.p, g.d]), [['b.parquet', null], ['col-day=2024-01-02/a.parquet', '2024-01-02']]);
      assert.equal(got[0].s, null);
      assert.deepEqual(JSON.parse(String(got[1].s)), JSON.parse(stats));
    });
  });

  test('txn: a commit already recorded for appId is skipped', async () => {
    await withTable(async (t) => {
      const a = await t.write(conn, { selectSql: rowsSql(0, 3), schema: SCHEMA, mode: 'append', txn: { appId: 'run-1', version: 5 } });
      assert.equal(a.skipped, false);
      const again = await t.write(conn, { selectSql: rowsSql(0, 3), schema: SCHEMA, mode: 'append', txn: { appId: 'run-1', version: 5 } });
      assert.deepEqual(again, { version: 0, files: 0, rows: 0, skipped: true, tableId: a.tableId });
      const older = await t.write(conn, { selectSql: rowsSql(0, 3), schema: SCHEMA, mode: 'append', txn: { appId: 'run-1', version: 4 } });
      assert.equal(older.skipped, true);
      const next = await t.write(conn, { selectSql: rowsSql(3, 6), schema: SCHEMA, mode: 'append', txn: { appId: 'run-1', version: 6 } });
      assert.equal(next.version, 1);
      const other = await t.write(conn, { selectSql: rowsSql(6, 7), schema: SCHEMA, mode: 'append', txn: { appId: 'run-2', version: 0 } });
      assert.equal(other.version, 2);
      assert.equal(await scanCount(t), 7);
      const snap = await t.snapshot();
      assert.deepEqual([...snap.appTransactions.entries()].sort(), [['run-1', 6], ['run-2', 0]]);
    });
  });

  test('overwriteSchema: an overwrite replaces schema and partitioning, keeping the table id; only with mode overwrite', async () => {
    await withTable(async (t) => {
      await t.write(conn, { selectSql: rowsSql(0, 3), schema: SCHEMA, mode: 'append' });
      const id = (await t.snapshot()).metadata.id;
      const other: StructType = { type: 'struct', fields: [{ name: 'key', type: 'string', nullable: true, metadata: {} }, { name: 'n', type: 'integer', nullable: true, metadata: {} }] };
      const sql = `SELECT 'k' || i AS key, i::INT AS n FROM range(4) t(i)`;
      await assert.rejects(t.write(conn, { selectSql: sql, schema: other, mode: 'append', overwriteSchema: true }), (e: unknown) => e instanceof DeltaError && e.code === 'DELTA_INVALID_ARGUMENT' && /overwriteSchema needs mode overwrite/.test(e.message));
      await assert.rejects(t.write(conn, { selectSql: sql, schema: other, mode: 'overwrite' }), (e: unknown) => e instanceof DeltaError && e.code === 'DELTA_SCHEMA_MISMATCH');
      const r = await t.write(conn, { selectSql: sql, schema: other, mode: 'overwrite', overwriteSchema: true, partitionColumns: ['key'] });
      assert.equal(r.version, 1);
      const snap = await t.snapshot();
      assert.equal(snap.metadata.id, id);
      assert.deepEqual(snap.schema.fields.map((f) => [f.name, f.type]), [['key', 'string'], ['n', 'integer']]);
      assert.deepEqual(snap.partitionColumns, ['key']);
      await t.registerScan(conn, 'replaced');
      assert.deepEqual(await rows(conn, `SELECT count(*)::INT n, sum(n)::INT s FROM replaced`), [{ n: 4, s: 6 }]);
      // The same schema again: no new metaData action.
      await t.write(conn, { selectSql: sql, schema: other, mode: 'overwrite', overwriteSchema: true });
      const log = await fs.readFile(path.join(t.root, '_delta_log', '00000000000000000002.json'), 'utf8');
      assert.equal(log.includes('"metaData"'), false);
    });
  });

  test('schema: a different schema is refused naming the columns; mergeSchema adds nullable columns', async () => {
    await withTable(async (t) => {
      await t.write(conn, { selectSql: rowsSql(0, 3), schema: SCHEMA, mode: 'append' });
      const extended: StructType = { type: 'struct', fields: [...SCHEMA.fields, { name: 'score', type: 'double', nullable: true, metadata: {} }] };
      const sql = `SELECT *, id * 0.5 AS score FROM (${rowsSql(3, 5)})`;
      await assert.rejects(t.write(conn, { selectSql: sql, schema: extended, mode: 'append' }), (e: unknown) => {
        assert.ok(e instanceof DeltaError);
        assert.equal(e.code, 'DELTA_SCHEMA_MISMATCH');
        assert.match(e.message, /score/);
        return true;
      });
      const retyped: StructType = { type: 'struct', fields: SCHEMA.fields.map((f) => (f.name === 'name' ? { ...f, type: 'integer' } : f)) };
      await assert.rejects(t.write(conn, { selectSql: `SELECT id, 1 AS name, "at", amount, region FROM (${rowsSql(3, 5)})`, schema: retyped, mode: 'append' }), (e: unknown) => {
        assert.ok(e instanceof DeltaError && e.code === 'DELTA_SCHEMA_MISMATCH');
        assert.match(e.message, /name \(table: string, data: integer\)/);
        return true;
      });
      const r = await t.write(conn, { selectSql: sql, schema: extended, mode: 'append', mergeSchema: true });
      assert.equal(r.version, 1);
      const snap = await t.snapshot();
      assert.deepEqual(snap.schema.fields.map((f) => f.name), ['id', 'name', 'at', 'amount', 'region', 'score']);
      await t.registerScan(conn, 'merged');
      assert.deepEqual(await rows(conn, `SELECT count(*)::INT n, count(score)::INT s FROM merged`), [{ n: 5, s: 2 }]);
      // NOT NULL is enforced
      await assert.rejects(t.write(conn, { selectSql: `SELECT NULL::BIGINT AS id, name, "at", amount, region, score FROM merged LIMIT 1`, schema: extended, mode: 'append' }), (e: unknown) => e instanceof DeltaError && e.code === 'DELTA_NOT_NULL_VIOLATION' && /id/.test(e.message));
      assert.equal((await t.snapshot()).version, 1);
    });
  });

  test('compact: small files rewritten per partition with dataChange=false, rows unchanged', async () => {
    await withTable(async (t, dir) => {
      for (let i = 0; i < 5; i++) await t.write(conn, { selectSql: rowsSql(i * 4, i * 4 + 4), schema: SCHEMA, mode: 'append', partitionColumns: ['region'] });
      const before = await t.snapshot();
      assert.equal(before.files.length, 15);
      const r = await t.compact(conn, { targetFileRows: 1000 });
      assert.deepEqual(r, { version: 5, removed: 15, added: 3 });
      const lines = await commitLines(dir, 5);
      assert.equal(lines[0].commitInfo.operation, 'OPTIMIZE');
      assert.ok(lines.filter((l) => l.add || l.remove).every((l) => (l.add ?? l.remove).dataChange === false));
      const after = await t.snapshot();
      assert.equal(after.files.length, 3);
      assert.deepEqual(after.files.map((f) => f.partitionValues.region).sort(), ['eu', 'us west', null].sort());
      await t.registerScan(conn, 'compacted');
      assert.deepEqual(await rows(conn, `SELECT count(*)::INT n, sum(id)::INT s, count(DISTINCT id)::INT d FROM compacted`), [{ n: 20, s: 190, d: 20 }]);
      assert.deepEqual(await t.compact(conn, { targetFileRows: 1000 }), { version: null, removed: 0, added: 0 });
    });
  });

  test('vacuum: refuses short retention, keeps live and young files, deletes old unreferenced ones', async () => {
    await withTable(async (t, dir) => {
      await t.write(conn, { selectSql: rowsSql(0, 5), schema: SCHEMA, mode: 'append' });
      const old = (await t.snapshot()).files[0].path;
      await t.write(conn, { selectSql: rowsSql(5, 10), schema: SCHEMA, mode: 'overwrite' });
      const live = (await t.snapshot()).files[0].path;
      await fs.writeFile(path.join(dir, 'stray.parquet'), 'x');
      await assert.rejects(t.vacuum({ retentionHours: 1 }), (e: unknown) => e instanceof DeltaError && /168h/.test(e.message));
      // now: nothing is older than 7 days yet
      assert.deepEqual(await t.vacuum({ retentionHours: 168 }), { deleted: [] });
      const later = Date.now() + 8 * 24 * 3600 * 1000;
      const dry = await t.vacuum({ retentionHours: 168, now: later, dryRun: true });
      assert.deepEqual(dry.deleted.sort(), [old, 'stray.parquet'].sort());
      await fs.access(path.join(dir, old));
      // the tombstone of `old` is 0 h old: a forced 0 h vacuum may delete it, a 1 h one must not
      const within = await t.vacuum({ retentionHours: 1, force: true, now: Date.now() + 1000 });
      assert.deepEqual(within.deleted, []);
      const done = await t.vacuum({ retentionHours: 168, now: later });
      assert.deepEqual(done.deleted.sort(), [old, 'stray.parquet'].sort());
      await assert.rejects(fs.access(path.join(dir, old)));
      await fs.access(path.join(dir, live));
      await fs.access(path.join(dir, '_delta_log/00000000000000000000.json'));
      assert.equal(await scanCount(t), 5);
    });
  });

  test('timestamp_ntz columns upgrade the protocol to 3/7 with the timestampNtz feature', async () => {
    await withTable(async (t, dir) => {
      const schema: StructType = { type: 'struct', fields: [{ name: 'ts', type: 'timestamp_ntz', nullable: true, metadata: {} }] };
      await t.write(conn, { selectSql: `SELECT TIMESTAMP '2024-05-06 07:08:09.123456' AS ts`, schema, mode: 'append' });
      const p = (await commitLines(dir, 0)).find((l) => l.protocol)!.protocol;
      assert.deepEqual(p, { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['timestampNtz'], writerFeatures: ['timestampNtz'] });
      await t.registerScan(conn, 'ntz');
      assert.equal(await one(conn, `SELECT ts::VARCHAR FROM ntz`), '2024-05-06 07:08:09.123456');
    });
  });

  test('stats follow delta.dataSkippingNumIndexedCols and delta.dataSkippingStatsColumns', async () => {
    await withTable(async (t) => {
      await t.write(conn, { selectSql: rowsSql(0, 4), schema: SCHEMA, mode: 'append', configuration: { 'delta.dataSkippingNumIndexedCols': '2' } });
      const stats = JSON.parse((await t.snapshot()).files[0].stats!);
      assert.deepEqual(Object.keys(stats.minValues), ['id', 'name']);
      assert.deepEqual(Object.keys(stats.nullCount), ['id', 'name']);
    });
    await withTable(async (t) => {
      await t.write(conn, { selectSql: rowsSql(0, 4), schema: SCHEMA, mode: 'append', configuration: { 'delta.dataSkippingStatsColumns': 'amount,region' } });
      const stats = JSON.parse((await t.snapshot()).files[0].stats!);
      assert.deepEqual(Object.keys(stats.maxValues), ['amount', 'region']);
    });
  });

  test('appending to a Spark table with v2Checkpoint writes V2-spec classic checkpoints that read back', async () => {
    await withTable(async (t, dir) => {
      await fs.cp(path.join(GOLDEN, 'v2-checkpoint-parquet'), dir, { recursive: true });
      const schema: StructType = { type: 'struct', fields: [{ name: 'id', type: 'long', nullable: true, metadata: {} }] };
      // checkpointInterval is 2 on this table: versions 3 and 4, checkpoint at 4
      await t.write(conn, { selectSql: 'SELECT 100::BIGINT AS id', schema, mode: 'append' });
      await t.write(conn, { selectSql: 'SELECT 101::BIGINT AS id', schema, mode: 'append' });
      const cp = path.join(dir, '_delta_log/00000000000000000004.checkpoint.parquet');
      assert.deepEqual(await rows(conn, `SELECT checkpointMetadata.version::INT v FROM read_parquet('${cp}') WHERE checkpointMetadata IS NOT NULL`), [{ v: 4 }]);
      for (let v = 0; v <= 4; v++) await fs.rm(path.join(dir, '_delta_log', `${String(v).padStart(20, '0')}.json`));
      await fs.rm(path.join(dir, '_delta_log', '00000000000000000002.checkpoint.e8fa2696-9728-4e9c-b285-634743fdd4fb.parquet'));
      assert.equal(await scanCount(t), 12);
    });
  });

  test('in-commit timestamps: commitInfo first with a strictly increasing inCommitTimestamp, used by time travel', async () => {
    await withTable(async (t, dir) => {
      const schema: StructType = { type: 'struct', fields: [{ name: 'a', type: 'integer', nullable: true, metadata: {} }] };
      const future = Date.now() + 3_600_000; // a clock ahead of ours: later commits must still increase
      await t.commit([
        { commitInfo: { timestamp: future, inCommitTimestamp: future, operation: 'CREATE TABLE' } },
        { protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: [], writerFeatures: ['inCommitTimestamp'] } },
        { metaData: { id: 'ict', format: { provider: 'parquet', options: {} }, schemaString: JSON.stringify(schema), partitionColumns: [], configuration: { 'delta.enableInCommitTimestamps': 'true' }, createdTime: future } },
      ], { readVersion: -1 });
      await t.write(conn, { selectSql: 'SELECT 1 AS a', schema, mode: 'append' });
      await t.write(conn, { selectSql: 'SELECT 2 AS a', schema, mode: 'append' });
      const icts: number[] = [];
      for (let v = 0; v <= 2; v++) {
        const lines = await commitLines(dir, v);
        assert.ok(lines[0].commitInfo, `commitInfo first in v${v}`);
        icts.push(lines[0].commitInfo.inCommitTimestamp);
      }
      assert.deepEqual(icts, [future, future + 1, future + 2]);
      assert.equal((await t.snapshot({ timestamp: future + 1 })).version, 1);
      assert.equal(await scanCount(t), 2);
    });
  });
  test('a new table with delta.enableInCommitTimestamps=true: inCommitTimestamp writer feature (7), every commit stamped from v0, time travel by it', async () => {
    await withTable(async (t, dir) => {
      const configuration = { 'delta.enableInCommitTimestamps': 'true' };
      await t.write(conn, { selectSql: rowsSql(0, 3), schema: SCHEMA, mode: 'append', configuration });
      await t.write(conn, { selectSql: rowsSql(3, 5), schema: SCHEMA, mode: 'append' });
      const v0 = await commitLines(dir, 0);
      // Spark's protocol for such a table; enabled from the first commit, no enablement properties are needed
      assert.deepEqual(v0.find((l) => l.protocol)!.protocol, { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['inCommitTimestamp', 'appendOnly', 'invariants'] });
      assert.deepEqual(v0.find((l) => l.metaData)!.metaData.configuration, configuration);
      const icts = [v0, await commitLines(dir, 1)].map((lines) => lines[0].commitInfo?.inCommitTimestamp);
      assert.ok(icts.every((x) => typeof x === 'number'), `commitInfo first with inCommitTimestamp: ${icts}`);
      assert.ok(icts[1] > icts[0]);
      // File times say nothing once in-commit timestamps are on: make them misleading
      const old = new Date('2001-01-01T00:00:00Z');
      for (const v of [0, 1]) await fs.utimes(path.join(dir, '_delta_log', `${String(v).padStart(20, '0')}.json`), old, old);
      const fresh = DeltaTable.forPath(dir);
      assert.equal((await fresh.snapshot({ timestamp: icts[0] })).version, 0);
      assert.equal((await fresh.snapshot({ timestamp: icts[1] - 1 })).version, 0);
      assert.equal((await fresh.snapshot({ timestamp: icts[1] })).version, 1);
      await assert.rejects(fresh.snapshot({ timestamp: icts[0] - 1 }), (e: unknown) => e instanceof DeltaError && e.code === 'DELTA_VERSION_NOT_FOUND');
    });
    await withTable(async (t, dir) => {
      // with timestamp_ntz too (reader feature); the property is read case-insensitively, as Spark does
      const schema: StructType = { type: 'struct', fields: [{ name: 'ts', type: 'timestamp_ntz', nullable: true, metadata: {} }] };
      await t.write(conn, { selectSql: `SELECT TIMESTAMP '2024-05-06 07:08:09' AS ts`, schema, mode: 'append', configuration: { 'delta.enableInCommitTimestamps': 'TRUE' } });
      const v0 = await commitLines(dir, 0);
      assert.deepEqual(v0.find((l) => l.protocol)!.protocol, {
        minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['timestampNtz'], writerFeatures: ['timestampNtz', 'inCommitTimestamp', 'appendOnly', 'invariants'],
      });
      assert.equal(typeof v0[0].commitInfo?.inCommitTimestamp, 'number');
    });
  });
});

/** LocalStorage that runs `hook` once, before the first call of `op` (or after it, with `when` 'after'). */
class HookedStorage extends LocalStorage {
  hook: (() => Promise<void>) | null = null;
  constructor(root: string, private readonly op: 'uploadLocal' | 'putIfAbsent', private readonly when: 'before' | 'after' = 'before') {
    super(root);
  }
  private async fire(op: string, when: string): Promise<void> {
    if (op !== this.op || when !== this.when || !this.hook) return;
    const h = this.hook;
    this.hook = null;
    await h();
  }
  override async uploadLocal(localFile: string, relPath: string): Promise<void> {
    await this.fire('uploadLocal', 'before');
    await super.uploadLocal(localFile, relPath);
    await this.fire('uploadLocal', 'after');
  }
  override async putIfAbsent(relPath: string, data: Buffer): Promise<boolean> {
    await this.fire('putIfAbsent', 'before');
    return super.putIfAbsent(relPath, data);
  }
}

const exists = (p: string): Promise<boolean> => fs.stat(p).then(() => true, () => false);
const commitNames = async (dir: string): Promise<string[]> => (await fs.readdir(path.join(dir, '_delta_log')).catch(() => [])).filter((n) => /^\d{20}\.json$/.test(n));

describe('a table deleted under a writer (rm -rf of the sink mid-commit)', () => {
  test('deleted before the data files land: the write fails, no directory is created again', async () => {
    await withTable(async (_t, dir) => {
      const root = path.join(dir, 't');
      const st = new HookedStorage(root, 'uploadLocal');
      const t = DeltaTable.forPath(root, st);
      await t.write(conn, { selectSql: rowsSql(0, 3), schema: SCHEMA, mode: 'append' });
      st.hook = () => fs.rm(root, { recursive: true });
      await assert.rejects(t.write(conn, { selectSql: rowsSql(3, 6), schema: SCHEMA, mode: 'append', minVersion: 0 }), (e: unknown) => {
        assert.ok(e instanceof TableGoneError, String(e));
        assert.equal(e.why, 'gone');
        return true;
      });
      assert.equal(await exists(root), false, 'the table directory was not created again');
    });
  });

  test('deleted after the data files, before the log entry: the write fails, no commit lands', async () => {
    await withTable(async (_t, dir) => {
      const root = path.join(dir, 't');
      const st = new HookedStorage(root, 'uploadLocal', 'after');
      const t = DeltaTable.forPath(root, st);
      await t.write(conn, { selectSql: rowsSql(0, 3), schema: SCHEMA, mode: 'append' });
      // rm -rf has removed the log, not yet the root (which the data file just went to).
      st.hook = () => fs.rm(path.join(root, '_delta_log'), { recursive: true });
      await assert.rejects(t.write(conn, { selectSql: rowsSql(3, 6), schema: SCHEMA, mode: 'append', minVersion: 0 }), TableGoneError);
      assert.equal(await exists(path.join(root, '_delta_log')), false, '_delta_log was not created again');
    });
  });

  test('deleted as the log entry is written (rm -rf still running): the lone commit is taken back, the write fails', async () => {
    await withTable(async (_t, dir) => {
      const root = path.join(dir, 't');
      const st = new HookedStorage(root, 'putIfAbsent');
      const t = DeltaTable.forPath(root, st);
      await t.write(conn, { selectSql: rowsSql(0, 3), schema: SCHEMA, mode: 'append' });
      await t.write(conn, { selectSql: rowsSql(3, 6), schema: SCHEMA, mode: 'append' });
      // The log's files are gone, its directory not yet: the commit lands in an empty log.
      st.hook = async () => {
        for (const n of await fs.readdir(path.join(root, '_delta_log'))) await fs.rm(path.join(root, '_delta_log', n));
      };
      await assert.rejects(t.write(conn, { selectSql: rowsSql(6, 9), schema: SCHEMA, mode: 'append', minVersion: 1 }), (e: unknown) => {
        assert.ok(e instanceof TableGoneError, String(e));
        assert.equal(e.why, 'gone');
        return true;
      });
      assert.deepEqual(await commitNames(root), [], 'no commit left in a log without its first versions');
    });
  });

  test('a log whose first versions are gone is not continued from the snapshot in hand', async () => {
    await withTable(async (t, dir) => {
      await t.write(conn, { selectSql: rowsSql(0, 3), schema: SCHEMA, mode: 'append' });
      await t.write(conn, { selectSql: rowsSql(3, 6), schema: SCHEMA, mode: 'append' });
      assert.equal((await t.snapshot()).version, 1); // the snapshot in hand
      const log = path.join(dir, '_delta_log');
      // What a writer that recreated the directory left: one commit after the versions deleted.
      const third = await fs.readFile(path.join(log, `${'1'.padStart(20, '0')}.json`));
      for (const n of await fs.readdir(log)) await fs.rm(path.join(log, n));
      await fs.writeFile(path.join(log, `${'2'.padStart(20, '0')}.json`), third);
      await assert.rejects(t.write(conn, { selectSql: rowsSql(6, 9), schema: SCHEMA, mode: 'append', minVersion: 1 }), (e: unknown) => {
        assert.ok(e instanceof DeltaError && e.code === 'DELTA_VERSION_NOT_FOUND', String(e));
        return true;
      });
      assert.deepEqual(await commitNames(dir), [`${'2'.padStart(20, '0')}.json`]);
    });
  });

  test('another table in its place (a later version, another id) is not written to', async () => {
    await withTable(async (t, dir) => {
      const first = await t.write(conn, { selectSql: rowsSql(0, 3), schema: SCHEMA, mode: 'append' });
      await fs.rm(dir, { recursive: true });
      const other = DeltaTable.forPath(dir);
      for (let i = 0; i < 3; i++) await other.write(conn, { selectSql: rowsSql(i, i + 1), schema: SCHEMA, mode: 'append' });
      await assert.rejects(t.write(conn, { selectSql: rowsSql(6, 9), schema: SCHEMA, mode: 'append', minVersion: 0, tableId: first.tableId }), (e: unknown) => {
        assert.ok(e instanceof TableGoneError, String(e));
        assert.equal(e.why, 'replaced');
        return true;
      });
      assert.equal(await other.latestVersion(), 2);
    });
  });
});

test('temp files a killed writer left in _delta_log are removed with the next checkpoint once an hour old; young ones stay', async () => {
  await withTable(async (t, dir) => {
    await t.write(conn, { selectSql: rowsSql(0, 3), schema: SCHEMA, mode: 'append', configuration: { 'delta.checkpointInterval': '2' } });
    const log = path.join(dir, '_delta_log');
    const stale = path.join(log, `.${'1'.padStart(20, '0')}.json.0b6f1f4e-8c1d-4d55-9a51-2f0a5f8f3e11.tmp`);
    const young = path.join(log, `.${'1'.padStart(20, '0')}.json.7d3c2a10-1111-4e2b-8f00-aa55aa55aa55.tmp`);
    await fs.writeFile(stale, 'x');
    await fs.writeFile(young, 'x');
    const old = new Date(Date.now() - 2 * 3600_000);
    await fs.utimes(stale, old, old);
    await t.write(conn, { selectSql: rowsSql(3, 6), schema: SCHEMA, mode: 'append' });
    assert.equal(await exists(stale), true, 'not before a checkpoint');
    await t.write(conn, { selectSql: rowsSql(6, 9), schema: SCHEMA, mode: 'append' });
    assert.equal(await exists(stale), false);
    assert.equal(await exists(young), true);
    assert.equal(await scanCount(t), 9);
  });
});
