// `restlake run` and `restlake inspect` as a user runs them (in-process `main`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { main } from './main.js';
import type { CommandIO } from './commands.js';
import { queryTable, startTestServer, tempDir } from '../engine/e2e-support.js';

function io(cwd: string): CommandIO & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, cwd, env: {}, out: () => out, err: () => err };
}

test('run prints a summary with failures by class and latency percentiles; inspect reports the table', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer((req) => {
    const id = Number(/\/items\/(\d+)/.exec(req.url)?.[1]);
    if (id % 10 === 0) return { status: 404, body: '{"error":"nope"}' };
    return { status: 200, body: `{"score":${id}}` };
  });
  try {
    const lines = ['id'];
    for (let i = 1; i <= 300; i++) lines.push(String(i));
    await writeFile(join(tmp.dir, 'ids.csv'), lines.join('\n') + '\n');
    await writeFile(
      join(tmp.dir, 'p.yaml'),
      [
        'version: 1',
        'name: cli_run',
        'source: { path: ./ids.csv }',
        `request: { url: "${server.url}/items/{{ id }}" }`,
        'response: { extract: { score: { path: $.score, type: long } } }',
        'sink: { path: ./lake/out, source_columns: [id] }',
        'execution: { workers: 1, concurrency: 4 }',
      ].join('\n'),
    );
    const c = io(tmp.dir);
    assert.equal(await main(['run', 'p.yaml'], c), 0, c.err());
    assert.match(c.out(), /rows\s+300 sent/);
    assert.match(c.out(), /succeeded\s+270/);
    assert.match(c.out(), /failed\s+30\s+\(http_status 30\)/);
    assert.match(c.out(), /p50 [\d.]+ ms\s+p95 [\d.]+ ms\s+p99/);

    // fail_on_failed_rows turns failed rows into exit 1 (a rerun resends the 30 failures).
    const f = io(tmp.dir);
    assert.equal(await main(['run', 'p.yaml', '--set', 'execution.fail_on_failed_rows=true', '--json'], f), 1, f.err());
    const summary = JSON.parse(f.out()) as { rows: number; failed: number; skipped_succeeded: number };
    assert.deepEqual([summary.rows, summary.failed, summary.skipped_succeeded], [30, 30, 270]);

    const i = io(tmp.dir);
    assert.equal(await main(['inspect', 'lake/out'], i), 0, i.err());
    assert.match(i.out(), /rows 330, request_ids 300, succeeded 270, never succeeded 30/);
    assert.match(i.out(), /by status[\s\S]*200\s+270[\s\S]*404\s+60/);
    assert.match(i.out(), /by error class[\s\S]*http_status\s+60/);
    assert.match(i.out(), /recent failures[\s\S]*http_status/);

    const q = io(tmp.dir);
    assert.equal(await main(['inspect', 'lake/out', '--sql', 'SELECT sum(score)::BIGINT AS total FROM results WHERE success', '--json'], q), 0, q.err());
    const expected = Array.from({ length: 300 }, (_, k) => k + 1).filter((k) => k % 10 !== 0).reduce((a, b) => a + b, 0);
    assert.deepEqual(JSON.parse(q.out()), { total: String(expected) });
    const [typed] = await queryTable<{ t: string }>(join(tmp.dir, 'lake/out'), 'SELECT typeof(score) AS t FROM t LIMIT 1');
    assert.equal(typed?.t, 'BIGINT');
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});
