// A CSV source larger than DuckDB's CSV buffers runs under the driver's default memory
// settings: the dedupe pass before the first request lowers DuckDB's limit, and the
// reader's own buffers (32 MB each by default) did not fit under it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { runPipeline } from '../index.js';
import { startTestServer, tempDir } from './e2e-support.js';

async function writeCsv(path: string, rows: number, line: (i: number) => string, header: string): Promise<void> {
  const out = createWriteStream(path);
  out.write(header + '\n');
  const batch = 10_000;
  for (let i = 1; i <= rows; i += batch) {
    const lines: string[] = [];
    for (let j = i; j < Math.min(rows + 1, i + batch); j++) lines.push(line(j));
    if (!out.write(lines.join('\n') + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

test('a CSV source over 32 MB (2M narrow rows, 200k wide ones) runs: no out-of-memory before the first request', { timeout: 120_000 }, async () => {
  // Before: "Out of Memory Error: could not allocate block of size 30.5 MiB (…/64.0 MiB used)", exit 3.
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    const narrow = join(tmp.dir, 'narrow.csv');
    await writeCsv(narrow, 2_000_000, (i) => `${i},row ${i}`, 'id,name'); // ~38 MB
    const wide = join(tmp.dir, 'wide.csv');
    await writeCsv(wide, 200_000, (i) => `${i},${'w'.repeat(180)}`, 'id,name'); // ~37 MB
    for (const [csv, rows] of [[narrow, 2_000_000], [wide, 200_000]] as const) {
      const summary = await runPipeline({
        version: 1,
        name: 'large_csv',
        source: { path: csv, key: ['id'] },
        request: { url: `${server.url}/items/{{ id }}` },
        sink: { path: join(tmp.dir, `lake-${rows}`), source_columns: ['id'] },
        execution: { workers: 1, max_requests: 10 },
      });
      assert.equal(summary.outcome, 'max_requests');
      assert.equal(summary.source_rows, rows);
      assert.equal(summary.succeeded, 10);
    }
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});
