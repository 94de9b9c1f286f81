// Deletion vectors: Z85, the RoaringBitmapArray format (array, bitmap and run containers, 64-bit keys),
// the on-disk framing with CRC, and scans that drop the deleted rows (inline and file DVs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeltaError, DeltaTable, type StructType } from './index.js';
import { DeletionVectorLoader, dvFilePath } from './dv/load.js';
import { DV_MAGIC, decodeRoaringBitmapArray, encodeRoaringBitmapArray } from './dv/roaring.js';
import { z85Decode, z85Encode, z85ToUuid } from './dv/z85.js';
import { LocalStorage } from './storage/local.js';
import { one, openConn, tempDir } from './testing/duck.js';

let conn: DuckDBConnection;
let close: () => void;
before(async () => ({ conn, close } = await openConn()));
after(() => close());

describe('deletion vectors', () => {
  test('the inline example of PROTOCOL.md decodes to rows 3, 4, 7, 11, 18, 29', async () => {
    const dv = { storageType: 'i', pathOrInlineDv: 'wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L', sizeInBytes: 40, cardinality: 6 };
    const rows = await new DeletionVectorLoader(new LocalStorage('/nonexistent')).rows(dv);
    assert.deepEqual(rows, [3, 4, 7, 11, 18, 29]);
  });

  test('Z85 round trip and the UUID file name of the spec example', () => {
    const data = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    assert.equal(z85Encode(data), 'HelloWorld'); // the ZeroMQ RFC 32 test vector
    assert.deepEqual(z85Decode('HelloWorld'), data);
    assert.equal(dvFilePath({ storageType: 'u', pathOrInlineDv: 'ab^-aqEH.-t@S}K{vb[*k^', sizeInBytes: 40, cardinality: 6 }), 'ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin');
    assert.equal(z85ToUuid('^-aqEH.-t@S}K{vb[*k^'), 'd2c639aa-8816-431a-aaf6-d3fe2512ff61');
    assert.throws(() => z85Decode('abc'), DeltaError);
  });

  test('RoaringBitmapArray: array and bitmap containers, several 32-bit buckets', () => {
    const rows = [0, 5, 65535, 65536, ...Array.from({ length: 5000 }, (_, i) => 200_000 + i * 2), 2 ** 32 + 7, 3 * 2 ** 32];
    const buf = encodeRoaringBitmapArray(rows);
    assert.equal(buf.readUInt32LE(0), DV_MAGIC);
    assert.deepEqual(decodeRoaringBitmapArray(buf), rows);
  });

  test('RoaringBitmapArray: run containers (hand-built, as Java RoaringBitmap writes them)', () => {
    // one bucket (key 0), 32-bit bitmap with cookie 12347 | (size-1)<<16, run flag for container 0:
    // runs [10..14] and [100..100]
    const b = Buffer.alloc(4 + 8 + 4 + 4 + 1 + 4 + 2 + 8);
    let o = 0;
    o = b.writeUInt32LE(DV_MAGIC, o);
    b.writeBigUInt64LE(1n, o); o += 8;
    o = b.writeUInt32LE(0, o); // bucket key
    o = b.writeUInt32LE(12347, o); // cookie, size 1
    o = b.writeUInt8(1, o); // run bitmap
    o = b.writeUInt16LE(0, o); // container key
    o = b.writeUInt16LE(5, o); // cardinality - 1
    o = b.writeUInt16LE(2, o); // number of runs
    o = b.writeUInt16LE(10, o); o = b.writeUInt16LE(4, o);
    o = b.writeUInt16LE(100, o); o = b.writeUInt16LE(0, o);
    assert.deepEqual(decodeRoaringBitmapArray(b.subarray(0, o)), [10, 11, 12, 13, 14, 100]);
  });

  test('corrupt input is refused with DELTA_CORRUPT_DELETION_VECTOR', () => {
    assert.throws(() => decodeRoaringBitmapArray(Buffer.alloc(16)), (e: unknown) => e instanceof DeltaError && e.code === 'DELTA_CORRUPT_DELETION_VECTOR');
  });

  test('scans drop rows of inline and on-disk DVs; checksum and cardinality are verified', async () => {
    const d = await tempDir('dv');
    try {
      const t = DeltaTable.forPath(d.dir);
      const schema: StructType = { type: 'struct', fields: [{ name: 'id', type: 'long', nullable: true, metadata: {} }] };
      await t.write(conn, { selectSql: 'SELECT range AS id FROM range(0, 10)', schema, mode: 'append', targetFileRows: 5 });
      const snap = await t.snapshot();
      const [a, b] = [...snap.files].sort((x, y) => JSON.parse(x.stats!).minValues.id - JSON.parse(y.stats!).minValues.id);
      // file a (ids 0..4): inline DV removing rows 1 and 3
      const inline = encodeRoaringBitmapArray([1, 3]);
      const dvA = { storageType: 'i', pathOrInlineDv: z85Encode(inline), sizeInBytes: inline.length, cardinality: 2 };
      // file b (ids 5..9): on-disk DV at offset 1 removing row 0 (id 5)
      const bitmap = encodeRoaringBitmapArray([0]);
      const uuid = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
      const frame = Buffer.alloc(1 + 4 + bitmap.length + 4);
      frame.writeUInt8(1, 0);
      frame.writeUInt32BE(bitmap.length, 1);
      bitmap.copy(frame, 5);
      frame.writeUInt32BE(crc32(bitmap) >>> 0, 5 + bitmap.length);
      const dvB = { storageType: 'u', pathOrInlineDv: z85Encode(uuid), offset: 1, sizeInBytes: bitmap.length, cardinality: 1 };
      await fs.writeFile(path.join(d.dir, dvFilePath(dvB)), frame);
      await t.commit([
        { remove: { path: a.path, dataChange: true, deletionTimestamp: Date.now() } },
        { add: { ...a, deletionVector: dvA } },
        { remove: { path: b.path, dataChange: true, deletionTimestamp: Date.now() } },
        { add: { ...b, deletionVector: dvB } },
      ]);
      const s2 = await t.snapshot();
      assert.equal(s2.files.length, 2);
      await t.registerScan(conn, 'dvscan');
      assert.equal(await one(conn, 'SELECT string_agg(id::VARCHAR, \',\' ORDER BY id) FROM dvscan'), '0,2,4,6,7,8,9');
      // the previous version still sees every row
      await t.registerScan(conn, 'dvscan0', { version: 0 });
      assert.equal(Number(await one(conn, 'SELECT count(*) FROM dvscan0')), 10);
      // compaction folds the DVs away
      const c = await t.compact(conn, { targetFileRows: 100 });
      assert.equal(c.removed, 2);
      assert.ok((await t.snapshot()).files.every((f) => !f.deletionVector));
      await t.registerScan(conn, 'dvscan2');
      assert.equal(await one(conn, 'SELECT string_agg(id::VARCHAR, \',\' ORDER BY id) FROM dvscan2'), '0,2,4,6,7,8,9');
      // a damaged DV file fails its CRC
      frame.writeUInt8(frame[6] ^ 0xff, 6);
      await fs.writeFile(path.join(d.dir, dvFilePath(dvB)), frame);
      await assert.rejects(t.registerScan(conn, 'dvscan3', { version: 1 }), (e: unknown) => e instanceof DeltaError && e.code === 'DELTA_CORRUPT_DELETION_VECTOR' && /CRC/.test(e.message));
    } finally {
      await d.cleanup();
    }
  });
});
