// The Spark engine refuses a sink table of other columns before it starts Spark or
// sends anything (the table here is written by the local engine; no Spark is needed
// to see the refusal, which comes first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RunError } from '../errors.js';
import { runPipeline } from '../index.js';
import { startTestServer, tempDir } from './e2e-support.js';

test('engine spark, sink mode append: a table without an extract column of the pipeline is refused before any request', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    const sink = join(tmp.dir, 'sink');
    const base = {
      version: 1,
      name: 'spark_check',
      source: { path: join(tmp.dir, 'rows.parquet'), format: 'parquet', key: ['id'] },
      request: { url: `${server.url}/items/{{ id }}` },
      sink: { path: sink, source_columns: ['id'] },
    };
    await runPipeline({ ...base, source: undefined }, { rows: [{ id: 1 }, { id: 2 }], key: ['id'] });
    const before = server.seen.length;
    await assert.rejects(
      runPipeline({
        ...base,
        response: { extract: { score: { path: '$.score', type: 'double' } } },
        execution: { engine: 'spark', spark: { master: 'local[1]' } },
      }),
      (e: unknown) => e instanceof RunError && e.code === 'RESTLAKE_SINK' && /other columns than this pipeline writes \(columns not in the table: score\)/.test(e.message),
    );
    assert.equal(server.seen.length, before);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});
