import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket, BucketSet, rateLimitKey, parseRateLimitKey } from './rate-limit-bucket.js';

test('keys name their rate and, per origin, the origin', () => {
  const spec = { requests_per_second: 200, burst: 50 };
  assert.equal(rateLimitKey(spec, null), '200/50');
  assert.equal(rateLimitKey(spec, 'https://api.example.com'), '200/50 https://api.example.com');
  assert.deepEqual(parseRateLimitKey('200/50 https://api.example.com'), spec);
  assert.deepEqual(parseRateLimitKey('0.5/1'), { requests_per_second: 0.5, burst: 1 });
  for (const bad of ['', 'x/1', '10/0', '0/5', '10', '10/5 a b']) assert.equal(parseRateLimitKey(bad), null, bad);
});

test('a BucketSet serves only the allowed rates, one bucket per key', () => {
  const set = new BucketSet([{ requests_per_second: 10, burst: 2 }]);
  assert.ok(set.get('10/2'));
  assert.equal(set.get('10/2'), set.get('10/2'));
  assert.notEqual(set.get('10/2 http://a'), set.get('10/2 http://b'));
  assert.equal(set.get('11/2'), null);
  assert.equal(set.get('nonsense'), null);
  assert.ok(new BucketSet().get('11/2'), 'without a list, any rate');
});

test('the burst is available at once, then permits come at the rate', async () => {
  let now = 1_000;
  const b = new TokenBucket({ requests_per_second: 10, burst: 3 }, () => now);
  assert.equal(await b.take(5), 3, 'at most the burst at once');
  now += 250; // 2.5 permits refilled
  assert.equal(await b.take(5), 2);
  now += 10_000;
  assert.equal(await b.take(100), 3, 'refill caps at the burst');
  assert.equal(b.granted, 8);
});

test('waiters are served first come, first served; maxWaitMs ends a wait with 0; abort rejects', async () => {
  const b = new TokenBucket({ requests_per_second: 20, burst: 1 });
  assert.equal(await b.take(1), 1);
  const order: number[] = [];
  const waits = [1, 2, 3].map((i) =>
    b.take(1).then((n) => {
      order.push(i);
      return n;
    }),
  );
  const ac = new AbortController();
  const aborted = b.take(1, { signal: ac.signal });
  ac.abort(new Error('gone'));
  await assert.rejects(aborted, /gone/);
  assert.deepEqual(await Promise.all(waits), [1, 1, 1]);
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(b.granted, 4, 'the aborted waiter took nothing');
  const slow = new TokenBucket({ requests_per_second: 0.1, burst: 1 });
  await slow.take(1);
  const t0 = Date.now();
  assert.equal(await slow.take(1, { maxWaitMs: 100 }), 0);
  assert.ok(Date.now() - t0 >= 90);
});

test('over time the bucket never hands out more than rate × t + burst', async () => {
  const b = new TokenBucket({ requests_per_second: 200, burst: 20 });
  const t0 = Date.now();
  let got = 0;
  const stopAt = t0 + 1000;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < stopAt) {
        const n = await b.take(3, { maxWaitMs: Math.max(1, stopAt - Date.now()) });
        got += n;
      }
    }),
  );
  const elapsed = (Date.now() - t0) / 1000;
  assert.ok(got <= 200 * elapsed + 20 + 3, `${got} permits in ${elapsed}s`);
  assert.ok(got > 20, `the bucket kept serving after the burst: ${got}`);
});

test('queued waiters are served in batches of about 10 ms of the rate, not one permit at a time', async () => {
  let now = 0;
  const b = new TokenBucket({ requests_per_second: 1000, burst: 20 }, () => now); // batch: 10 permits
  assert.equal(await b.take(20), 20);
  let granted = 0;
  const p = b.take(16).then((n) => (granted = n));
  now = 3; // 3 permits built up: not yet a batch
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(granted, 0, 'still waiting for a batch');
  now = 12;
  await p;
  assert.equal(granted, 12, 'served with everything built up, not 1');
  const slow = new TokenBucket({ requests_per_second: 5, burst: 1 });
  await slow.take(1);
  assert.equal(await slow.take(4), 1, 'at low rates a waiter gets each permit as it comes');
});
