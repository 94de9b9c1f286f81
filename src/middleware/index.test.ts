import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MiddlewareConfig } from '../config/types.js';
import { RestlakeError } from '../errors.js';
import { testConfig } from '../request/test-support.js';
import { httpServer, transportConfig } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { buildChain, builtinMiddleware, chainLayout, DEFAULT_CIRCUIT_BREAKER } from './index.js';
import { startDriverServices } from '../services/server.js';
import { createDriverClient } from '../worker/driver-client.js';
import { exchange, memoryDriver, mostIn, testRuntime } from './test-support.js';
import type { Exchange } from './types.js';

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

type Order = 'rl-first' | 'retry-first';
const ORDERS: Order[] = ['rl-first', 'retry-first'];
type RetryCfg = Extract<MiddlewareConfig, { type: 'retry' }>;
type RateCfg = Extract<MiddlewareConfig, { type: 'rate_limit' }>;
const retryCfg = (o: Partial<RetryCfg> = {}): RetryCfg => ({ type: 'retry', max_attempts: 3, base_delay_ms: 10, max_delay_ms: 30_000, statuses: [429], on_network_error: true, ...o });
const rateCfg = (o: Partial<RateCfg> = {}): RateCfg => ({ type: 'rate_limit', requests_per_second: 1000, burst: 100, per_origin: false, ...o });
/** rate_limit before retry (a permit per row) or after it (a permit per attempt). */
const ordered = (order: Order, rl: RateCfg, re: RetryCfg): MiddlewareConfig[] => (order === 'rl-first' ? [rl, re] : [re, rl]);

const layerNames = (mw: MiddlewareConfig[]): string[] =>
  chainLayout(mw).map((l) =>
    l.layer === 'configured' ? mw[l.index].type : l.layer === 'owe_permit' ? `owe permit of ${l.index}` : l.layer === 'permits' ? `permits of ${l.indexes.join(',')}` : l.layer,
  );

test('chain order: the built-in waits go inside retry, before the first rate_limit or adaptive_concurrency after it; every permit is taken last, after auth', () => {
  const headers: MiddlewareConfig = { type: 'headers', set: {}, remove: [] };
  const ac: MiddlewareConfig = { type: 'adaptive_concurrency', enabled: true, min: 1, max: null };
  const cb: MiddlewareConfig = { type: 'circuit_breaker', enabled: true, failure_ratio: 0.5, min_requests: 5, window_ms: 1000, open_ms: 1000, max_wait_ms: null };
  const waits = ['circuit_breaker', 'backoff_pause', 'adaptive_concurrency'];
  // rl-first: the rate_limit keeps its place to note the permit a row owes (one per row), taken last.
  assert.deepEqual(layerNames(ordered('rl-first', rateCfg(), retryCfg())), ['owe permit of 0', 'retry', ...waits, 'auth', 'permits of 0']);
  // retry-first: a permit per send, nothing at the listed place.
  assert.deepEqual(layerNames(ordered('retry-first', rateCfg(), retryCfg())), ['retry', ...waits, 'auth', 'permits of 1']);
  // Both: the row's permit is taken with the send's, in config order.
  assert.deepEqual(layerNames([rateCfg(), retryCfg(), headers, rateCfg({ per_origin: true })]), ['owe permit of 0', 'retry', 'headers', ...waits, 'auth', 'permits of 0,3']);
  assert.deepEqual(layerNames([headers, retryCfg(), ac, rateCfg()]), ['headers', 'retry', ...waits, 'auth', 'permits of 3']);
  assert.deepEqual(layerNames([rateCfg(), retryCfg(), ac]), ['owe permit of 0', 'retry', ...waits, 'auth', 'permits of 0']);
  // A circuit_breaker or adaptive_concurrency listed after rate_limit stays there, and still comes before the permit.
  assert.deepEqual(layerNames([retryCfg(), rateCfg(), cb]), ['retry', 'backoff_pause', 'adaptive_concurrency', 'circuit_breaker', 'auth', 'permits of 1']);
  assert.deepEqual(layerNames([retryCfg(), rateCfg(), ac]), ['retry', 'circuit_breaker', 'backoff_pause', 'adaptive_concurrency', 'auth', 'permits of 1']);
  assert.deepEqual(layerNames([rateCfg(), ac]), ['circuit_breaker', 'backoff_pause', 'adaptive_concurrency', 'auth', 'permits of 0']);
  // Inside the last retry listed; without retry, before the first rate_limit.
  assert.deepEqual(layerNames([retryCfg(), rateCfg(), retryCfg()]), ['retry', 'owe permit of 1', 'retry', ...waits, 'auth', 'permits of 1']);
  assert.deepEqual(layerNames([headers, rateCfg()]), ['headers', ...waits, 'auth', 'permits of 1']);
  assert.deepEqual(layerNames([]), [...waits, 'auth']);
});

