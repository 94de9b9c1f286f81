// Protocol checks, conflict rules, storage atomicity and the type mapping.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeltaError, DeltaTable, LocalStorage, fromDuckDbType, parseSchemaString, schemaToJson, toDuckDbType, type DeltaType, type StructType } from './index.js';
import { canonicalPartitionString, partitionCastSql } from './scan/partition-values.js';
import { resolveTablePath } from './log/paths.js';
import { encodeActionPath } from './log/actions.js';
import { GOLDEN, one, openConn, tempDir } from './testing/duck.js';

let conn: DuckDBConnection;
let close: () => void;
before(async () => ({ conn, close } = await openConn()));
after(() => close());

const isCode = (code: string, mention?: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof DeltaError, `expected DeltaError, got ${String(e)}`);
  assert.equal(e.code, code);
  if (mention) assert.match(e.message, mention);
  return true;
};

async function logTable(lines: object[][]): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const t = await tempDir('log');
  await fs.mkdir(path.join(t.dir, '_delta_log'));
  for (const [v, actions] of lines.entries()) {
    await fs.writeFile(path.join(t.dir, '_delta_log', `${String(v).padStart(20, '0')}.json`), actions.map((a) => JSON.stringify(a)).join('\n') + '\n');
  }
  return t;
}
const META = { id: 'x', format: { provider: 'parquet', options: {} }, schemaString: '{"type":"struct","fields":[{"name":"a","type":"integer","nullable":true,"metadata":{}}]}', partitionColumns: [], configuration: {} };
const SCHEMA: StructType = { type: 'struct', fields: [{ name: 'a', type: 'integer', nullable: true, metadata: {} }] };

