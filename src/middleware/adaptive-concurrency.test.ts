import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpServer, transportConfig } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { adaptiveConcurrency, AimdLimiter } from './adaptive-concurrency.js';
import { composeHandler } from './compose.js';
import { exchange, testRuntime } from './test-support.js';
import { transportHandler } from './transport-handler.js';

const live = new AbortController().signal;

test('AIMD: halves on overload once per round trip, never below min; grows by 1/limit per success up to max', () => {
  const l = new AimdLimiter(2, 16);
  assert.equal(l.acquire(live), true);
  assert.equal(l.acquire(live), true);
  const admitted = l.generation;
  l.release('overload', admitted);
  assert.equal(l.limit, 8);
  // Another overload from an attempt admitted before that cut does not cut again.
  l.release('overload', admitted);
  assert.equal(l.limit, 8);
  for (let i = 0; i < 5; i++) {
    l.acquire(live);
    l.release('overload', l.generation);
  }
  assert.equal(l.limit, 2);
  for (let i = 0; i < 1000; i++) {
    l.acquire(live);
    l.release('success', l.generation);
  }
  assert.equal(l.limit, 16);
  assert.equal(l.inFlight, 0);
});

test('attempts over the limit wait in order for a slot; an aborted waiter gives up', async () => {
  const l = new AimdLimiter(1, 1);
  assert.equal(l.acquire(live), true);
  const order: number[] = [];
  const w1 = l.acquire(live) as Promise<boolean>;
  const ac = new AbortController();
  const w2 = l.acquire(ac.signal) as Promise<boolean>;
  const w3 = l.acquire(live) as Promise<boolean>;
  void w1.then(() => order.push(1));
  void w3.then(() => order.push(3));
  ac.abort();
  assert.equal(await w2, false);
  l.release('success', 0);
  assert.equal(await w1, true);
  l.release('success', 0);
  assert.equal(await w3, true);
  assert.deepEqual(order, [1, 3]);
  assert.equal(l.inFlight, 1);
});

test('against a server answering 503, in-flight requests per origin shrink to min', async () => {
  let inFlight = 0;
  let peakLate = 0;
  let served = 0;
  const srv = await httpServer((_req, res) => {
    inFlight++;
    served++;
    if (served > 96) peakLate = Math.max(peakLate, inFlight);
    setTimeout(() => {
      inFlight--;
      res.statusCode = 503;
      res.end();
    }, 5);
  });
  const cfg = transportConfig({ connections: 32 });
  const transport = createTransport(cfg);
  try {
    const chain = composeHandler([await adaptiveConcurrency({ min: 2, max: 32 }, testRuntime())], transportHandler(transport, cfg));
    // 32 concurrent "workers" each sending 4 requests in a row.
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = 0; i < 4; i++) await chain(exchange({ url: srv.url + '/' }));
      }),
    );
    assert.equal(served, 128);
    assert.ok(peakLate <= 2, `in flight late in the run: ${peakLate}`);
  } finally {
    await transport.close();
    await srv.close();
  }
});

test("a server's Retry-After holds the origin at most max_pause_ms (an hour's would stall the run for an hour)", { timeout: 30_000 }, async () => {
  let served = 0;
  const srv = await httpServer((_req, res) => {
    served++;
    if (served === 1) {
      res.statusCode = 429;
      res.setHeader('retry-after', '3600');
    }
    res.end();
  });
  const cfg = transportConfig({ connections: 2 });
  const transport = createTransport(cfg);
  try {
    const chain = composeHandler([await adaptiveConcurrency({ min: 1, max: 2, max_pause_ms: 800 }, testRuntime())], transportHandler(transport, cfg));
    const first = exchange({ url: srv.url + '/' });
    await chain(first);
    assert.equal(first.response?.status, 429);
    const t0 = Date.now();
    const second = exchange({ url: srv.url + '/' });
    await chain(second);
    const waited = Date.now() - t0;
    assert.equal(second.response?.status, 200);
    // The pause is honoured, but only up to the cap.
    assert.ok(waited >= 600 && waited < 5_000, `waited ${waited} ms`);
  } finally {
    await transport.close();
    await srv.close();
  }
});
