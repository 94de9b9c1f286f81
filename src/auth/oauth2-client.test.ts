import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { OAuth2Client, OAuth2TokenError, formEncode } from './oauth2-client.js';
import { startOAuthServer, oauthAuthConfig, type OAuthServer } from '../testkit/oauth-server.js';
import type { OAuth2AuthConfig } from './oauth2-identity.js';

const SECRET = 'cl!ent s3cr:t+/=&%';
const PASSWORD = 'p@ss w0rd:+/&';

async function withServer(fn: (s: OAuthServer) => Promise<void>, lifetime = 3): Promise<void> {
  const s = await startOAuthServer({
    clients: [
      { id: 'etl-client', secret: SECRET },
      { id: 'cc-only', secret: 'x-secret', grants: ['client_credentials'] },
    ],
    users: [{ username: 'alice', password: PASSWORD }],
    accessTokenLifetimeSec: lifetime,
  });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

function assertNoSecrets(text: string): void {
  for (const s of [SECRET, PASSWORD, 'wrong-secret-value', 'wrong-password-value']) assert.ok(!text.includes(s), `leaked ${s}`);
}

test('client_credentials with HTTP Basic (id and secret form-urlencoded first) gets a live token; expires_in honoured', async () => {
  await withServer(async (s) => {
    const c = new OAuth2Client(oauthAuthConfig(s, { grant: 'client_credentials', clientId: 'etl-client', clientSecret: SECRET }));
    const before = Date.now();
    const g = await c.fetchToken();
    assert.equal(g.grant, 'client_credentials');
    assert.equal(g.lifetimeMs, 3000);
    assert.ok(g.expiresAtMs >= before + 3000 && g.expiresAtMs <= Date.now() + 3000);
    assert.equal(s.introspect(g.accessToken).active, true);
    assert.equal(s.introspect(g.accessToken).client_id, 'etl-client');
    assert.equal(c.hasRefreshToken, false); // RFC 6749 §4.4.3: no refresh token for client_credentials
    assert.equal(s.stats().grants.client_credentials, 1);
  });
});

test('client_auth: body sends client_id/client_secret in the form', async () => {
  await withServer(async (s) => {
    const c = new OAuth2Client(oauthAuthConfig(s, { grant: 'client_credentials', clientId: 'etl-client', clientSecret: SECRET, clientAuth: 'body' }));
    const g = await c.fetchToken();
    assert.equal(s.introspect(g.accessToken).active, true);
  });
});

test('password grant, then refresh_token grant; the rotated refresh token is kept', async () => {
  await withServer(async (s) => {
    const c = new OAuth2Client(
      oauthAuthConfig(s, { grant: 'password', clientId: 'etl-client', clientSecret: SECRET, username: 'alice', password: PASSWORD }),
    );
    const a = await c.fetchToken();
    assert.equal(a.grant, 'password');
    assert.equal(s.introspect(a.accessToken).username, 'alice');
    assert.equal(c.hasRefreshToken, true);
    const b = await c.fetchToken();
    const d = await c.fetchToken(); // works only if b's rotated refresh token replaced a's (a's was revoked)
    assert.equal(b.grant, 'refresh_token');
    assert.equal(d.grant, 'refresh_token');
    assert.notEqual(b.accessToken, d.accessToken);
    assert.deepEqual(s.stats().grants, { client_credentials: 0, password: 1, refresh_token: 2 });
  });
});

test('a refused refresh token falls back to the original grant', async () => {
  await withServer(async (s) => {
    const auth = oauthAuthConfig(s, { grant: 'password', clientId: 'etl-client', clientSecret: SECRET, username: 'alice', password: PASSWORD });
    const c = new OAuth2Client(auth);
    await c.fetchToken();
    // Someone else uses (and so, with rotation, revokes) the refresh token `c` holds.
    const held = (c as unknown as { refreshToken: string }).refreshToken;
    const res = await request(s.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`etl-client:${formEncode(SECRET)}`).toString('base64') },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: held }).toString(),
    });
    await res.body.text();
    assert.equal(res.statusCode, 200);
    const g = await c.fetchToken();
    assert.equal(g.grant, 'password');
    assert.equal(s.introspect(g.accessToken).active, true);
    assert.deepEqual(s.stats().grants, { client_credentials: 0, password: 2, refresh_token: 1 });
  });
});