describe('protocol', () => {
  test('an unsupported reader feature is refused, naming it', async () => {
    const t = await logTable([[{ protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors', 'catalogManaged'], writerFeatures: [] } }, { metaData: META }]]);
    try {
      await assert.rejects(DeltaTable.forPath(t.dir).snapshot(), isCode('DELTA_UNSUPPORTED_FEATURE', /'catalogManaged'/));
    } finally {
      await t.cleanup();
    }
  });

  test('reader version 4 and unknown data types are refused', async () => {
    const t = await logTable([[{ protocol: { minReaderVersion: 4, minWriterVersion: 7 } }, { metaData: META }]]);
    try {
      await assert.rejects(DeltaTable.forPath(t.dir).snapshot(), isCode('DELTA_UNSUPPORTED_FEATURE', /reader version 4/));
    } finally {
      await t.cleanup();
    }
    const variant = { ...META, schemaString: '{"type":"struct","fields":[{"name":"v","type":"variant","nullable":true,"metadata":{}}]}' };
    const t2 = await logTable([[{ protocol: { minReaderVersion: 1, minWriterVersion: 2 } }, { metaData: variant }]]);
    try {
      await assert.rejects(DeltaTable.forPath(t2.dir).snapshot(), isCode('DELTA_UNSUPPORTED_FEATURE', /'variant'.*column v/));
    } finally {
      await t2.cleanup();
    }
  });

  test('type widening: a recorded type change outside the spec is refused, naming the column', async () => {
    const widened = (from: string, to: string) => ({ ...META, schemaString: JSON.stringify({ type: 'struct', fields: [{ name: 'c', type: to, nullable: true, metadata: { 'delta.typeChanges': [{ fromType: from, toType: to }] } }] }) });
    const proto = { protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['typeWidening'], writerFeatures: ['typeWidening'] } };
    const ok = await logTable([[proto, { metaData: widened('decimal(5,2)', 'decimal(10,4)') }]]);
    const bad = await logTable([[proto, { metaData: widened('decimal(5,2)', 'decimal(6,4)') }]]);
    try {
      assert.equal((await DeltaTable.forPath(ok.dir).snapshot()).version, 0);
      await assert.rejects(DeltaTable.forPath(bad.dir).snapshot(), isCode('DELTA_UNSUPPORTED_FEATURE', /column c changed type from decimal\(5,2\) to decimal\(6,4\)/));
    } finally {
      await ok.cleanup();
      await bad.cleanup();
    }
  });

  test('a directory without a log is not a table', async () => {
    const t = await tempDir('empty');
    try {
      const table = DeltaTable.forPath(t.dir);
      assert.equal(await table.exists(), false);
      await assert.rejects(table.snapshot(), isCode('DELTA_NOT_A_TABLE'));
    } finally {
      await t.cleanup();
    }
  });

  test('writes to tables with writer requirements restlake cannot meet are refused', async () => {
    const t = await tempDir('cm');
    try {
      await fs.cp(path.join(GOLDEN, 'table-with-columnmapping-mode-name'), t.dir, { recursive: true });
      await assert.rejects(DeltaTable.forPath(t.dir).compact(conn, {}), isCode('DELTA_UNSUPPORTED_FEATURE', /column mapping/));
    } finally {
      await t.cleanup();
    }
    const ao = await tempDir('ao');
    try {
      const table = DeltaTable.forPath(ao.dir);
      await table.write(conn, { selectSql: 'SELECT 1::INT AS a', schema: SCHEMA, mode: 'append', configuration: { 'delta.appendOnly': 'true' } });
      await table.write(conn, { selectSql: 'SELECT 2::INT AS a', schema: SCHEMA, mode: 'append' });
      await assert.rejects(table.write(conn, { selectSql: 'SELECT 3::INT AS a', schema: SCHEMA, mode: 'overwrite' }), isCode('DELTA_UNSUPPORTED_FEATURE', /append-only/));
    } finally {
      await ao.cleanup();
    }
  });
});

describe('optimistic commits', () => {
  test('losing writers move to the next version; removing the same file twice conflicts', async () => {
    const t = await tempDir('conflict');
    try {
      const table = DeltaTable.forPath(t.dir);
      await table.write(conn, { selectSql: 'SELECT 1::INT AS a', schema: SCHEMA, mode: 'append' });
      const file = (await table.snapshot()).files[0];
      const remove = { remove: { path: file.path, dataChange: true, deletionTimestamp: Date.now() } };
      // both computed against version 0
      assert.equal(await table.commit([{ commitInfo: { operation: 'DELETE' } }, remove], { readVersion: 0 }), 1);
      await assert.rejects(table.commit([{ commitInfo: { operation: 'DELETE' } }, remove], { readVersion: 0 }), isCode('DELTA_CONCURRENT_CONFLICT', /also removed/));
      // a blind append against a stale version just lands later
      assert.equal(await table.commit([{ commitInfo: { operation: 'WRITE' } }], { readVersion: 0 }), 2);
      // a concurrent metadata change conflicts
      await table.commit([{ metaData: { ...META, id: 'changed' } }], { readVersion: 2 });
      await assert.rejects(table.commit([{ commitInfo: {} }], { readVersion: 2 }), isCode('DELTA_CONCURRENT_CONFLICT', /metadata/));
      const names = (await fs.readdir(path.join(t.dir, '_delta_log'))).filter((n) => n.endsWith('.json'));
      assert.equal(names.length, 4);
      assert.ok(!(await fs.readdir(path.join(t.dir, '_delta_log'))).some((n) => n.endsWith('.tmp')), 'no temp files left');
    } finally {
      await t.cleanup();
    }
  });

  test('LocalStorage.putIfAbsent never overwrites', async () => {
    const t = await tempDir('store');
    try {
      const s = new LocalStorage(t.dir);
      assert.equal(await s.putIfAbsent('_delta_log/x.json', Buffer.from('one')), true);
      assert.equal(await s.putIfAbsent('_delta_log/x.json', Buffer.from('two')), false);
      assert.equal((await s.read('_delta_log/x.json'))!.toString(), 'one');
      assert.equal(await s.read('nope'), null);
      await s.write('b/c.txt', Buffer.from('c'));
      await s.write('a.txt', Buffer.from('a'));
      assert.deepEqual((await s.list('', { recursive: true })).map((f) => f.path), ['_delta_log/x.json', 'a.txt', 'b/c.txt']);
      assert.deepEqual((await s.list('')).map((f) => f.path), ['a.txt']);
      await assert.rejects(s.localPath('../escape'), isCode('DELTA_INVALID_ARGUMENT', /escapes the table root/));
    } finally {
      await t.cleanup();
    }
  });
});

describe('types', () => {
  test('Delta <-> DuckDB types round trip, nested included', () => {
    const nested: DeltaType = {
      type: 'struct',
      fields: [
        { name: 'a b', type: { type: 'array', elementType: 'timestamp', containsNull: true }, nullable: true, metadata: {} },
        { name: 'm', type: { type: 'map', keyType: 'string', valueType: 'decimal(20,4)', valueContainsNull: true }, nullable: true, metadata: {} },
      ],
    };
    assert.equal(toDuckDbType(nested), 'STRUCT("a b" TIMESTAMP WITH TIME ZONE[], "m" MAP(VARCHAR, DECIMAL(20,4)))');
    assert.deepEqual(fromDuckDbType(toDuckDbType(nested)), nested);
    for (const t of ['string', 'long', 'integer', 'short', 'byte', 'float', 'double', 'boolean', 'binary', 'date', 'timestamp', 'timestamp_ntz'] as const) {
      assert.equal(fromDuckDbType(toDuckDbType(t)), t);
    }
    assert.equal(fromDuckDbType('TIMESTAMPTZ'), 'timestamp');
    assert.equal(fromDuckDbType('HUGEINT'), 'decimal(38,0)');
    assert.throws(() => fromDuckDbType('INTERVAL'), isCode('DELTA_UNSUPPORTED_FEATURE', /INTERVAL/));
  });

  test("Spark's schemaString round trips unchanged", async () => {
    const line = (await fs.readFile(path.join(GOLDEN, 'table-with-columnmapping-mode-id/_delta_log/00000000000000000000.json'), 'utf8'))
      .split('\n').map((l) => (l ? JSON.parse(l) : null)).find((a) => a?.metaData);
    const s = line.metaData.schemaString as string;
    assert.equal(schemaToJson(parseSchemaString(s)), s);
  });

  test('partition values: null forms, timestamps without zone are UTC, binary', async () => {
    assert.equal(canonicalPartitionString('', 'string', 'c'), null);
    assert.equal(canonicalPartitionString('__HIVE_DEFAULT_PARTITION__', 'integer', 'c'), null);
    assert.equal(canonicalPartitionString(null, 'date', 'c'), null);
    assert.equal(canonicalPartitionString('2024-01-01 10:00:00', 'timestamp', 'c'), '2024-01-01 10:00:00+00');
    assert.equal(canonicalPartitionString('2024-01-01T10:00:00.000000Z', 'timestamp', 'c'), '2024-01-01T10:00:00.000000Z');
    assert.equal(canonicalPartitionString('\u0001\u0002', 'binary', 'c'), '0102');
    assert.equal(await one(conn, `SELECT epoch_ms(CAST('2024-01-01 10:00:00+00' AS TIMESTAMPTZ))::BIGINT::VARCHAR`), String(Date.UTC(2024, 0, 1, 10)));
  });

  test('float/double partition values: Java spellings (Spark, Kernel, restlake) and the older nan/inf forms', async () => {
    const cases: [string, string][] = [
      ['NaN', 'nan'], ['Infinity', 'inf'], ['-Infinity', '-inf'], ['nan', 'nan'], ['inf', 'inf'], ['-inf', '-inf'],
      ['1.0E20', '1e+20'], ['1e+20', '1e+20'], ['-0.0', '-0.0'], ['1.5E-10', '1.5e-10'],
    ];
    for (const type of ['double', 'float'] as const) {
      for (const [raw, want] of cases) {
        const s = canonicalPartitionString(raw, type, 'c')!;
        assert.equal(await one(conn, `SELECT ${partitionCastSql(`'${s}'`, type)}::VARCHAR`), want, `${type} ${raw}`);
      }
    }
  });

  test('action paths: URI-decoded, absolute paths only inside the table root, encoded like Hadoop, non-ASCII as UTF-8', () => {
    const s = new LocalStorage('/data/t');
    assert.equal(resolveTablePath(s, 'p=a%20b/part-1.parquet'), 'p=a b/part-1.parquet');
    assert.equal(resolveTablePath(s, 'ts=2024-01-01%2010%253A00%253A00/x.parquet'), 'ts=2024-01-01 10%3A00%3A00/x.parquet');
    assert.equal(resolveTablePath(s, 'file:/data/t/x%23.parquet'), 'x#.parquet');
    assert.equal(resolveTablePath(s, 'file:///data/t/y.parquet'), 'y.parquet');
    assert.throws(() => resolveTablePath(s, 'file:/elsewhere/y.parquet'), isCode('DELTA_UNSUPPORTED_FEATURE', /outside the table root/));
    assert.equal(encodeActionPath('odd=a%2Fb/special p@#h'), 'odd=a%252Fb/special%20p@%23h');
    assert.equal(encodeActionPath('c=New\u00A0York/é\u0085'), 'c=New%C2%A0York/%C3%A9%C2%85');
  });
});
