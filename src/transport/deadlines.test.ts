import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { DeadlineQueue, type Timed } from './deadlines.js';

function entry(name: string, expired: string[], onExpire?: () => void): Timed & { name: string; expiredAt: number } {
  const e = {
    name,
    deadline: 0,
    prevDue: null,
    nextDue: null,
    expiredAt: 0,
    expire() {
      e.expiredAt = performance.now();
      expired.push(name);
      onExpire?.();
    },
  };
  return e;
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/** A clock the test moves by hand: what is due depends on it alone, not on how busy the machine is. */
function clock(): { now: () => number; set(t: number): void } {
  let t = 0;
  return { now: () => t, set: (v) => (t = v) };
}

/** Waits (real time) until `cond` holds; the queue's timer needs a few ms to notice the clock. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await delay(5);
  assert.ok(cond(), what);
}

test('entries expire once each, in order, when their deadline passes; removed ones never', async () => {
  const c = clock();
  const q = new DeadlineQueue(40, c.now);
  const expired: string[] = [];
  const a = entry('a', expired);
  const b = entry('b', expired);
  const d = entry('d', expired);
  const e = entry('e', expired);
  q.add(a);
  q.add(b);
  c.set(10);
  q.add(d);
  q.add(e);
  q.remove(b); // from the middle
  q.remove(b); // twice is harmless
  assert.equal(q.size, 3);
  c.set(39);
  await delay(60);
  assert.deepEqual(expired, [], 'nothing is due before its deadline');
  c.set(40);
  await until(() => expired.length === 1, 'a expires at its deadline');
  assert.deepEqual(expired, ['a']);
  c.set(49);
  await delay(30);
  assert.deepEqual(expired, ['a']);
  c.set(50);
  await until(() => expired.length === 3, 'd and e expire together');
  assert.deepEqual(expired, ['a', 'd', 'e']);
  assert.equal(q.size, 0);
});

test('the head settling early moves the deadline on to the next entry', async () => {
  const c = clock();
  const q = new DeadlineQueue(60, c.now);
  const expired: string[] = [];
  const a = entry('a', expired);
  const b = entry('b', expired);
  q.add(a);
  c.set(30);
  q.add(b);
  q.remove(a);
  c.set(75); // past a's deadline, not b's
  await delay(80);
  assert.deepEqual(expired, []);
  c.set(90);
  await until(() => expired.length === 1, 'b expires');
  assert.deepEqual(expired, ['b']);
});

test('an empty queue holds no timer, so an idle process can exit', () => {
  const before = timers();
  const q = new DeadlineQueue(60_000);
  const expired: string[] = [];
  const a = entry('a', expired);
  const b = entry('b', expired);
  q.add(a);
  q.add(b);
  assert.equal(timers(), before + 1, 'one timer for all entries');
  q.remove(a);
  assert.equal(timers(), before + 1);
  q.remove(b);
  assert.equal(timers(), before);
  q.remove(a); // not queued any more: harmless
  assert.equal(q.size, 0);
});

test('an entry added while others expire gets its own full timeout', async () => {
  const c = clock();
  const q = new DeadlineQueue(30, c.now);
  const expired: string[] = [];
  let late: Timed | null = null;
  const a = entry('a', expired, () => {
    late = entry('late', expired);
    q.add(late); // e.g. the next attempt of a retried row
  });
  q.add(a);
  c.set(30);
  await until(() => expired.length === 1, 'a expires');
  assert.equal(late!.deadline, 60);
  c.set(59);
  await delay(30);
  assert.deepEqual(expired, ['a']);
  c.set(60);
  await until(() => expired.length === 2, 'late expires');
  assert.deepEqual(expired, ['a', 'late']);
  assert.equal(q.size, 0);
});

test('with the real clock an entry expires no sooner than its timeout', async () => {
  const q = new DeadlineQueue(40);
  const expired: string[] = [];
  const a = entry('a', expired);
  const t0 = performance.now();
  q.add(a);
  await until(() => expired.length === 1, 'a expires');
  const after = (a as ReturnType<typeof entry>).expiredAt - t0;
  assert.ok(after >= 40, `expired after ${after} ms`);
});

test('a timeout longer than Node timers can hold (2^31-1 ms) does not expire at once', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    const q = new DeadlineQueue(2 ** 32);
    const expired: string[] = [];
    const a = entry('a', expired);
    q.add(a);
    await delay(30);
    assert.deepEqual(expired, []);
    q.remove(a);
    assert.equal(q.size, 0);
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings, [], 'no TimeoutOverflowWarning');
});

test('a caller that already read the clock passes its reading as the start', () => {
  const c = clock();
  c.set(100);
  const q = new DeadlineQueue(30, c.now);
  const a = entry('a', []);
  q.add(a, 95);
  assert.equal(a.deadline, 125);
  q.remove(a);
});
