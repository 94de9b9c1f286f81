// One test per Spark-written golden table in /work/shared/delta-golden (see its README.md):
// data tables are scanned and checked row by row where it matters; log-only tables check the live file set or the error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeltaError, DeltaTable } from './index.js';
import { GOLDEN, one, openConn, rows, tempDir } from './testing/duck.js';

let conn: DuckDBConnection;
let close: () => void;
before(async () => ({ conn, close } = await openConn()));
after(() => close());

const table = (name: string): DeltaTable => DeltaTable.forPath(path.join(GOLDEN, name));

async function scan(name: string, opts: { version?: number } = {}): Promise<string> {
  const view = `v_${name.replace(/[^a-z0-9]/gi, '_')}_${opts.version ?? 'latest'}`;
  await table(name).registerScan(conn, view, opts);
  return `"${view}"`;
}
const count = async (name: string, opts: { version?: number } = {}): Promise<number> => Number(await one(conn, `SELECT count(*) FROM ${await scan(name, opts)}`));
const livePaths = async (name: string): Promise<string[]> => (await table(name).snapshot()).files.map((f) => f.path).sort();

async function rejects(p: Promise<unknown>, code: string, mention?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DeltaError, `expected DeltaError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (mention) assert.match(e.message, mention);
    return true;
  });
}

/** Copies a golden table into a temp dir so a test may change it. */
async function copyTable(name: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const t = await tempDir('golden');
  await fs.cp(path.join(GOLDEN, name), t.dir, { recursive: true });
  return t;
}

describe('golden tables', () => {
  test('basic-decimal-table: decimal data and a decimal(12,5) partition column', async () => {
    const v = await scan('basic-decimal-table');
    const r = await rows(conn, `SELECT part::VARCHAR p, col1::VARCHAR c1, col2::VARCHAR c2, col3::VARCHAR c3, typeof(part) t FROM ${v} ORDER BY part`);
    assert.equal(r.length, 4);
    assert.deepEqual(r.map((x) => x.p), ['-2342342.23423', '0.00004', '234.00000', '2342222.23454']);
    assert.deepEqual(r[0], { p: '-2342342.23423', c1: '-999.99', c2: '-99999.99999', c3: '-9999999999.9999999999', t: 'DECIMAL(12,5)' });
  });

  test('basic-with-vacuum-protocol-check-feature: reader accepts vacuumProtocolCheck', async () => {
    const snap = await table('basic-with-vacuum-protocol-check-feature').snapshot();
    assert.ok(snap.protocol.readerFeatures?.includes('vacuumProtocolCheck'));
    const v = await scan('basic-with-vacuum-protocol-check-feature');
    assert.equal(Number(await one(conn, `SELECT count(*) FROM ${v}`)), 100);
    assert.equal(await one(conn, `SELECT str FROM ${v} WHERE id = 42`), 'val=42');
  });

  test('checkpoint: classic checkpoint at v10 plus commits 11-14 leave only file 15', async () => {
    const snap = await table('checkpoint').snapshot();
    assert.equal(snap.version, 14);
    assert.deepEqual(snap.files.map((f) => f.path), ['15']);
    // time travel before the checkpoint replays JSON only
    assert.deepEqual((await table('checkpoint').snapshot({ version: 5 })).files.map((f) => f.path), ['6']);
  });

  test('corrupted-last-checkpoint: a damaged _last_checkpoint falls back to listing', async () => {
    const expected = Array.from({ length: 11 }, (_, i) => String(i)).sort();
    assert.deepEqual(await livePaths('corrupted-last-checkpoint'), expected);
    const t = await copyTable('corrupted-last-checkpoint');
    try {
      await fs.writeFile(path.join(t.dir, '_delta_log/_last_checkpoint'), '{"version":10,"size":1');
      const snap = await DeltaTable.forPath(t.dir).snapshot();
      assert.equal(snap.version, 10);
      assert.deepEqual(snap.files.map((f) => f.path).sort(), expected);
      // and one pointing at a checkpoint that does not exist
      await fs.writeFile(path.join(t.dir, '_delta_log/_last_checkpoint'), '{"version":99,"size":1}');
      assert.equal((await DeltaTable.forPath(t.dir).snapshot()).files.length, 11);
    } finally {
      await t.cleanup();
    }
  });

  test('corrupted-last-checkpoint-kernel: empty _last_checkpoint, overwrite at v11', async () => {
    assert.equal(await count('corrupted-last-checkpoint-kernel'), 100);
    const v = await scan('corrupted-last-checkpoint-kernel');
    assert.deepEqual(await rows(conn, `SELECT min(id)::INT mn, max(id)::INT mx FROM ${v}`), [{ mn: 0, mx: 99 }]);
  });

  test('data-reader-array-primitives: arrays of every primitive', async () => {
    const v = await scan('data-reader-array-primitives');
    assert.equal(Number(await one(conn, `SELECT count(*) FROM ${v}`)), 10);
    const r = await rows(conn, `SELECT as_array_long::VARCHAR l, as_array_string::VARCHAR s, as_array_boolean::VARCHAR b, as_array_big_decimal::VARCHAR d, hex(as_array_binary[1]) x FROM ${v} WHERE as_array_int[1] = 3`);
    assert.deepEqual(r, [{ l: '[3]', s: '[3]', b: '[false]', d: '[3]', x: '0303' }]);
  });

  test('data-reader-date-types-UTC: timestamp and date', async () => {
    const v = await scan('data-reader-date-types-UTC');
    const r = await rows(conn, `SELECT epoch_ms("timestamp")::BIGINT::VARCHAR ms, "date"::VARCHAR d, typeof("timestamp") t FROM ${v}`);
    assert.deepEqual(r, [{ ms: String(Date.UTC(2020, 0, 1, 8, 9, 10)), d: '2020-01-01', t: 'TIMESTAMP WITH TIME ZONE' }]);
  });

  test('data-reader-map: maps with primitive, decimal and array-of-struct values', async () => {
    const v = await scan('data-reader-map');
    assert.equal(Number(await one(conn, `SELECT count(*) FROM ${v}`)), 10);
    const r = await rows(conn, `SELECT a[5]::INT a5, b['5']::INT b5, c[5] c5, e['5'] e5, len(f[5])::INT f5 FROM ${v} WHERE i = 5`);
    assert.deepEqual(r, [{ a5: 5, b5: 5, c5: false, e5: '5', f5: 3 }]);
  });

  test('data-reader-nested-struct: struct in struct', async () => {
    const v = await scan('data-reader-nested-struct');
    assert.equal(Number(await one(conn, `SELECT count(*) FROM ${v}`)), 10);
    assert.deepEqual(await rows(conn, `SELECT a.aa aa, a.ac.aca::INT aca, a.ac.acb::VARCHAR acb FROM ${v} WHERE b = 7`), [{ aa: '7', aca: 7, acb: '7' }]);
  });

  test('data-reader-partition-values: 12 typed partition columns incl. nulls and the string "null"', async () => {
    const v = await scan('data-reader-partition-values');
    const r = await rows(conn, `SELECT as_int, as_long::VARCHAR l, as_byte, as_short, as_boolean, as_float, as_double, as_string, as_string_lit_null,
      as_date::VARCHAR d, epoch_ms(as_timestamp)::BIGINT::VARCHAR ts, as_big_decimal::VARCHAR bd, value, as_nested_struct.aa na FROM ${v} ORDER BY value`);
    assert.equal(r.length, 3);
    assert.deepEqual(r[1], {
      as_int: 1, l: '1', as_byte: 1, as_short: 1, as_boolean: false, as_float: 1, as_double: 1, as_string: '1', as_string_lit_null: 'null',
      d: '2021-09-08', ts: String(Date.UTC(2021, 8, 8, 11, 11, 11)), bd: '1', value: '1', na: '1',
    });
    const nulls = r[2];
    assert.equal(nulls.value, '2');
    for (const k of ['as_int', 'l', 'as_byte', 'as_short', 'as_boolean', 'as_float', 'as_double', 'as_string', 'as_string_lit_null', 'd', 'ts', 'bd']) {
      assert.equal(nulls[k], null, `${k} should be null`);
    }
  });

  test('data-reader-primitives: all primitive types, one all-null row', async () => {
    const v = await scan('data-reader-primitives');
    assert.equal(Number(await one(conn, `SELECT count(*) FROM ${v}`)), 11);
    assert.equal(Number(await one(conn, `SELECT count(*) FROM ${v} WHERE as_int IS NULL AND as_string IS NULL AND as_binary IS NULL`)), 1);
    assert.deepEqual(
      await rows(conn, `SELECT as_long::VARCHAR l, as_byte, as_short, as_boolean, as_float, as_double, as_string, hex(as_binary) bin, as_big_decimal::VARCHAR bigdec FROM ${v} WHERE as_int = 4`),
      [{ l: '4', as_byte: 4, as_short: 4, as_boolean: true, as_float: 4, as_double: 4, as_string: '4', bin: '0404', bigdec: '4' }],
    );
  });

  test('data-reader-timestamp_ntz: data and partition column, null partition, microseconds', async () => {
    const v = await scan('data-reader-timestamp_ntz');
    const r = await rows(conn, `SELECT id::INT id, "tsNtz"::VARCHAR a, "tsNtzPartition"::VARCHAR p, typeof("tsNtz") t FROM ${v} ORDER BY id`);
    assert.equal(r.length, 9);
    assert.deepEqual(r[1], { id: 1, a: '2013-07-05 17:01:00.123456', p: '2021-11-18 02:30:00.123456', t: 'TIMESTAMP' });
    assert.deepEqual(r[8], { id: 8, a: null, p: null, t: 'TIMESTAMP' });
  });

  test('delete-re-add-same-file-different-transactions: live set is {foo, bar}', async () => {
    assert.deepEqual(await livePaths('delete-re-add-same-file-different-transactions'), ['bar', 'foo']);
  });

  test('deltalog-state-reconstruction-without-metadata: refused', async () => {
    await rejects(table('deltalog-state-reconstruction-without-metadata').snapshot(), 'DELTA_MISSING_METADATA');
  });

  test('deltalog-state-reconstruction-without-protocol: refused', async () => {
    await rejects(table('deltalog-state-reconstruction-without-protocol').snapshot(), 'DELTA_MISSING_PROTOCOL');
  });

  test('dv-partitioned-with-checkpoint: on-disk deletion vectors after a checkpoint', async () => {
    const snap = await table('dv-partitioned-with-checkpoint').snapshot();
    assert.equal(snap.files.filter((f) => f.deletionVector).length, 2);
    const v = await scan('dv-partitioned-with-checkpoint');
    assert.equal(Number(await one(conn, `SELECT count(*) FROM ${v}`)), 35);
    const byPart = await rows(conn, `SELECT part::INT part, list(col1::INT ORDER BY col1)::VARCHAR l FROM ${v} GROUP BY part ORDER BY part`);
    assert.equal(byPart[0].l, '[30, 40]');
    assert.equal(byPart[1].l, '[1, 11, 21, 31, 41]');
    // DELETE WHERE col1 = 20 went into a DV: the row is physically in a file but must not be returned
    assert.equal(Number(await one(conn, `SELECT count(*) FROM ${v} WHERE col1 IN (0, 10, 20)`)), 0);
  });

  test('kernel-timestamp-partition-col-ISO8601: ISO-8601 timestamp partition values', async () => {
    const v = await scan('kernel-timestamp-partition-col-ISO8601');
    const r = await rows(conn, `SELECT str, epoch_ms(ts)::BIGINT::VARCHAR ms FROM ${v} ORDER BY str`);
    assert.deepEqual(r, [
      { str: '2024-01-01 10:00:00', ms: String(Date.UTC(2024, 0, 1, 10)) },
      { str: '2024-01-02 12:30:00', ms: String(Date.UTC(2024, 0, 2, 12, 30)) },
    ]);
  });

  test('log-replay-latest-metadata-protocol: latest metaData and protocol win', async () => {
    const snap = await table('log-replay-latest-metadata-protocol').snapshot();
    assert.deepEqual(snap.schema.fields.map((f) => f.name), ['col1', 'col2']);
    assert.equal(snap.protocol.minReaderVersion, 3);
    const v = await scan('log-replay-latest-metadata-protocol');
    assert.deepEqual(await rows(conn, `SELECT count(*)::INT n, count(col2)::INT nn FROM ${v}`), [{ n: 40, nn: 20 }]);
  });

  test('log-replay-special-characters-a: URL-encoded path added then removed', async () => {
    const snap = await table('log-replay-special-characters-a').snapshot();
    assert.equal(snap.files.length, 0);
    assert.deepEqual(snap.tombstones.map((r) => decodeURIComponent(r.path)), ['special p@#h']);
    assert.equal(await count('log-replay-special-characters-a'), 0);
  });

  test('multi-part-checkpoint: two-part checkpoint', async () => {
    assert.equal(await count('multi-part-checkpoint'), 31);
    // dropping one part makes the checkpoint incomplete: the reader must ignore it and replay JSON
    const t = await copyTable('multi-part-checkpoint');
    try {
      await fs.rm(path.join(t.dir, '_delta_log/00000000000000000001.checkpoint.0000000002.0000000002.parquet'));
      assert.equal((await DeltaTable.forPath(t.dir).snapshot()).files.length, (await table('multi-part-checkpoint').snapshot()).files.length);
    } finally {
      await t.cleanup();
    }
  });

  test('only-checkpoint-files: checkpoints with tombstones', async () => {
    const snap = await table('only-checkpoint-files').snapshot();
    assert.ok(snap.tombstones.length > 0);
    assert.equal(await count('only-checkpoint-files'), 25);
  });

  test('snapshot-data0: one append of 10 rows', async () => {
    const v = await scan('snapshot-data0');
    assert.deepEqual(await rows(conn, `SELECT count(*)::INT n, min(col1)::INT mn, max(col2) mx FROM ${v}`), [{ n: 10, mn: 0, mx: 'data-0-9' }]);
  });

  test('snapshot-data1: second append; time travel to v0', async () => {
    assert.equal(await count('snapshot-data1'), 20);
    assert.equal(await count('snapshot-data1', { version: 0 }), 10);
  });

  test('snapshot-data2: overwrite at v2 hides older files; time travel still sees them', async () => {
    const v = await scan('snapshot-data2');
    assert.deepEqual(await rows(conn, `SELECT count(*)::INT n, min(col2) c FROM ${v}`), [{ n: 10, c: 'data-2-0' }]);
    assert.equal(await count('snapshot-data2', { version: 1 }), 20);
  });

  test('snapshot-data3: append of 20 rows at v3', async () => {
    assert.equal(await count('snapshot-data3'), 30);
    assert.equal(await count('snapshot-data3', { version: 2 }), 10);
  });

  test('snapshot-vacuumed: latest readable, vacuumed history is not', async () => {
    assert.equal(await count('snapshot-vacuumed'), 20);
    await rejects(count('snapshot-vacuumed', { version: 0 }), 'DELTA_DATA_FILE_UNREADABLE', /version 0/);
  });

  test('table-with-columnmapping-mode-id: resolved by field id, nested too', async () => {
    const v = await scan('table-with-columnmapping-mode-id');
    assert.equal(Number(await one(conn, `SELECT count(*) FROM ${v}`)), 6);
    const r = await rows(conn, `SELECT "ByteType" b, "decimal"::VARCHAR d, nested_struct.ac.aca::INT aca, array_of_structs[1].ab::INT ab, map_of_prims[0]::INT m0 FROM ${v} WHERE "ByteType" = 0`);
    assert.deepEqual(r, [{ b: 0, d: '0.00', aca: 0, ab: 0, m0: 1 }]);
  });

  test('table-with-columnmapping-mode-name: resolved by physical name, nested too', async () => {
    const v = await scan('table-with-columnmapping-mode-name');
    assert.equal(Number(await one(conn, `SELECT count(*) FROM ${v}`)), 6);
    const r = await rows(conn, `SELECT "ByteType" b, "StringType" s, nested_struct.aa::INT aa, struct_of_arrays_maps_of_structs.aa[1]::INT x, map_of_rows[2].ab::INT mr, map_of_arrays[1]::VARCHAR ma FROM ${v} WHERE "ByteType" = 1`);
    assert.deepEqual(r, [{ b: 1, s: '1', aa: 1, x: 1, mr: 20, ma: '[1, NULL, 2]' }]);
  });

  test('time-travel-start: one commit', async () => {
    const snap = await table('time-travel-start').snapshot();
    assert.equal(snap.version, 0);
    assert.equal(await count('time-travel-start'), 10);
  });

  test('time-travel-start-start20: versions 0 and 1, and by timestamp with the upstream mtimes', async () => {
    assert.equal(await count('time-travel-start-start20', { version: 0 }), 10);
    assert.equal(await count('time-travel-start-start20'), 20);
    await rejects(table('time-travel-start-start20').snapshot({ version: 2 }), 'DELTA_VERSION_NOT_FOUND');
    const t = await copyTable('time-travel-start-start20');
    try {
      const start = 1540415658000;
      const log = path.join(t.dir, '_delta_log');
      await fs.utimes(path.join(log, '00000000000000000000.json'), new Date(start), new Date(start));
      await fs.utimes(path.join(log, '00000000000000000001.json'), new Date(start + 20 * 60_000), new Date(start + 20 * 60_000));
      const tt = DeltaTable.forPath(t.dir);
      assert.equal((await tt.snapshot({ timestamp: start })).version, 0);
      assert.equal((await tt.snapshot({ timestamp: new Date(start + 19 * 60_000) })).version, 0);
      assert.equal((await tt.snapshot({ timestamp: start + 20 * 60_000 })).version, 1);
      assert.equal((await tt.snapshot({ timestamp: Date.now() })).version, 1);
      await rejects(tt.snapshot({ timestamp: start - 1 }), 'DELTA_VERSION_NOT_FOUND');
      await tt.registerScan(conn, 'tt_at', { timestamp: start + 60_000 });
      assert.equal(Number(await one(conn, 'SELECT count(*) FROM tt_at')), 10);
      // a later commit with an earlier mtime counts as predecessor + 1 ms
      await fs.utimes(path.join(log, '00000000000000000001.json'), new Date(start - 60_000), new Date(start - 60_000));
      assert.equal((await tt.snapshot({ timestamp: start })).version, 0);
      assert.equal((await tt.snapshot({ timestamp: start + 1 })).version, 1);
    } finally {
      await t.cleanup();
    }
  });

  test('type-widening: old files are read and cast to the widened types', async () => {
    const v = await scan('type-widening');
    const types = await rows(conn, `SELECT column_name c, column_type t FROM (DESCRIBE ${v})`);
    const t = Object.fromEntries(types.map((x) => [x.c, x.t]));
    assert.equal(t.byte_long, 'BIGINT');
    assert.equal(t.float_double, 'DOUBLE');
    assert.equal(t.int_decimal, 'DECIMAL(11,1)');
    assert.equal(t.date_timestamp_ntz, 'TIMESTAMP');
    const r = await rows(conn, `SELECT byte_long::VARCHAR bl, int_decimal::VARCHAR id, date_timestamp_ntz::VARCHAR ts FROM ${v} ORDER BY byte_long`);
    assert.deepEqual(r, [
      { bl: '1', id: '3.0', ts: '2024-09-09 00:00:00' },
      { bl: '9223372036854775807', id: '1234567890.1', ts: '2024-09-09 12:34:56.123456' },
    ]);
  });

  test('v2-checkpoint-parquet: UUID-named V2 checkpoint with sidecars', async () => {
    const snap = await table('v2-checkpoint-parquet').snapshot();
    assert.equal(snap.version, 2);
    assert.equal(snap.files.length, 4);
    const v = await scan('v2-checkpoint-parquet');
    assert.deepEqual(await rows(conn, `SELECT count(*)::INT n, min(id)::INT mn, max(id)::INT mx FROM ${v}`), [{ n: 10, mn: 0, mx: 9 }]);
    // the same checkpoint as a JSON UUID-named V2 checkpoint, commits 0..2 gone: sidecars carry the files
    const t = await copyTable('v2-checkpoint-parquet');
    try {
      const log = path.join(t.dir, '_delta_log');
      const sidecars = (await fs.readdir(path.join(log, '_sidecars'))).filter((n) => n.endsWith('.parquet')).sort();
      const lines = [
        { checkpointMetadata: { version: 2, tags: {} } },
        { protocol: snap.protocol },
        { metaData: snap.metadata },
        ...await Promise.all(sidecars.map(async (name) => ({ sidecar: { path: name, sizeInBytes: (await fs.stat(path.join(log, '_sidecars', name))).size, modificationTime: 0 } }))),
      ];
      for (const n of await fs.readdir(log)) if (/^0{19}[0-2]\.(json|checkpoint\..*)$/.test(n)) await fs.rm(path.join(log, n));
      await fs.rm(path.join(log, '_last_checkpoint'));
      await fs.writeFile(path.join(log, '00000000000000000002.checkpoint.3a0d65cd-4056-49b8-937b-95f9e3ee90e5.json'), lines.map((l) => JSON.stringify(l)).join('\n'));
      const again = await DeltaTable.forPath(t.dir).snapshot();
      assert.equal(again.version, 2);
      assert.deepEqual(again.files.map((f) => f.path).sort(), snap.files.map((f) => f.path).sort());
    } finally {
      await t.cleanup();
    }
  });

  test('versions-not-contiguous: the gap is reported', async () => {
    await rejects(table('versions-not-contiguous').snapshot(), 'DELTA_VERSION_GAP', /missing version 1/);
  });
});
