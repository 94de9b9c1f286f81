import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedactor, REDACTED } from './redact.js';

test('headers redacted by name (always and configured) and secrets scrubbed from values in all encodings', () => {
  const secret = 'pa ss/wörd+1';
  const r = createRedactor([secret, 'x', ''], ['X-Api-Key']);
  const h = r.headers({
    authorization: 'Bearer abc',
    Cookie: 'a=b',
    'set-cookie': 'c=d',
    'proxy-authorization': 'Basic q',
    'x-api-key': 'k',
    'x-a': `v=${encodeURIComponent(secret)}`,
    'x-b': `v=${encodeURIComponent(secret).replace(/%20/g, '+')}`,
    'x-c': Buffer.from(secret).toString('base64'),
    'x-d': 'x marks the spot', // a 1-char "secret" is ignored
  });
  assert.deepEqual(h, {
    authorization: REDACTED,
    Cookie: REDACTED,
    'set-cookie': REDACTED,
    'proxy-authorization': REDACTED,
    'x-api-key': REDACTED,
    'x-a': `v=${REDACTED}`,
    'x-b': `v=${REDACTED}`,
    'x-c': REDACTED,
    'x-d': 'x marks the spot',
  });
  const raw = { Authorization: 'x', 'x-a': `"${secret}"\n`, 'x-e': 'plain' };
  assert.equal(r.headersJson(raw), JSON.stringify(r.headers(raw)));
  assert.equal(r.headersJson({}), '{}');
  assert.equal(r.text(`a ${secret} b ${secret}`), `a ${REDACTED} b ${REDACTED}`);
  assert.ok(r.isSensitiveHeader('X-API-KEY'));
  assert.equal(createRedactor([]).text('unchanged'), 'unchanged');
});

test('a secret containing another is replaced whole', () => {
  const r = createRedactor(['abcd', 'abcdefgh']);
  assert.equal(r.text('..abcdefgh..abcd..'), `..${REDACTED}..${REDACTED}..`);
});
