import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { httpServer, transportConfig } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { composeHandler } from './compose.js';
import { backoffDelay, retry, type RetryOptions } from './retry.js';
import { exchange, testRuntime } from './test-support.js';
import { transportHandler } from './transport-handler.js';
import type { Middleware } from './types.js';

/** A server answering the n-th request (1-based) with script[n-1] (the last entry repeats). */
async function scripted(script: ((res: import('node:http').ServerResponse) => void)[]) {
  const times: number[] = [];
  const srv = await httpServer((_req, res) => {
    times.push(performance.now());
    script[Math.min(times.length, script.length) - 1](res);
  });
  return { srv, times };
}

const status = (code: number, headers: Record<string, string> = {}) => (res: import('node:http').ServerResponse) => {
  res.writeHead(code, headers);
  res.end(`status ${code}`);
};

async function run(url: string, opts: RetryOptions, signal?: AbortSignal) {
  const cfg = transportConfig();
  const transport = createTransport(cfg);
  try {
    const ex = exchange({ url }, {}, signal);
    const t0 = performance.now();
    await composeHandler([await retry(opts, testRuntime())], transportHandler(transport, cfg))(ex);
    return { ex, elapsed: performance.now() - t0 };
  } finally {
    await transport.close();
  }
}

const fast: RetryOptions = { max_attempts: 5, base_delay_ms: 10, max_delay_ms: 50 };

test('503 then 200: two attempts, success', async () => {
  const { srv, times } = await scripted([status(503), status(200)]);
  try {
    const { ex } = await run(srv.url + '/', fast);
    assert.equal(ex.attempts, 2);
    assert.equal(ex.response?.status, 200);
    assert.equal(ex.error, null);
    assert.equal(times.length, 2);
  } finally {
    await srv.close();
  }
});

test('429 with Retry-After: 1 waits at least one second before the next attempt', async () => {
  const { srv, times } = await scripted([status(429, { 'Retry-After': '1' }), status(200)]);
  try {
    const { ex } = await run(srv.url + '/', { max_attempts: 3, base_delay_ms: 10, max_delay_ms: 30_000 });
    assert.equal(ex.attempts, 2);
    assert.equal(ex.response?.status, 200);
    assert.ok(times[1] - times[0] >= 1000, `second attempt after ${times[1] - times[0]} ms`);
  } finally {
    await srv.close();
  }
});

test('Retry-After as an HTTP date is honoured', async () => {
  const { srv, times } = await scripted([(res) => status(503, { 'Retry-After': new Date(Date.now() + 2000).toUTCString() })(res), status(200)]);
  try {
    const { ex } = await run(srv.url + '/', { max_attempts: 2, base_delay_ms: 10, max_delay_ms: 30_000 });
    assert.equal(ex.response?.status, 200);
    // HTTP dates have 1 s resolution: the wait is at least 1 s.
    assert.ok(times[1] - times[0] >= 1000, `waited ${times[1] - times[0]} ms`);
  } finally {
    await srv.close();
  }
});

test('Retry-After is capped by max_delay', async () => {
  const { srv, times } = await scripted([status(503, { 'Retry-After': '3600' }), status(200)]);
  try {
    const { ex } = await run(srv.url + '/', { max_attempts: 2, base_delay_ms: 10, max_delay_ms: 100 });
    assert.equal(ex.response?.status, 200);
    assert.ok(times[1] - times[0] < 3_600_000);
  } finally {
    await srv.close();
  }
});

test('404 and 400 are never retried', async () => {
  for (const code of [404, 400]) {
    const { srv, times } = await scripted([status(code), status(200)]);
    try {
      const { ex } = await run(srv.url + '/', fast);
      assert.equal(ex.attempts, 1);
      assert.equal(ex.response?.status, code);
      assert.equal(times.length, 1);
    } finally {
      await srv.close();
    }
  }
});

test('a status not in a custom `statuses` list is not retried, one in it is', async () => {
  const { srv, times } = await scripted([status(503), status(409), status(200)]);
  try {
    const { ex } = await run(srv.url + '/', { ...fast, statuses: [409] });
    assert.equal(ex.attempts, 1);
    assert.equal(times.length, 1);
    const again = await run(srv.url + '/', { ...fast, statuses: [409] });
    assert.equal(again.ex.attempts, 2);
    assert.equal(again.ex.response?.status, 200);
  } finally {
    await srv.close();
  }
});

test('giving up leaves the last status for the row (attempts = max_attempts)', async () => {
  const { srv, times } = await scripted([status(502)]);
  try {
    const { ex } = await run(srv.url + '/', { ...fast, max_attempts: 3 });
    assert.equal(ex.attempts, 3);
    assert.equal(ex.response?.status, 502);
    assert.equal(times.length, 3);
  } finally {
    await srv.close();
  }
});

