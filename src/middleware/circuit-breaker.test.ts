import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpServer, transportConfig } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { Circuit, circuitBreaker } from './circuit-breaker.js';
import { composeHandler } from './compose.js';
import { retry } from './retry.js';
import { exchange, testRuntime } from './test-support.js';
import type { Exchange } from './types.js';
import { transportHandler } from './transport-handler.js';

const settings = { failure_ratio: 0.5, min_requests: 10, window_ms: 1000, open_ms: 500 };

test('opens only after min_requests with the failure ratio reached, inside the window', () => {
  let now = 0;
  const c = new Circuit(settings, () => now);
  for (let i = 0; i < 9; i++) c.record('failure', false);
  assert.equal(c.state, 'closed'); // 9 < min_requests
  c.record('failure', false);
  assert.equal(c.state, 'open');

  const d = new Circuit(settings, () => now);
  for (let i = 0; i < 12; i++) d.record(i % 3 === 0 ? 'failure' : 'success', false);
  assert.equal(d.state, 'closed'); // 4/12 < 0.5

  // Old failures leave the window.
  const e = new Circuit(settings, () => now);
  for (let i = 0; i < 9; i++) e.record('failure', false);
  now += 2000;
  e.record('failure', false);
  assert.equal(e.state, 'closed');
});

test('open holds requests, then one half-open probe: success closes, failure reopens', () => {
  let now = 0;
  const c = new Circuit(settings, () => now);
  for (let i = 0; i < 10; i++) c.record('failure', false);
  assert.equal(typeof c.admit(), 'number');
  now += 500;
  assert.equal(c.admit(), 'probe');
  assert.equal(c.admit(), 0); // probe out: others wait for its outcome
  c.record('failure', true);
  assert.equal(c.state, 'open');
  now += 499;
  assert.equal(typeof c.admit(), 'number');
  now += 1;
  assert.equal(c.admit(), 'probe');
  c.record('success', true);
  assert.equal(c.state, 'closed');
  assert.equal(c.admit(), 'send');
  // The window was cleared: one failure does not reopen.
  c.record('failure', false);
  assert.equal(c.state, 'closed');
});

test('a probe outcome wakes everyone waiting for it, whatever it was', async () => {
  let now = 0;
  const c = new Circuit(settings, () => now);
  for (let i = 0; i < 10; i++) c.record('failure', false);
  now += 500;
  assert.equal(c.admit(), 'probe');
  assert.equal(c.admit(), 0); // a probe is out: wait for its outcome
  const woke = c.probeSettled();
  assert.equal(c.probeSettled(), woke, 'one promise for every waiter');
  c.record('neutral', true); // a 429 or an abort says nothing: still half-open
  await woke;
  assert.equal(c.admit(), 'probe');
  const again = c.probeSettled();
  c.record('success', true);
  await again;
  assert.equal(c.admit(), 'send');
});

/** A server failing with 500 until `healthy`; then it answers 200, the first answer (the probe) after 150 ms. */
async function outage() {
  const s = { healthy: false, hits: [] as number[] };
  const srv = await httpServer((_req, res) => {
    s.hits.push(performance.now());
    if (!s.healthy) {
      res.statusCode = 500;
      res.end();
      return;
    }
    setTimeout(() => res.end('ok'), s.hits.length === 6 ? 150 : 0);
  });
  return Object.assign(s, { srv });
}

test('a short outage: requests wait while the circuit is open, one probe goes, the rest follow its success', async () => {
  const o = await outage();
  const cfg = transportConfig();
  const transport = createTransport(cfg);
  try {
    const chain = composeHandler([await circuitBreaker({ failure_ratio: 0.5, min_requests: 5, window_ms: 10_000, open_ms: 300 }, testRuntime())], transportHandler(transport, cfg));
    for (let i = 0; i < 5; i++) await chain(exchange({ url: o.srv.url + '/' }));
    o.healthy = true; // the outage ends well before the probe
    const t0 = performance.now();
    const rows = Array.from({ length: 10 }, () => exchange({ url: o.srv.url + '/' }));
    await Promise.all(rows.map((ex) => chain(ex)));
    assert.deepEqual(
      rows.map((ex) => ex.error?.errorClass ?? ex.response?.status),
      rows.map(() => 200),
    );
    assert.equal(o.hits.length, 15);
    const probeAt = o.hits[5];
    assert.ok(probeAt - t0 >= 290, `probe after ${probeAt - t0} ms, not before open_ms`);
    // Nobody else went while the probe was out (it took 150 ms to answer).
    for (const at of o.hits.slice(6)) assert.ok(at - probeAt >= 140, `a request went ${at - probeAt} ms after the probe`);
  } finally {
    await transport.close();
    await o.srv.close();
  }
});

