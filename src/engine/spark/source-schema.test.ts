import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { SPARK_READ_OF, sniffSource, sparkCastsOf, sparkDdlOf } from './source-schema.js';

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
