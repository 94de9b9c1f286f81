import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDriverClient, createLocalDriverServices } from './driver-client.js';
import { startDriverServices } from '../services/server.js';
import { RowError } from '../errors.js';
import { TokenService } from '../auth/token-service.js';
import { startOAuthServer, oauthAuthConfig } from '../testkit/oauth-server.js';

test('4 workers over HTTP share one bucket: the run holds rate × t + burst, and no worker starves', async (t) => {
  const rps = 40;
  const burst = 10;
  const svc = await startDriverServices({ rateLimits: [{ requests_per_second: rps, burst }] });
  const clients = [0, 1, 2, 3].map((i) => createDriverClient(svc.url, svc.secret, { workerId: `w${i}` }));
  const got = [0, 0, 0, 0];
  const t0 = Date.now();
  const stopAt = t0 + 3000;
  try {
    await Promise.all(
      clients.flatMap((c, i) =>
        Array.from({ length: 16 }, async () => {
          while (Date.now() < stopAt) {
            const ac = new AbortController();
            const timer = setTimeout(() => ac.abort(new Error('stop')), Math.max(1, stopAt - Date.now()));
            try {
              const n = await c.acquirePermits('40/10', 1, ac.signal);
              if (Date.now() <= stopAt) got[i] += n;
            } catch {
              // stopped while waiting
            } finally {
              clearTimeout(timer);
            }
          }
        }),
      ),
    );
    const seconds = (Date.now() - t0) / 1000;
    const total = got.reduce((a, b) => a + b, 0);
    assert.ok(total <= rps * seconds + burst, `${total} permits used in ${seconds}s (limit ${rps}/s + ${burst})`);
    assert.ok(total <= svc.stats().permits['40/10'], 'a worker never uses more than the driver granted');
    t.diagnostic(`${total} permits in ${seconds}s: ${got.join(', ')} per worker`);
    assert.ok(total > burst, `permits keep coming after the burst: ${total}`);
    // Leases are served first come, first served, so every worker gets its turns.
    for (const g of got) assert.ok(g >= Math.floor(total / 12), `fair share: ${got.join(', ')}`);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await svc.close();
  }
});

test('a pause reported by one worker reaches the others (lease replies and polling)', async () => {
  const svc = await startDriverServices({ rateLimits: [{ requests_per_second: 1000, burst: 100 }] });
  const a = createDriverClient(svc.url, svc.secret, { pausePollMs: 50 });
  const b = createDriverClient(svc.url, svc.secret, { pausePollMs: 50 });
  const c = createDriverClient(svc.url, svc.secret, { pausePollMs: 50 });
  const origin = 'http://api.example:8080';
  try {
    assert.equal(b.pausedUntil(origin), 0); // b starts polling because someone asks
    const until = Date.now() + 1500;
    a.reportBackoff(origin, until);
    assert.ok(a.pausedUntil(origin) >= until - 5, 'the reporter pauses at once');
    // b keeps asking (as backoff_pause does before every attempt) until the pause reaches it.
    let seen = 0;
    for (const t0 = Date.now(); seen === 0 && Date.now() - t0 < 1000; await sleep(20)) seen = b.pausedUntil(origin);
    // Pauses travel as remaining ms, so a slow reply can only make b wait a little longer, never less.
    assert.ok(seen >= until - 100 && seen <= until + 1000, `b sees the pause: ${seen - until}ms off`);
    // c never polled: its next lease reply carries the pause.
    await c.acquirePermits('1000/100', 1);
    assert.ok(c.pausedUntil(origin) >= until - 100);
    assert.equal(b.pausedUntil('http://other:1'), 0, 'other origins are not paused');
    await sleep(Math.max(seen, c.pausedUntil(origin)) - Date.now());
    // Each client learns of the end on its own next poll (every 50 ms, not in step): wait for both.
    for (const t0 = Date.now(); (b.pausedUntil(origin) !== 0 || c.pausedUntil(origin) !== 0) && Date.now() - t0 < 1000; ) await sleep(20);
    assert.equal(b.pausedUntil(origin), 0, 'the pause ends (polling does not stretch it)');
    assert.equal(c.pausedUntil(origin), 0);
    assert.deepEqual(svc.stats().pauses, {});
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
    await svc.close();
  }
});

