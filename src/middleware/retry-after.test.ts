import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRetryAfter, serverBackoffMs } from './retry-after.js';

const now = Date.UTC(2026, 0, 1, 0, 0, 0);

test('Retry-After: seconds, decimals, HTTP date, garbage', () => {
  assert.equal(parseRetryAfter('1', now), 1000);
  assert.equal(parseRetryAfter(' 120 ', now), 120_000);
  assert.equal(parseRetryAfter('0.5', now), 500);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('-5', now), null);
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter(undefined, now), null);
});

test('server backoff from Retry-After, RateLimit-Reset (delay or epoch) and RateLimit (both drafts)', () => {
  assert.equal(serverBackoffMs({ 'retry-after': '2', 'ratelimit-reset': '9' }, now), 2000);
  assert.equal(serverBackoffMs({ 'ratelimit-reset': '7' }, now), 7000);
  assert.equal(serverBackoffMs({ 'x-ratelimit-reset': String(now / 1000 + 12) }, now), 12_000);
  assert.equal(serverBackoffMs({ ratelimit: 'limit=100, remaining=0, reset=5' }, now), 5000);
  assert.equal(serverBackoffMs({ ratelimit: '"default";r=0;t=3' }, now), 3000);
  assert.equal(serverBackoffMs({ 'content-type': 'text/plain' }, now), null);
});
