import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRequest } from '../request/build.js';
import { testConfig } from '../request/test-support.js';
import { createRedactor, REDACTED, secretForms } from './redact.js';

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

// The url column holds the URL as the WHATWG parser writes it, which re-encodes some
// characters encodeURIComponent leaves alone (' in a query) and every unsafe character
// a URL template holds raw ({ } ` < > " space, non-ASCII). Each secret sits in the URL
// four ways: raw in the template's path and query, and as a row value in both.
test('secrets are scrubbed from a rendered URL however the URL parser re-encoded them', () => {
  const secrets = ["it's-a-secret", 'pa ss"wörd', '{sec}|ret^`', '<x>日本語', "O'Brien!*()~", 'tab\tbed'];
  for (const secret of secrets) {
    const build = compileRequest(
      testConfig({
        request: { url: `https://h.example/x/${secret}/{{ v }}`, query: { k: secret, r: '{{ v }}' }, allowed_hosts: ['h.example'] },
      }),
    );
    const url = build({ v: secret }, { run_id: 'r', request_id: 'i', now: 0 }).url;
    assert.equal(
      createRedactor([secret]).text(url),
      `https://h.example/x/${REDACTED}/${REDACTED}?k=${REDACTED}&r=${REDACTED}`,
      `${JSON.stringify(secret)} in ${url}`,
    );
  }
});

test('secretForms: each form once, and no scrap shorter than a secret', () => {
  assert.deepEqual(secretForms('abcd1234'), ['abcd1234', 'YWJjZDEyMzQ=']);
  assert.ok(secretForms("a'b c").includes('a%27b%20c'));
  // Form-encoded as URLSearchParams writes it (OAuth2 token requests): ! ' ( ) ~ encoded too.
  assert.ok(secretForms("p!ss'w (x)").includes('p%21ss%27w+%28x%29'));
  // The parser resolves "./" and drops tabs: what is left of these is too short to redact.
  assert.ok(secretForms('./ab').every((f) => f.length >= 4));
  assert.ok(secretForms('a\tb\tc\t').every((f) => f.length >= 4));
});
