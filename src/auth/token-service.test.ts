import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { REFUSED_REFRESH_INTERVAL_MS, TokenService } from './token-service.js';
import { RowError, RunError } from '../errors.js';
import { OAuth2TokenError } from './oauth2-client.js';
import { startOAuthServer, oauthAuthConfig, type OAuthServer } from '../testkit/oauth-server.js';

const SECRET = 'ts-client-secret-9f8e';
const PASSWORD = 'ts-user-password-1a2b';

/** Token services a test made; closed even when the test fails, so no retry loop outlives it. */
const open = new Set<TokenService>();
function track(ts: TokenService): TokenService {
  open.add(ts);
  return ts;
}

async function withServer(fn: (s: OAuthServer) => Promise<void>, lifetimeSec = 3600): Promise<void> {
  const s = await startOAuthServer({
    clients: [{ id: 'etl', secret: SECRET }],
    users: [{ username: 'bob', password: PASSWORD }],
    accessTokenLifetimeSec: lifetimeSec,
  });
  try {
    await fn(s);
  } finally {
    for (const ts of open) ts.close();
    open.clear();
    await s.close();
  }
}

const cc = (s: Pick<OAuthServer, 'tokenUrl'>, over: Parameters<typeof oauthAuthConfig>[1] | object = {}) =>
  oauthAuthConfig(s, { grant: 'client_credentials', clientId: 'etl', clientSecret: SECRET, ...over });

function assertClean(text: string): void {
  for (const secret of [SECRET, PASSWORD, 'not-the-secret', 'not-the-password']) assert.ok(!text.includes(secret), `leaked ${secret}`);
}

test('single-flight: a burst of 100 refreshIfStill(stale) costs one grant and all get the same new token', async () => {
  await withServer(async (s) => {
    const ts = track(new TokenService(cc(s)));
    await ts.start();
    const first = await ts.token();
    s.setLatency(100); // the grant is slow, so the burst really overlaps it
    const results = await Promise.all(Array.from({ length: 100 }, () => ts.refreshIfStill(first.token)));
    const tokens = new Set(results.map((r) => r.token));
    assert.equal(tokens.size, 1);
    assert.ok(!tokens.has(first.token));
    assert.equal(ts.stats().grants, 2);
    assert.equal(s.stats().grants.client_credentials, 2);
    // A late 401 with the old token does not refresh again.
    assert.equal((await ts.refreshIfStill(first.token)).token, results[0].token);
    assert.equal(s.stats().grants.client_credentials, 2);
    // 100 concurrent token() calls are served from the cache.
    await Promise.all(Array.from({ length: 100 }, () => ts.token()));
    assert.equal(s.stats().grants.client_credentials, 2);
    ts.close();
  });
});

test('proactive refresh: a new token arrives before the old one expires, without any caller asking', async () => {
  await withServer(async (s) => {
    // 4 s tokens, margin 1 s: replaced at ~3 s, a second before expiry.
    const ts = track(new TokenService(cc(s, { refreshMarginMs: 1000 })));
    await ts.start();
    const first = await ts.token();
    assert.equal(first.refreshAtMs, first.expiresAtMs - 1000);
    await sleep(2500);
    assert.equal(s.stats().grants.client_credentials, 1, 'not before the margin');
    for (let i = 0; i < 100 && ts.stats().grants < 2; i++) await sleep(50);
    assert.equal(ts.stats().grants, 2, 'refreshed in the background');
    assert.equal(s.stats().grants.client_credentials, 2);
    const second = await ts.token();
    assert.notEqual(second.token, first.token);
    // Issued (expiresAt - 4 s) before the first one expired: the refresh beat the expiry.
    assert.ok(second.expiresAtMs - 4000 < first.expiresAtMs, 'refreshed while the old token was still valid');
    assert.equal(s.introspect(second.token).active, true);
    ts.close();
  }, 4);
});

test('password grant: refreshes use the refresh_token grant', async () => {
  await withServer(async (s) => {
    const ts = track(new TokenService(oauthAuthConfig(s, { grant: 'password', clientId: 'etl', clientSecret: SECRET, username: 'bob', password: PASSWORD })));
    await ts.start();
    const a = await ts.token();
    const b = await ts.refreshIfStill(a.token);
    assert.notEqual(a.token, b.token);
    assert.equal(s.introspect(b.token).username, 'bob');
    assert.deepEqual(ts.stats(), { grants: 2, refreshes: 1, failures: 0 });
    assert.deepEqual(s.stats().grants, { client_credentials: 0, password: 1, refresh_token: 1 });
    ts.close();
  });
});