test('wrong client secret, wrong password, unknown grant: classified, no secret in the message', async () => {
  await withServer(async (s) => {
    const wrongSecret = new OAuth2Client(oauthAuthConfig(s, { grant: 'client_credentials', clientId: 'etl-client', clientSecret: 'wrong-secret-value' }));
    const e1 = await wrongSecret.fetchToken().then(() => null, (e: unknown) => e);
    assert.ok(e1 instanceof OAuth2TokenError);
    assert.equal(e1.kind, 'credentials');
    assert.equal(e1.oauthError, 'invalid_client');
    assert.match(e1.message, /wrong client credentials/);
    assertNoSecrets(e1.message);

    const wrongPassword = new OAuth2Client(
      oauthAuthConfig(s, { grant: 'password', clientId: 'etl-client', clientSecret: SECRET, username: 'alice', password: 'wrong-password-value' }),
    );
    const e2 = await wrongPassword.fetchToken().then(() => null, (e: unknown) => e);
    assert.ok(e2 instanceof OAuth2TokenError);
    assert.equal(e2.kind, 'credentials');
    assert.match(e2.message, /wrong username or password/);
    assertNoSecrets(e2.message);

    const noPasswordGrant = new OAuth2Client(
      oauthAuthConfig(s, { grant: 'password', clientId: 'cc-only', clientSecret: 'x-secret', username: 'alice', password: PASSWORD }),
    );
    const e3 = await noPasswordGrant.fetchToken().then(() => null, (e: unknown) => e);
    assert.ok(e3 instanceof OAuth2TokenError);
    assert.equal(e3.kind, 'rejected');
    assert.equal(e3.oauthError, 'unauthorized_client');
    assertNoSecrets(e3.message);
  });
});

test('unreachable token endpoint and injected 503 are transient kinds', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const c = new OAuth2Client(oauthAuthConfig({ tokenUrl: `http://127.0.0.1:${port}/token` }, { grant: 'client_credentials', clientId: 'x', clientSecret: SECRET }));
  const e = await c.fetchToken().then(() => null, (err: unknown) => err);
  assert.ok(e instanceof OAuth2TokenError);
  assert.equal(e.kind, 'unreachable');
  assert.ok(e.transient);
  assert.match(e.message, /unreachable \(ECONNREFUSED\)/);
  assertNoSecrets(e.message);

  await withServer(async (s) => {
    s.setOutage({ status: 503 });
    const c2 = new OAuth2Client(oauthAuthConfig(s, { grant: 'client_credentials', clientId: 'etl-client', clientSecret: SECRET }));
    const e2 = await c2.fetchToken().then(() => null, (err: unknown) => err);
    assert.ok(e2 instanceof OAuth2TokenError);
    assert.equal(e2.kind, 'unavailable');
    assert.equal(e2.status, 503);
  });
});

