// Crash safety on the local engine: a worker killed mid-run, Ctrl-C mid-run, and the
// whole run killed mid-way; after reruns every request_id has exactly one success row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPipeline } from '../index.js';
import { queryTable, scoreReply, startCli, startTestServer, tempDir, waitFor, type TestServer } from './e2e-support.js';

async function csvSource(dir: string, n: number): Promise<string> {
  const path = join(dir, 'rows.csv');
  const lines = ['id,name'];
  for (let i = 1; i <= n; i++) lines.push(`${i},row ${i}`);
  await writeFile(path, lines.join('\n') + '\n');
  return path;
}

function config(server: TestServer, source: string, sink: string, extra: Record<string, unknown> = {}) {
  return {
    version: 1,
    name: 'crashy',
    source: { path: source, key: ['id'] },
    request: { url: `${server.url}/items/{{ id }}` },
    sink: { path: sink, source_columns: ['id'] },
    execution: { workers: 2, concurrency: 8, commit_rows: 500, commit_interval: '1s', ...extra },
  };
}

async function assertExactlyOneSuccessEach(sink: string, n: number): Promise<void> {
  const [r] = await queryTable<{ ids: number; ok_ids: number; dup: number }>(
    sink,
    `SELECT count(DISTINCT request_id)::INT AS ids, count(DISTINCT request_id) FILTER (WHERE success)::INT AS ok_ids,
            (SELECT count(*) FROM (SELECT request_id FROM t WHERE success GROUP BY request_id HAVING count(*) > 1))::INT AS dup FROM t`,
  );
  assert.deepEqual(r, { ids: n, ok_ids: n, dup: 0 });
}