test('token endpoint failing mid-run: callers wait through the outage and all get a token once it recovers', async () => {
  await withServer(async (s) => {
    const ts = track(new TokenService(cc(s, { failureDeadlineMs: 20_000 }), { retryBaseMs: 50, retryMaxMs: 200 }));
    await ts.start();
    const first = await ts.token();
    s.setOutage({ status: 503 });
    const waiting = Array.from({ length: 20 }, () => ts.refreshIfStill(first.token));
    const settled = Promise.allSettled(waiting);
    await sleep(1000);
    assert.ok(s.stats().outages >= 2, 'kept retrying');
    s.setOutage(null);
    const results = await settled;
    assert.deepEqual(results.map((r) => r.status), Array(20).fill('fulfilled'));
    const tokens = new Set(results.map((r) => (r as PromiseFulfilledResult<{ token: string }>).value.token));
    assert.equal(tokens.size, 1);
    assert.ok(ts.stats().failures >= 2);
    ts.close();
  });
});

test('an outage longer than failure_deadline_ms fails callers with RowError auth; they recover with the endpoint', async () => {
  await withServer(async (s) => {
    const ts = track(new TokenService(cc(s, { failureDeadlineMs: 600 }), { retryBaseMs: 50, retryMaxMs: 100 }));
    await ts.start();
    const first = await ts.token();
    s.setOutage('reset');
    const t0 = Date.now();
    const err = await ts.refreshIfStill(first.token).then(() => null, (e: unknown) => e);
    assert.ok(Date.now() - t0 >= 550, 'waited for the deadline');
    assert.ok(err instanceof RowError);
    assert.equal(err.errorClass, 'auth');
    assert.match(err.message, /unreachable/);
    assertClean(err.message);
    // Past the deadline, new callers fail at once instead of piling up.
    await sleep(50); // the outage is now surely older than the deadline
    const late = ts.token().then(
      () => 'resolved',
      (e: unknown) => (e instanceof RowError && e.errorClass === 'auth' ? 'auth' : String(e)),
    );
    const first2 = await Promise.race([late, new Promise((r) => setImmediate(() => r('still waiting')))]);
    assert.equal(first2, 'auth');
    s.setOutage(null);
    await sleep(300); // the background loop keeps trying and finds the endpoint back
    const t = await ts.token();
    assert.equal(s.introspect(t.token).active, true);
    ts.close();
  });
});

test('start(): wrong client secret -> RunError RESTLAKE_AUTH_FAILED "wrong credentials", no secret in it, one try', async () => {
  await withServer(async (s) => {
    const ts = track(new TokenService(cc(s, { clientSecret: 'not-the-secret' })));
    const err = await ts.start().then(() => null, (e: unknown) => e);
    assert.ok(err instanceof RunError);
    assert.equal(err.code, 'RESTLAKE_AUTH_FAILED');
    assert.match(err.message, /wrong credentials/);
    assert.match(err.message, /client_id "etl"/);
    assertClean(err.message);
    assert.equal(s.stats().refused, 1, 'wrong credentials are not retried');
  });
});

test('start(): wrong password -> RunError naming username or password', async () => {
  await withServer(async (s) => {
    const ts = track(new TokenService(oauthAuthConfig(s, { grant: 'password', clientId: 'etl', clientSecret: SECRET, username: 'bob', password: 'not-the-password' })));
    const err = await ts.start().then(() => null, (e: unknown) => e);
    assert.ok(err instanceof RunError);
    assert.equal(err.code, 'RESTLAKE_AUTH_FAILED');
    assert.match(err.message, /wrong credentials.*wrong username or password/);
    assertClean(err.message);
  });
});

test('start(): unreachable token URL -> RunError "unreachable" after a few quick tries', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const ts = track(new TokenService(cc({ tokenUrl: `http://127.0.0.1:${port}/token` }), { retryBaseMs: 10, startAttempts: 3 }));
  const err = await ts.start().then(() => null, (e: unknown) => e);
  assert.ok(err instanceof RunError);
  assert.equal(err.code, 'RESTLAKE_AUTH_FAILED');
  assert.match(err.message, /token endpoint is unreachable/);
  assertClean(err.message);
  assert.equal(ts.stats().failures, 3);
});

test('start(): a 5xx at start is retried, then reported as a failing endpoint', async () => {
  await withServer(async (s) => {
    s.setOutage({ status: 502 });
    const ts = track(new TokenService(cc(s), { retryBaseMs: 10, startAttempts: 2 }));
    const err = await ts.start().then(() => null, (e: unknown) => e);
    assert.ok(err instanceof RunError);
    assert.match(err.message, /token endpoint is failing.*HTTP 502/);
    assert.equal(s.stats().outages, 2);
  });
});

