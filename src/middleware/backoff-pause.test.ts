import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpServer, transportConfig } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { backoffPause } from './backoff-pause.js';
import { composeHandler } from './compose.js';
import { exchange, memoryDriver, testRuntime } from './test-support.js';
import { transportHandler } from './transport-handler.js';

async function setup(driver: ReturnType<typeof memoryDriver> | null) {
  const times: number[] = [];
  const srv = await httpServer((req, res) => {
    times.push(Date.now());
    if (req.url === '/limited') {
      res.writeHead(429, { 'Retry-After': '1' });
      res.end();
    } else if (req.url === '/ratelimit-header') {
      res.writeHead(503, { RateLimit: 'limit=10, remaining=0, reset=1' });
      res.end();
    } else res.end('ok');
  });
  const cfg = transportConfig();
  const transport = createTransport(cfg);
  const rt = testRuntime({ driver });
  const chain = composeHandler([await backoffPause({}, rt)], transportHandler(transport, cfg));
  return {
    srv,
    times,
    chain,
    close: async () => {
      await transport.close();
      await srv.close();
    },
  };
}

test('without a driver: a 429 with Retry-After pauses the next request to that origin for at least the wait', async () => {
  const s = await setup(null);
  try {
    await s.chain(exchange({ url: s.srv.url + '/limited' }));
    const ex = exchange({ url: s.srv.url + '/other' });
    await s.chain(ex);
    assert.equal(ex.response?.status, 200);
    assert.ok(s.times[1] - s.times[0] >= 1000, `second request after ${s.times[1] - s.times[0]} ms`);
  } finally {
    await s.close();
  }
});

test('with a driver: the pause is reported run-wide, and a pause reported elsewhere is honoured', async () => {
  const driver = memoryDriver();
  const s = await setup(driver);
  try {
    await s.chain(exchange({ url: s.srv.url + '/ratelimit-header' }));
    assert.equal(driver.reports.length, 1);
    assert.equal(driver.reports[0].origin, s.srv.url);
    assert.ok(driver.reports[0].untilMs >= s.times[0] + 900);
    // Another worker's pause (reported to the driver, not seen here) delays us too.
    const other = await setup(driver);
    try {
      const before = Date.now();
      driver.pauses.set(other.srv.url, before + 600);
      const ex = exchange({ url: other.srv.url + '/x' });
      await other.chain(ex);
      assert.equal(ex.response?.status, 200);
      assert.ok(other.times[0] - before >= 600, `sent after ${other.times[0] - before} ms`);
    } finally {
      await other.close();
    }
  } finally {
    await s.close();
  }
});

test('a pause ends early when the exchange signal aborts (the row fails as aborted, nothing sent)', async () => {
  const driver = memoryDriver();
  const s = await setup(driver);
  try {
    driver.pauses.set(s.srv.url, Date.now() + 60_000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const ex = exchange({ url: s.srv.url + '/x' }, {}, ac.signal);
    await s.chain(ex);
    assert.equal(ex.error?.code, 'RESTLAKE_ABORTED');
    assert.equal(s.times.length, 0);
  } finally {
    await s.close();
  }
});
