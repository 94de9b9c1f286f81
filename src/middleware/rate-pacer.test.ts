import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RatePacer } from './rate-pacer.js';

const live = new AbortController().signal;
const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);

/** A pacer on a manual clock that measured `n` successes over `ms` before a 429 (no Retry-After). */
function measured(n: number, ms: number): { p: RatePacer; clock: { now: number } } {
  const clock = { now: 0 };
  const p = new RatePacer(() => clock.now);
  for (let i = 0; i < n; i++) {
    p.success(p.epoch);
    clock.now += ms / n;
  }
  p.rateLimited(p.epoch, null);
  return { p, clock };
}

test('idle until a 429: never makes anyone wait', () => {
  let now = 0;
  const p = new RatePacer(() => now);
  for (let i = 0; i < 1000; i++) {
    p.success(p.epoch);
    now += 1;
    assert.equal(p.acquire(live), true);
  }
  assert.equal(p.intervalMs, 0);
  assert.equal(p.delayMs(), 0);
});

test('a 429 paces at 90% of the rate measured over the cycle; a burst of 429s is measured once', () => {
  const { p } = measured(100, 1000);
  near(p.intervalMs, 1000 / 90);
  const first = p.intervalMs;
  p.rateLimited(0, null); // sent before the pace was set
  p.rateLimited(0, null);
  assert.equal(p.intervalMs, first);
  // The first request goes at once, the next one an interval later.
  assert.equal(p.acquire(live), true);
  near(p.delayMs(), first);
});

test('a cycle shorter than 500 ms is not measured', () => {
  const { p } = measured(50, 450);
  assert.equal(p.intervalMs, 0);
  assert.equal(p.epoch, 0);
});

test("a short burst then a 429 with Retry-After: the server's pause completes the cycle, pacing resumes when it ends", () => {
  const clock = { now: 0 };
  const p = new RatePacer(() => clock.now);
  for (let i = 0; i < 50; i++) {
    p.success(0);
    clock.now += 0.4; // 50 successes in 20 ms: too short alone
  }
  p.rateLimited(0, 1000); // "come back in 1 s": ~50 per 1.02 s
  near(p.intervalMs, 1020 / (50 * 0.9));
  near(p.delayMs(), 1000);
  p.rateLimited(0, 1000); // the rest of the burst is ignored
  near(p.intervalMs, 1020 / (50 * 0.9));
});

test('without 429s the pace rises 10% a second, and switches off far above the measured rate', () => {
  const { p, clock } = measured(100, 1000);
  const start = p.intervalMs;
  clock.now += 1000;
  p.success(p.epoch);
  near(p.intervalMs, start / 1.1);
  p.success(p.epoch); // same second: no further rise
  near(p.intervalMs, start / 1.1);
  for (let i = 0; i < 400; i++) {
    clock.now += 1000;
    p.success(p.epoch);
  }
  assert.equal(p.intervalMs, 0);
  assert.equal(p.acquire(live), true);
});

test('a cycle with no success infers no pace: held until the pause ends, then unpaced; an earlier pace stays', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const p = new RatePacer(() => Date.now());
  p.rateLimited(0, 30_000); // the very first answer is a 429: "come back in 30 s"
  p.rateLimited(0, 30_000); // the rest of the burst
  assert.equal(p.intervalMs, 0, 'not one request per 30 s');
  near(p.delayMs(), 30_000);
  let gone = 0;
  const held = Array.from({ length: 20 }, () => (p.acquire(live) as Promise<boolean>).then(() => gone++));
  t.mock.timers.tick(29_999);
  await Promise.resolve();
  assert.equal(gone, 0);
  t.mock.timers.tick(1);
  await Promise.all(held);
  assert.equal(gone, 20, 'all held requests go when the pause ends');
  for (let i = 0; i < 100; i++) assert.equal(p.acquire(live), true);
  assert.equal(p.delayMs(), 0);
  // Pacing at a measured 90/s, then a cycle where nothing got through: still 90/s.
  const m = measured(100, 1000);
  const pace = m.p.intervalMs;
  m.clock.now += 1000;
  m.p.rateLimited(m.p.epoch, 5000);
  assert.equal(m.p.intervalMs, pace);
  near(m.p.delayMs(), 5000);
});