/** A server answering by path; records when each path was hit. */
async function scripted(answer: (path: string, hit: number, res: import('node:http').ServerResponse) => void) {
  const hits = new Map<string, number[]>();
  const srv = await httpServer((req, res) => {
    const path = req.url ?? '/';
    const t = hits.get(path) ?? [];
    t.push(Date.now());
    hits.set(path, t);
    answer(path, t.length, res);
  });
  return { srv, hits: (path: string) => hits.get(path) ?? [] };
}

/** A driver in memory that records when each permit was taken. */
function permitClock() {
  const driver = memoryDriver();
  const taken: number[] = [];
  driver.acquirePermits = async (_k, want) => {
    taken.push(Date.now());
    return want;
  };
  return { driver, taken };
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const order of ORDERS) {
  test(`chain order (${order}): backoff_pause, the circuit breaker and adaptive concurrency act per attempt, inside retry, and the permit is taken after their waits`, { timeout: 30_000 }, async () => {
    const { srv, hits } = await scripted((path, hit, res) => {
      if (path === '/limited' && hit === 1) res.writeHead(429, { 'Retry-After': '1' });
      else if (path === '/failing') res.statusCode = 500;
      else if (path === '/backoff' && hit === 1) res.writeHead(500, { 'Retry-After': '1' });
      if (path === '/slow') setTimeout(() => res.end('ok'), 300);
      else res.end('ok');
    });
    const transport = createTransport(transportConfig({ connections: 8 }));
    const chainFor = async (re: RetryCfg, concurrency: number) => {
      const permits = permitClock();
      const config = testConfig({ request: { url: srv.url + '/' }, middleware: ordered(order, rateCfg(), re) });
      config.execution.concurrency = concurrency;
      return { ...permits, chain: await buildChain(config, testRuntime({ driver: permits.driver }), transport) };
    };
    const send = (chain: (ex: Exchange) => Promise<void>, path: string, signal?: AbortSignal) => {
      const ex = exchange({ url: srv.url + path }, {}, signal);
      return chain(ex).then(() => ex);
    };
    try {
      // 1. A 429 + Retry-After: 1 that retry gets past (its own wait capped at 50 ms)
      //    still pauses the origin for 1 s: the other row and the retry wait it out, and
      //    no permit is taken during it.
      {
        const { chain, taken } = await chainFor(retryCfg({ max_delay_ms: 50 }), 8);
        const a = send(chain, '/limited');
        await delay(200);
        const b = await send(chain, '/other');
        assert.equal((await a).response?.status, 200);
        assert.equal(b.response?.status, 200);
        const limitedAt = hits('/limited')[0];
        assert.ok(hits('/other')[0] - limitedAt >= 900, `the other row was sent ${hits('/other')[0] - limitedAt} ms into the 1 s pause`);
        assert.ok(hits('/limited')[1] - limitedAt >= 900, `the retry was sent ${hits('/limited')[1] - limitedAt} ms into the pause`);
        const during = taken.filter((t) => t > limitedAt && t < limitedAt + 900);
        assert.deepEqual(during, [], 'permits taken during the pause');
      }
      // 2. The breaker counts attempts: after its 50 failed attempts the row waits for
      //    the circuit instead of sending 60.
      {
        const { chain } = await chainFor(retryCfg({ max_attempts: 60, base_delay_ms: 1, max_delay_ms: 1, statuses: [500] }), 8);
        const stop = new AbortController();
        // Stop 300 ms after the 50th failure (however long a loaded machine takes to get there).
        const watch = setInterval(() => {
          if (hits('/failing').length >= DEFAULT_CIRCUIT_BREAKER.min_requests) {
            clearInterval(watch);
            setTimeout(() => stop.abort(), 300);
          }
        }, 10);
        await send(chain, '/failing', stop.signal);
        clearInterval(watch);
        assert.equal(hits('/failing').length, DEFAULT_CIRCUIT_BREAKER.min_requests);
      }
      // 3. One slot (concurrency 1): a row backing off for 1 s holds none, the next row goes meanwhile.
      {
        const { chain } = await chainFor(retryCfg({ max_delay_ms: 2000, statuses: [500] }), 1);
        const a = send(chain, '/backoff');
        await delay(100);
        await send(chain, '/next');
        await a;
        assert.equal(hits('/backoff').length, 2);
        assert.ok(hits('/next')[0] < hits('/backoff')[1], 'the next row waited for the backing-off row');
      }
      // 4. One slot: a row waiting for it takes its permit only once it has the slot.
      {
        const { chain, taken } = await chainFor(retryCfg(), 1);
        const a = send(chain, '/slow');
        await delay(50);
        const b = send(chain, '/after-slow');
        const done = await a;
        const doneAt = Date.now();
        await b;
        assert.equal(done.response?.status, 200);
        assert.equal(taken.length, 2);
        assert.ok(taken[1] >= doneAt - 20, `a permit taken ${doneAt - taken[1]} ms before the slot was free`);
      }
    } finally {
      await transport.close();
      await srv.close();
    }
  });

  test(`rate_limit holds across a server's pause (${order}): permits are taken after it, not spent waiting for it, and nothing is sent during it`, { timeout: 30_000 }, async () => {
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
      middleware: ordered(order, rateCfg({ requests_per_second: 20, burst: 5 }), retryCfg()),
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
      // The bucket allows 5 at once and 20 a second (rl-first: the retry takes no
      // permit); the permits of the paused 2 s (every waiting row's) must not all go
      // when the pause ends.
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
}

{
  // A circuit_breaker or adaptive_concurrency listed anywhere: no permit is held while it
  // makes a request wait, so the rows it held back do not go in a burst over the limit.
  const RATE = 20;
  const BURST = 2;
  const rl = rateCfg({ requests_per_second: RATE, burst: BURST });
  const re = retryCfg({ max_attempts: 20, base_delay_ms: 20, max_delay_ms: 100, statuses: [500] });
  const cb: MiddlewareConfig = { type: 'circuit_breaker', enabled: true, failure_ratio: 0.5, min_requests: 5, window_ms: 1000, open_ms: 1000, max_wait_ms: 20_000 };
  const ac: MiddlewareConfig = { type: 'adaptive_concurrency', enabled: true, min: 1, max: 2 };
  const cases: { name: string; middleware: MiddlewareConfig[]; answer: (sinceStartMs: number, res: import('node:http').ServerResponse) => void }[] = [];
  // An outage of 600 ms opens the circuit for a second; the rows wait for its probe.
  const outage = (t: number, res: import('node:http').ServerResponse) => {
    res.statusCode = t < 600 ? 500 : 200;
    res.end();
  };
  // Two slow answers fill the window of 2; the other rows wait for a slot.
  const slowFirst = (t: number, res: import('node:http').ServerResponse) => {
    if (t < 200) setTimeout(() => res.end('ok'), 1500);
    else res.end('ok');
  };
  for (const [name, middleware] of [
    ['retry, rate_limit, circuit_breaker', [re, rl, cb]],
    ['retry, circuit_breaker, rate_limit', [re, cb, rl]],
    ['rate_limit, retry, circuit_breaker', [rl, re, cb]],
  ] as const) cases.push({ name, middleware: [...middleware], answer: outage });
  for (const [name, middleware] of [
    ['retry, rate_limit, adaptive_concurrency', [re, rl, ac]],
    ['retry, adaptive_concurrency, rate_limit', [re, ac, rl]],
    ['rate_limit, adaptive_concurrency (no retry)', [rl, ac]],
  ] as const) cases.push({ name, middleware: [...middleware], answer: slowFirst });

  for (const c of cases) {
    test(`rate_limit holds whatever the order (${c.name}): the rows a wait held back take their permits after it`, { timeout: 30_000 }, async () => {
      const sends: number[] = [];
      const firstSends: number[] = [];
      const seen = new Set<string>();
      const t0 = Date.now();
      const srv = await httpServer((req, res) => {
        const now = Date.now();
        sends.push(now);
        if (!seen.has(req.url!)) {
          seen.add(req.url!);
          firstSends.push(now);
        }
        c.answer(now - t0, res);
      });
      const config = testConfig({ request: { url: srv.url + '/' }, middleware: c.middleware });
      config.execution.concurrency = 16;
      const transport = createTransport(transportConfig({ connections: 16 }));
      try {
        const chain = await buildChain(config, testRuntime(), transport);
        let next = 0;
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            while (next < 40) {
              const ex = exchange({ url: `${srv.url}/row${next++}` });
              await chain(ex);
              assert.equal(ex.response?.status, 200);
            }
          }),
        );
        // A rate_limit before retry takes a permit per row (retries take none): count first sends.
        const limited = c.middleware.indexOf(rl) < c.middleware.indexOf(re) ? firstSends : sends;
        // The bucket allows BURST at once and RATE a second (+2 for timer jitter).
        const perSecond = mostIn(limited, 1000);
        const per200 = mostIn(limited, 200);
        assert.ok(perSecond <= RATE + BURST + 2, `${perSecond} requests in one second`);
        assert.ok(per200 <= BURST + RATE / 5 + 2, `${per200} requests in 200 ms`);
      } finally {
        await transport.close();
        await srv.close();
      }
    });
  }
}