/** A token endpoint that records what it got and answers what the test says. */
async function captureServer(answer: (req: IncomingMessage, body: string) => { status: number; body: string; type?: string; headers?: Record<string, string> }) {
  const seen: Array<{ headers: IncomingMessage['headers']; form: URLSearchParams }> = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ headers: req.headers, form: new URLSearchParams(body) });
      const a = answer(req, body);
      res.writeHead(a.status, { ...a.headers, 'content-type': a.type ?? 'application/json' });
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/oauth/token`;
  return { url, seen, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

function cfg(url: string, over: Partial<OAuth2AuthConfig> = {}): OAuth2AuthConfig {
  return { ...oauthAuthConfig({ tokenUrl: url }, { grant: 'client_credentials', clientId: 'id', clientSecret: SECRET }), ...over } as OAuth2AuthConfig;
}

test('scope, audience and extra params are sent; a missing expires_in uses the configured default', async () => {
  const cap = await captureServer(() => ({ status: 200, body: JSON.stringify({ access_token: 'tok', token_type: 'bearer' }) }));
  try {
    const c = new OAuth2Client(cfg(cap.url, { scope: 'read write', audience: 'https://api', extra_params: { resource: 'r1' }, default_expires_in_ms: 42_000 }));
    const g = await c.fetchToken();
    assert.equal(g.lifetimeMs, 42_000);
    const { form, headers } = cap.seen[0];
    assert.equal(form.get('grant_type'), 'client_credentials');
    assert.equal(form.get('scope'), 'read write');
    assert.equal(form.get('audience'), 'https://api');
    assert.equal(form.get('resource'), 'r1');
    assert.equal(form.get('client_secret'), null); // Basic by default: never in the body
    const basic = Buffer.from(String(headers.authorization).slice(6), 'base64').toString();
    assert.equal(basic, `id:${formEncode(SECRET)}`);
    assert.ok(!basic.includes(' ')); // the space in the secret is form-encoded
  } finally {
    await cap.close();
  }
});

test('unusable 2xx bodies are bad_response; secrets echoed by a server are scrubbed', async () => {
  let mode = 'html';
  const cap = await captureServer(() => {
    if (mode === 'html') return { status: 200, body: '<html>login</html>', type: 'text/html' };
    if (mode === 'mac') return { status: 200, body: JSON.stringify({ access_token: 't', token_type: 'mac' }) };
    return { status: 400, body: JSON.stringify({ error: 'invalid_request', error_description: `bad secret ${SECRET}` }) };
  });
  try {
    const c = new OAuth2Client(cfg(cap.url));
    for (const m of ['html', 'mac']) {
      mode = m;
      const e = await c.fetchToken().then(() => null, (err: unknown) => err);
      assert.ok(e instanceof OAuth2TokenError);
      assert.equal(e.kind, 'bad_response', m);
    }
    mode = 'echo';
    const e = await c.fetchToken().then(() => null, (err: unknown) => err);
    assert.ok(e instanceof OAuth2TokenError);
    assert.equal(e.kind, 'rejected');
    assert.match(e.message, /invalid_request: bad secret \[REDACTED\]/);
    assertNoSecrets(e.message);
  } finally {
    await cap.close();
  }
});

test('a public client (no secret) identifies itself in the body; expires_in as a string; 429 and redirects classified', async () => {
  let answer: { status: number; body: string; headers?: Record<string, string> } = { status: 200, body: JSON.stringify({ access_token: 'tok', expires_in: '120' }) };
  const cap = await captureServer(() => answer);
  try {
    const c = new OAuth2Client(cfg(cap.url, { client_secret: null }));
    const g = await c.fetchToken();
    assert.equal(g.lifetimeMs, 120_000);
    assert.equal(cap.seen[0].headers.authorization, undefined);
    assert.equal(cap.seen[0].form.get('client_id'), 'id');
    assert.equal(cap.seen[0].form.get('client_secret'), null);

    answer = { status: 429, body: '{}' };
    const e1 = await c.fetchToken().then(() => null, (e: unknown) => e);
    assert.ok(e1 instanceof OAuth2TokenError && e1.kind === 'unavailable' && e1.transient);
    assert.equal(e1.retryAfterMs, null);
    answer = { status: 429, body: '{}', headers: { 'retry-after': '7' } };
    const e429 = await c.fetchToken().then(() => null, (e: unknown) => e);
    assert.ok(e429 instanceof OAuth2TokenError && e429.kind === 'unavailable');
    assert.equal(e429.retryAfterMs, 7000, 'the wait the endpoint asked for');
    assert.match(e429.message, /HTTP 429, asking to wait 7s/);
    answer = { status: 302, body: '' };
    const e2 = await c.fetchToken().then(() => null, (e: unknown) => e);
    assert.ok(e2 instanceof OAuth2TokenError && e2.kind === 'bad_response');
    answer = { status: 200, body: JSON.stringify({ access_token: 'x'.repeat(300_000) }) };
    const e3 = await c.fetchToken().then(() => null, (e: unknown) => e);
    assert.ok(e3 instanceof OAuth2TokenError && e3.kind === 'bad_response', 'an oversized body is cut, not buffered');
  } finally {
    await cap.close();
  }
});

test('a token endpoint that never answers times out as unreachable', async () => {
  const s = await startOAuthServer({ clients: [{ id: 'c', secret: 'hang-secret' }] });
  try {
    s.setOutage('hang');
    const c = new OAuth2Client(oauthAuthConfig(s, { grant: 'client_credentials', clientId: 'c', clientSecret: 'hang-secret' }), { timeoutMs: 300 });
    const e = await c.fetchToken().then(() => null, (err: unknown) => err);
    assert.ok(e instanceof OAuth2TokenError);
    assert.equal(e.kind, 'unreachable');
    assert.match(e.message, /timed out/);
  } finally {
    await s.close();
  }
});

test('a server echoing the token request in its error: no secret in any form (form-encoded, Basic) in the message', async () => {
  // The secrets as the request carries them: form-encoded in the body, and inside the base64
  // of Basic client authentication (id and secret form-encoded first), besides as is.
  const forms = (secret: string) => [secret, encodeURIComponent(secret), formEncode(secret), Buffer.from(secret).toString('base64')];
  const basic = Buffer.from(`id:${formEncode(SECRET)}`).toString('base64');
  const REFRESH = 'rt+/x=y&z';
  const leaked = (text: string) => [...forms(SECRET), ...forms(PASSWORD), ...forms(REFRESH), basic].filter((f) => text.includes(f));
  let grants = 0;
  const cap = await captureServer((req, body) => {
    const echo = `you sent ${body} with ${req.headers.authorization ?? 'no authorization'}`;
    // The first password grant works (and hands out a refresh token); the refresh then meets a 503.
    if (new URLSearchParams(body).get('grant_type') === 'password' && grants++ === 0) {
      return { status: 200, body: JSON.stringify({ access_token: 'tok', token_type: 'Bearer', refresh_token: REFRESH }) };
    }
    return { status: body.includes('refresh_token') ? 503 : 400, body: JSON.stringify({ error: 'invalid_request', error_description: echo }) };
  });
  try {
    const messages: string[] = [];
    const fail = async (c: OAuth2Client) => {
      const e = await c.fetchToken().then(() => null, (err: unknown) => err);
      assert.ok(e instanceof OAuth2TokenError);
      assert.deepEqual(leaked(e.message), [], e.message);
      assert.match(e.message, /you sent grant_type=.*\[REDACTED\]/, 'the echo is kept, redacted');
      messages.push(e.message);
    };
    await fail(new OAuth2Client(cfg(cap.url))); // Basic client authentication
    const pw = new OAuth2Client(cfg(cap.url, { type: 'oauth2_password', username: 'alice', password: PASSWORD, client_auth: 'body' }));
    await pw.fetchToken();
    await fail(pw); // refresh_token grant: 503 echoing the refresh token
    assert.equal(pw.hasRefreshToken, true);
    assert.match(messages[1], /refresh_token token request/);
    await fail(new OAuth2Client(cfg(cap.url, { type: 'oauth2_password', username: 'alice', password: PASSWORD, client_auth: 'body' })));
    assert.match(messages[2], /password token request/);
  } finally {
    await cap.close();
  }
});

test('an identity provider quoting the token request as JSON (JSON.stringify, or PHP: \\/ and \\u00e4) in its error: secrets redacted', async () => {
  const secret = 'cl1ent"S3cret/ä';
  const password = 'pa\\ssw0rd"x';
  const php = (json: string) => json.replace(/\//g, '\\/').replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  for (const style of ['json', 'php'] as const) {
    const cap = await captureServer((_req, body) => {
      const quoted = JSON.stringify({ body: decodeURIComponent(body.replace(/\+/g, ' ')) });
      return { status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'bad client: ' + (style === 'php' ? php(quoted) : quoted) }) };
    });
    try {
      const c = new OAuth2Client(cfg(cap.url, { type: 'oauth2_password', client_secret: secret, username: 'alice', password, client_auth: 'body' }));
      const e = await c.fetchToken().then(() => null, (err: unknown) => err);
      assert.ok(e instanceof OAuth2TokenError);
      assert.ok(
        e.message.includes('bad client: {"body":"grant_type=password&username=alice&password=[REDACTED]&client_id=id&client_secret=[REDACTED]"}'),
        `${style}: ${e.message}`,
      );
    } finally {
      await cap.close();
    }
  }
});
