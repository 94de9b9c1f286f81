// Issue 5, end to end: a chaos run against the fault-injecting server.
//
// The fault server decides each id's fault from a seeded hash of the id, and transient
// faults hit only the first attempt, so the expected outcome of every row is known:
// transient faults must be recovered, permanent ones (404, 400) recorded once and never
// retried, a 200 with cut-off JSON recorded as a parse failure, and a Retry-After
// honoured before the next attempt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runPipeline } from '../index.js';
import { startFaultServer, FAULT_KINDS, RATE_LIMITED, type FaultKind, type FaultRecord } from '../testkit/fault-server.js';
import { queryTable, tempDir } from './e2e-support.js';

const ROWS = 5000;
// Every kind of fault, 24% of ids in all. A 429 with Retry-After pauses the whole
// origin (every worker) for a second, so those two kinds get fewer ids: at 2% each
// they alone would make the run last minutes of paused seconds.
const SHARE: Partial<Record<FaultKind, number>> = { retry_after_seconds: 0.004, retry_after_date: 0.004 };
const DEFAULT_SHARE = 0.019;
const TIMEOUT_FAULTS: ReadonlySet<FaultKind> = new Set(['hang_headers', 'hang_body']);

test('chaos run: every transient fault recovered, permanent ones recorded once, Retry-After honoured', { timeout: 360_000 }, async (t) => {
  const mix = Object.fromEntries(FAULT_KINDS.map((k) => [k, SHARE[k] ?? DEFAULT_SHARE]));
  const server = await startFaultServer({ seed: 7, mix, retryAfterSeconds: 1, slowBodyMs: 300, hangMs: null });
  const { dir, cleanup } = await tempDir('restlake-chaos-');
  try {
    const summary = await runPipeline(
      {
        version: 1,
        name: 'e2e_chaos',
        request: { url: `${server.url}/items/{{ id }}` },
        transport: { timeout: '2s' },
        middleware: [{ type: 'retry', max_attempts: 4, base_delay: '50ms', max_delay: '3s' }],
        response: { extract: { score: { path: '$.score', type: 'double' } } },
        sink: { path: join(dir, 'lake'), source_columns: ['id'] },
        execution: { workers: 2, concurrency: 48 },
      },
      { rows: Array.from({ length: ROWS }, (_, i) => ({ id: `r${i}` })), key: ['id'] },
    );

    const records = server.requests();
    const byId = new Map<string, FaultRecord[]>();
    for (const r of records) {
      if (!byId.has(r.id)) byId.set(r.id, []);
      byId.get(r.id)!.push(r);
    }
    const rows = await queryTable<{ id: string; success: boolean; attempts: number; error_class: string | null; status_code: number | null }>(
      join(dir, 'lake'),
      'SELECT id, success, attempts, error_class, status_code FROM t',
    );
    const planned = new Map<string, FaultKind | null>();
    for (let i = 0; i < ROWS; i++) planned.set(`r${i}`, server.plannedFault(`r${i}`));
    const faulty = [...planned.values()].filter((f) => f !== null).length;
    t.diagnostic(`${records.length} requests for ${ROWS} rows; ${faulty} ids faulty on the first attempt; ${JSON.stringify(summary.failures_by_class)}`);
    assert.ok(faulty >= 0.2 * ROWS, `only ${faulty} faulty ids`);
    for (const kind of FAULT_KINDS) assert.ok([...planned.values()].includes(kind), `no id drew ${kind}`);

    // Exactly one sink row per row, and each row's outcome is the one its fault implies.
    assert.equal(rows.length, ROWS);
    assert.equal(new Set(rows.map((r) => r.id)).size, ROWS);
    for (const row of rows) {
      const fault = planned.get(row.id) ?? null;
      const seen = byId.get(row.id) ?? [];
      const where = `${row.id} (fault ${fault}, ${seen.length} requests, ${JSON.stringify(row)})`;
      if (fault === 'not_found' || fault === 'bad_request') {
        assert.equal(row.success, false, where);
        assert.equal(row.error_class, 'http_status', where);
        assert.equal(row.status_code, fault === 'not_found' ? 404 : 400, where);
        assert.equal(row.attempts, 1, where);
        assert.equal(seen.length, 1, `permanent fault retried: ${where}`);
      } else if (fault === 'malformed_json') {
        // A complete 200 whose JSON is cut off: recorded, not lost, not retried.
        assert.equal(row.success, false, where);
        assert.equal(row.error_class, 'parse', where);
        assert.equal(seen.length, 1, where);
      } else {
        assert.equal(row.success, true, `transient fault not recovered: ${where}`);
        assert.equal(row.status_code, 200, where);
        if (fault !== null && fault !== 'slow_body') assert.ok(row.attempts >= 2, where);
      }
      // No id is served twice, except where a timeout made the client give up on an
      // answer that may still have been on its way.
      if (fault === null || !TIMEOUT_FAULTS.has(fault)) assert.ok(server.servedCount(row.id) <= 1, `served twice: ${where}`);
    }

    // Retry-After: 1 (as seconds or as an HTTP date) is waited out before the next attempt.
    let checked = 0;
    for (const [id, fault] of planned) {
      if (fault !== 'retry_after_seconds' && fault !== 'retry_after_date') continue;
      const seen = byId.get(id)!.filter((r) => r.fault !== RATE_LIMITED);
      assert.ok(seen.length >= 2, `${id}: ${seen.length} requests`);
      const gap = seen[1].at - seen[0].at;
      // An HTTP date has one-second resolution, so it may ask for a little under 1 s.
      const floor = fault === 'retry_after_seconds' ? 990 : 0;
      assert.ok(gap >= floor, `${id} (${fault}) retried after ${gap} ms`);
      checked++;
    }
    assert.ok(checked >= 20, `only ${checked} Retry-After ids`);
    assert.equal(summary.rows, ROWS);
  } finally {
    await server.close();
    await cleanup();
  }
});
