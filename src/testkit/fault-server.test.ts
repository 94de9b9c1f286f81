import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'undici';
import { startFaultServer, FAULT_KINDS, PERMANENT_FAULTS, RATE_LIMITED, scoreOf, type FaultKind } from './fault-server.js';

// A fresh connection per call: faults destroy sockets, and a test should not depend on pool reuse.
async function get(url: string, headers: Record<string, string> = {}, timeoutMs = 5000) {
  const dispatcher = new Agent({ pipelining: 0, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  try {
    const res = await request(url, { headers, dispatcher, reset: true });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  } finally {
    await dispatcher.destroy();
  }
}

test('an ok answer carries the id, the attempt and a deterministic score', async () => {
  const fs = await startFaultServer();
  try {
    const r = await get(`${fs.url}/v1/items/abc`);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text), { id: 'abc', attempt: 1, ok: true, score: scoreOf('abc') });
    const r2 = await get(`${fs.url}/v1/items/abc`);
    assert.equal(JSON.parse(r2.text).attempt, 2);
    assert.equal(fs.servedCount('abc'), 2);
  } finally {
    await fs.close();
  }
});

test('ids come from Idempotency-Key, then X-Request-Id, then ?id=, then the last path segment', async () => {
  const fs = await startFaultServer();
  try {
    await get(`${fs.url}/x/seg?id=q`, { 'idempotency-key': 'ik', 'x-request-id': 'rid' });
    await get(`${fs.url}/x/seg?id=q`, { 'x-request-id': 'rid' });
    await get(`${fs.url}/x/seg?id=q`);
    await get(`${fs.url}/x/seg`);
    assert.deepEqual(fs.requests().map((r) => r.id), ['ik', 'rid', 'q', 'seg']);
  } finally {
    await fs.close();
  }
});

test('status faults hit only the first attempt by default, then the id succeeds', async () => {
  const fs = await startFaultServer();
  try {
    for (const kind of ['status_500', 'status_502', 'status_503', 'status_504'] as const) {
      const first = await get(`${fs.url}/r/${kind}?fault=${kind}`);
      assert.equal(first.status, Number(kind.slice(7)));
      const second = await get(`${fs.url}/r/${kind}?fault=${kind}`);
      assert.equal(second.status, 200);
    }
    const recs = fs.requests();
    assert.deepEqual(recs.map((r) => [r.attempt, r.fault]), [
      [1, 'status_500'], [2, null], [1, 'status_502'], [2, null], [1, 'status_503'], [2, null], [1, 'status_504'], [2, null],
    ]);
  } finally {
    await fs.close();
  }
});

test('fault_attempts extends a transient fault to the first N attempts', async () => {
  const fs = await startFaultServer();
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(`${fs.url}/r/x`, { 'x-fault': 'status_503', 'x-fault-attempts': '3' })).status);
    assert.deepEqual(statuses, [503, 503, 503, 200]);
  } finally {
    await fs.close();
  }
});

test('permanent faults (404, 400) hit every attempt', async () => {
  const fs = await startFaultServer();
  try {
    for (let i = 0; i < 3; i++) assert.equal((await get(`${fs.url}/r/nf?fault=not_found`)).status, 404);
    for (let i = 0; i < 3; i++) assert.equal((await get(`${fs.url}/r/br?fault=bad_request`)).status, 400);
    assert.ok(PERMANENT_FAULTS.has('not_found') && PERMANENT_FAULTS.has('bad_request'));
    assert.equal(fs.stats().served, 0);
  } finally {
    await fs.close();
  }
});

test('429 carries Retry-After in seconds or as an HTTP date at least that far ahead', async () => {
  const fs = await startFaultServer({ retryAfterSeconds: 2 });
  try {
    const s = await get(`${fs.url}/r/a?fault=retry_after_seconds`);
    assert.equal(s.status, 429);
    assert.equal(s.headers['retry-after'], '2');
    const s3 = await get(`${fs.url}/r/b?fault=retry_after_seconds&retry_after=3`);
    assert.equal(s3.headers['retry-after'], '3');
    const before = Date.now();
    const d = await get(`${fs.url}/r/c?fault=retry_after_date`);
    assert.equal(d.status, 429);
    const when = Date.parse(String(d.headers['retry-after']));
    assert.ok(Number.isFinite(when), 'an HTTP date');
    assert.match(String(d.headers['retry-after']), /GMT$/);
    assert.ok(when >= before + 2000, 'never earlier than asked');
    assert.equal((await get(`${fs.url}/r/c?fault=retry_after_date`)).status, 200);
  } finally {
    await fs.close();
  }
});

test('reset and truncated_json fail the client at the transport level; malformed_json is a 200 with broken JSON', async () => {
  const fs = await startFaultServer();
  try {
    await assert.rejects(get(`${fs.url}/r/a?fault=reset`));
    await assert.rejects(get(`${fs.url}/r/b?fault=truncated_json`));
    const m = await get(`${fs.url}/r/c?fault=malformed_json`);
    assert.equal(m.status, 200);
    assert.throws(() => JSON.parse(m.text));
    // each recovers on the next attempt
    for (const id of ['a', 'b', 'c']) assert.equal((await get(`${fs.url}/r/${id}`)).status, 200);
    assert.deepEqual(fs.requests().map((r) => r.status), [null, 200, 200, 200, 200, 200]);
  } finally {
    await fs.close();
  }
});

