import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RatePacer } from './rate-pacer.js';

test('idle until a 429: never makes anyone wait', () => {
  let now = 0;
  const p = new RatePacer(() => now);
  for (let i = 0; i < 1000; i++) {
    p.success();
    now += 1;
    assert.equal(p.reserve(), 0);
  }
  assert.equal(p.intervalMs, 0);
});

test('a 429 paces at 90% of the rate measured over the cycle; a burst of 429s is measured once', () => {
  let now = 0;
  const p = new RatePacer(() => now);
  for (let i = 0; i < 100; i++) {
    p.success();
    now += 10; // 100 successes over 1 s
  }
  p.rateLimited();
  assert.ok(Math.abs(p.intervalMs - 1000 / 90) < 1e-9, String(p.intervalMs));
  const first = p.intervalMs;
  p.rateLimited();
  p.rateLimited();
  assert.equal(p.intervalMs, first);
  // Slots are spaced by the interval.
  assert.equal(p.reserve(), 0);
  assert.ok(Math.abs(p.reserve() - first) < 1e-9);
  assert.ok(Math.abs(p.reserve() - 2 * first) < 1e-9);
});

test('a cycle shorter than 500 ms is not measured', () => {
  let now = 0;
  const p = new RatePacer(() => now);
  for (let i = 0; i < 50; i++) {
    p.success();
    now += 9;
  }
  p.rateLimited();
  assert.equal(p.intervalMs, 0);
});

test('without 429s the pace rises 10% a second, and switches off far above the measured rate', () => {
  let now = 0;
  const p = new RatePacer(() => now);
  for (let i = 0; i < 100; i++) {
    p.success();
    now += 10;
  }
  p.rateLimited();
  const start = p.intervalMs;
  now += 1000;
  p.success();
  assert.ok(Math.abs(p.intervalMs - start / 1.1) < 1e-9);
  p.success(); // same second: no further rise
  assert.ok(Math.abs(p.intervalMs - start / 1.1) < 1e-9);
  for (let i = 0; i < 400; i++) {
    now += 1000;
    p.success();
  }
  assert.equal(p.intervalMs, 0);
  assert.equal(p.reserve(), 0);
});
