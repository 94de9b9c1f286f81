// The local engine starts its workers before it opens the source and the sink (see
// runLocal): a run that cannot open its source sends nothing and stops them quietly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RunError } from '../errors.js';
import { runPipeline } from '../index.js';
import { startOAuthServer } from '../testkit/oauth-server.js';
import { queryTable, startTestServer, tempDir } from './e2e-support.js';

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

test('the last commit waits for every result and gets the cores, even when the last result fills commit_rows', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  const logged: string[] = [];
  try {
    const rows = Array.from({ length: 300 }, (_, id) => ({ id }));
    const s = await runPipeline(
      {
        version: 1,
        name: 'last_commit',
        request: { url: `${server.url}/items/{{ id }}` },
        sink: { path: join(tmp.dir, 'sink') },
        // The 300th result makes commit_rows: it used to start the commit while the workers were still up.
        execution: { workers: 2, concurrency: 8, commit_rows: 300 },
      },
      { rows, log: (level, message) => logged.push(`${level}: ${message}`) },
    );
    assert.equal(s.rows, 300);
    assert.equal(s.commits, 1);
    const threads = Math.min(4, Math.max(1, availableParallelism()));
    const widened = logged.indexOf(`debug: the last commit runs on ${threads} DuckDB threads`);
    const committed = logged.findIndex((l) => /^debug: committed 300 rows/.test(l));
    assert.ok(widened >= 0 && committed > widened, logged.join('\n'));
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('a worker exits once its rows are answered, even when user middleware leaves a timer running', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    const mod = join(tmp.dir, 'ticker.mjs');
    // A cache refresher a user might write, without unref(): it would keep a process alive for good.
    await writeFile(mod, 'export default () => { setInterval(() => {}, 60_000); return async (ex, next) => { await next(); }; };\n');
    const s = await runPipeline(
      {
        version: 1,
        name: 'ticker',
        request: { url: `${server.url}/items/{{ id }}` },
        middleware: [{ type: 'module', path: mod }],
        sink: { path: join(tmp.dir, 'sink') },
        execution: { workers: 2, concurrency: 4 },
      },
      { rows: Array.from({ length: 20 }, (_, id) => ({ id })) },
    );
    assert.deepEqual([s.outcome, s.rows, s.succeeded, s.worker_restarts], ['completed', 20, 20, 0]);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test("a worker's last log lines reach the driver before the worker exits", { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  const logged: string[] = [];
  try {
    const rows = 200;
    await runPipeline(
      {
        version: 1,
        name: 'last_logs',
        request: { url: `${server.url}/items/{{ id }}` },
        // One info line per request, written by pino through an asynchronous stderr stream.
        middleware: [{ type: 'logging', level: 'info' }],
        sink: { path: join(tmp.dir, 'sink') },
        execution: { workers: 2, concurrency: 16 },
      },
      { rows: Array.from({ length: rows }, (_, id) => ({ id })), log: (level, message) => logged.push(`${level}: ${message}`) },
    );
    const requestLines = logged.filter((l) => /^info: worker \d+: request /.test(l));
    assert.equal(requestLines.length, rows, logged.slice(0, 5).join('\n'));
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('a middleware module that cannot start stops the run with its reason: no restarts, no failed rows, no table', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    const mod = join(tmp.dir, 'needs-option.mjs');
    await writeFile(mod, "export default (opts) => { if (!opts.region) throw new Error('option \"region\" is required'); return (ex, next) => next(); };\n");
    const sink = join(tmp.dir, 'sink');
    await assert.rejects(
      runPipeline(
        {
          version: 1,
          name: 'broken_module',
          request: { url: `${server.url}/items/{{ id }}` },
          middleware: [{ type: 'module', path: mod }],
          sink: { path: sink },
          execution: { workers: 2, concurrency: 4 },
        },
        { rows: Array.from({ length: 50 }, (_, id) => ({ id })) },
      ),
      (e: unknown) => {
        assert.ok(e instanceof RunError, String(e));
        assert.equal(e.message, `a worker could not start: middleware module ${mod}: factory "default" threw: option "region" is required`);
        return true;
      },
    );
    assert.equal(server.count(), 0);
    assert.equal(existsSync(sink), false, 'nothing committed');
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('a module that quotes a secret when it cannot start: redacted in the run error and the workers\' log lines', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  const secret = 'sig-secret-4242';
  // An OAuth2 client secret: workers never hold it, not even in the environment they
  // inherit from the driver (which keeps everything else).
  const clientSecret = 'oauth-client-secret-77';
  const idp = await startOAuthServer({ clients: [{ id: 'etl', secret: clientSecret }] });
  process.env.RESTLAKE_TEST_CLIENT_SECRET = clientSecret;
  process.env.RESTLAKE_TEST_OTHER = 'kept-for-middleware';
  try {
    // A factory quoting its option, and a module whose top level quotes what it read.
    const factory = join(tmp.dir, 'factory.mjs');
    await writeFile(factory, "export default (o) => { throw new Error('bad signing key ' + o.secret); };\n");
    const topLevel = join(tmp.dir, 'top-level.mjs');
    await writeFile(topLevel, `throw new Error('no key like ${secret} here');\n`);
    const fromEnv = join(tmp.dir, 'from-env.mjs');
    await writeFile(fromEnv, `throw new Error(\`env has \${process.env.RESTLAKE_TEST_CLIENT_SECRET} and \${process.env.RESTLAKE_TEST_OTHER} (${secret})\`);\n`);
    for (const mod of [factory, topLevel, fromEnv]) {
      const logged: string[] = [];
      const err = await runPipeline(
        {
          version: 1,
          name: 'secret_module',
          request: { url: `${server.url}/items/{{ id }}` },
          middleware: [{ type: 'module', path: mod, options: { secret } }],
          ...(mod === fromEnv ? { auth: { type: 'oauth2_client_credentials', token_url: idp.tokenUrl, client_id: 'etl', client_secret: clientSecret } } : {}),
          sink: { path: join(tmp.dir, 'sink') },
          execution: { workers: 2, concurrency: 1 },
        },
        { rows: [{ id: 1 }], log: (level, message) => logged.push(`${level}: ${message}`) },
      ).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof RunError, String(err));
      assert.match(err.message, /^a worker could not start: .*\[REDACTED\]/);
      if (mod === fromEnv) assert.match(err.message, /: env has undefined and kept-for-middleware \(\[REDACTED\]\)$/);
      assert.ok(logged.some((l) => l.includes('cannot start')), logged.join('\n'));
      for (const text of [err.message, ...logged]) assert.ok(!text.includes(secret) && !text.includes(clientSecret), text);
    }
    assert.equal(server.count(), 0);
  } finally {
    delete process.env.RESTLAKE_TEST_CLIENT_SECRET;
    delete process.env.RESTLAKE_TEST_OTHER;
    await idp.close();
    await server.close();
    await tmp.cleanup();
  }
});

test('when workers keep dying, the results already in hand are committed before the run fails', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    const mod = join(tmp.dir, 'dies.mjs');
    // Each worker answers some rows, then is killed (as by the OOM killer) while it holds more.
    await writeFile(mod, "let n = 0; export default () => async (ex, next) => { if (++n === 30) setTimeout(() => process.kill(process.pid, 'SIGKILL'), 100); await next(); };\n");
    const sink = join(tmp.dir, 'sink');
    await assert.rejects(
      runPipeline(
        {
          version: 1,
          name: 'dying',
          request: { url: `${server.url}/items/{{ id }}` },
          middleware: [{ type: 'module', path: mod }],
          sink: { path: sink },
          execution: { workers: 1, concurrency: 2 },
        },
        { rows: Array.from({ length: 2000 }, (_, id) => ({ id })) },
      ),
      /worker processes keep dying/,
    );
    const [r] = await queryTable<{ ok: number }>(sink, 'SELECT count(*) FILTER (WHERE success)::INT AS ok FROM t');
    // Four workers answered ~29 rows each before they died; before, none of it was kept.
    assert.ok((r?.ok ?? 0) >= 60, `committed ${r?.ok} successes`);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('integers beyond 2^53 in the source are sent and recorded digit for digit', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    const csv = join(tmp.dir, 'big.csv');
    await writeFile(csv, 'id\n1234567890123456789\n9007199254740993\n42\n');
    const sink = join(tmp.dir, 'sink');
    const s = await runPipeline({
      version: 1,
      name: 'wide_ids',
      source: { path: csv, key: ['id'] },
      request: { method: 'POST', url: `${server.url}/items/{{ id }}`, body: { json: { id: '{{ id }}' } } },
      sink: { path: sink, source_columns: ['id'] },
      execution: { workers: 1, concurrency: 2 },
    });
    assert.equal(s.succeeded, 3);
    // Before, JSON.parse in the worker sent /items/1234567890123456800 and /items/9007199254740992.
    assert.deepEqual(server.seen.map((r) => r.url).sort(), ['/items/1234567890123456789', '/items/42', '/items/9007199254740993']);
    // A body value that is the whole placeholder keeps the column's type: a number, every row.
    assert.deepEqual(server.seen.map((r) => r.body).sort(), ['{"id":1234567890123456789}', '{"id":42}', '{"id":9007199254740993}']);
    const rows = await queryTable<{ id: string; t: string }>(sink, 'SELECT CAST(id AS VARCHAR) AS id, typeof(id) AS t FROM t ORDER BY id');
    assert.deepEqual(rows, [
      { id: '1234567890123456789', t: 'BIGINT' },
      { id: '42', t: 'BIGINT' },
      { id: '9007199254740993', t: 'BIGINT' },
    ]);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});
