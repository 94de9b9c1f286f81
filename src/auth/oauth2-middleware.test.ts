import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { request } from 'undici';
import { oauth2Middleware } from './oauth2-middleware.js';
import { authConfigForWorkers } from './oauth2-identity.js';
import { startDriverServices } from '../services/server.js';
import { createDriverClient, type DriverClient } from '../worker/driver-client.js';
import { startOAuthServer, oauthAuthConfig } from '../testkit/oauth-server.js';
import { startMockApi } from '../testkit/mock-api.js';
import { RestlakeError } from '../errors.js';
import type { DriverServices, Exchange, Middleware, MiddlewareRuntime } from '../middleware/types.js';
import { testExchange } from '../middleware/testing.js';
import { memoryDriver, mostIn, testRuntime } from '../middleware/test-support.js';
import { createRowProcessor } from '../request/execute.js';
import { testConfig } from '../request/test-support.js';
import { httpServer } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { buildChain } from '../middleware/index.js';

const SECRET = 'mw-client-secret-5c5c';

function runtime(driver: DriverServices | null): MiddlewareRuntime {
  return { logger: pino({ level: 'silent' }), runId: 'r', pipeline: 'p', compileTemplate: (s) => () => s, driver, secrets: [] };
}

/** One exchange through [auth, a real HTTP send], the way the innermost handler runs it. */
async function send(mw: Middleware, url: string): Promise<Exchange> {
  const ex = testExchange(url);
  await mw(ex, async () => {
    ex.attempts++;
    const res = await request(ex.request.url, { method: ex.request.method, headers: ex.request.headers });
    ex.response = { status: res.statusCode, headers: {}, body: await res.body.text(), truncated: false };
  });
  return ex;
}

async function platform(opts: { failureDeadlineMs?: number; refuseAll?: boolean } = {}) {
  const oauth = await startOAuthServer({ clients: [{ id: 'etl', secret: SECRET }], accessTokenLifetimeSec: 3600 });
  const api = await startMockApi({ verifyToken: async (t) => !opts.refuseAll && (await oauth.verify(t)) });
  const auth = oauthAuthConfig(oauth, { grant: 'client_credentials', clientId: 'etl', clientSecret: SECRET, failureDeadlineMs: opts.failureDeadlineMs });
  const svc = await startDriverServices({ auth: [auth], tokenOptions: { retryBaseMs: 20, retryMaxMs: 50 } });
  const clients: DriverClient[] = [0, 1, 2].map((i) => createDriverClient(svc.url, svc.secret, { workerId: `w${i}` }));
  // Workers get the config without the secret, exactly as the engine ships it.
  const workerAuth = authConfigForWorkers(auth);
  const mws = await Promise.all(clients.map((c) => oauth2Middleware(workerAuth, runtime(c))));
  return {
    oauth,
    api,
    svc,
    mws,
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      await svc.close();
      await api.close();
      await oauth.close();
    },
  };
}

test('workers send the shared token; after the IdP expires it, a burst of 401s costs one grant and each request one retry', async () => {
  const p = await platform();
  try {
    const url = `${p.api.url}/v1/oauth2/score/`;
    const first = await Promise.all(Array.from({ length: 30 }, (_, i) => send(p.mws[i % 3], url + i)));
    for (const ex of first) {
      assert.equal(ex.response?.status, 200);
      assert.equal(ex.attempts, 1);
    }
    assert.equal(p.oauth.stats().grants.client_credentials, 1, 'one token for every worker');

    assert.ok(p.oauth.expireAccessTokens() >= 1);
    const burst = await Promise.all(Array.from({ length: 60 }, (_, i) => send(p.mws[i % 3], url + i)));
    for (const ex of burst) {
      assert.equal(ex.response?.status, 200, JSON.stringify(ex.error));
      assert.equal(ex.attempts, 2, 'the 401 attempt and its retry');
      assert.equal(ex.error, null);
    }
    assert.equal(p.oauth.stats().grants.client_credentials, 2, 'the whole burst cost one grant');
    assert.equal(p.api.stats().byAuth.oauth2.rejected, 60);

    // Afterwards the new token is cached by every worker: no more 401s, no more grants.
    const after = await Promise.all(Array.from({ length: 30 }, (_, i) => send(p.mws[i % 3], url + i)));
    assert.ok(after.every((ex) => ex.response?.status === 200 && ex.attempts === 1));
    assert.equal(p.oauth.stats().grants.client_credentials, 2);
  } finally {
    await p.close();
  }
});

