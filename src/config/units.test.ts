import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseSize, parseStatusRange } from './units.js';
import { closest } from './suggest.js';
import { formatPath, parsePath } from './key-path.js';
import { literalHost, hostAllowed } from './url-host.js';

test('durations: units, combinations and plain seconds become milliseconds', () => {
  const cases: [unknown, number][] = [
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    [' 2s ', 2000],
    [30, 30_000],
    [0.25, 250],
    ['45', 45_000],
    [0, 0],
  ];
  for (const [input, ms] of cases) assert.deepEqual(parseDuration(input), { ok: true, value: ms }, String(input));
  for (const bad of ['30 sec', 's', '', '5d', '-1s', -1, true, null]) assert.equal(parseDuration(bad).ok, false, String(bad));
});

test('sizes: decimal and binary units become bytes', () => {
  const cases: [unknown, number][] = [
    ['10MB', 10_000_000],
    ['512KiB', 524_288],
    ['1GB', 1_000_000_000],
    ['1gib', 1_073_741_824],
    ['100B', 100],
    ['2 MiB', 2_097_152],
    ['1.5KB', 1500],
    [4096, 4096],
    ['77', 77],
  ];
  for (const [input, bytes] of cases) assert.deepEqual(parseSize(input), { ok: true, value: bytes }, String(input));
  for (const bad of ['10 MiBs', 'MB', 1.5, -3, '1PB', {}]) assert.equal(parseSize(bad).ok, false, String(bad));
});

test('status specs: codes, ranges and classes', () => {
  assert.deepEqual(parseStatusRange(200), { ok: true, value: { from: 200, to: 200 } });
  assert.deepEqual(parseStatusRange('404'), { ok: true, value: { from: 404, to: 404 } });
  assert.deepEqual(parseStatusRange('200-299'), { ok: true, value: { from: 200, to: 299 } });
  assert.deepEqual(parseStatusRange('5XX'), { ok: true, value: { from: 500, to: 599 } });
  assert.deepEqual(parseStatusRange('299-200'), { ok: false, message: 'status range "299-200" runs backwards' });
  assert.deepEqual(parseStatusRange(600), { ok: false, message: 'status 600 is outside 100-599' });
  assert.equal(parseStatusRange('6xx').ok, false);
  assert.equal(parseStatusRange('ok').ok, false);
});

test('did-you-mean: typos, transpositions and case, but not unrelated words', () => {
  assert.equal(closest('metod', ['url', 'method', 'query']), 'method');
  assert.equal(closest('kye', ['path', 'format', 'key', 'limit']), 'key');
  assert.equal(closest('URL', ['url', 'method']), 'url');
  assert.equal(closest('zzz', ['url', 'method']), null);
});

test('key paths parse and format round-trip', () => {
  assert.deepEqual(parsePath('middleware[0].max_attempts'), ['middleware', 0, 'max_attempts']);
  assert.deepEqual(parsePath('execution.spark.conf["spark.executor.memory"]'), ['execution', 'spark', 'conf', 'spark.executor.memory']);
  assert.deepEqual(parsePath("a['b c'][2]"), ['a', 'b c', 2]);
  assert.equal(formatPath(['middleware', 2, 'max_attempts']), 'middleware[2].max_attempts');
  assert.equal(formatPath(['request', 'headers', 'X-Foo']), 'request.headers.X-Foo');
  assert.equal(formatPath(['execution', 'spark', 'conf', 'spark.executor.memory']), 'execution.spark.conf["spark.executor.memory"]');
  for (const bad of ['', 'a..b', 'a.', 'a[x]', 'a[0', 'a[0]b']) assert.throws(() => parsePath(bad), /bad key path/, bad);
});

test('the literal host of a URL template', () => {
  assert.deepEqual(literalHost('https://API.example.com/v1/{{ id }}'), { kind: 'literal', host: 'api.example.com' });
  assert.deepEqual(literalHost('http://127.0.0.1:8080?x={{ id }}'), { kind: 'literal', host: '127.0.0.1' });
  assert.deepEqual(literalHost('https://api.example.com'), { kind: 'literal', host: 'api.example.com' });
  assert.deepEqual(literalHost('https://{{ tenant }}.example.com/x'), { kind: 'templated' });
  // No "/" after the host: a row value could continue the host name.
  assert.deepEqual(literalHost('https://api.example.com{{ path }}'), { kind: 'templated' });
  assert.deepEqual(literalHost('{{ base }}/x'), { kind: 'templated' });
  assert.equal(literalHost('ftp://x/{{ a }}').kind, 'bad');
  assert.equal(literalHost('api.example.com/x').kind, 'bad');
  // Credentials before the host, literal or ahead of a templated host; an "@" after the host is path or query.
  for (const url of ['https://u:p@api.example.com/{{ id }}', 'https://u@api.example.com', 'https://u:p@{{ host }}/x', 'http://u:p@']) {
    assert.deepEqual(literalHost(url), { kind: 'bad', message: 'must not hold credentials (user:password@ before the host); put them in auth (type: basic)' }, url);
  }
  assert.deepEqual(literalHost('https://api.example.com/users/a@b.c?cc=x@y'), { kind: 'literal', host: 'api.example.com' });
  assert.equal(hostAllowed('a.example.com', ['*.example.com']), true);
  assert.equal(hostAllowed('example.com', ['*.example.com']), false);
  assert.equal(hostAllowed('api.example.com', ['api.example.com:8443']), true);
  assert.equal(hostAllowed('evil.com', ['api.example.com']), false);
});