test('an aborted wait for permits rejects without disturbing the other waiters', async () => {
  const svc = await startDriverServices({});
  const c = createDriverClient(svc.url, svc.secret);
  try {
    assert.equal(await c.acquirePermits('5/1', 1), 1); // the burst
    const ac = new AbortController();
    const gone = c.acquirePermits('5/1', 1, ac.signal);
    const next = c.acquirePermits('5/1', 1);
    ac.abort(new Error('row cancelled'));
    await assert.rejects(gone, /row cancelled/);
    assert.equal(await next, 1);
    // A key the driver does not serve fails the row with rate_limited.
    const only = await startDriverServices({ rateLimits: [{ requests_per_second: 1, burst: 1 }] });
    const c2 = createDriverClient(only.url, only.secret);
    await assert.rejects(c2.acquirePermits('9/9', 1), (e: unknown) => e instanceof RowError && e.errorClass === 'rate_limited');
    await c2.close();
    await only.close();
  } finally {
    await c.close();
    await svc.close();
  }
});

test('a driver that does not answer fails waiting calls after unreachableAfterMs', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const c = createDriverClient(`http://127.0.0.1:${port}`, 'whatever', { unreachableAfterMs: 300 });
  const t0 = Date.now();
  await assert.rejects(c.token('oauth2-x'), (e: unknown) => e instanceof RowError && e.code === 'RESTLAKE_DRIVER_UNREACHABLE');
  assert.ok(Date.now() - t0 >= 250, 'kept trying for a while');
  await c.close();
});

test('in-process driver services: tokens from the token service, permits from the buckets, pauses', async () => {
  const oauth = await startOAuthServer({ clients: [{ id: 'etl', secret: 'local-secret-1' }] });
  const ts = new TokenService(oauthAuthConfig(oauth, { grant: 'client_credentials', clientId: 'etl', clientSecret: 'local-secret-1' }));
  await ts.start();
  try {
    const d = createLocalDriverServices({ tokenServices: new Map([[ts.id, ts]]) });
    const t = await d.token(ts.id);
    assert.equal(await oauth.verify(t), true);
    const fresh = await Promise.all(Array.from({ length: 10 }, () => d.refreshToken(ts.id, t)));
    assert.equal(new Set(fresh).size, 1);
    assert.equal(oauth.stats().grants.client_credentials, 2);
    await assert.rejects(d.token('oauth2-nope'), (e: unknown) => e instanceof RowError && e.errorClass === 'auth');
    assert.equal(await d.acquirePermits('10/3', 5), 3);
    d.reportBackoff('http://a', Date.now() + 1000);
    assert.ok(d.pausedUntil('http://a') > Date.now());
    assert.equal(d.pausedUntil('http://b'), 0);
  } finally {
    ts.close();
    await oauth.close();
  }
});

test('a driver that stops while workers wait for permits fails those rows instead of hanging them', async () => {
  const svc = await startDriverServices({});
  const c = createDriverClient(svc.url, svc.secret, { unreachableAfterMs: 300 });
  try {
    await c.acquirePermits('1/1', 1);
    const waiting = c.acquirePermits('1/1', 1).then(() => null, (e: unknown) => e);
    await sleep(100);
    await svc.close();
    const e = await waiting;
    assert.ok(e instanceof RowError, String(e));
    assert.ok(['RESTLAKE_DRIVER_CLOSED', 'RESTLAKE_DRIVER_UNREACHABLE'].includes(e.code), e.code);
  } finally {
    await c.close();
  }
});