test('a success of an older epoch does not count toward the new cycle', () => {
  const { p, clock } = measured(100, 1000); // epoch 1 now, 90/s
  for (let i = 0; i < 1000; i++) p.success(0); // answers of requests let go before: ignored
  clock.now += 1000;
  for (let i = 0; i < 45; i++) p.success(1);
  p.rateLimited(1, null); // 45 in 1 s: 40.5/s (the stale ones would have said 940/s)
  near(p.intervalMs, 1000 / 40.5);
});

test('waiters go one interval apart at the current pace: a raise speeds up those already queued, a 429 holds them', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const p = new RatePacer(() => Date.now());
  for (let i = 0; i < 100; i++) {
    p.success(p.epoch);
    t.mock.timers.tick(10);
  }
  p.rateLimited(p.epoch, null); // at t=1000: 90/s, interval 11.1 ms
  const gone: number[] = [];
  assert.equal(p.acquire(live), true);
  const queued = Array.from({ length: 6 }, () => (p.acquire(live) as Promise<boolean>).then((ok) => ok && gone.push(Date.now())));
  const aborted = new AbortController();
  const quitter = p.acquire(aborted.signal) as Promise<boolean>;
  aborted.abort();
  assert.equal(await quitter, false);
  for (let i = 0; i < 2; i++) {
    t.mock.timers.tick(Math.ceil(p.intervalMs));
    await Promise.resolve();
  }
  assert.equal(gone.length, 2);
  // A 429 with "wait 5 s": nobody goes before it ends.
  p.rateLimited(p.epoch, 5000);
  t.mock.timers.tick(4999);
  await Promise.resolve();
  assert.equal(gone.length, 2);
  t.mock.timers.tick(1);
  await Promise.resolve();
  assert.equal(gone.length, 3);
  // Far past a second of successes the pace rises; the queue drains at the new pace.
  t.mock.timers.tick(1000);
  p.success(p.epoch);
  for (let i = 0; i < 5 && gone.length < 6; i++) {
    t.mock.timers.tick(Math.ceil(p.intervalMs));
    await Promise.resolve();
  }
  await Promise.all(queued);
  assert.equal(gone.length, 6);
  for (let i = 1; i < gone.length; i++) assert.ok(gone[i] >= gone[i - 1], 'in order');
});

test("a long Retry-After after a short stretch of sending: the pace it leaves is a floor, it rises 2× a second after the pause", () => {
  const clock = { now: 0 };
  const p = new RatePacer(() => clock.now);
  const successes = (n: number, ms: number) => {
    for (let i = 0; i < n; i++) {
      p.success(p.epoch);
      clock.now += ms / n;
    }
  };
  successes(20, 2000);
  p.rateLimited(p.epoch, null); // 20 in 2 s: 9/s, a measure (10% a second from it)
  near(p.intervalMs, 2000 / 18);
  successes(15, 1500);
  p.rateLimited(p.epoch, 10_000); // "come back in 10 s" after 1.5 s of sending: 15 over 11.5 s
  const floor = p.intervalMs;
  near(floor, 11_500 / 13.5);
  const rise = (seconds: number) => {
    clock.now += 10_000; // the pause
    for (let i = 0; i < seconds; i++) {
      clock.now += 1000;
      p.success(p.epoch);
    }
  };
  rise(4);
  near(p.intervalMs, floor / 16); // not floor / 1.1^4: ~1.2/s for half a minute
  // Nothing got through before a long pause: the pace kept from before rises 2× a second too.
  const m = measured(100, 1000); // 90/s
  const kept = m.p.intervalMs;
  m.clock.now += 200;
  m.p.rateLimited(m.p.epoch, 30_000);
  near(m.p.intervalMs, kept);
  m.clock.now += 30_000;
  for (let i = 0; i < 3; i++) {
    m.clock.now += 1000;
    m.p.success(m.p.epoch);
  }
  near(m.p.intervalMs, kept / 8);
});
