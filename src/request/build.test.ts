import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RowError } from '../errors.js';
import { compileRequest } from './build.js';
import { testConfig } from './test-support.js';
import type { RequestConfig } from '../config/types.js';

const ctx = { run_id: 'run-1', request_id: 'rid-1', now: 0 };

function build(request: Partial<RequestConfig>) {
  return compileRequest(testConfig({ request }));
}

test('renders url, query, headers, idempotency header and default content type', () => {
  const b = build({
    method: 'POST',
    url: 'https://api.example.com/v1/orders/{{ id }}/score',
    query: { region: '{{ region }}', 'q k': 'a&b' },
    headers: { Accept: 'application/json', 'X-Run': '{{ $run_id }}' },
    body: { kind: 'json', template: { id: '{{ id }}' } },
    idempotency_header: 'Idempotency-Key',
    allowed_hosts: ['api.example.com'],
  });
  const r = b({ id: 7, region: 'eu west/1' }, ctx);
  assert.equal(r.method, 'POST');
  assert.equal(r.url, 'https://api.example.com/v1/orders/7/score?region=eu%20west%2F1&q%20k=a%26b');
  assert.deepEqual(r.headers, { accept: 'application/json', 'x-run': 'run-1', 'idempotency-key': 'rid-1', 'content-type': 'application/json' });
  assert.equal(r.body, '{"id":7}');
});

test('a query appended to a URL that already has one uses "&"', () => {
  const r = build({ url: 'https://h.example/x?a=1', query: { b: '{{ v }}' }, allowed_hosts: ['h.example'] })({ v: 2 }, ctx);
  assert.equal(r.url, 'https://h.example/x?a=1&b=2');
});

test('JSON bodies keep column types for sole expressions and interpolate the rest', () => {
  const b = build({
    method: 'POST',
    url: 'https://h.example/',
    allowed_hosts: ['h.example'],
    body: {
      kind: 'json',
      template: {
        n: '{{ n }}',
        f: '{{ f }}',
        b: '{{ b }}',
        z: '{{ z }}',
        o: '{{ o }}',
        s: 'id-{{ n }}',
        q: 'say "{{ s }}"',
        lit: 5,
        arr: ['{{ n }}', 'x', null, true],
        nested: { deep: '{{ s | upper }}', d: "{{ missing | default('7') }}" },
        esc: '\\{{ n }}',
      },
    },
  });
  const r = b({ n: 1, f: 2.5, b: false, z: null, o: { k: [1] }, s: 'he said "hi"\n' }, ctx);
  assert.deepEqual(JSON.parse(r.body!), {
    n: 1,
    f: 2.5,
    b: false,
    z: null,
    o: { k: [1] },
    s: 'id-1',
    q: 'say "he said "hi"\n"',
    lit: 5,
    arr: [1, 'x', null, true],
    nested: { deep: 'HE SAID "HI"\n', d: '7' },
    esc: '{{ n }}',
  });
});

