// End to end on the local engine: a CSV source of 10,000 rows, a real HTTP server,
// a real Delta table; then reruns (resume).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runPipeline } from '../index.js';
import { requestIdOf } from '../request/request-id.js';
import { queryTable, scoreReply, startTestServer, tempDir } from './e2e-support.js';

const N = 10_000;

test('10,000 rows land exactly once; reruns send nothing for succeeded rows and resend failed ones', { timeout: 180_000 }, async () => {
  const tmp = await tempDir();
  const failing = (id: number): boolean => id % 97 === 0;
  let healthy = false;
  const server = await startTestServer((req) => {
    const id = Number(/\/items\/(\d+)/.exec(req.url)?.[1]);
    if (!healthy && failing(id)) return { status: 503, body: '{"error":"busy"}' };
    return scoreReply(req);
  });
  try {
    const csv = join(tmp.dir, 'orders.csv');
    const lines = ['id,region,amount,name'];
    for (let i = 1; i <= N; i++) lines.push(`${i},${i % 2 ? 'eu' : 'us'},${(i / 4).toFixed(2)},name ${i}`);
    await writeFile(csv, lines.join('\n') + '\n');
    const sink = join(tmp.dir, 'lake', 'scores');
    const config = {
      version: 1,
      name: 'e2e_core',
      source: { path: csv, key: ['id'] },
      request: {
        method: 'POST',
        url: `${server.url}/items/{{ id }}`,
        query: { region: '{{ region }}' },
        body: { json: { id: '{{ id }}', amount: '{{ amount }}', label: 'n-{{ name }}' } },
      },
      response: { extract: { score: { path: '$.score', type: 'double' } } },
      sink: { path: sink, source_columns: ['id', 'region'] },
      execution: { workers: 2, concurrency: 16, commit_rows: 3000, commit_interval: '5s' },
    };

    // Run 1: 103 rows fail with 503 (no retry middleware configured).
    const s1 = await runPipeline(config);
    const expectedFailed = Math.floor(N / 97);
    assert.equal(s1.outcome, 'completed');
    assert.equal(s1.rows, N);
    assert.equal(s1.failed, expectedFailed);
    assert.equal(s1.succeeded, N - expectedFailed);
    assert.deepEqual(s1.failures_by_class, { http_status: expectedFailed });
    assert.equal(server.count(), N, 'one request per row');
    assert.ok(s1.commits >= 4, `commit_rows 3000 over ${N} rows gives at least 4 commits, got ${s1.commits}`);

    const [t1] = await queryTable<{ n: number; ids: number; ok: number }>(sink, 'SELECT count(*)::INT AS n, count(DISTINCT request_id)::INT AS ids, count(*) FILTER (WHERE success)::INT AS ok FROM t');
    assert.deepEqual(t1, { n: N, ids: N, ok: N - expectedFailed });

    // Requests: the query and the typed JSON body are templated.
    const r17 = server.seen.find((r) => r.url.startsWith('/items/17?'));
    assert.ok(r17);
    assert.equal(r17.url, '/items/17?region=eu');
    assert.equal(r17.method, 'POST');
    assert.deepEqual(JSON.parse(r17.body), { id: 17, amount: 4.25, label: 'n-name 17' });

    // The sink row: source_columns copied with their types, request_id by the documented rule, extract typed.
    const [row] = await queryTable<Record<string, unknown>>(
      sink,
      `SELECT request_id, id::INT AS id, region, status_code, success, attempts, score, method, url, typeof(id) AS id_type, typeof(started_at) AS ts_type FROM t WHERE id = 17`,
    );
    assert.deepEqual(row, {
      request_id: requestIdOf('e2e_core', [17]),
      id: 17,
      region: 'eu',
      status_code: 200,
      success: true,
      attempts: 1,
      score: 25.5,
      method: 'POST',
      url: `${server.url}/items/17?region=eu`,
      id_type: 'BIGINT',
      ts_type: 'TIMESTAMP WITH TIME ZONE',
    });
    const [failedRow] = await queryTable<Record<string, unknown>>(sink, `SELECT status_code, success, error_class FROM t WHERE id = 97`);
    assert.deepEqual(failedRow, { status_code: 503, success: false, error_class: 'http_status' });

    // Run 2: only the failed rows are sent again, with the same request_ids.
    healthy = true;
    const before = server.count();
    const s2 = await runPipeline(config);
    assert.equal(server.count() - before, expectedFailed);
    assert.equal(s2.rows, expectedFailed);
    assert.equal(s2.succeeded, expectedFailed);
    assert.equal(s2.skipped_succeeded, N - expectedFailed);
    const resent = new Set(server.seen.slice(before).map((r) => Number(/\/items\/(\d+)/.exec(r.url)?.[1])));
    assert.equal(resent.size, expectedFailed);
    for (const id of resent) assert.ok(failing(id), `row ${id} had succeeded and must not be sent again`);

    const perId = await queryTable<{ rows: number; successes: number; ids: number; runs: number }>(
      sink,
      `SELECT count(*)::INT AS rows, count(*) FILTER (WHERE success)::INT AS successes, count(DISTINCT request_id)::INT AS ids, count(DISTINCT run_id)::INT AS runs FROM t`,
    );
    assert.deepEqual(perId[0], { rows: N + expectedFailed, successes: N, ids: N, runs: 2 });
    const [dupSuccess] = await queryTable<{ n: number }>(sink, `SELECT count(*)::INT AS n FROM (SELECT request_id FROM t WHERE success GROUP BY request_id HAVING count(*) > 1)`);
    assert.equal(dupSuccess?.n, 0);
    // Stable ids: every id of run 2 is one of run 1's, for the same source row.
    const [mismatch] = await queryTable<{ n: number }>(
      sink,
      `SELECT count(*)::INT AS n FROM t a JOIN t b ON a.request_id = b.request_id WHERE a.id <> b.id`,
    );
    assert.equal(mismatch?.n, 0);

    // Run 3: everything succeeded; nothing is sent.
    const before3 = server.count();
    const s3 = await runPipeline(config);
    assert.equal(server.count(), before3);
    assert.equal(s3.rows, 0);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});
