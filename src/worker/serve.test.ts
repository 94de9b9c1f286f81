import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { serveLines } from './serve.js';
import { LineSplitter } from './lines.js';
import { BoundedPool } from './pool.js';

function collect(stream: PassThrough): () => string[] {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (c: string) => (text += c));
  return () => text.split('\n').filter((l) => l.length > 0);
}

test('LineSplitter keeps partial lines across chunks', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('a\nb'), ['a']);
  assert.deepEqual(s.push('c\n\nd'), ['bc', '']);
  assert.equal(s.end(), 'd');
  assert.equal(s.end(), null);
});

test('BoundedPool never runs more than its concurrency and reports room', async () => {
  let running = 0;
  let peak = 0;
  const pool = new BoundedPool<number>(3, 2, async () => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
  });
  for (let i = 0; i < 5; i++) {
    assert.equal(pool.hasRoom, true);
    pool.offer(i);
  }
  assert.equal(pool.hasRoom, false);
  await pool.room();
  assert.equal(pool.hasRoom, true);
  await pool.idle();
  assert.equal(peak, 3);
  assert.equal(pool.size, 0);
});

test('serveLines emits one result per row, skips blank lines, keeps at most `concurrency` in flight', async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  const lines = collect(output);
  let inFlight = 0;
  let peak = 0;
  const done = serveLines({
    input,
    output,
    concurrency: 4,
    handle: async (line) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return `r:${line}`;
    },
  });
  const rows = Array.from({ length: 500 }, (_, i) => `row${i}`);
  input.write(rows.slice(0, 250).join('\n') + '\n\n');
  input.end(rows.slice(250).join('\n')); // last line without newline still counts
  const stats = await done;
  assert.equal(stats.rows, 500);
  const out = lines();
  assert.equal(out.length, 500);
  assert.deepEqual(new Set(out), new Set(rows.map((r) => `r:${r}`)));
  assert.ok(peak <= 4, `peak in flight ${peak}`);
});

test('serveLines stops reading input while the pool is full (backpressure)', async () => {
  const input = new PassThrough({ highWaterMark: 64 });
  const output = new PassThrough();
  collect(output);
  const release: Array<() => void> = [];
  let started = 0;
  const done = serveLines({
    input,
    output,
    concurrency: 2,
    queueLimit: 2,
    handle: (line) =>
      new Promise((resolve) => {
        started++;
        release.push(() => resolve(line));
      }),
  });
  // Far more rows than fit: most must stay unread in the input stream.
  for (let i = 0; i < 2000; i++) input.write(`row-${String(i).padStart(5, '0')}\n`);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(input.isPaused(), 'input should be paused');
  assert.ok(input.readableLength > 0, 'rows should be left unread');
  assert.equal(started, 2);
  input.end();
  // Drain everything.
  const drain = setInterval(() => release.splice(0).forEach((f) => f()), 1);
  const stats = await done;
  clearInterval(drain);
  assert.equal(stats.rows, 2000);
});

test('BufferLineSplitter splits bytes across chunks, including multi-byte characters cut in two', async () => {
  const { BufferLineSplitter } = await import('./lines.js');
  const s = new BufferLineSplitter();
  const text = Buffer.from('héllo\nwörld\n€');
  const parts = [text.subarray(0, 2), text.subarray(2, 9), text.subarray(9)];
  const lines = parts.flatMap((p) => s.push(p)).map((b) => b.toString('utf8'));
  assert.deepEqual(lines, ['héllo', 'wörld']);
  assert.deepEqual(s.push(Buffer.from('\n')).map((b) => b.toString('utf8')), ['€']);
});

test('a slow reader of the results: reading pauses, one drain listener at a time, every result arrives', async () => {
  const input = new PassThrough();
  // A tiny buffer and a reader that takes its time: write() keeps returning false.
  const output = new PassThrough({ highWaterMark: 16 });
  let maxDrainListeners = 0;
  const watch = setInterval(() => (maxDrainListeners = Math.max(maxDrainListeners, output.listenerCount('drain'))), 1);
  const received: string[] = [];
  const splitter = new LineSplitter();
  const reader = setInterval(() => {
    let chunk: Buffer | null;
    while ((chunk = output.read() as Buffer | null) !== null) received.push(...splitter.push(chunk.toString('utf8')));
  }, 2);
  const done = serveLines({ input, output, concurrency: 8, handle: async (line) => `${line}:${'x'.repeat(200)}` });
  for (let i = 0; i < 300; i++) input.write(`r${i}\n`);
  input.end();
  const stats = await done;
  for (let waited = 0; received.length < 300 && waited < 5000; waited += 5) await new Promise((r) => setTimeout(r, 5));
  clearInterval(watch);
  clearInterval(reader);
  assert.equal(stats.rows, 300);
  assert.deepEqual(new Set(received.map((l) => l.split(':')[0])), new Set(Array.from({ length: 300 }, (_, i) => `r${i}`)));
  assert.ok(maxDrainListeners <= 1, `${maxDrainListeners} drain listeners at once`);
});