test('open beyond max_wait: the row fails with circuit_open, without the status of its earlier attempt', async () => {
  let hits = 0;
  const srv = await httpServer((_req, res) => {
    hits++;
    res.statusCode = 503;
    res.end();
  });
  const cfg = transportConfig();
  const transport = createTransport(cfg);
  try {
    const chain = composeHandler(
      [
        await retry({ max_attempts: 3, base_delay_ms: 1, max_delay_ms: 1 }, testRuntime()),
        await circuitBreaker({ failure_ratio: 0.5, min_requests: 1, window_ms: 10_000, open_ms: 5000, max_wait_ms: 200 }, testRuntime()),
      ],
      transportHandler(transport, cfg),
    );
    const ex = exchange({ url: srv.url + '/' });
    const t0 = performance.now();
    await chain(ex); // attempt 1: 503 opens the circuit; attempt 2 waits 200 ms, in vain
    const waited = performance.now() - t0;
    assert.equal(hits, 1);
    assert.equal(ex.attempts, 1);
    assert.equal(ex.error?.errorClass, 'circuit_open');
    assert.equal(ex.error?.code, 'RESTLAKE_CIRCUIT_OPEN');
    assert.equal(ex.error?.retryable, false);
    assert.equal(ex.response, null, 'no stale 503');
    assert.ok(waited >= 195 && waited < 2000, `waited ${waited} ms`);
  } finally {
    await transport.close();
    await srv.close();
  }
});

test('a request waiting for the circuit ends as soon as the worker stops', async () => {
  const mw = await circuitBreaker({ failure_ratio: 0.5, min_requests: 1, window_ms: 10_000, open_ms: 60_000 }, testRuntime());
  const failing = async (ex: Exchange) => {
    ex.attempts++;
    ex.response = { status: 500, headers: {}, body: '', truncated: false };
  };
  const chain = composeHandler([mw], failing);
  await chain(exchange({ url: 'http://127.0.0.1:9/' }));
  const stop = new AbortController();
  const ex = exchange({ url: 'http://127.0.0.1:9/' }, {}, stop.signal);
  const t0 = performance.now();
  setTimeout(() => stop.abort(), 50);
  await chain(ex);
  const took = performance.now() - t0;
  assert.equal(ex.attempts, 0);
  assert.equal(ex.error?.code, 'RESTLAKE_ABORTED');
  assert.ok(took < 1000, `took ${took} ms to stop`);
});

test('429s count neither way, and enabled: false turns it off', async () => {
  let now = 0;
  const c = new Circuit(settings, () => now);
  for (let i = 0; i < 50; i++) c.record('neutral', false);
  assert.equal(c.state, 'closed');
  let hits = 0;
  const srv = await httpServer((_req, res) => {
    hits++;
    res.statusCode = 500;
    res.end();
  });
  const cfg = transportConfig();
  const transport = createTransport(cfg);
  try {
    const chain = composeHandler([await circuitBreaker({ enabled: false, min_requests: 1, failure_ratio: 0.1 }, testRuntime())], transportHandler(transport, cfg));
    for (let i = 0; i < 5; i++) await chain(exchange({ url: srv.url + '/' }));
    assert.equal(hits, 5);
  } finally {
    await transport.close();
    await srv.close();
  }
});

test("one clock: the wait for a circuit ends by the circuit's clock, so a test can drive both", async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] }); // Date.now stays real: only the injected clock moves
  let now = 0;
  const mw = await circuitBreaker({ failure_ratio: 0.5, min_requests: 2, window_ms: 10_000, open_ms: 1000, max_wait_ms: 3000, clock: () => now }, testRuntime());
  const url = 'http://api.local/x';
  const fail = (ex: Exchange) => async () => {
    ex.response = { status: 500, headers: {}, body: '', truncated: false };
  };
  for (let i = 0; i < 2; i++) {
    const ex = exchange({ url });
    await mw(ex, fail(ex));
  }
  now += 1000; // half-open: the next request is the probe, and its answer takes long
  let answerProbe = () => {};
  const probe = exchange({ url });
  const probing = mw(probe, () => new Promise<void>((resolve) => (answerProbe = resolve)));
  const waiter = exchange({ url });
  let sent = false;
  let done = false;
  const waiting = mw(waiter, async () => void (sent = true)).then(() => (done = true));
  for (let i = 0; i < 40 && !done; i++) {
    now += 100;
    t.mock.timers.tick(100);
    for (let j = 0; j < 5; j++) await Promise.resolve();
  }
  assert.equal(done, true, 'still waiting after max_wait by the circuit clock');
  assert.equal(sent, false);
  assert.equal(waiter.error?.errorClass, 'circuit_open');
  answerProbe();
  await Promise.all([probing, waiting]);
});