test('in the refresh window token() answers at once with the current token while the refresh runs', async () => {
  await withServer(async (s) => {
    const ts = track(new TokenService(cc(s, { refreshMarginMs: 1000 })));
    await ts.start();
    const first = await ts.token();
    s.setLatency(800); // the proactive refresh at ~3 s will take 0.8 s
    await sleep(first.refreshAtMs - Date.now() + 20);
    const during = await ts.token();
    assert.equal(during.token, first.token);
    assert.equal(s.stats().grants.client_credentials, 1, 'answered before the refresh finished: nobody waits while the old token is good');
    await sleep(1000);
    const after = await ts.token();
    assert.notEqual(after.token, first.token);
    assert.equal(s.stats().grants.client_credentials, 2);
    ts.close();
  }, 4);
});

test('close() ends the retry loop; waiting callers are released', async () => {
  await withServer(async (s) => {
    const ts = track(new TokenService(cc(s), { retryBaseMs: 50, retryMaxMs: 50 }));
    await ts.start();
    const t = await ts.token();
    s.setOutage({ status: 503 });
    const waiting = ts.refreshIfStill(t.token).then(() => 'resolved', (e: unknown) => (e as Error).message);
    await sleep(200);
    ts.close();
    assert.match(await waiting, /closed/);
    const outages = s.stats().outages;
    await sleep(200);
    assert.equal(s.stats().outages, outages, 'no more token requests after close');
  });
});

test('a token living longer than a timer can wait (expires_in of a year) is fetched once, not every millisecond', async () => {
  const year = 365 * 24 * 3600_000;
  let fetches = 0;
  const source = {
    fetchToken: async () => ({ accessToken: `tok-${++fetches}`, expiresAtMs: Date.now() + year, lifetimeMs: year, grant: 'client_credentials' as const }),
  };
  const overflow: string[] = [];
  const onWarning = (w: Error) => {
    if (w.name === 'TimeoutOverflowWarning') overflow.push(w.message);
  };
  process.on('warning', onWarning);
  const ts = track(new TokenService(cc({ tokenUrl: 'http://127.0.0.1:9/token' }), { source }));
  try {
    await ts.start();
    await sleep(300);
    assert.equal(fetches, 1, 'one grant: the proactive refresh timer must not fire at once');
    const t = await ts.token();
    // Replaced when a timer can fire (~24.8 days), so workers never cache it past that.
    assert.ok(t.refreshAtMs <= Date.now() + 2 ** 31 - 1);
    assert.ok(t.refreshAtMs > Date.now() + 24 * 24 * 3600_000);
    assert.deepEqual(overflow, []);
  } finally {
    ts.close();
    open.delete(ts);
    process.off('warning', onWarning);
  }
});

