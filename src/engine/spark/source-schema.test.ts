import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { SPARK_CSV_NUMBER, SPARK_READ_OF, sniffSource, sparkCastsOf, sparkDateFormOf, sparkDdlOf } from './source-schema.js';

test('Spark reads CSV and JSON with the types DuckDB finds: 00123 stays text, JSON keeps the file order', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-sniff-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'c.csv'), 'zip,name,amount,day\n00123,a,1.50,2024-01-05\n00456,b,2,2024-02-01\n');
  await writeFile(join(dir, 'j.jsonl'), '{"zip":"00123","n":7,"name":"a"}\n');
  const config = async (path: string) =>
    loadConfig({ version: 1, name: 'p', source: { path }, request: { url: 'http://127.0.0.1/{{ zip }}' }, sink: { path: join(dir, 'lake') } }, { env: {} });
  // Dates go as text, parsed after reading (sparkCastsOf): Spark's reader is not told DuckDB's format.
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
      BOOLEAN: ['`c` STRING', 'CAST(`c` AS BOOLEAN)'],
      DATE: ['`c` STRING', 'CAST(`c` AS DATE)'],
      TIMESTAMP: ['`c` STRING', 'CAST(`c` AS TIMESTAMP_NTZ)'],
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
  assert.deepEqual(await sniffSource(await config(join(dir, 'b.csv'))), { ddl: '`id` BIGINT, `flag` STRING', casts: { flag: 'CAST(`flag` AS BOOLEAN)' }, dialect: { delim: ',', quote: '"' } });
  assert.deepEqual((await sniffSource(await config(join(dir, 'b.jsonl'))))?.casts, { flag: 'CAST(`flag` AS BOOLEAN)' });
});

