// Commits of large results under the driver's default DuckDB settings (128 MB, one
// thread): rows of 20 KB and of several MB must land, in row groups bounded by bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '../duckdb.js';
import { runPipeline } from '../index.js';
import { queryTable, startTestServer, tempDir } from './e2e-support.js';

/** Incompressible JSON bodies of about `bytes` bytes (base64 of random bytes). */
function randomBody(id: string, bytes: number): string {
  return JSON.stringify({ id, pad: randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64') });
}

/** Row groups of every data file of the table: rows and uncompressed bytes. */
async function rowGroups(sink: string): Promise<{ rows: number; bytes: number }[]> {
  const files = (await readdir(sink)).filter((n) => n.endsWith('.parquet')).map((n) => `'${join(sink, n)}'`);
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    const r = await conn.runAndReadAll(
      `SELECT row_group_num_rows::INT AS rows, sum(total_uncompressed_size)::BIGINT AS bytes FROM parquet_metadata([${files.join(', ')}]) GROUP BY file_name, row_group_id, row_group_num_rows`,
    );
    return (r.getRowObjectsJson() as { rows: number; bytes: string }[]).map((g) => ({ rows: Number(g.rows), bytes: Number(g.bytes) }));
  } finally {
    conn.closeSync();
    duck.closeSync();
  }
}

async function runLarge(rows: number, bodyBytes: number, commitRows: number, transport: Record<string, unknown> = {}) {
  const tmp = await tempDir();
  const server = await startTestServer((req) => {
    const id = /\/items\/(\d+)/.exec(req.url)?.[1] ?? '0';
    return { status: 200, headers: { 'content-type': 'application/json' }, body: randomBody(id, bodyBytes) };
  });
  try {
    const csv = join(tmp.dir, 'src.csv');
    await writeFile(csv, ['id', ...Array.from({ length: rows }, (_, i) => String(i + 1))].join('\n') + '\n');
    const sink = join(tmp.dir, 'lake');
    // commit_rows below the source's rows: the first commit is not the run's last, which
    // gets more DuckDB threads (and memory); it runs on the driver's default settings.
    const summary = await runPipeline({
      version: 1,
      name: 'large_results',
      source: { path: csv, key: ['id'] },
      request: { url: `${server.url}/items/{{ id }}` },
      transport,
      sink: { path: sink, source_columns: ['id'] },
      execution: { workers: 2, concurrency: 4, commit_rows: commitRows, commit_interval: '60s' },
    });
    assert.equal(summary.outcome, 'completed');
    assert.equal(summary.succeeded, rows);
    assert.ok(summary.commits >= 2, `at least one commit before the last, got ${summary.commits}`);
    const [t] = await queryTable<{ n: number; ok: number; shortest: number }>(
      sink,
      'SELECT count(DISTINCT request_id)::INT AS n, count(*) FILTER (WHERE success)::INT AS ok, min(length(response_body))::INT AS shortest FROM t',
    );
    assert.deepEqual(t, { n: rows, ok: rows, shortest: t!.shortest });
    assert.ok(t!.shortest >= bodyBytes, `bodies kept whole (${t!.shortest} >= ${bodyBytes})`);
    return await rowGroups(sink);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
}

test('commits of 20 KB results stay within the default DuckDB memory, in row groups of a few MB', { timeout: 120_000 }, async () => {
  // Before: 2,048-row row groups (and 2,048-row chunks from one spool file) of 20 KB
  // rows, ~40 MB each: "Out of Memory Error: failed to allocate data of size 28.7 MiB".
  const groups = await runLarge(3000, 20_000, 1500);
  assert.ok(groups.length > 1);
  const largest = Math.max(...groups.map((g) => g.bytes));
  assert.ok(largest <= 12 << 20, `row groups of at most ~8 MB of results, largest ${largest} bytes (${JSON.stringify(groups.slice(0, 5))})`);
});

test('commits of 8 MB results (a few per commit) stay within the default DuckDB memory', { timeout: 120_000 }, async () => {
  // Before: the commit's rows in one chunk (48 MB and more) and one row group:
  // "Out of Memory Error: could not allocate block …" with 6 or more such rows.
  const groups = await runLarge(12, 8_000_000, 6);
  assert.ok(groups.every((g) => g.rows <= 3), `a row group holds a few 8 MB rows at most: ${JSON.stringify(groups)}`);
});

test('a commit of results larger than the default memory limit allows (max_response_bytes raised) gets the memory it needs', { timeout: 120_000 }, async () => {
  // 30 MB results need ~180 MB of DuckDB memory a thread. Before: "Out of Memory Error:
  // failed to allocate data of size 28.7 MiB (119.7 MiB/122.0 MiB used)".
  await runLarge(2, 30_000_000, 1, { max_response_bytes: '64MB' });
});
