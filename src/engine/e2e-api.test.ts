// runPipeline as a library: async iterable rows, progress callbacks, an abort signal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runPipeline, type ProgressSnapshot } from '../index.js';
import { queryTable, scoreReply, startTestServer, tempDir, waitFor } from './e2e-support.js';

test('runPipeline: async iterable rows, onProgress, abort mid-run then finish with a second call', { timeout: 90_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer((req) => ({ ...scoreReply(req), delayMs: 5 }));
  try {
    const n = 3000;
    async function* rows() {
      for (let i = 1; i <= n; i++) yield { id: i, tag: i % 3 === 0 ? 'fizz' : 'plain' };
    }
    const config = {
      version: 1,
      name: 'api_rows',
      request: { url: `${server.url}/items/{{ id }}`, query: { tag: '{{ tag }}' } },
      sink: { path: join(tmp.dir, 'sink'), source_columns: ['id', 'tag'] },
      execution: { workers: 2, concurrency: 8, commit_rows: 400 },
    };
    const progress: ProgressSnapshot[] = [];
    const abort = new AbortController();
    const first = runPipeline(config, { rows: rows(), key: ['id'], signal: abort.signal, onProgress: (p) => progress.push(p) });
    await waitFor(() => server.count() >= 600, 60_000, '600 requests');
    abort.abort();
    const s1 = await first;
    assert.equal(s1.outcome, 'interrupted');
    assert.ok(s1.rows >= 600 && s1.rows < n, `rows ${s1.rows}`);
    assert.equal(s1.succeeded, s1.rows);
    assert.ok(progress.length > 0, 'onProgress called');
    assert.equal(progress.at(-1)?.rows, s1.rows, 'the last progress report matches the summary');

    const s2 = await runPipeline(config, { rows: rows(), key: ['id'] });
    assert.equal(s2.outcome, 'completed');
    assert.equal(s1.rows + s2.rows, n);
    const [t] = await queryTable<{ ok: number; ids: number; ints: number; fizz: number }>(
      join(tmp.dir, 'sink'),
      `SELECT count(*) FILTER (WHERE success)::INT AS ok, count(DISTINCT request_id)::INT AS ids,
              count(*) FILTER (WHERE typeof(id) = 'BIGINT')::INT AS ints, count(*) FILTER (WHERE tag = 'fizz')::INT AS fizz FROM t`,
    );
    assert.deepEqual(t, { ok: n, ids: n, ints: n, fizz: n / 3 });
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('progress totals count this source: a sink holding another file\'s results (yesterday\'s) does not shrink them; resume and duplicates do', { timeout: 90_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer((req) => ({ ...scoreReply(req), delayMs: 5 }));
  try {
    const { writeFile } = await import('node:fs/promises');
    const day = async (name: string, ids: number[]): Promise<string> => {
      const file = join(tmp.dir, name);
      await writeFile(file, ['id', ...ids.map(String)].join('\n') + '\n');
      return file;
    };
    const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
    const config = (path: string) => ({
      version: 1,
      name: 'daily',
      source: { path, key: ['id'] },
      request: { url: `${server.url}/items/{{ id }}` },
      sink: { path: join(tmp.dir, 'sink') },
      execution: { workers: 1, concurrency: 2 },
    });
    // The progress total before the source is exhausted (after that it is the rows sent).
    const firstTotal = async (path: string): Promise<number | null> => {
      const seen: ProgressSnapshot[] = [];
      const s = await runPipeline(config(path), { onProgress: (p) => seen.push(p) });
      assert.equal(s.outcome, 'completed');
      assert.ok(seen.length >= 2, `progress reported during the run (${seen.length})`);
      return seen[0]!.expected;
    };
    assert.equal(await firstTotal(await day('day1.csv', range(1, 400))), 400);
    // Day 2: 300 new ids, 100 of them twice, and 50 of day 1's. The sink holds 400
    // successes, which used to be subtracted from day 2's 450 rows: a total of 50.
    const day2 = await day('day2.csv', [...range(1001, 300), ...range(1001, 100), ...range(1, 50)]);
    assert.equal(await firstTotal(day2), 300);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});
