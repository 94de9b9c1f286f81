import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MiddlewareConfig } from '../config/types.js';
import { RestlakeError } from '../errors.js';
import { testConfig } from '../request/test-support.js';
import { httpServer, transportConfig } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { buildChain, builtinMiddleware, DEFAULT_CIRCUIT_BREAKER } from './index.js';
import { startDriverServices } from '../services/server.js';
import { createDriverClient } from '../worker/driver-client.js';
import { exchange, memoryDriver, testRuntime } from './test-support.js';

test('every config middleware type has a built-in factory', () => {
  const types: MiddlewareConfig['type'][] = ['retry', 'rate_limit', 'timing', 'logging', 'headers', 'module', 'adaptive_concurrency', 'circuit_breaker'];
  for (const t of types) assert.equal(typeof builtinMiddleware[t], 'function', t);
});

test('chain order: configured outermost first, auth innermost (re-applied per attempt), then the transport', async () => {
  const seen: { auth?: string; order?: string }[] = [];
  let n = 0;
  const srv = await httpServer((req, res) => {
    seen.push({ auth: req.headers.authorization, order: req.headers['x-order'] as string });
    res.statusCode = ++n === 1 ? 503 : 200;
    res.end();
  });
  const config = testConfig({
    request: { url: srv.url + '/' },
    auth: { type: 'bearer', token: 'tkn-1234' },
    middleware: [
      { type: 'headers', set: { 'X-Order': 'outer' }, remove: [] },
      { type: 'retry', max_attempts: 3, base_delay_ms: 1, max_delay_ms: 5, statuses: [503], on_network_error: true },
      { type: 'headers', set: { 'X-Order': 'inner-{{ $request_id }}', Authorization: 'clobbered' }, remove: [] },
      { type: 'timing' },
    ],
  });
  const transport = createTransport(transportConfig());
  try {
    const chain = await buildChain(config, testRuntime(), transport);
    const ex = exchange({ url: srv.url + '/' });
    await chain(ex);
    assert.equal(ex.attempts, 2);
    assert.deepEqual(seen, [
      { auth: 'Bearer tkn-1234', order: 'inner-rid-test' },
      { auth: 'Bearer tkn-1234', order: 'inner-rid-test' },
    ]);
    assert.equal((ex.state.timing as { attempts_ms: number[] }).attempts_ms.length, 2);
  } finally {
    await transport.close();
    await srv.close();
  }
});

test('oauth2 auth takes its token from the driver', async () => {
  const srv = await httpServer((req, res) => res.end(req.headers.authorization));
  const config = testConfig({
    request: { url: srv.url + '/' },
    auth: {
      type: 'oauth2_client_credentials',
      token_url: 'http://127.0.0.1:9/token',
      client_id: 'c',
      client_secret: null,
      client_auth: 'basic',
      scope: null,
      audience: null,
      extra_params: {},
      username: null,
      password: null,
      refresh_margin_ms: 1000,
      default_expires_in_ms: 60_000,
      failure_deadline_ms: 1000,
    },
  });
  const transport = createTransport(transportConfig());
  try {
    const chain = await buildChain(config, testRuntime({ driver: memoryDriver() }), transport);
    const ex = exchange({ url: srv.url + '/' });
    await chain(ex);
    assert.equal(ex.response?.body, 'Bearer token');
  } finally {
    await transport.close();
    await srv.close();
  }
});

