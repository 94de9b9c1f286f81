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

// A secret inside a JSON string: a request body restlake renders, an API echoing the
// request, an identity provider quoting the token request. Encoders differ: JSON.stringify
// escapes " \ and control characters, PHP also / (as \/) and non-ASCII (\u00e4), Python
// non-ASCII (lower-case hex; others upper case), Go < > &.
test('secrets are scrubbed in their JSON-escaped forms, once or twice over, whichever encoder escaped them', () => {
  const quote = 'k3y"with\\quote';
  const slash = 'tQ9/xk2+Lw8/Zr0=';
  const umlaut = 'pässwörd-Ä/2024';
  const control = 'tab\there\u001f!';
  const html = 'a<b>&c-secret';
  const r = createRedactor([quote, slash, umlaut, control, html]);
  const cases: Array<[string, string]> = [
    ['std: " and \\', 'k3y\\"with\\\\quote'],
    ['std, twice (a JSON body echoed as a string)', 'k3y\\\\\\"with\\\\\\\\quote'],
    ['PHP: /', 'tQ9\\/xk2+Lw8\\/Zr0='],
    ['PHP: /, twice', 'tQ9\\\\\\/xk2+Lw8\\\\\\/Zr0='],
    ['Python: non-ASCII, lower case', 'p\\u00e4ssw\\u00f6rd-\\u00c4/2024'],
    ['upper case', 'p\\u00E4ssw\\u00F6rd-\\u00C4/2024'],
    ['PHP: non-ASCII and /', 'p\\u00e4ssw\\u00f6rd-\\u00c4\\/2024'],
    ['a JSON body echoed by Python', 'p\\\\u00e4ssw\\\\u00f6rd-\\\\u00c4/2024'],
    ['control characters', 'tab\\there\\u001f!'],
    ['control characters, upper case', 'tab\\there\\u001F!'],
    ['Go: < > &', 'a\\u003cb\\u003e\\u0026c-secret'],
    ['base64 with \\/ (a Basic value echoed by PHP)', Buffer.from(slash).toString('base64').replace(/\//g, '\\/')],
    ['in a URL query as the parser writes it (\\ kept), inside JSON', new URL(`http://h/?q=${quote}`).search.slice(3).replace(/\\/g, '\\\\')],
    ['a URL path form, inside JSON by PHP', new URL(`http://h/p/${slash}`).pathname.slice(3).replace(/\//g, '\\/')],
  ];
  for (const [what, form] of cases) {
    assert.equal(r.text(`{"echo":"x ${form} y"}`), `{"echo":"x ${REDACTED} y"}`, `${what}: ${form}`);
  }
  assert.equal(
    r.text(JSON.stringify({ body: JSON.stringify({ k: quote, s: slash }) }).replace(/\//g, '\\/')),
    `{"body":"{\\"k\\":\\"${REDACTED}\\",\\"s\\":\\"${REDACTED}\\"}"}`,
  );
  // The raw forms still go, in a text with or without a backslash.
  assert.equal(r.text(`${quote} ${slash} ${umlaut}`), `${REDACTED} ${REDACTED} ${REDACTED}`);
  assert.equal(r.text(`\\ ${quote}`), `\\ ${REDACTED}`);
  assert.equal(r.headersJson({ 'x-echo': quote }), `{"x-echo":"${REDACTED}"}`);
  // Nothing to escape, nothing added: a plain secret keeps its two forms.
  assert.deepEqual(secretForms('abcd1234'), ['abcd1234', 'YWJjZDEyMzQ=']);
});
