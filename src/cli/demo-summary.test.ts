import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoJson, demoSummaryText, type DemoResult } from './demo-summary.js';

const summary = (pipeline: string, rows: number, failed: Record<string, number> = {}) => {
  const nFailed = Object.values(failed).reduce((a, b) => a + b, 0);
  return {
    run_id: 'r1', pipeline, engine: 'local' as const, sink: `/d/${pipeline}`, outcome: 'completed' as const,
    source_rows: rows, skipped_succeeded: 0, duplicates: 0, rows, succeeded: rows - nFailed, failed: nFailed,
    failures_by_class: failed, latency_ms: { p50: 12.4, p95: 1534, p99: 2000, max: 2100 }, elapsed_ms: 1000,
    rows_per_second: 812.6, commits: 1, table_version: 0, worker_restarts: 0,
  };
};
const pipeline = (name: string) => ({ name, example: `/ex/${name}.yaml`, config: `/d/pipelines/${name}.yaml`, table: `/d/${name}`, rows: 100 });
const byAuth = { none: { accepted: 100, rejected: 0 }, basic: { accepted: 97, rejected: 3 }, bearer: { accepted: 0, rejected: 0 }, oauth2: { accepted: 0, rejected: 0 } };

function result(over: Partial<DemoResult> = {}): DemoResult {
  return {
    dir: '/d',
    elapsedMs: 4321,
    outcomes: [
      { pipeline: pipeline('demo_none'), summary: summary('demo_none', 100), error: null },
      { pipeline: pipeline('demo_basic'), summary: summary('demo_basic', 100, { auth: 3 }), error: null },
      { pipeline: pipeline('demo_bearer'), summary: null, error: 'cannot read source' },
    ],
    api: { total: 200, byRoute: {}, byStatus: {}, byAuth },
    oauth: { grants: { client_credentials: 1, password: 0, refresh_token: 0 }, refused: 0, outages: 0, introspections: 0 },
    interrupted: false,
    ...over,
  };
}

test('the summary table shows each pipeline, failures by class, and pipelines that could not run', () => {
  const text = demoSummaryText(result(), (p) => p.replace('/d/', 'lake/'));
  assert.match(text, /3 pipelines, 200 requests in 4\.3s/);
  assert.match(text, /^pipeline\s+rows\s+ok\s+failed\s+p50\s+p95\s+rows\/s\s+table$/m);
  assert.match(text, /^demo_none\s+100\s+100\s+0\s+12ms\s+1\.5s\s+813\s+lake\/demo_none$/m);
  assert.match(text, /^demo_basic\s+100\s+97\s+3 \(auth 3\)\s/m);
  assert.match(text, /^demo_bearer\s+–.*could not run: cannot read source$/m);
  assert.match(text, /mock API: 200 requests \(none 100, basic 97, bearer 0, oauth2 0\), 3 rejected/);
  assert.match(text, /OAuth2 server: 1 token grants/);
  assert.match(text, /npx restlake inspect lake\/demo_none\n/);
  assert.match(text, /some demo rows did not succeed/);
  assert.match(demoSummaryText(result({ interrupted: true }), (p) => p), /interrupted: what finished is committed/);
});

test('the JSON summary says ok only when every pipeline ran and every row succeeded', () => {
  assert.equal(demoJson(result()).ok, false);
  const good = result({ outcomes: [{ pipeline: pipeline('demo_none'), summary: summary('demo_none', 100), error: null }] });
  assert.equal(demoJson(good).ok, true);
  assert.equal(demoJson({ ...good, interrupted: true }).ok, false);
  const j = demoJson(good) as { pipelines: Array<{ name: string; table: string }> };
  assert.deepEqual(j.pipelines.map((p) => [p.name, p.table]), [['demo_none', '/d/demo_none']]);
});
