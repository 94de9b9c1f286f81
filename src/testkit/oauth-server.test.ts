import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startOAuthServer } from './oauth-server.js';

const basic = (id: string, secret: string) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');

async function post(url: string, form: Record<string, string>, authorization?: string) {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.statusCode, headers: res.headers, json: (await res.body.json()) as Record<string, unknown> };
}

test('token endpoint: checks client secrets and passwords, reports the real lifetime, counts grants', async () => {
  const s = await startOAuthServer({
    clients: [{ id: 'c1', secret: 's1', scopes: ['read', 'write'] }],
    users: [{ username: 'u1', password: 'p1' }],
    accessTokenLifetimeSec: 3,
  });
  try {
    const ok = await post(s.tokenUrl, { grant_type: 'client_credentials', scope: 'read' }, basic('c1', 's1'));
    assert.equal(ok.status, 200);
    assert.equal(ok.json.token_type, 'Bearer');
    assert.equal(ok.json.expires_in, 3, 'not floored to 2');
    assert.equal(ok.json.scope, 'read');
    assert.equal(ok.headers['cache-control'], 'no-store');

    const badSecret = await post(s.tokenUrl, { grant_type: 'client_credentials' }, basic('c1', 'nope'));
    assert.equal(badSecret.status, 401);
    assert.equal(badSecret.json.error, 'invalid_client');
    const badScope = await post(s.tokenUrl, { grant_type: 'client_credentials', scope: 'admin' }, basic('c1', 's1'));
    assert.equal(badScope.json.error, 'invalid_scope');
    const badPassword = await post(s.tokenUrl, { grant_type: 'password', username: 'u1', password: 'nope' }, basic('c1', 's1'));
    assert.equal(badPassword.status, 400);
    assert.equal(badPassword.json.error, 'invalid_grant');

    const pw = await post(s.tokenUrl, { grant_type: 'password', username: 'u1', password: 'p1' }, basic('c1', 's1'));
    assert.equal(typeof pw.json.refresh_token, 'string');
    const r1 = await post(s.tokenUrl, { grant_type: 'refresh_token', refresh_token: pw.json.refresh_token as string }, basic('c1', 's1'));
    assert.equal(r1.status, 200);
    const reuse = await post(s.tokenUrl, { grant_type: 'refresh_token', refresh_token: pw.json.refresh_token as string }, basic('c1', 's1'));
    assert.equal(reuse.json.error, 'invalid_grant', 'refresh tokens rotate: the used one is revoked');
    assert.deepEqual(s.stats().grants, { client_credentials: 1, password: 1, refresh_token: 1 });
    assert.equal(s.stats().refused, 4);
    assert.equal(s.issuedTokens().length, 5); // 3 access tokens + 2 refresh tokens
  } finally {
    await s.close();
  }
});

test('introspection (RFC 7662) needs client authentication; expired tokens are inactive', async () => {
  const s = await startOAuthServer({ clients: [{ id: 'c1', secret: 's1' }], users: [{ username: 'u1', password: 'p1' }] });
  try {
    const t = (await post(s.tokenUrl, { grant_type: 'password', username: 'u1', password: 'p1' }, basic('c1', 's1'))).json.access_token as string;
    assert.equal((await post(s.introspectUrl, { token: t })).status, 401);
    assert.equal((await post(s.introspectUrl, { token: t }, basic('c1', 'wrong'))).status, 401);
    const live = await post(s.introspectUrl, { token: t }, basic('c1', 's1'));
    assert.equal(live.json.active, true);
    assert.equal(live.json.username, 'u1');
    assert.equal(live.json.client_id, 'c1');
    assert.deepEqual((await post(s.introspectUrl, { token: 'at_forged' }, basic('c1', 's1'))).json, { active: false });
    assert.equal(await s.verify(t), true);
    assert.equal(s.expireAccessTokens(), 1);
    assert.equal(await s.verify(t), false);
    assert.deepEqual((await post(s.introspectUrl, { token: t }, basic('c1', 's1'))).json, { active: false });
  } finally {
    await s.close();
  }
});

test('injected outages: a status, a reset; then back to normal', async () => {
  const s = await startOAuthServer({ clients: [{ id: 'c1', secret: 's1' }] });
  try {
    s.setOutage({ status: 503 });
    const down = await post(s.tokenUrl, { grant_type: 'client_credentials' }, basic('c1', 's1'));
    assert.equal(down.status, 503);
    s.setOutage('reset');
    await assert.rejects(post(s.tokenUrl, { grant_type: 'client_credentials' }, basic('c1', 's1')));
    s.setOutage(null);
    assert.equal((await post(s.tokenUrl, { grant_type: 'client_credentials' }, basic('c1', 's1'))).status, 200);
    assert.equal(s.stats().outages, 2);
    assert.equal(s.stats().grants.client_credentials, 1);
  } finally {
    await s.close();
  }
});
