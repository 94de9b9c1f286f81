import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveSecrets, liveSecretsOf, MAX_LIVE } from './live-secrets.js';
import { createRedactor, REDACTED } from './redact.js';
import { testRuntime } from './test-support.js';

test('a secret registered after the redactor was built is redacted from then on, in every form', () => {
  const live = new LiveSecrets();
  const r = createRedactor(['config-secret'], [], live);
  const token = "eyJ.tok'en/+=";
  assert.equal(r.text(`a ${token}`), `a ${token}`);
  live.add(token);
  for (const form of [token, encodeURIComponent(token), Buffer.from(token).toString('base64'), new URL(`http://h/?q=${encodeURIComponent(token)}`).search.slice(3)]) {
    assert.equal(r.text(`a ${form} b`), `a ${REDACTED} b`, form);
  }
  assert.equal(r.headersJson({ 'x-echo': token }), JSON.stringify({ 'x-echo': REDACTED }));
  assert.equal(r.text('config-secret'), REDACTED, 'config secrets still redacted');
  // Nothing registered: the same as a redactor without live secrets.
  const empty = createRedactor([], [], new LiveSecrets());
  assert.equal(empty.text('unchanged'), 'unchanged');
  assert.equal(empty.headersJson({ a: 'b' }), '{"a":"b"}');
});

test('bounded: the newest MAX_LIVE secrets are kept, one sent again counts as new; duplicates and short values change nothing', () => {
  const live = new LiveSecrets();
  const r = createRedactor([], [], live);
  const tokens = Array.from({ length: MAX_LIVE + 2 }, (_, i) => `token-number-${i}`);
  for (const t of tokens.slice(0, 3)) live.add(t);
  live.add(tokens[0]); // sent again: now newer than tokens[1] and tokens[2]
  for (const t of tokens.slice(3)) live.add(t);
  const redacted = tokens.filter((t) => r.text(t) === REDACTED);
  assert.equal(redacted.length, MAX_LIVE);
  assert.equal(r.text(tokens[1]), tokens[1], 'the oldest was dropped');
  assert.equal(r.text(tokens[2]), tokens[2], 'and the next oldest');
  assert.equal(r.text(tokens[0]), REDACTED, 'sent again, so kept');
  const v = live.version;
  live.add(tokens[MAX_LIVE + 1]);
  live.add('abc');
  assert.equal(live.version, v);
});

test('one set per runtime: what auth registers, every redactor built from that runtime sees', () => {
  const rt = testRuntime();
  assert.equal(liveSecretsOf(rt), liveSecretsOf(rt));
  assert.notEqual(liveSecretsOf(rt), liveSecretsOf(testRuntime()));
});