test('kill -9 of one worker mid-run: its unanswered rows go to another worker and every row succeeds', { timeout: 120_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer((req) => ({ ...scoreReply(req), delayMs: 3 }));
  try {
    const n = 6000;
    const source = await csvSource(tmp.dir, n);
    const sink = join(tmp.dir, 'sink');
    const run = runPipeline(config(server, source, sink));
    await waitFor(() => server.count() >= 1500, 60_000, '1500 requests');
    const pids = execFileSync('pgrep', ['-P', String(process.pid), '-f', 'worker/main.js']).toString().trim().split('\n').map(Number);
    assert.ok(pids.length >= 1, 'workers are child processes');
    process.kill(pids[0] as number, 'SIGKILL');
    const s = await run;
    assert.equal(s.outcome, 'completed');
    assert.ok(s.worker_restarts >= 1);
    assert.equal(s.rows, n);
    assert.equal(s.succeeded, n);
    await assertExactlyOneSuccessEach(sink, n);
    const [rows] = await queryTable<{ n: number }>(sink, 'SELECT count(*)::INT AS n FROM t');
    assert.equal(rows?.n, n, 'one result row per row, none doubled by the re-send');
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

for (const signal of ['SIGINT', 'SIGHUP'] as const) {
  // SIGHUP: the terminal or ssh session went away; it stops a run as Ctrl-C does.
  test(`${signal} mid-run commits what finished and exits 130; a rerun finishes the rest`, { timeout: 120_000 }, async () => {
    const tmp = await tempDir();
    const server = await startTestServer((req) => ({ ...scoreReply(req), delayMs: 3 }));
    try {
      const n = 8000;
      const source = await csvSource(tmp.dir, n);
      const sink = join(tmp.dir, 'sink');
      const cfgPath = join(tmp.dir, 'p.json');
      await writeFile(cfgPath, JSON.stringify(config(server, source, sink, { commit_rows: 100000, commit_interval: '5m' })));
      const first = startCli(['run', cfgPath, '--quiet']);
      await waitFor(() => server.count() >= 1000, 60_000, '1000 requests');
      first.child.kill(signal);
      assert.equal(await first.done, 130, first.err());
      assert.match(first.err(), new RegExp(`restlake: ${signal}: finishing in-flight requests and committing`));
      const [partial] = await queryTable<{ n: number; ok: number }>(sink, 'SELECT count(*)::INT AS n, count(*) FILTER (WHERE success)::INT AS ok FROM t');
      assert.ok(partial && partial.n >= 1000 && partial.n < n, `committed ${partial?.n} rows`);
      assert.equal(partial.ok, partial.n);
      // Every request the server answered before the stop was committed (in-flight ones finished).
      assert.equal(partial.n, server.count());

      const second = startCli(['run', cfgPath, '--quiet']);
      assert.equal(await second.done, 0, second.err());
      assert.equal(server.count(), n, 'the rerun sends only the rows not yet done');
      await assertExactlyOneSuccessEach(sink, n);
    } finally {
      await server.close();
      await tmp.cleanup();
    }
  });
}

test('kill -9 of the whole run mid-way, then a rerun: exactly one success row per request_id', { timeout: 120_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer((req) => ({ ...scoreReply(req), delayMs: 2 }));
  try {
    const n = 8000;
    const source = await csvSource(tmp.dir, n);
    const sink = join(tmp.dir, 'sink');
    const cfgPath = join(tmp.dir, 'p.json');
    await writeFile(cfgPath, JSON.stringify(config(server, source, sink)));
    const first = startCli(['run', cfgPath, '--quiet']);
    await waitFor(() => existsSync(join(sink, '_delta_log', '00000000000000000001.json')) && server.count() >= 2000, 60_000, 'two commits');
    first.child.kill('SIGKILL');
    await first.done;
    const [partial] = await queryTable<{ n: number }>(sink, 'SELECT count(*)::INT AS n FROM t');
    assert.ok(partial && partial.n > 0 && partial.n < n, `committed ${partial?.n} rows before the kill`);

    const second = startCli(['run', cfgPath, '--quiet']);
    assert.equal(await second.done, 0, second.err());
    await assertExactlyOneSuccessEach(sink, n);
    // Repeats are bounded by what was in flight or uncommitted at the kill.
    assert.ok(server.count() - n <= 3000, `repeats: ${server.count() - n}`);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('Ctrl-C with retries pending stops within the grace: rows not started stay unsent, rows in flight end as failed', { timeout: 120_000 }, async () => {
  const tmp = await tempDir();
  // An API that is down: every row retries with long backoffs, which before kept a
  // stopping run going for minutes and started queued rows after the Ctrl-C.
  const server = await startTestServer(() => ({ status: 503, body: 'down', delayMs: 20 }));
  try {
    const source = await csvSource(tmp.dir, 300);
    const sink = join(tmp.dir, 'sink');
    const abort = new AbortController();
    const run = runPipeline(
      {
        ...config(server, source, sink, { workers: 2, concurrency: 4 }),
        transport: { timeout: '2s' },
        middleware: [{ type: 'retry', max_attempts: 8, base_delay: '3s', max_delay: '10s' }],
      },
      { signal: abort.signal },
    );
    await waitFor(() => server.count() >= 8, 60_000, '8 requests');
    const t0 = Date.now();
    abort.abort();
    const s = await run;
    const took = Date.now() - t0;
    assert.equal(s.outcome, 'interrupted');
    // The grace is the transport timeout (2 s); the commit and the workers' exit come on top.
    assert.ok(took < 8_000, `stopped after ${took} ms`);
    // Only the 8 rows in flight at the Ctrl-C (2 workers x 4) were ever sent; none started after it.
    const distinct = new Set(server.seen.map((r) => r.url)).size;
    assert.ok(distinct <= 8, `${distinct} distinct rows sent`);
    assert.ok(s.rows <= 8 && s.succeeded === 0, JSON.stringify(s));
    const [r] = await queryTable<{ n: number }>(sink, 'SELECT count(*)::INT AS n FROM t');
    assert.equal(r?.n, s.rows, 'the table holds what the summary says');
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('a second Ctrl-C quits at once and leaves no run directory (it holds the job with credentials) behind', { timeout: 120_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer((req) => ({ ...scoreReply(req), delayMs: 5 }));
  try {
    const source = await csvSource(tmp.dir, 8000);
    const cfgPath = join(tmp.dir, 'p.json');
    await writeFile(cfgPath, JSON.stringify({ ...config(server, source, join(tmp.dir, 'sink')), auth: { type: 'bearer', token: 'tok-never-left-on-disk' } }));
    const runTmp = join(tmp.dir, 'tmp');
    await mkdir(runTmp);
    const cli = startCli(['run', cfgPath, '--quiet'], { env: { ...process.env, TMPDIR: runTmp } });
    await waitFor(() => server.count() >= 500, 60_000, '500 requests');
    assert.ok((await readdir(runTmp)).some((f) => f.startsWith('restlake-run-')), 'the run directory exists while it runs');
    cli.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 50));
    cli.child.kill('SIGINT');
    assert.equal(await cli.done, 130, cli.err());
    assert.deepEqual((await readdir(runTmp)).filter((f) => f.startsWith('restlake-run-')), []);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('kill -9 of the driver leaves its run directory (job with the password, spool); the next run removes it, never a live run\'s', { timeout: 120_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer((req) => ({ ...scoreReply(req), delayMs: 20 }));
  const runTmp = join(tmp.dir, 'tmp');
  await mkdir(runTmp, { mode: 0o700 });
  const env = { ...process.env, TMPDIR: runTmp, RL_TEST_PASSWORD: 'b4sic-Passw0rd-xyz' };
  const runDirs = async (): Promise<string[]> => (await readdir(runTmp)).filter((f) => f.startsWith('restlake-run-')).sort();
  let live: ReturnType<typeof startCli> | null = null;
  try {
    const write = async (name: string, n: number): Promise<string> => {
      const cfg = join(tmp.dir, `${name}.json`);
      const source = join(tmp.dir, `${name}.csv`);
      await writeFile(source, ['id', ...Array.from({ length: n }, (_, i) => `${name}-${i}`)].join('\n') + '\n');
      await writeFile(
        cfg,
        JSON.stringify({
          ...config(server, source, join(tmp.dir, `${name}-sink`), { workers: 1, concurrency: 2 }),
          auth: { type: 'basic', username: 'svc', password: '${env:RL_TEST_PASSWORD}' },
        }),
      );
      return cfg;
    };
    const killed = startCli(['run', await write('killed', 100_000), '--quiet'], { env });
    await waitFor(() => server.seen.some((r) => r.url.includes('killed-')), 60_000, 'the first run sending');
    const [left] = await runDirs();
    assert.ok(left);
    killed.child.kill('SIGKILL');
    await killed.done;
    // What the reviewer found: the job (with the password) and the spool stay behind.
    assert.match(await readFile(join(runTmp, left, 'job.json'), 'utf8'), /b4sic-Passw0rd-xyz/);
    assert.ok(existsSync(join(runTmp, left, 'spool')));

    live = startCli(['run', await write('live', 100_000), '--quiet'], { env });
    await waitFor(() => server.seen.some((r) => r.url.includes('live-')), 60_000, 'the live run sending');
    const liveDir = (await runDirs()).find((d) => d !== left);
    assert.ok(liveDir);

    const next = startCli(['run', await write('next', 3), '--quiet'], { env });
    assert.equal(await next.done, 0, next.err());
    assert.deepEqual(await runDirs(), [liveDir], "the killed run's directory is gone, the live run's kept");
    assert.ok(existsSync(join(runTmp, liveDir, 'job.json')));
  } finally {
    live?.child.kill('SIGKILL');
    await live?.done;
    await server.close();
    await tmp.cleanup();
  }
});

test('a spool file over a file-size limit (ulimit -f) ends the run with exit 3 naming the spool directory; what was written is committed', { timeout: 120_000 }, async () => {
  const tmp = await tempDir();
  const pad = 'x'.repeat(2000);
  const server = await startTestServer((req) => ({ ...scoreReply(req), body: JSON.stringify({ score: 1, pad }), delayMs: 2 }));
  try {
    const n = 3000;
    const source = await csvSource(tmp.dir, n);
    const sink = join(tmp.dir, 'sink');
    const cfgPath = join(tmp.dir, 'p.json');
    await writeFile(cfgPath, JSON.stringify(config(server, source, sink, { workers: 1, commit_rows: 100000, commit_interval: '5m' })));
    // 1 MiB: the spool file of ~2.3 KB results reaches it after ~450 rows; nothing is committed before.
    const bin = fileURLToPath(new URL('../../bin/restlake.mjs', import.meta.url));
    const child = spawn('bash', ['-c', 'ulimit -f 1024 && exec "$0" "$@"', process.execPath, bin, 'run', cfgPath, '--quiet'], {
      env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 3, err);
    assert.match(err, /^restlake: cannot write results to the spool directory \S+restlake-run-\w+\/spool: EFBIG: file too large, write \(a file-size limit: ulimit -f\)$/m);
    assert.doesNotMatch(err, /node:events|\n\s+at /, 'no stack trace');
    const [r] = await queryTable<{ n: number; ok: number; ids: number }>(sink, 'SELECT count(*)::INT AS n, count(*) FILTER (WHERE success)::INT AS ok, count(DISTINCT request_id)::INT AS ids FROM t');
    assert.ok(r && r.n > 100 && r.n < n, `committed ${r?.n} rows`);
    assert.deepEqual([r.ok, r.ids], [r.n, r.n]);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

// User middleware that never settles for one row and ignores ex.signal, keeping its event loop busy.
const STUCK_MIDDLEWARE = `export default function stuck() {
  return async (ex, next) => {
    if (String(ex.row.id) === '77') await new Promise(() => setInterval(() => {}, 100));
    return next();
  };
}
`;

async function stuckRun(tmp: string, server: TestServer) {
  const source = await csvSource(tmp, 400);
  const sink = join(tmp, 'sink');
  await writeFile(join(tmp, 'stuck.mjs'), STUCK_MIDDLEWARE);
  const cfgPath = join(tmp, 'p.json');
  const cfg = { ...config(server, source, sink, { workers: 1, commit_rows: 50, commit_interval: '1s' }), middleware: [{ type: 'module', path: join(tmp, 'stuck.mjs') }], transport: { timeout: '1s' } };
  await writeFile(cfgPath, JSON.stringify(cfg));
  const cli = startCli(['run', cfgPath, '--quiet']);
  // Every other row is answered; row 77 never is.
  await waitFor(() => server.count() >= 399, 60_000, '399 requests');
  const workers = execFileSync('pgrep', ['-P', String(cli.child.pid)]).toString().trim().split('\n').map(Number);
  return { cli, sink, workers };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('Ctrl-C with a row whose middleware never settles: the worker is killed after the drain grace, the rest is committed, exit 130', { timeout: 120_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer((req) => ({ ...scoreReply(req), delayMs: 1 }));
  try {
    const { cli, sink, workers } = await stuckRun(tmp.dir, server);
    const t0 = Date.now();
    cli.child.kill('SIGINT');
    assert.equal(await cli.done, 130, cli.err());
    // transport.timeout (1 s) for the worker to abort, 5 s more before it is killed.
    assert.ok(Date.now() - t0 < 15_000, `stopped after ${Date.now() - t0} ms`);
    assert.match(cli.err(), /did not stop within 6 s of the stop; killed it, its 1 unanswered rows are sent again by the next run/);
    for (const pid of workers) assert.equal(alive(pid), false, `worker ${pid} is gone`);
    const [r] = await queryTable<{ n: number; stuck: number }>(sink, "SELECT count(*)::INT AS n, count(*) FILTER (WHERE id = 77)::INT AS stuck FROM t");
    assert.deepEqual(r, { n: 399, stuck: 0 });
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('kill -9 of the driver: a worker stuck on a row does not live on as an orphan', { timeout: 120_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer((req) => ({ ...scoreReply(req), delayMs: 1 }));
  let workers: number[] = [];
  try {
    const run = await stuckRun(tmp.dir, server);
    workers = run.workers;
    assert.ok(workers.length >= 1);
    run.cli.child.kill('SIGKILL');
    await run.cli.done;
    await waitFor(() => workers.every((pid) => !alive(pid)), 10_000, 'the orphaned worker to exit');
  } finally {
    for (const pid of workers) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await server.close();
    await tmp.cleanup();
  }
});
