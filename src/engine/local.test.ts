// The local engine starts its workers before it opens the source and the sink (see
// runLocal): a run that cannot open its source sends nothing and stops them quietly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RunError } from '../errors.js';
import { runPipeline } from '../index.js';
import { startTestServer, tempDir } from './e2e-support.js';

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
