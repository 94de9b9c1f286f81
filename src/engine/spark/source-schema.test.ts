import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { SPARK_CSV_NUMBER, SPARK_READ_OF, sniffSource, sparkCastsOf, sparkDdlOf } from './source-schema.js';

test('Spark reads CSV and JSON with the types DuckDB finds: 00123 stays text, JSON keeps the file order', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-sniff-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'c.csv'), 'zip,name,amount,day\n00123,a,1.50,2024-01-05\n00456,b,2,2024-02-01\n');
  await writeFile(join(dir, 'j.jsonl'), '{"zip":"00123","n":7,"name":"a"}\n');
  const config = async (path: string) =>
    loadConfig({ version: 1, name: 'p', source: { path }, request: { url: 'http://127.0.0.1/{{ zip }}' }, sink: { path: join(dir, 'lake') } }, { env: {} });
  // Dates go as text: Spark does not know the format DuckDB detected (13/02/2024 would read as null).
  assert.equal((await sniffSource(await config(join(dir, 'c.csv'))))?.ddl, '`zip` STRING, `name` STRING, `amount` DOUBLE, `day` STRING');
  assert.equal((await sniffSource(await config(join(dir, 'j.jsonl'))))?.ddl, '`zip` STRING, `n` BIGINT, `name` STRING');
  // Typed formats need nothing; a type Spark DDL is not given for (nested) leaves it to Spark.
  assert.equal(sparkDdlOf([{ name: 'a`b', duckType: 'DECIMAL(18,3)' }]), '`a``b` DECIMAL(18,3)');
  assert.equal(sparkDdlOf([{ name: 'x', duckType: 'STRUCT(a INTEGER)' }]), null);
});

test('Spark: a local CSV with a bad line is refused before Spark starts; the dialect DuckDB found goes along', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-sniff-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'bad.csv'), 'id,name\n1,a\n2,b,extra\n');
  await writeFile(join(dir, 'semi.csv'), 'id;name\n1;"a;b"\n');
  const config = async (path: string) =>
    loadConfig({ version: 1, name: 'p', source: { path }, request: { url: 'http://127.0.0.1/{{ id }}' }, sink: { path: join(dir, 'lake') } }, { env: {} });
  await assert.rejects(sniffSource(await config(join(dir, 'bad.csv'))), {
    message: `cannot read source ${join(dir, 'bad.csv')} (csv): 1 line that cannot be read; nothing was sent\n  ${join(dir, 'bad.csv')} line 3: 3 fields where the header has 2: "2,b,extra"`,
  });
  assert.deepEqual(await sniffSource(await config(join(dir, 'semi.csv'))), { ddl: '`id` BIGINT, `name` STRING', casts: {}, dialect: { delim: ';', quote: '"' } });
});