test('text and form bodies, with their default content types; a configured content type wins', () => {
  const text = build({ method: 'POST', url: 'https://h.example/', allowed_hosts: ['h.example'], body: { kind: 'text', template: 'hello {{ who }}' } })({ who: 'you' }, ctx);
  assert.equal(text.body, 'hello you');
  assert.equal(text.headers['content-type'], 'text/plain; charset=utf-8');
  const form = build({ method: 'POST', url: 'https://h.example/', allowed_hosts: ['h.example'], body: { kind: 'form', template: { 'user name': '{{ u }}', grant: 'a b' } } })({ u: 'x&y=1 2' }, ctx);
  assert.equal(form.body, 'user+name=x%26y%3D1+2&grant=a+b');
  assert.equal(form.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(new URLSearchParams(form.body!).get('user name'), 'x&y=1 2');
  const own = build({ method: 'POST', url: 'https://h.example/', allowed_hosts: ['h.example'], headers: { 'Content-Type': 'application/vnd.x+json' }, body: { kind: 'json', template: {} } })({}, ctx);
  assert.equal(own.headers['content-type'], 'application/vnd.x+json');
});

test('the per-row header object is fresh (middleware may mutate it)', () => {
  const b = build({ url: 'https://h.example/', allowed_hosts: ['h.example'], headers: { A: 'b' } });
  const r1 = b({}, ctx);
  r1.headers.a = 'changed';
  assert.equal(b({}, ctx).headers.a, 'b');
});

function failsWith(fn: () => unknown, cls: string, re?: RegExp) {
  assert.throws(fn, (e: unknown) => e instanceof RowError && e.errorClass === cls && (!re || re.test(e.message)));
}

test('missing column -> template error naming the column', () => {
  failsWith(() => build({ url: 'https://h.example/{{ id }}', allowed_hosts: ['h.example'] })({}, ctx), 'template', /"id"/);
  failsWith(() => build({ url: 'https://h.example/', allowed_hosts: ['h.example'], query: { q: '{{ qq }}' } })({}, ctx), 'template', /request\.query\.q.*"qq"/);
});

test('a header value with a line break is a template error (no header injection)', () => {
  failsWith(() => build({ url: 'https://h.example/', allowed_hosts: ['h.example'], headers: { 'X-A': '{{ v }}' } })({ v: 'a\r\nX-Evil: 1' }, ctx), 'template', /line break/);
});

// A rendered value is held to the HTTP field-value rule (HTAB, 0x20-0x7E, 0x80-0xFF):
// anything else fails the row as template, naming the header, the character and where.
test('a header value HTTP cannot carry is a template error naming the header and the character', () => {
  const b = build({ url: 'https://h.example/', allowed_hosts: ['h.example'], headers: { 'X-H': '{{ v }}' } });
  const refused: [string, string][] = [
    ['日本語', 'U+65E5 at 0'],
    ['ok\u007f', 'U+007F at 2'],
    ['a\u0001b', 'U+0001 at 1'],
    ['a\x00', 'U+0000, NUL, at 1'],
    ['a\nb', 'U+000A, a line break, at 1'],
    ['€', 'U+20AC at 0'],
    ['x😀', 'U+1F600 at 1'],
  ];
  for (const [v, where] of refused) {
    const expected = `request.headers.X-H: the rendered value has a character HTTP headers cannot carry (${where})`;
    assert.throws(() => b({ v }, ctx), (e: unknown) => e instanceof RowError && e.errorClass === 'template' && e.message === expected, JSON.stringify(v));
  }
  for (const v of ['plain', 'tab\there', 'café ü (latin-1)', ' ~!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}', '\u00ff\u0080']) {
    assert.equal(b({ v }, ctx).headers['x-h'], v, JSON.stringify(v));
  }
});

// A row value can never move the request to another host, whatever it holds.
const hostile = [
  '@evil.com',
  'x@evil.com',
  '//evil.com',
  '/../../evil.com',
  '%2F%2Fevil.com',
  '%2e%2e',
  '\\\\evil.com',
  '\\evil.com',
  'evil.com:443',
  '.evil.com',
  'évil.com',
  'ｅｖｉｌ.com',
  'evil。com',
  '?@evil.com',
  '#@evil.com',
  'http://evil.com/',
  '\u0000evil.com',
  ' evil.com',
  '\tevil.com',
  '\r\nHost: evil.com',
];

for (const value of hostile) {
  test(`allowed_hosts holds against path value ${JSON.stringify(value)}`, () => {
    const b = build({ url: 'https://api.example.com/v1/{{ v }}', query: { q: '{{ v }}' }, allowed_hosts: ['api.example.com'] });
    const r = b({ v: value }, ctx);
    assert.equal(new URL(r.url).host, 'api.example.com');
    assert.ok(r.url.startsWith('https://api.example.com/v1/'), r.url);
  });
  test(`allowed_hosts holds against host-position value ${JSON.stringify(value)}`, () => {
    const b = build({ url: 'https://{{ v }}/x', allowed_hosts: ['api.example.com'] });
    assert.throws(() => b({ v: value }, ctx), (e: unknown) => e instanceof RowError && (e.errorClass === 'host_not_allowed' || e.errorClass === 'template'));
  });
}

test('dot segments from values are refused; dots inside a segment are fine', () => {
  const b = build({ url: 'https://h.example/a/{{ v }}/b', allowed_hosts: ['h.example'] });
  failsWith(() => b({ v: '..' }, ctx), 'template', /path segment/);
  failsWith(() => b({ v: '.' }, ctx), 'template');
  assert.equal(b({ v: '...' }, ctx).url, 'https://h.example/a/.../b');
  assert.equal(b({ v: 'v1.2' }, ctx).url, 'https://h.example/a/v1.2/b');
  // A ".." in a query value is harmless.
  assert.equal(build({ url: 'https://h.example/a', allowed_hosts: ['h.example'], query: { p: '{{ v }}' } })({ v: '..' }, ctx).url, 'https://h.example/a?p=..');
});

test('allowed_hosts entries: exact host, host:port, wildcard subdomain; case and IDNA normalised', () => {
  const b = build({ url: 'https://{{ h }}/x', allowed_hosts: ['API.Example.com', 'pinned.example.com:8443', '*.svc.example.com', 'bücher.example'] });
  assert.equal(b({ h: 'api.example.com' }, ctx).url, 'https://api.example.com/x');
  assert.equal(b({ h: 'a.b.svc.example.com' }, ctx).url, 'https://a.b.svc.example.com/x');
  assert.equal(b({ h: 'xn--bcher-kva.example' }, ctx).url, 'https://xn--bcher-kva.example/x');
  failsWith(() => b({ h: 'svc.example.com' }, ctx), 'host_not_allowed');
  failsWith(() => b({ h: 'pinned.example.com' }, ctx), 'host_not_allowed'); // port 443, only 8443 allowed
  failsWith(() => b({ h: 'api.example.com.evil.com' }, ctx), 'host_not_allowed', /api\.example\.com\.evil\.com/);
  failsWith(() => b({ h: 'evilsvc.example.com' }, ctx), 'host_not_allowed');
});

test('host:port entries allow that port only; schemes other than http(s) are refused', () => {
  const b = build({ url: 'http://127.0.0.1:{{ port }}/x', allowed_hosts: ['127.0.0.1:8080'] });
  assert.equal(b({ port: 8080 }, ctx).url, 'http://127.0.0.1:8080/x');
  failsWith(() => b({ port: 9090 }, ctx), 'host_not_allowed');
  failsWith(() => b({ port: '8080@evil.com' }, ctx), 'template');
  failsWith(() => build({ url: 'ftp://h.example/{{ x }}', allowed_hosts: ['h.example'] })({ x: 1 }, ctx), 'host_not_allowed', /scheme "ftp"/);
});

test('without allowed_hosts the literal host of the URL is the only one allowed', () => {
  const b = build({ url: 'https://api.example.com/{{ x }}' });
  assert.equal(b({ x: 1 }, ctx).url, 'https://api.example.com/1');
  assert.throws(() => build({ url: 'https://{{ h }}/x' }), /allowed_hosts/);
});
