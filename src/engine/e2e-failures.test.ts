// Rows that cannot succeed each become one failed result row with the right
// error_class, and the run goes on. Rows are given in memory (runPipeline's `rows`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LocalStorage, registerStorageScheme } from '../delta/index.js';
import { RunError, runPipeline } from '../index.js';
import { queryTable, scoreReply, startTestServer, tempDir } from './e2e-support.js';

test('template, non-JSON body, body over the cap and host outside allowed_hosts each fail one row; the run continues', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer((req) => {
    if (req.url.startsWith('/text/')) return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'this is not json' };
    if (req.url.startsWith('/big/')) return { status: 200, body: JSON.stringify({ score: 1, pad: 'x'.repeat(5000) }) };
    return scoreReply(req);
  });
  try {
    const sink = join(tmp.dir, 'sink');
    const port = new URL(server.url).port;
    const good = Array.from({ length: 200 }, (_, i) => ({ id: i + 1, kind: 'items', host: '127.0.0.1', tag: 't' }));
    const rows = [
      ...good.slice(0, 100),
      { id: 1001, kind: 'items', host: '127.0.0.1' }, // no "tag": template error
      { id: 1002, kind: 'text', host: '127.0.0.1', tag: 't' }, // non-JSON body, extract configured
      { id: 1003, kind: 'big', host: '127.0.0.1', tag: 't' }, // over max_response_bytes
      { id: 1004, kind: 'items', host: 'localhost.invalid', tag: 't' }, // not an allowed host
      ...good.slice(100),
    ];
    const summary = await runPipeline(
      {
        version: 1,
        name: 'failures',
        request: {
          url: `http://{{ host }}:${port}/{{ kind }}/{{ id }}`,
          headers: { 'X-Tag': '{{ tag }}' },
          allowed_hosts: ['127.0.0.1'],
        },
        transport: { max_response_bytes: '1KB' },
        response: { extract: { score: { path: '$.score', type: 'double' } } },
        sink: { path: sink, source_columns: ['id', 'kind'] },
        execution: { workers: 1, concurrency: 8 },
      },
      { rows, key: ['id'] },
    );
    assert.equal(summary.rows, 204);
    assert.equal(summary.succeeded, 200);
    assert.equal(summary.failed, 4);
    const failed = await queryTable<{ id: number; error_class: string; success: boolean; error_message: string | null }>(
      sink,
      'SELECT id::INT AS id, error_class, success, error_message FROM t WHERE NOT success ORDER BY id',
    );
    assert.deepEqual(
      failed.map((f) => [f.id, f.error_class]),
      [
        [1001, 'template'],
        [1002, 'parse'], // extract configured, body is not JSON
        [1003, 'body_too_large'],
        [1004, 'host_not_allowed'],
      ],
    );
    assert.match(failed[0]?.error_message ?? '', /tag/);
    // Hosts outside allowed_hosts and template errors never reach the network.
    assert.equal(server.seen.filter((r) => /\/(items|text|big)\/100[14]/.test(r.url)).length, 0);
    assert.equal(server.count(), 202);
    const [sum] = await queryTable<{ n: number; truncated: number }>(sink, 'SELECT count(*)::INT AS n, count(*) FILTER (WHERE response_truncated)::INT AS truncated FROM t');
    assert.deepEqual(sum, { n: 204, truncated: 1 });
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

/**
 * A sink on local disk whose data-file uploads fail from the `failFrom`-th on: `times`
 * of them (then they work again), with `code`. Registered under its own URI scheme, so a
 * run in this process writes through it.
 */
class FailingUploads extends LocalStorage {
  // One object for this storage and the views of it a write uses (see forExistingTable).
  readonly seen = { uploads: 0, failures: [] as number[], recovered: null as number | null };
  constructor(dir: string, private readonly failFrom: number, private readonly times: number, private readonly code: string) {
    super(dir);
  }
  override async uploadLocal(localFile: string, relPath: string): Promise<void> {
    const seen = this.seen;
    seen.uploads++;
    if (seen.uploads >= this.failFrom && seen.failures.length < this.times) {
      seen.failures.push(Date.now());
      throw Object.assign(new Error(`${this.code}: simulated, rename '${localFile}' -> '${relPath}'`), { code: this.code });
    }
    if (seen.failures.length > 0 && seen.recovered === null) seen.recovered = Date.now();
    await super.uploadLocal(localFile, relPath);
  }
}

async function failingSinkRun(scheme: string, storage: (dir: string) => FailingUploads) {
  const tmp = await tempDir();
  const arrivals: number[] = [];
  const server = await startTestServer((req) => {
    arrivals.push(Date.now());
    return { ...scoreReply(req), delayMs: 3 };
  });
  const st = storage(join(tmp.dir, 'sink'));
  registerStorageScheme(scheme, () => st);
  const rows = Array.from({ length: 3000 }, (_, i) => ({ id: i + 1 }));
  // When the run said it paused sending, and that it went on.
  const said = { paused: null as number | null, resumed: null as number | null };
  const run = runPipeline(
    {
      version: 1,
      name: scheme,
      request: { url: `${server.url}/items/{{ id }}` },
      sink: { path: `${scheme}://sink`, source_columns: ['id'] },
      execution: { workers: 1, concurrency: 4, commit_rows: 100, commit_interval: '30s' },
    },
    {
      rows,
      key: ['id'],
      log: (level, message) => {
        if (level === 'warn' && /sending no new rows/.test(message)) said.paused ??= Date.now();
        if (/sending goes on/.test(message)) said.resumed ??= Date.now();
      },
    },
  );
  return { tmp, server, st, arrivals, said, run };
}

test('a commit that cannot succeed (read-only sink) is not retried, and sending stops at once', { timeout: 60_000 }, async () => {
  const { tmp, server, st, run } = await failingSinkRun('rlreadonly', (dir) => new FailingUploads(dir, 3, Infinity, 'EROFS'));
  try {
    await assert.rejects(run, (e: unknown) => {
      assert.ok(e instanceof RunError, String(e));
      assert.match(e.message, /^cannot commit to sink rlreadonly:\/\/sink: EROFS: simulated/);
      return true;
    });
    assert.equal(st.seen.failures.length, 1, 'one attempt: retrying a read-only sink cannot help');
    const [{ n }] = await queryTable<{ n: number }>(join(tmp.dir, 'sink'), 'SELECT count(*)::INT AS n FROM t');
    assert.ok(n >= 100, `${n} rows committed before the failure`);
    // Sent and not committed: the failed commit's rows (commit_rows and some), those
    // answered while it ran, those in flight; with three attempts, a second's more sending.
    assert.ok(server.count() - n <= 3 * 100 + 8, `${server.count() - n} requests sent for nothing`);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('while a failed commit waits for its retry no new row is sent; once it succeeds the run goes on', { timeout: 60_000 }, async () => {
  const { tmp, server, st, arrivals, said, run } = await failingSinkRun('rlflaky', (dir) => new FailingUploads(dir, 3, 1, 'EIO'));
  try {
    const summary = await run;
    assert.equal(summary.outcome, 'completed');
    assert.equal(st.seen.failures.length, 1);
    assert.ok(st.seen.recovered !== null && said.paused !== null && said.resumed !== null, JSON.stringify(said));
    const during = arrivals.filter((t) => t > said.paused! && t < said.resumed!).length;
    // Only rows the worker already held (2 x concurrency) may start meanwhile.
    assert.ok(during <= 8, `${during} requests sent while the commit was failing`);
    const [r] = await queryTable<{ n: number; ids: number }>(join(tmp.dir, 'sink'), 'SELECT count(*)::INT AS n, count(DISTINCT request_id)::INT AS ids FROM t');
    assert.deepEqual(r, { n: 3000, ids: 3000 });
    assert.equal(server.count(), 3000);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});