test('Spark is handed only types its parser reads as DuckDB did: a t/f boolean is read as text and cast', async (t) => {
  // The whole table: what DuckDB sniffs in CSV or JSON, and what Spark's reader gets.
  assert.deepEqual(
    Object.fromEntries(['VARCHAR', 'BIGINT', 'INTEGER', 'DOUBLE', 'FLOAT', 'BOOLEAN', 'DATE', 'TIMESTAMP', 'DECIMAL(18,3)'].map((d) => [d, [sparkDdlOf([{ name: 'c', duckType: d }]), sparkCastsOf([{ name: 'c', duckType: d }]).c ?? null]])),
    {
      VARCHAR: ['`c` STRING', null],
      BIGINT: ['`c` BIGINT', null],
      INTEGER: ['`c` INT', null],
      DOUBLE: ['`c` DOUBLE', null],
      FLOAT: ['`c` FLOAT', null],
      BOOLEAN: ['`c` STRING', 'BOOLEAN'],
      DATE: ['`c` STRING', null],
      TIMESTAMP: ['`c` STRING', null],
      'DECIMAL(18,3)': ['`c` DECIMAL(18,3)', null],
    },
  );
  assert.equal(SPARK_READ_OF.boolean?.ddl, 'STRING');
  const dir = await mkdtemp(join(tmpdir(), 'restlake-sniff-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'b.csv'), 'id,flag\n1,t\n2,F\n3,\n');
  await writeFile(join(dir, 'b.jsonl'), '{"id":1,"flag":true}\n');
  const config = async (path: string) =>
    loadConfig({ version: 1, name: 'p', source: { path }, request: { url: 'http://127.0.0.1/{{ id }}' }, sink: { path: join(dir, 'lake') } }, { env: {} });
  assert.deepEqual(await sniffSource(await config(join(dir, 'b.csv'))), { ddl: '`id` BIGINT, `flag` STRING', casts: { flag: 'BOOLEAN' }, dialect: { delim: ',', quote: '"' } });
  assert.deepEqual((await sniffSource(await config(join(dir, 'b.jsonl'))))?.casts, { flag: 'BOOLEAN' });
});

test('Spark: number forms its readers take as DuckDB does pass; others (past the sniff sample) are refused before Spark starts', async (t) => {
  // The forms, as DuckDB matches them, against what pyspark 4.0.1 reads (FAILFAST).
  const forms: Record<'integer' | 'float', [string, boolean][]> = {
    integer: [['5', true], ['+5', true], ['-5', true], ['007', true], ['-0', true], [' 5', false], ['5 ', false], ['\t5', false], ['0x1F', false], ['0b101', false], ['1_000', false], ['1e3', false], ['5.0', false], ['5.7', false]],
    float: [
      ['1.5', true], ['+1.5', true], [' 1.5', true], ['1.5 ', true], ['\t1.5', true], ['Infinity', true], ['-Infinity', true], ['NaN', true], ['-NaN', true], ['2.', true], ['.5', true], ['-.5', true], ['1e400', true], ['1E5', true], ['1e+5', true], ['1.5e-3', true], ['5', true], ['007.5', true],
      ['inf', false], ['-inf', false], ['nan', false], ['1_000.5', false], ['INF', false], ['infinity', false],
    ],
  };
  const { DuckDBInstance } = await import('../../duckdb.js');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.after(() => (conn.closeSync(), db.closeSync()));
  for (const family of ['integer', 'float'] as const) {
    for (const [v, ok] of forms[family]) {
      const r = await conn.runAndReadAll(`SELECT regexp_full_match(?, ?)`, [v, SPARK_CSV_NUMBER[family]]);
      assert.equal(r.getRowsJson()[0]?.[0], ok, `${family} ${JSON.stringify(v)}`);
    }
  }

  const dir = await mkdtemp(join(tmpdir(), 'restlake-sniff-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const sample = 'id,n,d\n' + '1,1,1.5\n'.repeat(20480);
  await writeFile(join(dir, 'ok.csv'), sample + '2,+7,-Infinity\n3,007, .5\n');
  await writeFile(join(dir, 'bad.csv'), sample + '2,0x1F,1.5\n3,5.7,inf\n4,1_000,2\n');
  const jsample = '{"id":1,"n":1,"d":1.5}\n'.repeat(20480);
  await writeFile(join(dir, 'ok.jsonl'), jsample + '{"id":2,"n":-7,"d":3}\n{"id":3,"n":null,"d":1e3}\n{"id":4}\n');
  await writeFile(join(dir, 'bad.jsonl'), jsample + '{"id":2,"n":5.0,"d":1}\n{"id":3,"n":"5","d":"1.5"}\n{"id":4,"n":1e3}\n');
  const config = async (path: string) =>
    loadConfig({ version: 1, name: 'p', source: { path }, request: { url: 'http://127.0.0.1/{{ id }}' }, sink: { path: join(dir, 'lake') } }, { env: {} });
  assert.equal((await sniffSource(await config(join(dir, 'ok.csv'))))?.ddl, '`id` BIGINT, `n` BIGINT, `d` DOUBLE');
  assert.equal((await sniffSource(await config(join(dir, 'ok.jsonl'))))?.ddl, '`id` BIGINT, `n` BIGINT, `d` DOUBLE');
  const f = join(dir, 'bad.csv');
  const int = 'Spark reads this BIGINT differently: write it as digits with an optional sign (1000, -5)';
  await assert.rejects(sniffSource(await config(f)), {
    message: `cannot read source ${f} (csv) on Spark: 4 values Spark reads differently from DuckDB; nothing was sent
  ${f} column "n": ${int}: "0x1F"
  ${f} column "n": ${int}: "5.7"
  ${f} column "n": ${int}: "1_000"
  ${f} column "d": Spark reads this DOUBLE differently: write it as a decimal number (1.5, -2e3, NaN, Infinity): "inf"
  the local engine reads these values as they are`,
  });
  const j = join(dir, 'bad.jsonl');
  const jint = 'Spark reads this BIGINT differently: write it as a JSON integer (1000, -5)';
  await assert.rejects(sniffSource(await config(j)), {
    message: `cannot read source ${j} (json) on Spark: 4 values Spark reads differently from DuckDB; nothing was sent
  ${j} column "n": ${jint}: "5.0"
  ${j} column "n": ${jint}: "\\"5\\""
  ${j} column "n": ${jint}: "1000.0"
  ${j} column "d": Spark reads this DOUBLE differently: write it as a JSON number (1.5, -2e3): "\\"1.5\\""
  the local engine reads these values as they are`,
  });
});
