import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startMockApi, mockScore, MOCK_DEFAULTS } from './mock-api.js';

async function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  const res = await request(url, { method: (init.method ?? 'GET') as 'GET', headers: init.headers, body: init.body });
  return { status: res.statusCode, headers: res.headers, json: (await res.body.json()) as any };
}

const basicHeader = (u: string, p: string) => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64');

test('none: answers a deterministic score and echoes the request', async () => {
  const api = await startMockApi();
  try {
    const body = JSON.stringify({ amount: 12.5 });
    const r = await call(`${api.url}/v1/none/score/o-1?region=eu`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-run': 'r1' },
      body,
    });
    assert.equal(r.status, 200);
    assert.equal(r.json.id, 'o-1');
    assert.equal(r.json.score, mockScore('o-1', body));
    assert.ok(r.json.score >= 0 && r.json.score < 1);
    assert.deepEqual(r.json.echo.query, { region: 'eu' });
    assert.deepEqual(r.json.echo.body, { amount: 12.5 });
    assert.equal(r.json.echo.headers['x-run'], 'r1');
    assert.equal(r.json.echo.method, 'POST');
    const again = await call(`${api.url}/v1/none/score/o-1?region=eu`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(again.json.score, r.json.score);
    assert.notEqual(mockScore('o-2', body), r.json.score);
  } finally {
    await api.close();
  }
});

test('basic: accepts the right credentials, rejects wrong or missing ones, never echoes them', async () => {
  const api = await startMockApi({ basic: { username: 'u', password: 'p@ss' } });
  try {
    const ok = await call(`${api.url}/v1/basic/echo`, { headers: { authorization: basicHeader('u', 'p@ss') } });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.echo.headers.authorization, '[redacted]');
    assert.ok(!JSON.stringify(ok.json).includes('p@ss'));
    const wrong = await call(`${api.url}/v1/basic/echo`, { headers: { authorization: basicHeader('u', 'nope') } });
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.headers['www-authenticate']), /Basic/);
    const missing = await call(`${api.url}/v1/basic/score/1`);
    assert.equal(missing.status, 401);
    const s = api.stats();
    assert.deepEqual(s.byAuth.basic, { accepted: 1, rejected: 2 });
  } finally {
    await api.close();
  }
});

test('bearer: checks the static token', async () => {
  const api = await startMockApi();
  try {
    const ok = await call(`${api.url}/v1/bearer/score/7`, { headers: { authorization: `Bearer ${MOCK_DEFAULTS.bearerToken}` } });
    assert.equal(ok.status, 200);
    const bad = await call(`${api.url}/v1/bearer/score/7`, { headers: { authorization: 'Bearer other' } });
    assert.equal(bad.status, 401);
    const wrongScheme = await call(`${api.url}/v1/bearer/score/7`, { headers: { authorization: basicHeader('demo', 'demo-password') } });
    assert.equal(wrongScheme.status, 401);
  } finally {
    await api.close();
  }
});

test('oauth2: asks verifyToken for every token; rejects when it says no or throws', async () => {
  const seen: string[] = [];
  const api = await startMockApi({
    verifyToken: async (t) => {
      seen.push(t);
      if (t === 'boom') throw new Error('introspection down');
      return t === 'good';
    },
  });
  try {
    assert.equal((await call(`${api.url}/v1/oauth2/score/1`, { headers: { authorization: 'Bearer good' } })).status, 200);
    assert.equal((await call(`${api.url}/v1/oauth2/score/1`, { headers: { authorization: 'Bearer bad' } })).status, 401);
    assert.equal((await call(`${api.url}/v1/oauth2/score/1`, { headers: { authorization: 'Bearer boom' } })).status, 401);
    assert.equal((await call(`${api.url}/v1/oauth2/score/1`)).status, 401);
    assert.deepEqual(seen, ['good', 'bad', 'boom']);
  } finally {
    await api.close();
  }
});

test('oauth2 without a verifier rejects everything', async () => {
  const api = await startMockApi();
  try {
    assert.equal((await call(`${api.url}/v1/oauth2/echo`, { headers: { authorization: 'Bearer anything' } })).status, 401);
  } finally {
    await api.close();
  }
});

test('stats count per route (ids collapsed) and per status; unknown paths are 404', async () => {
  const api = await startMockApi();
  try {
    for (const id of ['a', 'b', 'c']) await call(`${api.url}/v1/none/score/${id}`);
    await call(`${api.url}/v1/none/nothing`);
    await call(`${api.url}/v1/bearer/echo`);
    const s = api.stats();
    assert.equal(s.total, 5);
    assert.equal(s.byRoute['GET /v1/none/score/:id'], 3);
    assert.equal(s.byRoute['GET /v1/bearer/echo'], 1);
    assert.deepEqual(s.byStatus, { '200': 3, '404': 1, '401': 1 });
  } finally {
    await api.close();
  }
});

test('form bodies are echoed as objects; oversized bodies get 413', async () => {
  const api = await startMockApi({ maxBodyBytes: 100 });
  try {
    const r = await call(`${api.url}/v1/none/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1&b=two',
    });
    assert.deepEqual(r.json.echo.body, { a: '1', b: 'two' });
    const big = await call(`${api.url}/v1/none/echo`, { method: 'POST', body: 'x'.repeat(500) });
    assert.equal(big.status, 413);
  } finally {
    await api.close();
  }
});

test('latency is added per request and close() ends kept-alive connections', async () => {
  const api = await startMockApi({ latencyMs: 50 });
  const t0 = Date.now();
  await call(`${api.url}/v1/none/score/x`);
  assert.ok(Date.now() - t0 >= 45);
  await api.close();
  await assert.rejects(call(`${api.url}/v1/none/score/x`));
});