test('slow_body completes after slowBodyMs; hung responses trip client timeouts or reset after hangMs', async () => {
  const fs = await startFaultServer({ slowBodyMs: 400, hangMs: 300 });
  try {
    const t0 = Date.now();
    const slow = await get(`${fs.url}/r/s?fault=slow_body`);
    assert.ok(Date.now() - t0 >= 350);
    assert.equal(JSON.parse(slow.text).id, 's');
    const t1 = Date.now();
    await assert.rejects(get(`${fs.url}/r/h?fault=hang_headers`));
    assert.ok(Date.now() - t1 >= 250, 'held until hangMs');
    await assert.rejects(get(`${fs.url}/r/hb?fault=hang_body`));
  } finally {
    await fs.close();
  }
  const forever = await startFaultServer({ hangMs: null });
  try {
    await assert.rejects(get(`${forever.url}/r/h?fault=hang_headers`, {}, 300), /timeout/i);
    await assert.rejects(get(`${forever.url}/r/h2?fault=hang_body`, {}, 300), /timeout/i);
  } finally {
    await forever.close(); // must not wait for the hung sockets
  }
});

test('the seeded mix is a pure function of (seed, id) and close to the asked proportions', async () => {
  const mix = { status_503: 0.1, reset: 0.1, not_found: 0.05 };
  const a = await startFaultServer({ seed: 42, mix });
  const b = await startFaultServer({ seed: 42, mix });
  const c = await startFaultServer({ seed: 7, mix });
  try {
    const ids = Array.from({ length: 4000 }, (_, i) => `id-${i}`);
    const pa = ids.map((id) => a.plannedFault(id));
    assert.deepEqual(pa, ids.map((id) => b.plannedFault(id)));
    assert.notDeepEqual(pa, ids.map((id) => c.plannedFault(id)));
    const count = (k: FaultKind | null) => pa.filter((p) => p === k).length / ids.length;
    assert.ok(Math.abs(count('status_503') - 0.1) < 0.02);
    assert.ok(Math.abs(count('reset') - 0.1) < 0.02);
    assert.ok(Math.abs(count('not_found') - 0.05) < 0.015);
    assert.ok(Math.abs(count(null) - 0.75) < 0.03);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

test('bad mixes are refused with a clear message', async () => {
  await assert.rejects(startFaultServer({ mix: { status_500: 0.7, reset: 0.6 } }), /add up to/);
  await assert.rejects(startFaultServer({ mix: { nope: 0.1 } as any }), /unknown fault "nope"/);
});

test('the global rate limit answers 429 with Retry-After beyond the burst', async () => {
  const fs = await startFaultServer({ rateLimit: { requestsPerSecond: 2, burst: 3 } });
  try {
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await get(`${fs.url}/r/${i}`)).status);
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.ok(statuses.slice(3).includes(429));
    const limited = fs.requests().filter((r) => r.fault === RATE_LIMITED);
    assert.ok(limited.length >= 1);
    const r = await get(`${fs.url}/r/x`);
    if (r.status === 429) assert.ok(Number(r.headers['retry-after']) >= 1);
    await new Promise((res) => setTimeout(res, 1100)); // the bucket refills
    assert.equal((await get(`${fs.url}/r/y`)).status, 200);
  } finally {
    await fs.close();
  }
});

test('a retrying client recovers every transient fault; permanent ones stay failed; no id served twice', async () => {
  const transient = FAULT_KINDS.filter((k) => !PERMANENT_FAULTS.has(k) && k !== 'malformed_json' && k !== 'slow_body');
  const mix: Partial<Record<FaultKind, number>> = { not_found: 0.03, bad_request: 0.03 };
  for (const k of transient) mix[k] = 0.3 / transient.length;
  const fs = await startFaultServer({ seed: 3, mix, retryAfterSeconds: 0, hangMs: 100 });
  const dispatcher = new Agent({ headersTimeout: 1000, bodyTimeout: 1000, connections: 16 });
  try {
    const ids = Array.from({ length: 400 }, (_, i) => `row-${i}`);
    const outcome = new Map<string, number | 'error'>();
    await Promise.all(
      ids.map(async (id) => {
        for (let attempt = 1; attempt <= 4; attempt++) {
          try {
            const res = await request(`${fs.url}/score`, { headers: { 'idempotency-key': id }, dispatcher });
            const text = await res.body.text();
            outcome.set(id, res.statusCode);
            if (res.statusCode === 200) JSON.parse(text);
            if (res.statusCode < 500 && res.statusCode !== 429) return;
          } catch {
            outcome.set(id, 'error');
          }
        }
      }),
    );
    for (const id of ids) {
      const p = fs.plannedFault(id);
      if (p === 'not_found') assert.equal(outcome.get(id), 404, id);
      else if (p === 'bad_request') assert.equal(outcome.get(id), 400, id);
      else {
        assert.equal(outcome.get(id), 200, `${id} (${p}) recovered`);
        assert.equal(fs.servedCount(id), 1, `${id} served once`);
      }
    }
    const faulty = ids.filter((id) => fs.plannedFault(id) !== null).length;
    assert.ok(faulty >= 80, `enough faults drawn (${faulty})`);
    // the records agree: every planned transient fault was injected on attempt 1 exactly
    for (const r of fs.requests()) if (r.attempt === 1) assert.equal(r.fault, fs.plannedFault(r.id));
  } finally {
    await dispatcher.destroy();
    await fs.close();
  }
});

test('records stop at recordLimit while stats keep counting', async () => {
  const fs = await startFaultServer({ recordLimit: 3 });
  try {
    for (let i = 0; i < 5; i++) await get(`${fs.url}/r/${i}`);
    assert.deepEqual(fs.requests().map((r) => r.seq), [1, 2, 3]);
    assert.equal(fs.stats().total, 5);
    assert.equal(fs.stats().served, 5);
  } finally {
    await fs.close();
  }
});
