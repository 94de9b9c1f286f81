// The local engine's own decisions: when spooled results are committed, and what a
// run that cannot open its source leaves behind (workers start before the source is
// opened, see runLocal).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RunError } from '../errors.js';
import { runPipeline } from '../index.js';
import { queryTable, scoreReply, startTestServer, tempDir } from './e2e-support.js';
import { commitDue } from './local.js';

test('commitDue: every commit_rows rows, and near the end as soon as the spool holds what is still to come', () => {
  // [spool rows, commit_rows, results still to come, due]
  const cases: [number, number, number | null, boolean][] = [
    [999, 1000, null, false], // size unknown: commit_rows only
    [1000, 1000, null, true],
    [1000, 1000, 50_000, true],
    [500, 1000, 5_000, false], // far from the end
    [500, 1000, 500, true], // as many spooled as remain
    [500, 1000, 400, true],
    [124, 1000, 100, false], // under an eighth of commit_rows: left for the last commit
    [125, 1000, 100, true],
    [130, 1000, 0, true], // everything is in
    [10, 1000, 0, false],
  ];
  for (const [spooled, commitRows, remaining, due] of cases) {
    assert.equal(commitDue(spooled, commitRows, remaining), due, `spool ${spooled}, commit_rows ${commitRows}, remaining ${remaining}`);
  }
});

/** numOutputRows of every write commit in the table's log, in version order. */
async function committedRows(sink: string): Promise<number[]> {
  const log = join(sink, '_delta_log');
  const files = (await readdir(log)).filter((f) => f.endsWith('.json')).sort();
  const rows: number[] = [];
  for (const f of files) {
    for (const line of (await readFile(join(log, f), 'utf8')).split('\n')) {
      if (!line.includes('"commitInfo"')) continue;
      const n = (JSON.parse(line) as { commitInfo: { operationMetrics?: { numOutputRows?: string } } }).commitInfo.operationMetrics?.numOutputRows;
      if (n !== undefined) rows.push(Number(n));
    }
  }
  return rows;
}

test('a source of known size: every row lands once, and the commit after the last result is small', { timeout: 120_000 }, async () => {
  const tmp = await tempDir();
  // Replies take 5 ms, so results arrive over ~2 s: slower than a commit of a few hundred rows.
  const server = await startTestServer((req) => ({ ...scoreReply(req), delayMs: 5 }));
  try {
    const source = join(tmp.dir, 'rows.ndjson');
    await writeFile(source, Array.from({ length: 3500 }, (_, i) => JSON.stringify({ id: i + 1 })).join('\n') + '\n');
    const sink = join(tmp.dir, 'sink');
    const summary = await runPipeline({
      version: 1,
      name: 'tail_commits',
      source: { path: source, key: ['id'] },
      request: { url: `${server.url}/items/{{ id }}` },
      sink: { path: sink, source_columns: ['id'] },
      execution: { workers: 2, concurrency: 4, commit_rows: 1000 },
    });
    assert.equal(summary.outcome, 'completed');
    assert.equal(summary.succeeded, 3500);
    const [row] = await queryTable<{ n: number; ids: number }>(sink, 'SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids FROM t');
    assert.deepEqual(row, { n: 3500, ids: 3500 });
    const commits = await committedRows(sink);
    assert.equal(commits.reduce((a, b) => a + b, 0), 3500);
    assert.equal(commits.length, summary.commits);
    // Three full commits, then the last 500 results: at least one of those is committed
    // before the last result arrives, so the final commit holds fewer than 500.
    assert.ok(commits.length >= 5, `commits: ${commits.join(', ')}`);
    assert.ok((commits.at(-1) ?? 0) < 500, `commits: ${commits.join(', ')}`);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('a source that cannot be opened fails the run before any request; the workers started meanwhile stop quietly', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  const logged: string[] = [];
  try {
    await assert.rejects(
      runPipeline(
        {
          version: 1,
          name: 'no_source',
          source: { path: join(tmp.dir, 'missing.parquet'), format: 'parquet' },
          request: { url: `${server.url}/items/{{ id }}` },
          sink: { path: join(tmp.dir, 'sink') },
          execution: { workers: 2 },
        },
        { log: (level, message) => logged.push(`${level}: ${message}`) },
      ),
      (e: unknown) => e instanceof RunError && /missing\.parquet/.test(e.message),
    );
    // Give killed workers' exits time to be (not) reported.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(server.seen.length, 0);
    assert.deepEqual(
      logged.filter((l) => l.startsWith('warn') || l.startsWith('error')),
      [],
    );
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});
