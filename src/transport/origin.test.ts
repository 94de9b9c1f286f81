import { test } from 'node:test';
import assert from 'node:assert/strict';
import { originOf, pathOf } from './origin.js';

test('origin and path of normalised URLs, including after the memo of the previous origin', () => {
  const cases: [string, string, string][] = [
    ['https://api.example.com/v1/x?y=1', 'https://api.example.com', '/v1/x?y=1'],
    ['https://api.example.com/v2', 'https://api.example.com', '/v2'],
    ['https://api.example.com:8443/v2', 'https://api.example.com:8443', '/v2'],
    ['https://api.example.com.evil.net/', 'https://api.example.com.evil.net', '/'],
    ['https://api.example.com', 'https://api.example.com', '/'],
    ['https://api.example.com?q=1', 'https://api.example.com', '/?q=1'],
    ['http://127.0.0.1:1/a#frag', 'http://127.0.0.1:1', '/a'],
    ['http://[::1]:8080/p', 'http://[::1]:8080', '/p'],
    ['https://api.example.com/v1', 'https://api.example.com', '/v1'],
  ];
  for (const [url, origin, path] of cases) {
    assert.equal(originOf(url), origin, url);
    assert.equal(pathOf(url, origin), path, url);
  }
});

test('a string that is not an absolute URL is not remembered as the previous origin', () => {
  for (const bad of ['http:', 'http:/', 'https:', 'not a url']) {
    assert.equal(originOf(bad), bad);
    assert.equal(originOf('http://evil.com/x'), 'http://evil.com', `after ${JSON.stringify(bad)}`);
    assert.equal(originOf(bad), bad);
    assert.equal(originOf('https://api.example.com/a'), 'https://api.example.com', `after ${JSON.stringify(bad)}`);
  }
});
