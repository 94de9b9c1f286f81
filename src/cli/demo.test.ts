// End to end: `restlake demo` with a small row count, then `restlake report` on a
// table it wrote, opened in headless Chromium. Real servers, real worker
// processes, real Delta tables in a temp dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '../duckdb.js';
import { request } from 'undici';
import { DeltaTable } from '../delta/index.js';
import type { CommandIO } from './commands.js';
import { demoCommand } from './demo.js';
import { runReport } from './report.js';
import { checkPage } from './report-browser.test-util.js';

function capture(cwd: string, env: NodeJS.ProcessEnv = {}) {
  const out = { stdout: '', stderr: '' };
  const io: CommandIO = {
    stdout: { write: (s: string) => (out.stdout += s), isTTY: false },
    stderr: { write: (s: string) => (out.stderr += s), isTTY: false },
    cwd,
    env: { PATH: process.env.PATH, ...env },
  };
  return { io, out };
}

async function tableRows(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await (await DeltaTable.forPath(path)).registerScan(conn, 't');
    return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

const NAMES = ['demo_none', 'demo_basic', 'demo_bearer', 'demo_oauth2_client_credentials', 'demo_oauth2_password'];

test('demo --rows 150 --json: five pipelines in parallel, every row succeeds, tables hold the results', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-demo-'));
  try {
    const { io, out } = capture(dir);
    const code = await demoCommand.run(['--dir', 'lake', '--rows', '150', '--json'], io);
    assert.equal(code, 0, out.stderr);
    const summary = JSON.parse(out.stdout);
    assert.equal(summary.ok, true);
    assert.deepEqual(summary.pipelines.map((p: { name: string }) => p.name), NAMES);
    for (const p of summary.pipelines) {
      assert.equal(p.error, null);
      assert.equal(p.summary.rows, 150, p.name);
      assert.equal(p.summary.succeeded, 150, p.name);
      assert.equal(p.summary.failed, 0, p.name);
      assert.equal(p.table, join(dir, 'lake', p.name));
    }
    // the mock API saw each pattern's requests, authorised, and OAuth2 tokens were shared, not per request
    assert.equal(summary.mock_api.total, 750);
    for (const a of ['none', 'basic', 'bearer'] as const) assert.deepEqual(summary.mock_api.byAuth[a], { accepted: 150, rejected: 0 });
    assert.deepEqual(summary.mock_api.byAuth.oauth2, { accepted: 300, rejected: 0 });
    assert.ok(summary.oauth.grants.client_credentials >= 1 && summary.oauth.grants.client_credentials <= 3);
    assert.ok(summary.oauth.grants.password >= 1 && summary.oauth.grants.password <= 3);

    for (const name of NAMES) {
      const [r] = await tableRows(
        join(dir, 'lake', name),
        `SELECT count(*)::INT AS n, count(DISTINCT request_id)::INT AS ids, bool_and(success) AS ok, bool_and(status_code = 200) AS s200,
                bool_and(score BETWEEN 0 AND 1) AS scored, max(pipeline) AS pipeline,
                bool_or(regexp_matches(coalesce(request_headers, ''), '(Basic|Bearer) [A-Za-z0-9+/=_-]{12,}')) AS leaked
         FROM t`,
      );
      assert.deepEqual(r, { n: 150, ids: 150, ok: true, s200: true, scored: true, pipeline: name, leaked: false }, name);
    }
    // the configs that ran are kept, with the example comments
    assert.match(await readFile(join(dir, 'lake', 'pipelines', 'demo_basic.yaml'), 'utf8'), /password: \$\{env:DEMO_BASIC_PASSWORD\}/);

    // `report` on a demo table: a page that loads cleanly in Chromium with its charts
    const html = join(dir, 'report.html');
    const r = capture(dir);
    assert.equal(await runReport(['lake/demo_oauth2_password', '--html', 'report.html'], r.io), 0, r.out.stderr);
    assert.match(r.out.stdout, /wrote .*report\.html \(150 rows, 0 failed\)/);
    const page = await checkPage(html, join(dir, 'report.png'));
    assert.deepEqual(page.consoleErrors, []);
    assert.deepEqual(page.otherRequests, []);
    assert.equal(page.charts.length, 4);
    assert.ok(page.charts.filter((c) => c.id !== 'errors-by-class').every((c) => c.shapes > 0));
    assert.match(page.text, /no failed rows/);
    assert.match(page.text, /demo_oauth2_password/);
    assert.ok((await stat(join(dir, 'report.png'))).size > 10_000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('demo in plain mode prints progress lines, a summary table and how to inspect; a rerun starts from empty tables', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-demo-plain-'));
  try {
    for (let run = 0; run < 2; run++) {
      const { io, out } = capture(dir);
      assert.equal(await demoCommand.run(['--rows', '40', '--plain'], io), 0, out.stderr);
      assert.match(out.stdout, /5 pipelines, 200 requests in/);
      for (const n of NAMES) assert.match(out.stdout, new RegExp(`^${n}\\s+40\\s+40\\s+0\\s`, 'm'));
      assert.match(out.stdout, /npx restlake inspect demo-lake\/demo_none/);
      assert.match(out.stdout, /npx restlake report demo-lake\/demo_none --html/);
      assert.match(out.stdout, /0 rejected/);
      assert.match(out.stderr, /demo_none .*40\/40 .*done in/, 'a final progress line per pipeline');
      assert.ok(!out.stderr.includes('\x1b['), 'no terminal codes when not a TTY');
    }
    const [r] = await tableRows(join(dir, 'demo-lake', 'demo_bearer'), 'SELECT count(*)::INT AS n FROM t');
    assert.equal(r.n, 40, 'the second demo run replaced the first one’s table');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('demo refuses to delete a directory that is not a Delta table, and bad usage exits 2', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-demo-guard-'));
  try {
    await mkdir(join(dir, 'd', 'demo_none'), { recursive: true });
    await writeFile(join(dir, 'd', 'demo_none', 'precious.txt'), 'keep me');
    const { io, out } = capture(dir);
    assert.equal(await demoCommand.run(['--dir', 'd', '--rows', '5'], io), 2);
    assert.match(out.stderr, /is not a Delta table/);
    assert.equal(await readFile(join(dir, 'd', 'demo_none', 'precious.txt'), 'utf8'), 'keep me');
    for (const args of [['--rows', '0'], ['--rows', 'many'], ['extra'], ['--nope']]) {
      const c = capture(dir);
      assert.equal(await demoCommand.run(args, c.io), 2, args.join(' '));
      assert.match(c.out.stderr, /usage: restlake demo/);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('demo prepare writes sources and configs only; demo serve runs the platform with secrets from the environment', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-demo-prep-'));
  try {
    const p = capture(dir);
    assert.equal(await demoCommand.run(['prepare', '--dir', 'x', '--rows', '10'], p.io), 0, p.out.stderr);
    assert.match(p.out.stdout, /npx restlake run x\/pipelines\/demo_oauth2_password\.yaml/);
    await stat(join(dir, 'x', 'sources', 'orders.parquet'));
    await assert.rejects(stat(join(dir, 'x', 'demo_none')), 'no table written');

    const missing = capture(dir);
    assert.equal(await demoCommand.run(['serve'], missing.io), 2);
    assert.match(missing.out.stderr, /set DEMO_BASIC_PASSWORD, DEMO_BEARER_TOKEN, DEMO_CLIENT_SECRET, DEMO_USER_PASSWORD/);

    const { runDemoServe } = await import('./demo-serve.js');
    const env = { DEMO_BASIC_PASSWORD: 'basic-pass-7f3', DEMO_BEARER_TOKEN: 'bearer-tok-9a1', DEMO_CLIENT_SECRET: 'client-sec-2c8', DEMO_USER_PASSWORD: 'user-pass-5d4' };
    const s = capture(dir, env);
    let stop!: () => void;
    const done = runDemoServe(['--api-port', '0', '--oauth-port', '0'], s.io, new Promise<void>((r) => (stop = r)));
    while (!s.out.stdout.includes('OAuth2 server')) await new Promise((r) => setTimeout(r, 10));
    const api = /mock API\s+(\S+)/.exec(s.out.stdout)![1];
    const ok = await request(`${api}/v1/basic/score/1`, { headers: { authorization: 'Basic ' + Buffer.from('demo:basic-pass-7f3').toString('base64') } });
    assert.equal(ok.statusCode, 200);
    await ok.body.text();
    const bad = await request(`${api}/v1/bearer/score/1`, { headers: { authorization: 'Bearer wrong' } });
    assert.equal(bad.statusCode, 401);
    await bad.body.text();
    stop();
    assert.equal(await done, 0);
    assert.match(s.out.stdout, /served 2 requests/);
    for (const secret of Object.values(env)) assert.ok(!s.out.stdout.includes(secret) && !s.out.stderr.includes(secret), 'secrets are not printed');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C during the demo stops all five pipelines cleanly: committed rows all succeeded, exit 130', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-demo-int-'));
  try {
    const { io, out } = capture(dir);
    const listenersBefore = process.listenerCount('SIGINT');
    const done = demoCommand.run(['--rows', '20000', '--plain'], io);
    // Wait until every pipeline has reported progress (plain lines carry "ETA"), then interrupt.
    const deadline = Date.now() + 60_000;
    while (NAMES.some((n) => !new RegExp(`^${n} .*\\d/20,000 .*ETA`, 'm').test(out.stderr)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    process.emit('SIGINT');
    assert.equal(await done, 130, out.stderr);
    assert.match(out.stdout, /interrupted: what finished is committed/);
    let total = 0;
    for (const name of NAMES) {
      const [r] = await tableRows(join(dir, 'demo-lake', name), 'SELECT count(*)::INT AS n, coalesce(bool_and(success), true) AS ok FROM t');
      assert.equal(r.ok, true, name);
      assert.ok((r.n as number) < 20_000, `${name} stopped early (${r.n})`);
      total += r.n as number;
    }
    assert.ok(total > 0, 'what finished before the interrupt was committed');
    assert.equal(process.listenerCount('SIGINT'), listenersBefore, 'the demo removed its signal handler');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('`restlake demo` through the real CLI on a terminal: a live display redrawn in place, then the summary', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-demo-tty-'));
  const bin = fileURLToPath(new URL('../../bin/restlake.mjs', import.meta.url));
  try {
    // util-linux `script` gives the command a pseudo-terminal, as a person's shell would.
    const child = spawn('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} demo --rows 30`, '/dev/null'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TERM: 'xterm' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 0, out);
    assert.ok(out.includes('\x1b[5A'), 'the five progress lines are redrawn in place');
    assert.ok(out.includes('\x1b[?25l') && out.includes('\x1b[?25h'), 'the cursor is hidden while drawing and shown again');
    assert.match(out, /5 pipelines, 150 requests in/);
    for (const n of NAMES) assert.match(out, new RegExp(`${n}\\s+30\\s+30\\s+0\\s`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