test('an API that refuses every token (wrong audience): one forced refresh, then the 401s stand without new grants or resends', async () => {
  const p = await platform({ refuseAll: true });
  try {
    const url = `${p.api.url}/v1/oauth2/score/`;
    const first = await Promise.all(Array.from({ length: 30 }, (_, i) => send(p.mws[i % 3], url + i)));
    assert.ok(first.every((ex) => ex.response?.status === 401 && ex.attempts === 2), 'the first burst retries with a new token');
    assert.equal(p.oauth.stats().grants.client_credentials, 2);
    // That new token is refused too: further bursts keep it, and their 401 is final.
    for (let burst = 0; burst < 3; burst++) {
      const more = await Promise.all(Array.from({ length: 30 }, (_, i) => send(p.mws[i % 3], url + i)));
      for (const ex of more) {
        assert.equal(ex.response?.status, 401);
        assert.equal(ex.attempts, 1, 'not sent again with the token the API just refused');
        assert.equal(ex.error, null);
      }
    }
    assert.equal(p.oauth.stats().grants.client_credentials, 2, 'no grant per burst');
    assert.equal(p.api.stats().byAuth.oauth2.rejected, 60 + 90);
  } finally {
    await p.close();
  }
});

test('when no new token can be had within the deadline, the row ends with error_class auth (no secret in it)', async () => {
  const p = await platform({ failureDeadlineMs: 300 });
  try {
    const url = `${p.api.url}/v1/oauth2/echo`;
    assert.equal((await send(p.mws[0], url)).response?.status, 200);
    p.oauth.expireAccessTokens();
    p.oauth.setOutage({ status: 503 });
    const ex = await send(p.mws[1], url);
    assert.equal(ex.response, null);
    assert.equal(ex.error?.errorClass, 'auth');
    assert.equal(ex.attempts, 1);
    assert.ok(!ex.error!.message.includes(SECRET));
  } finally {
    await p.close();
  }
});

test('oauth2Middleware refuses non-OAuth2 auth and a worker without a driver', async () => {
  assert.throws(() => oauth2Middleware({ type: 'bearer', token: 't' }, runtime(null)), (e: unknown) => e instanceof RestlakeError && e.code === 'RESTLAKE_AUTH_TYPE');
  const auth = oauthAuthConfig({ tokenUrl: 'http://127.0.0.1:1/token' }, { grant: 'client_credentials', clientId: 'x', clientSecret: null });
  assert.throws(() => oauth2Middleware(auth, runtime(null)), (e: unknown) => e instanceof RestlakeError && e.code === 'RESTLAKE_AUTH_NO_DRIVER');
});

