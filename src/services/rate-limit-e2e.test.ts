// Issue 5 item 1, end to end: a server that allows 100 requests/s, a pipeline with
// rate_limit 90/s over 2 worker processes. The limit is one bucket in the driver, so
// the two workers together stay under it and almost nothing gets a 429.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipeline } from '../index.js';
import { startFaultServer, RATE_LIMITED } from '../testkit/fault-server.js';

const ROWS = 900;

test('rate_limit 90/s over 2 workers against a 100/s server: every row succeeds, under 1% of requests get 429', { timeout: 120_000 }, async (t) => {
  const server = await startFaultServer({ rateLimit: { requestsPerSecond: 100, burst: 100 } });
  const dir = await mkdtemp(join(tmpdir(), 'restlake-rate-e2e-'));
  try {
    const summary = await runPipeline(
      {
        version: 1,
        name: 'e2e_rate_limit',
        request: { url: `${server.url}/items/{{ id }}` },
        middleware: [
          { type: 'retry', max_attempts: 5, base_delay: '100ms', max_delay: '2s' },
          { type: 'rate_limit', requests_per_second: 90, burst: 10 },
        ],
        sink: { path: join(dir, 'lake') },
        execution: { workers: 2, concurrency: 32 },
      },
      { rows: Array.from({ length: ROWS }, (_, i) => ({ id: i })), key: ['id'] },
    );
    const records = server.requests();
    const limited = records.filter((r) => r.fault === RATE_LIMITED).length;
    const seconds = (records.at(-1)!.at - records[0].at) / 1000;
    t.diagnostic(`${records.length} requests in ${seconds.toFixed(1)}s (${(records.length / seconds).toFixed(1)}/s), ${limited} got 429`);
    assert.equal(summary.succeeded, ROWS, JSON.stringify(summary.failures_by_class));
    assert.ok(limited < 0.01 * records.length, `${limited} of ${records.length} requests got 429`);
    // The driver's bucket bounds what reached the server: 90/s plus the burst (arrival times
    // differ from grant times by the request's flight, hence half a second of slack).
    assert.ok(records.length <= 90 * (seconds + 0.5) + 10, `${records.length} requests in ${seconds}s`);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