test('the default circuit breaker is on; listing circuit_breaker with enabled: false turns it off', async () => {
  let hits = 0;
  const srv = await httpServer((_req, res) => {
    hits++;
    res.statusCode = 500;
    res.end();
  });
  const transport = createTransport(transportConfig({ connections: 8 }));
  try {
    const on = await buildChain(testConfig({ request: { url: srv.url + '/' } }), testRuntime(), transport);
    for (let i = 0; i < DEFAULT_CIRCUIT_BREAKER.min_requests; i++) await on(exchange({ url: srv.url + '/' }));
    // Open: the next request waits for the probe instead of reaching the server.
    const stop = new AbortController();
    const waiting = exchange({ url: srv.url + '/' }, {}, stop.signal);
    setTimeout(() => stop.abort(), 200);
    await on(waiting);
    assert.equal(waiting.error?.code, 'RESTLAKE_ABORTED');
    assert.equal(hits, DEFAULT_CIRCUIT_BREAKER.min_requests);
    hits = 0;
    const off = await buildChain(
      testConfig({ request: { url: srv.url + '/' }, middleware: [{ type: 'circuit_breaker', enabled: false, failure_ratio: 0.5, min_requests: 1, window_ms: 1000, open_ms: 1000, max_wait_ms: null }] }),
      testRuntime(),
      transport,
    );
    for (let i = 0; i < 60; i++) await off(exchange({ url: srv.url + '/' }));
    assert.equal(hits, 60);
  } finally {
    await transport.close();
    await srv.close();
  }
});

test('an unknown middleware type or a failing factory is a config-time error naming its index', async () => {
  const transport = createTransport(transportConfig());
  try {
    const bad = testConfig({ middleware: [{ type: 'timing' }, { type: 'nope' } as unknown as MiddlewareConfig] });
    await assert.rejects(buildChain(bad, testRuntime(), transport), (e: unknown) => e instanceof RestlakeError && /middleware\[1\]: unknown type "nope"/.test(e.message));
    const badTemplate = testConfig({ middleware: [{ type: 'headers', set: { 'X-A': '{{ unclosed' }, remove: [] }] });
    await assert.rejects(buildChain(badTemplate, testRuntime(), transport), (e: unknown) => e instanceof RestlakeError && /never closed/.test(e.message));
  } finally {
    await transport.close();
  }
});

test("rate_limit holds across a server's pause: permits are taken after it, not spent waiting for it", { timeout: 30_000 }, async () => {
  const times: number[] = [];
  let limitedAt = 0;
  const srv = await httpServer((_req, res) => {
    times.push(Date.now());
    if (times.length === 10) {
      limitedAt = Date.now();
      res.writeHead(429, { 'Retry-After': '2' });
      res.end();
    } else res.end('ok');
  });
  const config = testConfig({
    request: { url: srv.url + '/' },
    middleware: [
      { type: 'retry', max_attempts: 3, base_delay_ms: 10, max_delay_ms: 30_000, statuses: [429], on_network_error: true },
      { type: 'rate_limit', requests_per_second: 20, burst: 5, per_origin: false },
    ],
  });
  config.execution.concurrency = 16;
  // Two workers sharing the driver's bucket and pauses, 16 rows in flight each.
  const svc = await startDriverServices({ config });
  const workers = await Promise.all(
    [0, 1].map(async () => {
      const client = createDriverClient(svc.url, svc.secret);
      const transport = createTransport(transportConfig({ connections: 16 }));
      return { client, transport, chain: await buildChain(config, testRuntime({ driver: client }), transport) };
    }),
  );
  try {
    let next = 0;
    await Promise.all(
      workers.flatMap((w) =>
        Array.from({ length: 16 }, async () => {
          while (next < 60) {
            next++;
            await w.chain(exchange({ url: srv.url + '/' }));
          }
        }),
      ),
    );
    assert.equal(times.length, 61);
    let most = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i] - times[j] >= 1000) j++;
      most = Math.max(most, i - j + 1);
    }
    // The bucket allows 5 at once and 20 a second; the permits of the paused 2 s (every
    // waiting row's) must not all go when the pause ends.
    assert.ok(most <= 26, `${most} requests in one second`);
    const duringPause = times.filter((t) => t > limitedAt + 50 && t < limitedAt + 1990).length;
    assert.equal(duringPause, 0, 'nothing sent during the pause');
  } finally {
    for (const w of workers) {
      await w.transport.close();
      await w.client.close();
    }
    await svc.close();
    await srv.close();
  }
});