test('network errors are retried (reset connection then success), unless on_network_error is false', async () => {
  let n = 0;
  const srv = await httpServer((req, res) => {
    if (++n === 1) req.socket.destroy();
    else res.end('ok');
  });
  try {
    const { ex } = await run(srv.url + '/', fast);
    assert.equal(ex.attempts, 2);
    assert.equal(ex.response?.status, 200);
    n = 0;
    const off = await run(srv.url + '/', { ...fast, on_network_error: false });
    assert.equal(off.ex.attempts, 1);
    assert.equal(off.ex.error?.errorClass, 'connection');
  } finally {
    await srv.close();
  }
});

test('a refused connection is retried up to max_attempts and ends as a connection error', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as import('node:net').AddressInfo).port;
  await new Promise<void>((r) => blocker.close(() => r()));
  const { ex } = await run(`http://127.0.0.1:${port}/`, { ...fast, max_attempts: 3 });
  assert.equal(ex.attempts, 3);
  assert.equal(ex.error?.errorClass, 'connection');
});

test('the exchange signal stops retrying during a backoff wait', async () => {
  const ac = new AbortController();
  // Abort once the first answer is out, i.e. while retry waits out the 30 s.
  const { srv, times } = await scripted([
    (res) => {
      status(503, { 'Retry-After': '30' })(res);
      res.on('finish', () => setTimeout(() => ac.abort(), 100));
    },
  ]);
  try {
    const { ex } = await run(srv.url + '/', { max_attempts: 5, base_delay_ms: 10, max_delay_ms: 60_000 }, ac.signal);
    assert.equal(ex.attempts, 1);
    assert.equal(ex.response?.status, 503);
    assert.equal(times.length, 1);
  } finally {
    await srv.close();
  }
});

test('full jitter: every draw lies in [0, min(max_delay, base * 2^(n-1))] and they spread out', () => {
  for (let attempt = 1; attempt <= 12; attempt++) {
    const ceiling = Math.min(5000, 100 * 2 ** (attempt - 1));
    const draws = Array.from({ length: 500 }, () => backoffDelay(attempt, 100, 5000));
    assert.ok(draws.every((d) => d >= 0 && d <= ceiling), `attempt ${attempt}`);
    // Not a constant: the spread covers most of the range.
    assert.ok(Math.max(...draws) - Math.min(...draws) > ceiling * 0.5, `attempt ${attempt} spread`);
  }
  assert.equal(backoffDelay(3, 100, 5000, () => 1), 400);
  assert.equal(backoffDelay(40, 100, 5000, () => 1), 5000);
  assert.equal(backoffDelay(1, 100, 5000, () => 0), 0);
});

test('every attempt starts from the request retry was given: changes of inner layers do not pile up', async () => {
  const seen: { url: string; mark: string | undefined; method: string }[] = [];
  const srv = await httpServer((req, res) => {
    seen.push({ url: req.url!, mark: req.headers['x-mark'] as string | undefined, method: req.method! });
    res.statusCode = seen.length < 3 ? 503 : 200;
    res.end();
  });
  const cfg = transportConfig();
  const transport = createTransport(cfg);
  try {
    // After retry: appends a query parameter and a header, replaces the method, once per attempt.
    const inner: Middleware = async (ex, next) => {
      ex.request.url += `&sig=${ex.attempts}`;
      ex.request.headers['x-mark'] = (ex.request.headers['x-mark'] ?? '') + 'A';
      ex.request.method = ex.request.method === 'GET' ? 'POST' : 'PUT';
      await next();
    };
    const ex = exchange({ url: srv.url + '/api/1?a=1', headers: { accept: 'text/plain' } });
    await composeHandler([await retry(fast, testRuntime()), inner], transportHandler(transport, cfg))(ex);
    assert.equal(ex.attempts, 3);
    assert.deepEqual(seen, [
      { url: '/api/1?a=1&sig=0', mark: 'A', method: 'POST' },
      { url: '/api/1?a=1&sig=1', mark: 'A', method: 'POST' },
      { url: '/api/1?a=1&sig=2', mark: 'A', method: 'POST' },
    ]);
    // The row records the last attempt's request as sent.
    assert.equal(ex.request.url, srv.url + '/api/1?a=1&sig=2');
    assert.deepEqual(ex.request.headers, { accept: 'text/plain', 'x-mark': 'A' });
  } finally {
    await transport.close();
    await srv.close();
  }
});

test('Retry-After: 0 keeps the backoff (it does not mean retry at once)', async (t) => {
  t.mock.method(Math, 'random', () => 1); // every draw at its ceiling: 100 ms, then 200 ms
  const { srv, times } = await scripted([status(429, { 'Retry-After': '0' }), status(429, { 'Retry-After': '0' }), status(200)]);
  try {
    const { ex } = await run(srv.url + '/', { max_attempts: 3, base_delay_ms: 100, max_delay_ms: 30_000 });
    assert.equal(ex.response?.status, 200);
    assert.ok(times[1] - times[0] >= 95, `second attempt after ${times[1] - times[0]} ms`);
    assert.ok(times[2] - times[1] >= 195, `third attempt after ${times[2] - times[1]} ms`);
  } finally {
    await srv.close();
  }
});
