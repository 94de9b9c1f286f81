import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpServer, transportConfig } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { Circuit, circuitBreaker } from './circuit-breaker.js';
import { composeHandler } from './compose.js';
import { exchange, testRuntime } from './test-support.js';
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

test('open fails fast, then one half-open probe: success closes, failure reopens', () => {
  let now = 0;
  const c = new Circuit(settings, () => now);
  for (let i = 0; i < 10; i++) c.record('failure', false);
  assert.equal(typeof c.admit(), 'number');
  now += 500;
  assert.equal(c.admit(), 'probe');
  assert.equal(typeof c.admit(), 'number'); // probe out: others still fail fast
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

test('against a failing server: rows fail fast with circuit_open without reaching it, then recover', async () => {
  let healthy = false;
  let hits = 0;
  const srv = await httpServer((_req, res) => {
    hits++;
    res.statusCode = healthy ? 200 : 500;
    res.end();
  });
  const cfg = transportConfig();
  const transport = createTransport(cfg);
  try {
    const chain = composeHandler([await circuitBreaker({ failure_ratio: 0.5, min_requests: 5, window_ms: 10_000, open_ms: 300 }, testRuntime())], transportHandler(transport, cfg));
    for (let i = 0; i < 5; i++) await chain(exchange({ url: srv.url + '/' }));
    assert.equal(hits, 5);
    const fast = exchange({ url: srv.url + '/' });
    await chain(fast);
    assert.equal(hits, 5);
    assert.equal(fast.error?.errorClass, 'circuit_open');
    assert.equal(fast.error?.code, 'RESTLAKE_CIRCUIT_OPEN');
    assert.equal(fast.error?.retryable, false);
    assert.equal(fast.attempts, 0);
    healthy = true;
    await new Promise((r) => setTimeout(r, 320));
    const probe = exchange({ url: srv.url + '/' });
    await chain(probe);
    assert.equal(probe.response?.status, 200);
    const after = exchange({ url: srv.url + '/' });
    await chain(after);
    assert.equal(after.response?.status, 200);
    assert.equal(hits, 7);
  } finally {
    await transport.close();
    await srv.close();
  }
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