test('Spark: number forms its readers take as DuckDB does pass; others (past the sniff sample) are refused before Spark starts', async (t) => {
  // The forms, as DuckDB matches them, against what pyspark 4.0.1 reads (FAILFAST).
  const forms: Record<'integer' | 'float', [string, boolean][]> = {
    integer: [['5', true], ['+5', true], ['-5', true], ['007', true], ['-0', true], [' 5', false], ['5 ', false], ['\t5', false], ['0x1F', false], ['0b101', false], ['1_000', false], ['1e3', false], ['5.0', false], ['5.7', false]],
    float: [
      ['1.5', true], ['+1.5', true], [' 1.5', true], ['1.5 ', true], ['\t1.5', true], ['Infinity', true], ['-Infinity', true], ['NaN', true], ['-NaN', true], ['2.', true], ['.5', true], ['-.5', true], ['1e400', true], ['1E5', true], ['1e+5', true], ['1.5e-3', true], ['5', true], ['007.5', true],
      ['Inf', true], ['-Inf', true], ['inf', false], ['-inf', false], ['+Inf', false], [' Inf', false], ['Inf ', false], ['nan', false], ['1_000.5', false], ['INF', false], ['infinity', false],
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
  await writeFile(join(dir, 'ok.csv'), sample + '2,+7,-Infinity\n3,007, .5\n4,8,Inf\n5,9,-Inf\n');
  await writeFile(join(dir, 'bad.csv'), sample + '2,0x1F,1.5\n3,5.7,inf\n4,1_000,2\n');
  const jsample = '{"id":1,"n":1,"d":1.5}\n'.repeat(20480);
  await writeFile(join(dir, 'ok.jsonl'), jsample + '{"id":2,"n":-7,"d":3}\n{"id":3,"n":null,"d":1e3}\n{"id":4}\n');
  await writeFile(join(dir, 'bad.jsonl'), jsample + '{"id":2,"n":5.0,"d":1}\n\n{"id":3,"n":"5","d":"1.5"}\n{"id":4,"n":1e3}\n');
  const config = async (path: string) =>
    loadConfig({ version: 1, name: 'p', source: { path }, request: { url: 'http://127.0.0.1/{{ id }}' }, sink: { path: join(dir, 'lake') } }, { env: {} });
  assert.equal((await sniffSource(await config(join(dir, 'ok.csv'))))?.ddl, '`id` BIGINT, `n` BIGINT, `d` DOUBLE');
  assert.equal((await sniffSource(await config(join(dir, 'ok.jsonl'))))?.ddl, '`id` BIGINT, `n` BIGINT, `d` DOUBLE');
  const f = join(dir, 'bad.csv');
  const int = 'Spark reads this BIGINT differently: write it as digits with an optional sign (1000, -5)';
  await assert.rejects(sniffSource(await config(f)), {
    message: `cannot read source ${f} (csv) on Spark: 4 values Spark reads differently from DuckDB; nothing was sent
  ${f} line 20482 column "n": ${int}: "0x1F"
  ${f} line 20483 column "n": ${int}: "5.7"
  ${f} line 20484 column "n": ${int}: "1_000"
  ${f} line 20483 column "d": Spark reads this DOUBLE differently: write it as a decimal number (1.5, -2e3, NaN, Infinity): "inf"
  the local engine reads these values as they are`,
  });
  const j = join(dir, 'bad.jsonl');
  const jint = 'Spark reads this BIGINT differently: write it as a JSON integer (1000, -5)';
  await assert.rejects(sniffSource(await config(j)), {
    message: `cannot read source ${j} (json) on Spark: 4 values Spark reads differently from DuckDB; nothing was sent
  ${j} line 20481 column "n": ${jint}: "5.0"
  ${j} line 20483 column "n": ${jint}: "\\"5\\""
  ${j} line 20484 column "n": ${jint}: "1000.0"
  ${j} line 20483 column "d": Spark reads this DOUBLE differently: write it as a JSON number (1.5, -2e3): "\\"1.5\\""
  the local engine reads these values as they are`,
  });
});

test('Spark parses dates and timestamps in the format DuckDB detected; a value only DuckDB reads is named with its line, an untranslatable format refused', async (t) => {
  // strftime (as DuckDB's sniffer writes it) to Spark's pattern, and the text both read alike.
  assert.deepEqual(sparkDateFormOf('%m/%d/%Y'), { pattern: 'M/d/yyyy', re: '[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}', example: '03/25/2024', twoDigitYear: false });
  assert.deepEqual(sparkDateFormOf('%d.%m.%y %I:%M:%S %p')?.pattern, 'd.M.yy h:m:s a');
  assert.equal(sparkDateFormOf('%Y%m%d'), null);
  assert.equal(sparkDateFormOf('%Y-%j'), null);
  const dir = await mkdtemp(join(tmpdir(), 'restlake-sniff-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = async (path: string) =>
    loadConfig({ version: 1, name: 'p', source: { path }, request: { url: 'http://127.0.0.1/{{ id }}' }, sink: { path: join(dir, 'lake') } }, { env: {} });
  await writeFile(join(dir, 'd.csv'), 'id,day,at\n1,03/25/2024,25.03.85 14:05:00\n2,1/5/2024,01.12.23 09:30:05\n');
  assert.deepEqual(await sniffSource(await config(join(dir, 'd.csv'))), {
    ddl: '`id` BIGINT, `day` STRING, `at` STRING',
    casts: {
      day: "to_date(`day`, 'M/d/yyyy')",
      at: "CASE WHEN year(to_timestamp_ntz(`at`, 'd.M.yy H:m:s')) >= 2069 THEN to_timestamp_ntz(`at`, 'd.M.yy H:m:s') - make_ym_interval(100, 0) ELSE to_timestamp_ntz(`at`, 'd.M.yy H:m:s') END",
    },
    dialect: { delim: ',', quote: '"' },
  });
  // Past the sniff sample: a two-digit year DuckDB's %Y reads as the year 24, which
  // Spark's yyyy refuses; a quoted field over two lines before it.
  const f = join(dir, 'late.csv');
  await writeFile(f, 'id,day,note\n' + '1,03/25/2024,a\n'.repeat(20480) + '2,03/26/2024,"two\nlines"\n3,03/27/24,b\n');
  await assert.rejects(sniffSource(await config(f)), {
    message: `cannot read source ${f} (csv) on Spark: 1 value Spark reads differently from DuckDB; nothing was sent
  ${f} line 20484 column "day": Spark reads this DATE differently: write it as 03/25/2024 (%m/%d/%Y, as the file's first lines): "03/27/24"
  the local engine reads these values as they are`,
  });
  // JSON dates are ISO 8601 strings.
  const j = join(dir, 'd.jsonl');
  await writeFile(j, '{"id":1,"day":"2024-03-25"}\n'.repeat(20480) + '{"id":2,"day":"2024-3-5"}\n');
  await assert.rejects(sniffSource(await config(j)), {
    message: `cannot read source ${j} (json) on Spark: 1 value Spark reads differently from DuckDB; nothing was sent
  ${j} line 20481 column "day": Spark reads this DATE differently: write it as a JSON string 2024-03-25 (ISO 8601): "\\"2024-3-5\\""
  the local engine reads these values as they are`,
  });
});
