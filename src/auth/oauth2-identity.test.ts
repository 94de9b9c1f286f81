import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authIdOf, authConfigForWorkers, isOAuth2, tokenFingerprint, type OAuth2AuthConfig } from './oauth2-identity.js';
import { oauthAuthConfig } from '../testkit/oauth-server.js';

const base = oauthAuthConfig({ tokenUrl: 'https://idp.example/token' }, { grant: 'password', clientId: 'etl', clientSecret: 'top-secret', username: 'u', password: 'pw-secret' });

test('the auth id is the same in the driver (with secrets) and in workers (without), and reveals no secret', () => {
  const worker = authConfigForWorkers(base) as OAuth2AuthConfig;
  assert.equal(worker.client_secret, null);
  assert.equal(worker.password, null);
  assert.equal(worker.username, 'u');
  assert.equal(authIdOf(worker), authIdOf(base));
  assert.match(authIdOf(base), /^oauth2-[0-9a-f]{16}$/);
  assert.equal(authIdOf({ ...base, client_secret: 'rotated' }), authIdOf(base), 'a rotated secret is the same auth config');
});

test('the id changes with anything that changes the token, and not with key order', () => {
  const id = authIdOf(base);
  for (const change of [{ client_id: 'other' }, { token_url: 'https://idp.example/t2' }, { scope: 'read' }, { username: 'v' }, { audience: 'a' }]) {
    assert.notEqual(authIdOf({ ...base, ...change }), id, JSON.stringify(change));
  }
  const a = authIdOf({ ...base, extra_params: { resource: 'r', tenant: 't' } });
  const b = authIdOf({ ...base, extra_params: { tenant: 't', resource: 'r' } });
  assert.equal(a, b);
  assert.notEqual(a, id);
});

test('non-OAuth2 configs pass through unchanged; fingerprints are short and stable', () => {
  const basic = { type: 'basic', username: 'u', password: 'p' } as const;
  assert.equal(isOAuth2(basic), false);
  assert.equal(authConfigForWorkers(basic), basic);
  assert.equal(tokenFingerprint('abc'), tokenFingerprint('abc'));
  assert.notEqual(tokenFingerprint('abc'), tokenFingerprint('abd'));
  assert.equal(tokenFingerprint('abc').length, 32);
});
