// A row that kills every worker it reaches: the run still completes, the row ends as
// one failed result (error_class internal) instead of looping, every other row succeeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runPipeline } from '../index.js';
import { queryTable, startTestServer, tempDir } from './e2e-support.js';

test('a poison row that crashes workers becomes one failed row; the rest of the run completes', { timeout: 90_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    const mod = join(tmp.dir, 'crash.mjs');
    await writeFile(mod, 'export function crash() { return async (ex, next) => { if (ex.row.id === 13) process.exit(7); await next(); }; }\n');
    const rows = Array.from({ length: 200 }, (_, i) => ({ id: i + 1 }));
    const s = await runPipeline(
      {
        version: 1,
        name: 'poison',
        request: { url: `${server.url}/items/{{ id }}` },
        middleware: [{ type: 'module', path: mod, export: 'crash' }],
        sink: { path: join(tmp.dir, 'sink'), source_columns: ['id'] },
        execution: { workers: 2, concurrency: 4 },
      },
      { rows, key: ['id'] },
    );
    assert.equal(s.outcome, 'completed');
    assert.equal(s.rows, 200);
    assert.equal(s.succeeded, 199);
    assert.deepEqual(s.failures_by_class, { internal: 1 });
    // Three deaths; the last may come after the input ended, when no replacement is needed.
    assert.ok(s.worker_restarts >= 2, `restarts ${s.worker_restarts}`);
    const failed = await queryTable<{ id: number; error_class: string; msg: string }>(
      join(tmp.dir, 'sink'),
      'SELECT id::INT AS id, error_class, error_message AS msg FROM t WHERE NOT success',
    );
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.id, 13);
    assert.match(failed[0]?.msg ?? '', /worker processes died 3 times/);
    const [n] = await queryTable<{ n: number; ids: number }>(join(tmp.dir, 'sink'), 'SELECT count(*)::INT AS n, count(DISTINCT request_id)::INT AS ids FROM t');
    assert.deepEqual(n, { n: 200, ids: 200 });
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});
