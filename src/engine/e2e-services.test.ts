// The local engine with driver services: OAuth2 tokens come from the driver's token
// service (workers never see the client secret), and rate_limit holds across workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runPipeline } from '../index.js';
import { RunError } from '../errors.js';
import { startOAuthServer } from '../testkit/oauth-server.js';
import { queryTable, scoreReply, startTestServer, tempDir } from './e2e-support.js';

async function ids(dir: string, n: number): Promise<string> {
  const path = join(dir, 'ids.csv');
  await writeFile(path, ['id', ...Array.from({ length: n }, (_, i) => String(i + 1))].join('\n') + '\n');
  return path;
}

test('oauth2 client credentials: one token for the whole run, workers never hold the secret; wrong credentials stop the run before any request', { timeout: 90_000 }, async () => {
  const tmp = await tempDir();
  const secret = 'client-secret-do-not-leak-42';
  const oauth = await startOAuthServer({ clients: [{ id: 'etl', secret, grants: ['client_credentials'] }] });
  const api = await startTestServer(async (req) => {
    const auth = String(req.headers.authorization ?? '');
    const ok = auth.startsWith('Bearer ') && (await oauth.verify(auth.slice(7)));
    return ok ? scoreReply(req) : { status: 401, body: '{"error":"unauthorized"}' };
  });
  try {
    const n = 2000;
    const source = await ids(tmp.dir, n);
    const sink = join(tmp.dir, 'sink');
    const config = (clientSecret: string) => ({
      version: 1,
      name: 'oauth_e2e',
      source: { path: source, key: ['id'] },
      request: { url: `${api.url}/items/{{ id }}` },
      auth: { type: 'oauth2_client_credentials', token_url: oauth.tokenUrl, client_id: 'etl', client_secret: clientSecret },
      sink: { path: sink, source_columns: ['id'] },
      execution: { workers: 2, concurrency: 16 },
    });
    const s = await runPipeline(config(secret));
    assert.equal(s.succeeded, n);
    assert.ok(oauth.stats().grants.client_credentials <= 2, `grants: ${oauth.stats().grants.client_credentials}`);
    const tokens = oauth.issuedTokens();
    const [leaks] = await queryTable<{ n: number }>(
      sink,
      `SELECT count(*)::INT AS n FROM t WHERE concat_ws('|', request_headers, url, response_body, error_message) SIMILAR TO '.*(${[secret, ...tokens].join('|')}).*'`,
    );
    assert.equal(leaks?.n, 0, 'no secret or token in the sink');

    const before = api.count();
    await assert.rejects(runPipeline({ ...config('wrong-secret'), name: 'oauth_e2e_bad' }), (e: unknown) => e instanceof RunError);
    assert.equal(api.count(), before, 'nothing sent with bad credentials');
  } finally {
    await api.close();
    await oauth.close();
    await tmp.cleanup();
  }
});

test('rate_limit holds across two workers (at least the configured time)', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const times: number[] = [];
  const api = await startTestServer((req) => {
    times.push(Date.now());
    return scoreReply(req);
  });
  try {
    const n = 300;
    const source = await ids(tmp.dir, n);
    const s = await runPipeline({
      version: 1,
      name: 'rate_e2e',
      source: { path: source, key: ['id'] },
      request: { url: `${api.url}/items/{{ id }}` },
      middleware: [{ type: 'rate_limit', requests_per_second: 100, burst: 10 }],
      sink: { path: join(tmp.dir, 'sink') },
      execution: { workers: 2, concurrency: 32 },
    });
    assert.equal(s.succeeded, n);
    assert.equal(api.count(), n);
    // 300 requests at 100/s with a burst of 10 span at least 2.9 s whatever the worker count.
    const span = Math.max(...times) - Math.min(...times);
    assert.ok(span >= 2500, `requests spanned ${span} ms`);
  } finally {
    await api.close();
    await tmp.cleanup();
  }
});
