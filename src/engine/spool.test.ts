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
    assert.equal(first.paths.length, 1);
    assert.equal(await readFile(first.paths[0]!, 'utf8'), kept.join('\n') + '\n');

    assert.equal(await spool.rotate(), null);
    spool.append(Buffer.from('{"next":1}'));
    spool.append('{"éééééé":1}');
    const second = await spool.rotate();
    assert.notEqual(second!.paths[0], first.paths[0]);
    assert.equal(second!.longestLine, 18, 'in bytes (12 characters), per file');
    assert.equal(await readFile(second!.paths[0]!, 'utf8'), '{"next":1}\n{"éééééé":1}\n');
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
    assert.equal(await readFile(f!.paths[0]!, 'utf8'), 'aaa\nbbb\nccc\n');
  } finally {
    await tmp.cleanup();
  }
});

test('spool: a commit\'s lines are cut into files of at most the file size (a longer line alone), in order', async () => {
  const tmp = await tempDir();
  try {
    const spool = new Spool(tmp.dir, undefined, 100);
    const lines = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40), 'd'.repeat(250), 'e'.repeat(10), 'f'.repeat(99), 'g'];
    for (const l of lines) spool.append(l);
    const f = await spool.rotate();
    assert.equal(f!.rows, lines.length);
    assert.equal(f!.longestLine, 250);
    const texts = await Promise.all(f!.paths.map((p) => readFile(p, 'utf8')));
    // 41 + 41 bytes fit in 100, a third line does not; 251 bytes alone; 11 + 100 do not fit.
    assert.deepEqual(texts, [`${lines[0]}\n${lines[1]}\n`, `${lines[2]}\n`, `${lines[3]}\n`, `${lines[4]}\n`, `${lines[5]}\n`, 'g\n']);
    await Spool.remove(f!);
    spool.append('x');
    const g = await spool.rotate();
    assert.deepEqual(await Promise.all(g!.paths.map((p) => readFile(p, 'utf8'))), ['x\n']);
  } finally {
    await tmp.cleanup();
  }
});
