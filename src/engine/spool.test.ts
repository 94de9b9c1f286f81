import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { BufferLineSplitter } from '../worker/lines.js';
import { tempDir } from './e2e-support.js';
import { Spool } from './spool.js';

test('spool: lines from chunks, other buffers and strings land in order, one per line; rotate starts a new file', async () => {
  const tmp = await tempDir();
  try {
    const spool = new Spool(tmp.dir);
    const expected: string[] = [];
    const splitter = new BufferLineSplitter();
    // Chunks as a worker's stdout delivers them, with lines cut across chunks.
    const text = Array.from({ length: 5000 }, (_, i) => `{"i":${i},"s":"${'x'.repeat(i % 300)}"}`);
    const all = Buffer.from(text.join('\n') + '\n');
    for (let at = 0, k = 0; at < all.length; at += 65536, k++) {
      for (const line of splitter.push(all.subarray(at, at + 65536))) {
        // Every seventh line is skipped (a line the driver rejects): regions must not span it.
        if (expected.length % 7 === 3 && k % 2 === 0) {
          expected.push('skipped');
          continue;
        }
        spool.append(line);
        expected.push(line.toString());
      }
      // A line from elsewhere in between (a failed result the driver makes itself).
      spool.append(`{"driver":${k}}`);
      expected.push(`{"driver":${k}}`);
    }
    const kept = expected.filter((l) => l !== 'skipped');
    assert.equal(spool.rows, kept.length);
    const first = await spool.rotate();
    assert.ok(first);
    assert.equal(first.rows, kept.length);
    assert.equal(first.longestLine, Math.max(...kept.map((l) => Buffer.byteLength(l))));
    assert.equal(await readFile(first.path, 'utf8'), kept.join('\n') + '\n');

    assert.equal(await spool.rotate(), null);
    spool.append(Buffer.from('{"next":1}'));
    spool.append('{"éééééé":1}');
    const second = await spool.rotate();
    assert.notEqual(second!.path, first.path);
    assert.equal(second!.longestLine, 18, 'in bytes (12 characters), per file');
    assert.equal(await readFile(second!.path, 'utf8'), '{"next":1}\n{"éééééé":1}\n');
  } finally {
    await tmp.cleanup();
  }
});

test('spool: adjacent lines of one buffer merge only across a newline', async () => {
  const tmp = await tempDir();
  try {
    const spool = new Spool(tmp.dir);
    const mem = Buffer.from('aaa;bbb\nccc');
    spool.append(mem.subarray(0, 3)); // "aaa"
    spool.append(mem.subarray(4, 7)); // "bbb": adjacent, but the byte between is ';'
    spool.append(mem.subarray(8, 11)); // "ccc": after a newline, joins "bbb"
    const f = await spool.rotate();
    assert.equal(await readFile(f!.path, 'utf8'), 'aaa\nbbb\nccc\n');
  } finally {
    await tmp.cleanup();
  }
});
