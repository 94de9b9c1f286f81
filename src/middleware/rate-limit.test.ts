import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { RowError } from '../errors.js';
import { pausesOf } from './backoff-pause.js';
import { permitGate, rateLimit, rowPermits, sendPermits, type RateLimitOptions } from './rate-limit.js';
import { testExchange } from './testing.js';
import type { DriverServices, Exchange, Middleware, MiddlewareRuntime } from './types.js';
import { startDriverServices } from '../services/server.js';
import { createDriverClient } from '../worker/driver-client.js';

function runtime(driver: DriverServices | null): MiddlewareRuntime {
  return {
    logger: pino({ level: 'silent' }),
    runId: 'r',
    pipeline: 'p',
    compileTemplate: (s) => () => s,
    driver,
    secrets: [],
  };
}

const ex = testExchange;

/** retry-like outer layer: `attempts` calls of next(); the innermost "transport" counts sends. */
async function run(mw: Middleware, e: Exchange, attempts = 1): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    await mw(e, async () => {
      e.attempts++;
      e.response = { status: 200, headers: {}, body: '', truncated: false };
    });
  }
}

const opts = (o: Partial<RateLimitOptions> = {}): RateLimitOptions => ({ requests_per_second: 1000, burst: 100, per_origin: false, ...o });

test('with a driver, every attempt (retries included) takes one permit from the run-wide bucket', async () => {
  const svc = await startDriverServices({});
  const client = createDriverClient(svc.url, svc.secret);
  try {
    const mw = await rateLimit(opts(), runtime(client));
    for (let i = 0; i < 5; i++) await run(mw, ex('http://api.local/x'), 2);
    assert.deepEqual(svc.stats().permits, { '1000/100': 10 });
  } finally {
    await client.close();
    await svc.close();
  }
});

test('per_origin: one bucket per origin; userinfo never reaches the key', async () => {
  const svc = await startDriverServices({});
  const client = createDriverClient(svc.url, svc.secret);
  try {
    const mw = await rateLimit(opts({ per_origin: true }), runtime(client));
    await run(mw, ex('https://a.example/x?q=1'));
    await run(mw, ex('https://a.example/y'));
    await run(mw, ex('https://user:pw@b.example:8443/z'));
    await run(mw, ex('https://a.example/w')); // back to a: the remembered key follows the origin
    assert.deepEqual(svc.stats().permits, { '1000/100 https://a.example': 3, '1000/100 https://b.example:8443': 1 });
  } finally {
    await client.close();
    await svc.close();
  }
});

test('without a driver, a local bucket holds the rate', async () => {
  const mw = await rateLimit(opts({ requests_per_second: 20, burst: 5 }), runtime(null));
  const t0 = Date.now();
  for (let i = 0; i < 15; i++) await run(mw, ex('http://api.local/x'));
  // 5 at once, then 10 more at 20/s: at least ~0.5 s.
  assert.ok(Date.now() - t0 >= 450, `took ${Date.now() - t0}ms`);
});

test('a row cancelled while waiting for a permit ends with an error on the exchange and is never sent', async () => {
  const mw = await rateLimit(opts({ requests_per_second: 1, burst: 1 }), runtime(null));
  await run(mw, ex('http://api.local/x'));
  const ac = new AbortController();
  const e = ex('http://api.local/x', ac.signal);
  const p = run(mw, e);
  setTimeout(() => ac.abort(), 50);
  await p;
  assert.equal(e.attempts, 0);
  assert.equal(e.error?.code, 'RESTLAKE_ABORTED');
});

test('a pause that begins while a row waits for its permit is waited out, and a permit taken again after it', async () => {
  const svc = await startDriverServices({});
  const client = createDriverClient(svc.url, svc.secret);
  try {
    const rt = runtime(client);
    const mw = await rateLimit(opts({ requests_per_second: 10, burst: 1 }), rt);
    await run(mw, ex('http://api.local/x')); // the burst: the next permit comes in ~100 ms
    let sentAt = 0;
    const e = ex('http://api.local/x');
    const t0 = Date.now();
    const p = mw(e, async () => {
      sentAt = Date.now();
    });
    pausesOf(rt).report('http://api.local', t0 + 400); // a 429 + Retry-After seen meanwhile
    await p;
    assert.ok(sentAt - t0 >= 400, `sent ${sentAt - t0} ms in, during the pause`);
    // The permit granted during the pause was dropped, another one taken after it (the
    // burst's, the dropped one, the one sent with; on a loaded machine the client's
    // batching may ask once more, so not an exact count).
    const permits = svc.stats().permits['10/1'] ?? 0;
    assert.ok(permits >= 3, `permits taken: ${permits}`);
  } finally {
    await client.close();
    await svc.close();
  }
});

test('rowPermits (listed outside retry): one permit per call of owe, taken by the first attempt that reaches the gate', async () => {
  const svc = await startDriverServices({});
  const client = createDriverClient(svc.url, svc.secret);
  try {
    const row = rowPermits(opts(), runtime(client));
    const owe = row.owe;
    const take = permitGate([row]);
    const e = ex('http://api.local/x');
    let sent = 0;
    // owe, then a retry-like loop of 3 attempts through take.
    await owe(e, async () => {
      for (let i = 0; i < 3; i++) await take(e, async () => void sent++);
    });
    assert.equal(sent, 3);
    assert.deepEqual(svc.stats().permits, { '1000/100': 1 });
    // An exchange that owes nothing passes take without a permit.
    await take(ex('http://api.local/y'), async () => void sent++);
    assert.equal(sent, 4);
    assert.deepEqual(svc.stats().permits, { '1000/100': 1 });
  } finally {
    await client.close();
    await svc.close();
  }
});

test('rowPermits: an attempt that got no permit is not sent, and the next attempt still owes it', async () => {
  let calls = 0;
  const driver = {
    acquirePermits: async (_key: string, want: number) => {
      if (++calls === 1) throw new RowError('rate_limited', 'RESTLAKE_DRIVER_DOWN', 'driver unreachable');
      return want;
    },
    pausedUntil: () => 0,
  } as unknown as DriverServices;
  const row = rowPermits(opts(), { ...runtime(null), driver });
  const owe = row.owe;
  const take = permitGate([row]);
  const e = ex('http://api.local/x');
  const errors: (string | undefined)[] = [];
  await owe(e, async () => {
    for (let i = 0; i < 3; i++) {
      e.error = null;
      await take(e, async () => void e.attempts++);
      errors.push((e.error as RowError | null)?.code);
    }
  });
  assert.deepEqual(errors, ['RESTLAKE_DRIVER_DOWN', undefined, undefined]);
  assert.equal(e.attempts, 2);
  assert.equal(calls, 2);
});

test('permitGate: every rate_limit in turn, a permit per send for one listed after retry, per mark for one before it', async () => {
  const svc = await startDriverServices({});
  const client = createDriverClient(svc.url, svc.secret);
  try {
    const rt = runtime(client);
    const row = rowPermits(opts(), rt);
    const gate = permitGate([row, sendPermits(opts({ requests_per_second: 500 }), rt)]);
    const e = ex('http://api.local/x');
    let sent = 0;
    await row.owe(e, async () => {
      for (let i = 0; i < 3; i++) await gate(e, async () => void sent++);
    });
    assert.equal(sent, 3);
    assert.deepEqual(svc.stats().permits, { '1000/100': 1, '500/100': 3 });
  } finally {
    await client.close();
    await svc.close();
  }
});
