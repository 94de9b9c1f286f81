import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '../duckdb.js';
import { collectReportData, LATENCY_EDGES } from './report-data.js';
import { renderReportHtml } from './report-html.js';
import { checkPage } from './report-browser.test-util.js';

const EVIL = '<script>alert(1)</script><img src="http://example.invalid/x.png">';

/** A sink-shaped table: 3,000 rows over 2 minutes, mostly 200s, some 429/503/404 and transport errors. */
async function sinkLike(conn: DuckDBConnection): Promise<void> {
  await conn.run(`CREATE TABLE sink AS
    SELECT
      sha256(CAST(i AS VARCHAR)) AS request_id,
      CASE WHEN i < 1500 THEN 'run-a' ELSE 'run-b' END AS run_id,
      'demo_none' AS pipeline,
      CASE WHEN i % 50 = 0 THEN 503 WHEN i % 71 = 0 THEN 404 WHEN i % 97 = 0 THEN NULL WHEN i % 89 = 0 THEN 429 ELSE 200 END AS status_code,
      (i % 50 <> 0 AND i % 71 <> 0 AND i % 97 <> 0 AND i % 89 <> 0) AS success,
      CASE WHEN i % 50 = 0 OR i % 71 = 0 THEN 'http_status' WHEN i % 97 = 0 THEN 'timeout' WHEN i % 89 = 0 THEN 'rate_limited' ELSE NULL END AS error_class,
      CASE WHEN i % 50 = 0 THEN 'HTTP 503 ${EVIL.replace(/'/g, "''")}' WHEN i % 97 = 0 THEN 'attempt timed out after 30s' ELSE NULL END AS error_message,
      TIMESTAMP '2026-01-01 10:00:00' + to_microseconds(CAST(i * 40000 AS BIGINT)) AS started_at,
      TIMESTAMP '2026-01-01 10:00:00' + to_microseconds(CAST(i * 40000 + 3000 + (i % 13) * 4000 AS BIGINT)) AS finished_at,
      3.0 + (i % 13) * 4.0 + CASE WHEN i % 200 = 0 THEN 1500 ELSE 0 END AS duration_ms
    FROM range(3000) t(i)`);
}

test('report data: totals, a gap-free timeline, a latency histogram and errors that add up', async () => {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await sinkLike(conn);
    const d = await collectReportData(conn, 'sink', '/lake/t');
    const expectedOk = Number((await conn.runAndReadAll('SELECT count(*) FILTER (WHERE success) FROM sink')).getRows()[0][0]);
    assert.equal(d.totals.rows, 3000);
    assert.equal(d.totals.ok, expectedOk);
    assert.equal(d.totals.failed, 3000 - expectedOk);
    assert.equal(d.totals.runs, 2);
    assert.deepEqual(d.totals.pipelines, ['demo_none']);
    assert.equal(d.bucketSeconds, 2); // a 2-minute span in ≤ 60 buckets
    assert.equal(d.timeline.reduce((a, p) => a + p.rows, 0), 3000);
    for (let i = 1; i < d.timeline.length; i++) assert.equal(d.timeline[i].t - d.timeline[i - 1].t, 2000);
    assert.ok(d.timeline.some((p) => (p.byClass['5xx'] ?? 0) > 0 && (p.byClass['2xx'] ?? 0) > 0));
    assert.equal(d.timeline.reduce((a, p) => a + (p.byClass['no response'] ?? 0), 0), d.statuses.find((s) => s.status === 'none')?.count);
    assert.equal(d.latency.reduce((a, b) => a + b.count, 0), 3000);
    assert.ok(d.latency[0].from >= 0 && LATENCY_EDGES.includes(d.latency[0].from));
    assert.ok(d.latency.find((b) => b.from === 1000)!.count > 0, 'the slow tail lands in the 1-2 s bucket');
    assert.equal(d.errors.reduce((a, e) => a + e.count, 0), d.totals.failed);
    assert.equal(d.errors[0].errorClass, 'http_status');
    assert.ok(d.totals.p50! < d.totals.p99!);
    assert.ok(d.recentFailures.length === 20);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
});

test('report data on an empty table renders an honest empty page', async () => {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await sinkLike(conn);
    await conn.run('DELETE FROM sink');
    const d = await collectReportData(conn, 'sink', '/lake/empty');
    assert.equal(d.totals.rows, 0);
    assert.deepEqual(d.timeline, []);
    assert.deepEqual(d.latency, []);
    const html = renderReportHtml(d);
    assert.match(html, /no failed rows/);
    assert.equal((html.match(/data-chart=/g) ?? []).length, 4);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
});

test('the HTML report loads in headless Chromium with four charts, no console error, nothing fetched, text escaped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-report-'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await sinkLike(conn);
    const html = renderReportHtml(await collectReportData(conn, 'sink', '/lake/orders <scores>'));
    assert.ok(!html.includes('<script'), 'no script in the page, not even from error messages');
    assert.ok(!/(src|href)="https?:/.test(html), 'no external asset');
    const file = join(dir, 'report.html');
    await writeFile(file, html);
    const shot = join(dir, 'report.png');
    const page = await checkPage(file, shot);
    assert.equal(page.title, 'restlake report · /lake/orders <scores>');
    assert.deepEqual(page.consoleErrors, []);
    assert.deepEqual(page.pageErrors, []);
    assert.deepEqual(page.otherRequests, []);
    assert.deepEqual(page.charts.map((c) => c.id).sort(), ['errors-by-class', 'latency-histogram', 'rows-per-second', 'status-timeline']);
    for (const c of page.charts) {
      assert.ok(c.shapes > 0, `${c.id} draws something`);
      assert.ok(c.width > 100 && c.height > 40, `${c.id} is visible`);
    }
    assert.match(page.text, /<script>alert\(1\)<\/script>/, 'the hostile message shows as text');
    const png = await readFile(shot);
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.ok((await stat(shot)).size > 10_000);
    if (process.env.RESTLAKE_KEEP_SCREENSHOT) await writeFile(process.env.RESTLAKE_KEEP_SCREENSHOT, png);
  } finally {
    conn.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
});

test('report command: usage errors exit 2, a path without a Delta table exits 3, nothing is written', async () => {
  const { runReport } = await import('./report.js');
  const dir = await mkdtemp(join(tmpdir(), 'restlake-report-cli-'));
  try {
    let out = '';
    let err = '';
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, cwd: dir };
    assert.equal(await runReport([], io), 2);
    assert.match(err, /missing <table>/);
    assert.equal(await runReport(['a', 'b'], io), 2);
    assert.match(err, /unexpected argument "b"/);
    assert.equal(await runReport(['--help'], io), 0);
    assert.match(out, /usage: restlake report <table>/);
    err = '';
    assert.equal(await runReport(['no-such-table', '--html', 'r.html'], io), 3);
    assert.match(err, /no Delta table at .*no-such-table/);
    await assert.rejects(stat(join(dir, 'r.html')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
