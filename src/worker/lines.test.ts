import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferLineSplitter, utf8Lines } from './lines.js';

test('BufferLineSplitter: any chunking of the bytes gives the same lines', () => {
  // Seeded, so a failure is reproducible.
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  const lines = Array.from({ length: 300 }, (_, i) => (i % 50 === 0 ? '' : `{"n":${i},"t":"${'é日x'.repeat(rnd(40))}"}`));
  lines.push('z'.repeat(200_000)); // a line over many chunks
  lines.push('tail');
  const bytes = Buffer.from(lines.join('\n') + '\n');
  for (let round = 0; round < 20; round++) {
    const s = new BufferLineSplitter();
    const got: string[] = [];
    for (let at = 0; at < bytes.length; ) {
      const size = 1 + rnd(round % 2 === 0 ? 70_000 : 300);
      const chunk = Buffer.from(bytes.subarray(at, at + size));
      for (const l of s.push(chunk)) got.push(l.toString('utf8'));
      at += size;
    }
    assert.deepEqual(got, lines);
  }
});

test('BufferLineSplitter: a line wholly inside a chunk is not copied', () => {
  const s = new BufferLineSplitter();
  const chunk = Buffer.from('{"a":1}\n{"b":2}\npart');
  const [a, b] = s.push(chunk);
  assert.equal(a!.buffer, chunk.buffer);
  assert.equal(b!.buffer, chunk.buffer);
  const [joined, c] = s.push(Buffer.from('ial\n{"c":3}\n'));
  assert.equal(joined!.toString(), 'partial');
  assert.equal(c!.toString(), '{"c":3}');
});

test('utf8Lines: every line UTF-8 encoded and newline-ended in one exactly sized buffer', () => {
  const lines = ['{"a":1}', '', 'é ü ß', '日本語 😀', JSON.stringify('\ud800 lone'), 'x'.repeat(70_000) + 'ω'];
  const out = utf8Lines(lines);
  assert.equal(out.length, Buffer.byteLength(lines.join('\n') + '\n'));
  assert.ok(out.equals(Buffer.from(lines.join('\n') + '\n', 'utf8')));
  assert.equal(utf8Lines([]).length, 0);
});
