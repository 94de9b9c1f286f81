import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileHostPolicy } from './allowed-hosts.js';
import { createUrlCheck, type UrlCheck } from './url-check.js';

const policy = compileHostPolicy(['api.example.com', '127.0.0.1:8080']);

/** Counts WHATWG parses made while `fn` runs (the checker uses the global URL). */
function parsesDuring(fn: () => void): number {
  const Original = globalThis.URL;
  let n = 0;
  globalThis.URL = class extends Original {
    constructor(input: string | URL, base?: string | URL) {
      n++;
      super(input, base);
    }
  } as typeof URL;
  try {
    fn();
  } finally {
    globalThis.URL = Original;
  }
  return n;
}

function outcome(check: UrlCheck, url: string): string {
  try {
    return 'ok ' + check(url);
  } catch (e) {
    return `${(e as Error).constructor.name} ${(e as Error).message}`;
  }
}

/** A checker that has already seen (and allowed) both origins. */
function warmed(hasValues = true): UrlCheck {
  const check = createUrlCheck(policy, hasValues);
  check('https://api.example.com/warm');
  check('http://127.0.0.1:8080/warm');
  return check;
}

test('a plain URL on an allowed origin passes without a parse, unchanged', () => {
  const check = warmed();
  const urls = ['https://api.example.com/v1/items/42?region=eu&x=a%20b', 'http://127.0.0.1:8080/fast/7', 'https://api.example.com/a/.b/c..d/x.?q=..'];
  const n = parsesDuring(() => {
    for (const u of urls) assert.equal(check(u), u);
  });
  assert.equal(n, 0);
});

test('whatever the fast path lets through, the full parse would have given the same', () => {
  // Random paths over plain characters and every kind the parser changes: dot segments
  // (also as %2e), backslashes, spaces, tabs, quotes, fragments, non-ASCII, brackets.
  const tokens = ['a', 'Z', '9', '-', '_', '~', '.', '..', '%2e', '%2E', '%2', '%', '/', '//', '?', '&', '=', '+', ',', ';', ':', '@', '!', '$', '(', '*',
    '#', '\\', ' ', '\t', '\n', "'", '"', '<', '[', ']', '|', '^', '`', '{', 'é', '\u2028', '%41'];
  let seed = 7;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  const origins = ['https://api.example.com', 'http://127.0.0.1:8080', 'http://127.0.0.1:8081', 'https://API.example.com', 'https://api.example.com:443', 'http://127.0.0.1:8080@evil.com', 'https://evil.com'];
  let fast = 0;
  for (let i = 0; i < 4000; i++) {
    let path = '/';
    for (let k = rand(8); k > 0; k--) path += tokens[rand(tokens.length)];
    const url = origins[rand(origins.length)] + path;
    for (const hasValues of [true, false]) {
      const check = warmed(hasValues);
      let got = '';
      const parses = parsesDuring(() => (got = outcome(check, url)));
      if (parses === 0) fast++;
      // A fresh checker has no origin yet: it always takes the full parse.
      assert.equal(got, outcome(createUrlCheck(policy, hasValues), url), url);
    }
  }
  assert.ok(fast > 1000, `the fast path was taken ${fast} times`);
});

test('refusals hold after the origin is known', () => {
  const check = warmed();
  const cases: [string, RegExp][] = [
    ['https://api.example.com/a/../admin', /"\." or "\.\." path segment/],
    ['https://api.example.com/a/./b', /"\." or "\.\." path segment/],
    ['http://127.0.0.1:8080@evil.com/x', /credentials in the URL/],
    ['http://evil.com/x', /host "evil.com" is not in allowed_hosts/],
    ['https://api.example.com.evil.com/x', /host "api.example.com.evil.com"/],
    ['https://user:pw@api.example.com/x', /credentials in the URL/],
    ['ftp://api.example.com/x', /scheme "ftp"/],
  ];
  for (const [url, message] of cases) assert.throws(() => check(url), message, url);
  // What the parser normalises is normalised, not passed through.
  assert.equal(check('https://api.example.com/a/%2e%2e/b'), 'https://api.example.com/b');
  assert.equal(check('https://api.example.com/a b\\c'), 'https://api.example.com/a%20b/c');
  assert.equal(check('https://api.example.com/x?q=it\'s#frag'), 'https://api.example.com/x?q=it%27s#frag');
});

test('a malformed URL in between cannot make another host pass', () => {
  const check = createUrlCheck(compileHostPolicy(['api.example.com']), true);
  assert.throws(() => check('http://evil.com/x'), /host "evil.com" is not in allowed_hosts/);
  for (const bad of ['http:', 'http:/', 'https:']) {
    assert.throws(() => check(bad), /not a valid absolute URL/);
    assert.equal(check('http://api.example.com/a'), 'http://api.example.com/a');
    assert.throws(() => check('http://evil.com/x'), /host "evil.com" is not in allowed_hosts/, `after ${bad}`);
    assert.throws(() => check('http://127.0.0.1:22/x'), /host "127.0.0.1:22" is not in allowed_hosts/, `after ${bad}`);
  }
});
