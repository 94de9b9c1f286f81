import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startDriverServices } from './server.js';
import { createDriverClient } from '../worker/driver-client.js';
import { authIdOf } from '../auth/oauth2-identity.js';
import { RowError, RunError } from '../errors.js';
import { startOAuthServer, oauthAuthConfig, type OAuthServer } from '../testkit/oauth-server.js';
import type { WorkerProgress } from './progress.js';
import type { PipelineConfig } from '../config/types.js';

const SECRET = 'svc-client-secret-77aa';

async function withOAuth(fn: (s: OAuthServer) => Promise<void>): Promise<void> {
  const s = await startOAuthServer({ clients: [{ id: 'etl', secret: SECRET }], accessTokenLifetimeSec: 3600 });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

async function raw(url: string, path: string, authorization?: string, body?: unknown) {
  const res = await request(url + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: authorization ? { authorization, 'content-type': 'application/json' } : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

test('every route refuses a missing or wrong run secret (401) and serves the right one', async () => {
  await withOAuth(async (s) => {
    const auth = oauthAuthConfig(s, { grant: 'client_credentials', clientId: 'etl', clientSecret: SECRET });
    const svc = await startDriverServices({ auth: [auth], rateLimits: [{ requests_per_second: 10, burst: 5 }] });
    try {
      assert.match(svc.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const id = authIdOf(auth);
      const calls: Array<[string, unknown?]> = [
        ['/v1/health'],
        [`/v1/token?auth=${id}`],
        ['/v1/token/refresh', { auth: id, stale: 'x' }],
        ['/v1/permits', { key: '10/5', want: 1 }],
        ['/v1/backoff', { origin: 'http://a', pause_ms: 10 }],
        ['/v1/pauses'],
        ['/v1/progress', { worker: 'w', counts: { rows: 1 } }],
      ];
      const wrong = svc.secret.slice(0, -1) + (svc.secret.endsWith('A') ? 'B' : 'A');
      for (const [path, body] of calls) {
        for (const header of [undefined, `Bearer ${wrong}`, svc.secret, `Basic ${svc.secret}`]) {
          const r = await raw(svc.url, path, header, body);
          assert.equal(r.status, 401, `${path} with ${header === undefined ? 'no header' : 'a wrong header'}`);
          assert.ok(!JSON.stringify(r.json).includes('at_'), 'no token in a refusal');
        }
      }
      assert.equal(svc.stats().unauthorized, calls.length * 4);
      assert.equal(svc.stats().calls, 0);
      const ok = await raw(svc.url, `/v1/token?auth=${id}`, `Bearer ${svc.secret}`);
      assert.equal(ok.status, 200);
      assert.equal(await s.verify(ok.json.token as string), true);
      // A client with the wrong secret gets a classified error, not a token.
      const bad = createDriverClient(svc.url, wrong);
      await assert.rejects(bad.token(id), (e: unknown) => e instanceof RowError && e.code === 'RESTLAKE_DRIVER_SECRET');
      await bad.close();
    } finally {
      await svc.close();
    }
  });
});

test('start fails with RunError (and no server) when the credentials are wrong', async () => {
  await withOAuth(async (s) => {
    const auth = oauthAuthConfig(s, { grant: 'client_credentials', clientId: 'etl', clientSecret: 'nope-nope' });
    const err = await startDriverServices({ auth: [auth] }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof RunError);
    assert.equal(err.code, 'RESTLAKE_AUTH_FAILED');
    assert.ok(!err.message.includes('nope-nope'));
  });
});

test('tokens over HTTP: clients cache them; a burst of refreshes from 3 workers costs one grant', async () => {
  await withOAuth(async (s) => {
    const auth = oauthAuthConfig(s, { grant: 'client_credentials', clientId: 'etl', clientSecret: SECRET });
    const svc = await startDriverServices({ auth: [auth] });
    const clients = [0, 1, 2].map((i) => createDriverClient(svc.url, svc.secret, { workerId: `w${i}` }));
    try {
      const id = authIdOf(auth);
      const first = await Promise.all(clients.flatMap((c) => Array.from({ length: 20 }, () => c.token(id))));
      assert.equal(new Set(first).size, 1);
      const callsAfterFirst = svc.stats().calls;
      assert.ok(callsAfterFirst <= 3, `single-flight per client: ${callsAfterFirst} calls for 60 token() calls`);
      for (const c of clients) await c.token(id);
      assert.equal(svc.stats().calls, callsAfterFirst, 'served from the client cache');

      s.setLatency(50);
      const stale = first[0];
      const fresh = await Promise.all(clients.flatMap((c) => Array.from({ length: 30 }, () => c.refreshToken(id, stale))));
      assert.equal(new Set(fresh).size, 1);
      assert.notEqual(fresh[0], stale);
      assert.equal(s.stats().grants.client_credentials, 2, 'one grant at start, one for the whole burst');
      assert.equal(svc.stats().tokens[id].grants, 2);
      assert.equal(await s.verify(fresh[0]), true);
      // Unknown auth ids fail the row with error_class auth.
      await assert.rejects(clients[0].token('oauth2-unknown'), (e: unknown) => e instanceof RowError && e.errorClass === 'auth');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await svc.close();
    }
  });
});

test('an IdP outage past the deadline reaches workers as RowError auth, and they recover', async () => {
  await withOAuth(async (s) => {
    const auth = oauthAuthConfig(s, { grant: 'client_credentials', clientId: 'etl', clientSecret: SECRET, failureDeadlineMs: 500 });
    const svc = await startDriverServices({ auth: [auth], tokenOptions: { retryBaseMs: 50, retryMaxMs: 100 } });
    const c = createDriverClient(svc.url, svc.secret);
    try {
      const id = authIdOf(auth);
      const t = await c.token(id);
      s.setOutage({ status: 500 });
      const e = await c.refreshToken(id, t).then(() => null, (x: unknown) => x);
      assert.ok(e instanceof RowError);
      assert.equal(e.errorClass, 'auth');
      assert.match(e.message, /HTTP 500/);
      assert.ok(!e.message.includes(SECRET));
      s.setOutage(null);
      await new Promise((r) => setTimeout(r, 300));
      const t2 = await c.refreshToken(id, t);
      assert.equal(await s.verify(t2), true);
    } finally {
      await c.close();
      await svc.close();
    }
  });
});

test('progress: deltas from several workers are summed per worker and in total; onProgress sees them', async () => {
  const seen: WorkerProgress[] = [];
  const svc = await startDriverServices({ onProgress: (p) => seen.push(p) });
  const a = createDriverClient(svc.url, svc.secret, { workerId: 'a', progressFlushMs: 20 });
  const b = createDriverClient(svc.url, svc.secret, { workerId: 'b', progressFlushMs: 20 });
  try {
    for (let i = 0; i < 10; i++) a.reportProgress({ rows: 1, success: 1 });
    b.reportProgress({ rows: 5, 'failed:timeout': 2 });
    await a.flush();
    await b.close(); // close flushes
    await a.flush();
    const p = svc.stats().progress;
    assert.deepEqual(p.total, { rows: 15, success: 10, 'failed:timeout': 2 });
    assert.deepEqual(p.workers.a, { rows: 10, success: 10 });
    assert.deepEqual(p.workers.b, { rows: 5, 'failed:timeout': 2 });
    assert.deepEqual(seen.at(-1)?.total, p.total);
  } finally {
    await a.close();
    await svc.close();
  }
});

test('spark: a cluster master makes the services listen on every interface and advertise driver_host; local masters stay on loopback', async () => {
  const sparkConfig = (master: string, driver_host: string | null) =>
    ({ auth: { type: 'none' }, middleware: [], execution: { engine: 'spark', spark: { master, driver_host } } }) as unknown as PipelineConfig;
  const cluster = await startDriverServices({ config: sparkConfig('spark://master:7077', '127.0.0.2') });
  const local = await startDriverServices({ config: sparkConfig('local[2]', null) });
  try {
    assert.match(cluster.url, /^http:\/\/127\.0\.0\.2:\d+$/);
    // Reachable through an address other than the advertised one: it listens on all interfaces.
    const port = new URL(cluster.url).port;
    assert.equal((await raw(`http://127.0.0.3:${port}`, '/v1/health', `Bearer ${cluster.secret}`)).status, 200);
    assert.match(local.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await raw(local.url, '/v1/health', `Bearer ${local.secret}`)).status, 200);
    // Bound to 127.0.0.1 only: another loopback address is refused.
    await assert.rejects(raw(`http://127.0.0.3:${new URL(local.url).port}`, '/v1/health', `Bearer ${local.secret}`), /ECONNREFUSED/);
  } finally {
    await cluster.close();
    await local.close();
  }
});

test('backoff reports: the longest pause wins, it is capped, and the log never shows userinfo', async () => {
  const logs: string[] = [];
  const svc = await startDriverServices({ log: (_l, m) => logs.push(m) });
  try {
    const auth = `Bearer ${svc.secret}`;
    const origin = 'https://user:hunter2@api.example';
    assert.equal((await raw(svc.url, '/v1/backoff', auth, { origin, pause_ms: 2_000 })).status, 200);
    assert.equal((await raw(svc.url, '/v1/backoff', auth, { origin, pause_ms: 500 })).status, 200);
    const r = await raw(svc.url, '/v1/pauses', auth);
    const left = (r.json.pauses as Record<string, number>)[origin];
    assert.ok(left > 1_500 && left <= 2_000, `a shorter report does not shorten the pause: ${left}`);
    await raw(svc.url, '/v1/backoff', auth, { origin: 'http://b', pause_ms: 3_600_000 });
    assert.ok(svc.stats().pauses['http://b'] <= 5 * 60_000, 'capped at 5 minutes');
    assert.equal((await raw(svc.url, '/v1/backoff', auth, { origin: 'x' })).status, 400);
    assert.ok(logs.some((l) => l.includes('https://api.example')));
    assert.ok(!logs.join('\n').includes('hunter2'));
  } finally {
    await svc.close();
  }
});