// The worker's config never holds an OAuth2 access token: each is learned from the
// driver at run time, and must be redacted from then on (an API echoing the request
// would otherwise put it in response_body), the old one and the one after rotation.
test('every access token the worker sends is redacted from echoed responses, across a rotation', async () => {
  const tokens = ['access-token-one-1f1f1f', "access-token-two-2e2e'2e"];
  let valid = tokens[0];
  const srv = await httpServer((req, res) => {
    const got = req.headers.authorization ?? '';
    res.statusCode = got === `Bearer ${valid}` ? 200 : 401;
    res.setHeader('x-echo', got);
    res.end(JSON.stringify({ got, b64: Buffer.from(got.slice(7)).toString('base64'), q: encodeURIComponent(got.slice(7)) }));
  });
  let issued = tokens[0];
  const driver = { ...memoryDriver(), token: async () => issued, refreshToken: async (_id: string, stale: string) => (stale === issued ? (issued = tokens[1]) : issued) };
  const auth = authConfigForWorkers(oauthAuthConfig({ tokenUrl: 'http://127.0.0.1:1/token' }, { grant: 'client_credentials', clientId: 'etl', clientSecret: SECRET }));
  const config = testConfig({ request: { url: `${srv.url}/echo`, allowed_hosts: [`127.0.0.1:${srv.port}`] }, auth });
  const transport = createTransport(config.transport);
  try {
    const process = await createRowProcessor(config, testRuntime({ driver }), transport);
    const first = await process({}, 'r1');
    valid = tokens[1]; // the API stops taking the first token: 401, refresh, retry with the second
    const second = await process({}, 'r2');
    assert.deepEqual([first.success, first.attempts, second.success, second.attempts], [true, 1, true, 2]);
    const text = JSON.stringify([first, second]);
    for (const t of tokens) {
      for (const form of [t, Buffer.from(t).toString('base64'), encodeURIComponent(t)]) assert.ok(!text.includes(form), `${form} leaked in ${text}`);
    }
    assert.match(second.response_body!, /"got":"Bearer \[REDACTED\]"/);
  } finally {
    await transport.close();
    await srv.close();
  }
});

// A slow identity provider and a tight rate limit: the rows waiting for a token hold no
// rate-limit permit, so they do not all go when it comes; a row whose token goes stale
// while it waits for its permit waits for the new one holding none.
for (const order of ['retry-first', 'rl-first'] as const) {
  test(`a slow token refresh under a rate limit (${order}): the API never sees more than the limit`, { timeout: 30_000 }, async () => {
    const RATE = 10;
    const BURST = 2;
    const oauth = await startOAuthServer({ clients: [{ id: 'etl', secret: SECRET }], accessTokenLifetimeSec: 3600 });
    const auth = oauthAuthConfig(oauth, { grant: 'client_credentials', clientId: 'etl', clientSecret: SECRET });
    const sends: number[] = [];
    const api = await httpServer(async (req, res) => {
      sends.push(Date.now());
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      res.statusCode = token !== undefined && (await oauth.verify(token)) ? 200 : 401;
      res.end();
    });
    const rl = { type: 'rate_limit' as const, requests_per_second: RATE, burst: BURST, per_origin: false };
    const re = { type: 'retry' as const, max_attempts: 3, base_delay_ms: 50, max_delay_ms: 200, statuses: [500], on_network_error: true };
    const config = testConfig({ request: { url: api.url + '/' }, auth, middleware: order === 'rl-first' ? [rl, re] : [re, rl] });
    config.execution.concurrency = 16;
    const svc = await startDriverServices({ config });
    const client = createDriverClient(svc.url, svc.secret);
    const transport = createTransport(config.transport);
    try {
      const chain = await buildChain({ ...config, auth: authConfigForWorkers(auth) }, testRuntime({ driver: client }), transport);
      oauth.setLatency(1500); // every token request now takes 1.5 s
      setTimeout(() => oauth.expireAccessTokens(), 800); // and the token in use is revoked
      let next = 0;
      const rows: Exchange[] = [];
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < 40) {
            const ex = testExchange(`${api.url}/row${next++}`);
            rows.push(ex);
            await chain(ex);
          }
        }),
      );
      assert.ok(rows.every((ex) => ex.response?.status === 200), 'every row got through');
      assert.equal(oauth.stats().grants.client_credentials, 2, 'one new token');
      // Permits allow BURST at once and RATE a second (+2 for timer jitter; rl-first: the
      // resend after a 401 takes none).
      const perSecond = mostIn(sends, 1000);
      const per200 = mostIn(sends, 200);
      assert.ok(perSecond <= RATE + BURST + 2, `${perSecond} requests in one second`);
      assert.ok(per200 <= BURST + RATE / 5 + 2, `${per200} requests in 200 ms`);
    } finally {
      await transport.close();
      await client.close();
      await svc.close();
      await api.close();
      await oauth.close();
    }
  });
}
