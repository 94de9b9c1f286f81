// Rows that cannot succeed each become one failed result row with the right
// error_class, and the run goes on. Rows are given in memory (runPipeline's `rows`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runPipeline } from '../index.js';
import { queryTable, scoreReply, startTestServer, tempDir } from './e2e-support.js';

test('template, non-JSON body, body over the cap and host outside allowed_hosts each fail one row; the run continues', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer((req) => {
    if (req.url.startsWith('/text/')) return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'this is not json' };
    if (req.url.startsWith('/big/')) return { status: 200, body: JSON.stringify({ score: 1, pad: 'x'.repeat(5000) }) };
    return scoreReply(req);
  });
  try {
    const sink = join(tmp.dir, 'sink');
    const port = new URL(server.url).port;
    const good = Array.from({ length: 200 }, (_, i) => ({ id: i + 1, kind: 'items', host: '127.0.0.1', tag: 't' }));
    const rows = [
      ...good.slice(0, 100),
      { id: 1001, kind: 'items', host: '127.0.0.1' }, // no "tag": template error
      { id: 1002, kind: 'text', host: '127.0.0.1', tag: 't' }, // non-JSON body, extract configured
      { id: 1003, kind: 'big', host: '127.0.0.1', tag: 't' }, // over max_response_bytes
      { id: 1004, kind: 'items', host: 'localhost.invalid', tag: 't' }, // not an allowed host
      ...good.slice(100),
    ];
    const summary = await runPipeline(
      {
        version: 1,
        name: 'failures',
        request: {
          url: `http://{{ host }}:${port}/{{ kind }}/{{ id }}`,
          headers: { 'X-Tag': '{{ tag }}' },
          allowed_hosts: ['127.0.0.1'],
        },
        transport: { max_response_bytes: '1KB' },
        response: { extract: { score: { path: '$.score', type: 'double' } } },
        sink: { path: sink, source_columns: ['id', 'kind'] },
        execution: { workers: 1, concurrency: 8 },
      },
      { rows, key: ['id'] },
    );
    assert.equal(summary.rows, 204);
    assert.equal(summary.succeeded, 200);
    assert.equal(summary.failed, 4);
    const failed = await queryTable<{ id: number; error_class: string; success: boolean; error_message: string | null }>(
      sink,
      'SELECT id::INT AS id, error_class, success, error_message FROM t WHERE NOT success ORDER BY id',
    );
    assert.deepEqual(
      failed.map((f) => [f.id, f.error_class]),
      [
        [1001, 'template'],
        [1002, 'parse'], // extract configured, body is not JSON
        [1003, 'body_too_large'],
        [1004, 'host_not_allowed'],
      ],
    );
    assert.match(failed[0]?.error_message ?? '', /tag/);
    // Hosts outside allowed_hosts and template errors never reach the network.
    assert.equal(server.seen.filter((r) => /\/(items|text|big)\/100[14]/.test(r.url)).length, 0);
    assert.equal(server.count(), 202);
    const [sum] = await queryTable<{ n: number; truncated: number }>(sink, 'SELECT count(*)::INT AS n, count(*) FILTER (WHERE response_truncated)::INT AS truncated FROM t');
    assert.deepEqual(sum, { n: 204, truncated: 1 });
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});