test('a token endpoint echoing the request in its errors: no secret in any form in the log or the RowError workers get', async () => {
  const password = 'p@ss w+rd/é';
  const secret = "s3cr3t+/=&x!'";
  // The first request of each kind of client authentication gets a token; a closed service's
  // last request, still in flight, cannot take the next one's.
  const served = new Set<string>();
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const kind = req.headers.authorization ? 'basic' : 'body';
      const ok = !served.has(kind);
      served.add(kind);
      res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { access_token: 'tok-1', token_type: 'Bearer' } : { error: 'invalid_request', error_description: `you sent ${body} with ${req.headers.authorization}` }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const tokenUrl = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/token`;
  const forms = (s: string) => [s, encodeURIComponent(s), new URLSearchParams([['', s]]).toString().slice(1), Buffer.from(s).toString('base64')];
  const basic = Buffer.from(`cid:${new URLSearchParams([['', secret]]).toString().slice(1)}`).toString('base64');
  try {
    for (const clientAuth of ['basic', 'body'] as const) {
      const logged: string[] = [];
      const auth = oauthAuthConfig({ tokenUrl }, { grant: 'password', clientId: 'cid', clientSecret: secret, username: 'alice', password, clientAuth, failureDeadlineMs: 1000 });
      const ts = track(new TokenService(auth, { retryBaseMs: 20, retryMaxMs: 50, log: (_l, m) => logged.push(m) }));
      await ts.start();
      const err = await ts.refreshIfStill('tok-1').then(() => null, (e: unknown) => e);
      ts.close();
      assert.ok(err instanceof RowError && err.errorClass === 'auth');
      const texts = [err.message, ...logged];
      assert.ok(logged.some((m) => /you sent grant_type=password/.test(m)), 'the echo is logged, redacted');
      for (const t of texts) {
        for (const f of [...forms(secret), ...forms(password), basic]) assert.ok(!t.includes(f), `${clientAuth}: leaked ${f} in ${t}`);
      }
    }
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test('a token a forced refresh just produced, refused too, is kept for REFUSED_REFRESH_INTERVAL_MS: then one more refresh', async () => {
  await withServer(async (s) => {
    let clock = Date.now();
    const logged: string[] = [];
    const ts = track(new TokenService(cc(s), { now: () => clock, log: (level, m) => logged.push(`${level}: ${m}`) }));
    await ts.start();
    const t1 = await ts.token();
    const t2 = await ts.refreshIfStill(t1.token); // revoked: one refresh
    assert.notEqual(t2.token, t1.token);
    assert.equal(s.stats().grants.client_credentials, 2);
    // The API refuses the brand-new token too: it is kept, whatever the burst.
    const held = await Promise.all(Array.from({ length: 50 }, () => ts.refreshIfStill(t2.token)));
    assert.ok(held.every((t) => t.token === t2.token));
    assert.equal((await ts.token()).token, t2.token);
    assert.equal(s.stats().grants.client_credentials, 2);
    assert.equal(logged.filter((l) => /refused \(401\) a token just issued/.test(l)).length, 1, logged.join('\n'));
    assert.ok(logged.every((l) => !l.includes(SECRET) && !l.includes(t2.token)));
    clock += REFUSED_REFRESH_INTERVAL_MS - 1_000;
    assert.equal((await ts.refreshIfStill(t2.token)).token, t2.token);
    // Past the interval: one more forced refresh, and its token is held again.
    clock += 1_000;
    const t3 = await ts.refreshIfStill(t2.token);
    assert.notEqual(t3.token, t2.token);
    assert.equal((await ts.refreshIfStill(t3.token)).token, t3.token);
    assert.equal(s.stats().grants.client_credentials, 3);
    ts.close();
  });
});

test('the hold on a refused fresh token counts from when the refresh produced it, not from the 401 that forced it', async () => {
  await withServer(async (s) => {
    let clock = Date.now();
    const ts = track(new TokenService(cc(s), { now: () => clock }));
    await ts.start();
    const t1 = await ts.token();
    const forcing = ts.refreshIfStill(t1.token);
    clock += 20_000; // a slow grant (an IdP outage, retries)
    const t2 = await forcing;
    clock += REFUSED_REFRESH_INTERVAL_MS - 1_000;
    assert.equal((await ts.refreshIfStill(t2.token)).token, t2.token, 'still held');
    assert.equal(s.stats().grants.client_credentials, 2);
    ts.close();
  });
});

test('a refused token that no forced refresh produced is replaced at once, even right after a forced refresh', async () => {
  await withServer(async (s) => {
    const ts = track(new TokenService(cc(s, { refreshMarginMs: 1000 })));
    await ts.start();
    const t1 = await ts.token();
    const t2 = await ts.refreshIfStill(t1.token); // forced
    // A proactive refresh (4 s tokens, 1 s margin) replaces t2 at ~3 s.
    for (let i = 0; i < 100 && ts.stats().grants < 3; i++) await sleep(50);
    const t3 = await ts.token();
    assert.notEqual(t3.token, t2.token);
    const t4 = await ts.refreshIfStill(t3.token); // revoked: replaced, not held
    assert.notEqual(t4.token, t3.token);
    assert.equal(s.stats().grants.client_credentials, 4);
    ts.close();
  }, 4);
});

test('a 429 with Retry-After from the token endpoint is waited out, at start and mid-run, and each retry is logged', async () => {
  let failNext = 1;
  let n = 0;
  const source = {
    fetchToken: async () => {
      if (failNext > 0) {
        failNext--;
        throw new OAuth2TokenError('unavailable', 'token endpoint answered HTTP 429, asking to wait 1s', 429, null, 400);
      }
      return { accessToken: `tok-${++n}`, expiresAtMs: Date.now() + 3_600_000, lifetimeMs: 3_600_000, grant: 'client_credentials' as const };
    },
  };
  const logged: string[] = [];
  const ts = track(new TokenService(cc({ tokenUrl: 'http://127.0.0.1:9/token' }), { source, retryBaseMs: 1, retryMaxMs: 2, log: (level, m) => logged.push(`${level}: ${m}`) }));
  try {
    let t0 = Date.now();
    await ts.start();
    assert.ok(Date.now() - t0 >= 390, `start waited ${Date.now() - t0} ms, not the 400 ms asked for`);
    assert.match(logged[0] ?? '', /^warn: first token request failed \(attempt 1 of 3, retrying in 0\.4s\): .*HTTP 429/);
    failNext = 1;
    t0 = Date.now();
    const t = await ts.refreshIfStill('tok-1');
    assert.equal(t.token, 'tok-2');
    assert.ok(Date.now() - t0 >= 390, `the refresh waited ${Date.now() - t0} ms`);
    assert.match(logged[1] ?? '', /^warn: token refresh failed \(attempt 1, retrying in 0\.4s\)/);
  } finally {
    ts.close();
    open.delete(ts);
  }
});
