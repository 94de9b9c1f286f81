// The worker entrypoint as Spark runs it: a job file, JSON rows on stdin, one result
// line per row on stdout, whatever the row looks like.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import { requestIdOf } from '../request/request-id.js';
import { scoreReply, startTestServer, tempDir } from '../engine/e2e-support.js';
import { parseResultHead } from './result.js';
import type { WorkerJob } from './types.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
// The one file Spark ships to executors (scripts/build-worker-bundle.mjs).
const BUNDLE = fileURLToPath(new URL('../restlake-worker.mjs', import.meta.url));

function runWorker(jobPath: string, input: string, script = MAIN): Promise<{ code: number | null; out: string[]; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, jobPath], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => resolve({ code, out: out.split('\n').filter(Boolean), err }));
    child.stdin.end(input);
  });
}

test('worker: one result line per input line — sent ids kept, missing ids computed from the key, bad JSON a failed row', { timeout: 30_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    const config = await loadConfig({
      version: 1,
      name: 'worker_main',
      source: { path: join(tmp.dir, 'unused.csv'), format: 'csv', key: ['id'] },
      request: { url: `${server.url}/items/{{ id }}`, query: { n: '{{ name }}' } },
      response: { extract: { score: { path: '$.score', type: 'double' } } },
      sink: { path: join(tmp.dir, 'sink'), source_columns: ['id', 'name'] },
    });
    const job: WorkerJob = { version: 1, run_id: 'run-w', config, driver: null };
    const jobPath = join(tmp.dir, 'job.json');
    await writeFile(jobPath, JSON.stringify(job));
    const sentId = 'a'.repeat(64);
    const input = [
      JSON.stringify({ _request_id: sentId, id: 1, name: 'x' }),
      JSON.stringify({ id: 2, name: 'y' }),
      '{"_request_id":"' + 'b'.repeat(64) + '", "id": 3, broken',
      '',
      JSON.stringify({ id: 4 }), // no "name": template error
    ].join('\n');
    const r = await runWorker(jobPath, input + '\n');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.length, 4, r.out.join('\n'));
    const byId = new Map(r.out.map((l) => [parseResultHead(l)!.requestId, JSON.parse(l) as Record<string, unknown>]));
    const one = byId.get(sentId);
    assert.deepEqual([one?.success, one?.status_code, one?.score, one?.id, one?.name, one?.run_id], [true, 200, 1.5, 1, 'x', 'run-w']);
    const two = byId.get(requestIdOf('worker_main', [2]));
    assert.equal(two?.success, true, 'request_id computed from the key when the row carries none');
    const broken = byId.get('b'.repeat(64));
    assert.deepEqual([broken?.success, broken?.error_class], [false, 'template']);
    const four = byId.get(requestIdOf('worker_main', [4]));
    assert.deepEqual([four?.success, four?.error_class], [false, 'template']);
    assert.equal(server.count(), 2);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('worker: a missing or bad job file exits 2 with one line', async () => {
  const tmp = await tempDir();
  try {
    const bad = join(tmp.dir, 'job.json');
    await writeFile(bad, '{"version": 7}');
    const r = await runWorker(bad, '');
    assert.equal(r.code, 2);
    assert.match(r.err, /not a restlake worker job/);
    const none = await runWorker(join(tmp.dir, 'nope.json'), '');
    assert.equal(none.code, 2);
  } finally {
    await tmp.cleanup();
  }
});

test("a worker loads undici's Agent file, not its whole index, unless the run has driver services", { timeout: 30_000 }, async () => {
  // undici's index (fetch, WebSocket, caches, mocks) costs ~60 ms at every worker start.
  const runtime = new URL('./runtime.js', import.meta.url).href;
  const script = `
    import { createRequire } from 'node:module';
    const { createWorkerRuntime } = await import(${JSON.stringify(runtime)});
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => /undici[\\\\/]index\\.js$/.test(k));
    const job = JSON.parse(process.argv[1]);
    const rt = await createWorkerRuntime(job);
    const without = loaded();
    await rt.close();
    const rt2 = await createWorkerRuntime({ ...job, driver: { url: 'http://127.0.0.1:9', secret: 's' } });
    console.log(JSON.stringify({ without, with: loaded() }));
    await rt2.close();
  `;
  const config = await loadConfig({ version: 1, name: 'undici_load', request: { url: 'http://127.0.0.1:9/{{ id }}' }, sink: { path: '/tmp/x' } }, { allowNoSource: true });
  const job: WorkerJob = { version: 1, run_id: 'r1', config, driver: null };
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}: ${err}`))));
  });
  assert.deepEqual(JSON.parse(out.trim().split('\n').at(-1) ?? '{}'), { without: false, with: true });
});

// A user module imports RowError from its own copy of restlake (a bundle on Spark
// executors carries its own, a project may install its own): the row still fails with
// the error's class, under the worker as Spark ships it and as the local engine runs it.
test('a RowError thrown by module middleware keeps its class in the worker bundle as in dist', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    const publicApi = new URL('../middleware/index.js', import.meta.url).href;
    const mod = join(tmp.dir, 'deny.mjs');
    await writeFile(
      mod,
      `import { RowError } from ${JSON.stringify(publicApi)};
export default () => async (ex, next) => {
  if (ex.row.id === 1) throw new RowError('auth', 'DENIED', 'no entry for 1');
  if (ex.row.id === 2) { ex.error = new RowError('rate_limited', 'SLOW_DOWN', 'not now'); return; }
  await next();
};
`,
    );
    const config = await loadConfig({
      version: 1,
      name: 'module_errors',
      source: { path: join(tmp.dir, 'unused.csv'), format: 'csv', key: ['id'] },
      request: { url: `${server.url}/items/{{ id }}` },
      middleware: [{ type: 'module', path: mod }],
      sink: { path: join(tmp.dir, 'sink'), source_columns: ['id'] },
    });
    const jobPath = join(tmp.dir, 'job.json');
    await writeFile(jobPath, JSON.stringify({ version: 1, run_id: 'run-m', config, driver: null } satisfies WorkerJob));
    const input = [1, 2, 3].map((id) => JSON.stringify({ id })).join('\n') + '\n';
    for (const script of [MAIN, BUNDLE]) {
      const r = await runWorker(jobPath, input, script);
      assert.equal(r.code, 0, r.err);
      const byId = new Map(r.out.map((l) => [(JSON.parse(l) as { id: number }).id, JSON.parse(l) as Record<string, unknown>]));
      const got = [1, 2, 3].map((id) => [byId.get(id)?.error_class, byId.get(id)?.error_message]);
      assert.deepEqual(got, [['auth', 'no entry for 1'], ['rate_limited', 'not now'], [null, null]], script);
    }
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

// Under Spark a worker's stderr is the executor's log, which nothing else redacts: what
// user middleware logs through runtime.logger must come out scrubbed from the worker itself.
test('runtime.logger scrubs what middleware logs in the worker itself: credentials, sensitive headers, secrets (bundle and dist)', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    const mod = join(tmp.dir, 'audit.mjs');
    await writeFile(
      mod,
      `export function audit(options, runtime) {
  return async (ex, next) => {
    await next();
    const h = ex.request.headers;
    runtime.logger.child({ middleware: 'audit' }).warn(
      { headers: h, nested: { 'Set-Cookie': ['a=1', 'b="2"'], 'Proxy-Authorization': 'Basic eA==' }, options, note: 'sent ' + h.authorization },
      'audit ' + options.signing_secret,
    );
  };
}
`,
    );
    const token = 'static-Bearer-T0ken';
    const config = await loadConfig(
      {
        version: 1,
        name: 'worker_logger',
        request: { url: `${server.url}/items/{{ id }}`, headers: { 'X-Api-Key': 'k', 'X-Signature': 'sig-123', 'X-Trace': 'trace-1' } },
        auth: { type: 'bearer', token },
        middleware: [{ type: 'module', path: mod, export: 'audit', options: { signing_secret: 's1gning-"secret"-value' } }],
        sink: { path: join(tmp.dir, 'sink'), redact_headers: ['X-Signature'] },
      },
      { allowNoSource: true },
    );
    const jobPath = join(tmp.dir, 'job.json');
    await writeFile(jobPath, JSON.stringify({ version: 1, run_id: 'run-l', config, driver: null } satisfies WorkerJob));
    for (const script of [MAIN, BUNDLE]) {
      const r = await runWorker(jobPath, JSON.stringify({ id: 1 }) + '\n', script);
      assert.equal(r.code, 0, r.err);
      const line = r.err.split('\n').find((l) => l.includes('"middleware":"audit"'));
      const logged = JSON.parse(line ?? '{}') as Record<string, unknown>;
      assert.deepEqual(
        { headers: logged.headers, nested: logged.nested, options: logged.options, note: logged.note, msg: logged.msg },
        {
          headers: { 'x-api-key': '[REDACTED]', 'x-signature': '[REDACTED]', 'x-trace': 'trace-1', authorization: '[REDACTED]' },
          nested: { 'Set-Cookie': '[REDACTED]', 'Proxy-Authorization': '[REDACTED]' },
          options: { signing_secret: '[REDACTED]' },
          note: 'sent Bearer [REDACTED]',
          msg: 'audit [REDACTED]',
        },
        `${script}: ${r.err}`,
      );
      assert.ok(!r.err.includes(token) && !r.err.includes('secret"-value'), r.err);
    }
    assert.equal(server.count(), 2);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});
