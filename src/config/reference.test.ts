import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configKeys, configReferenceMarkdown } from './reference.js';

test('the key reference covers every section, variant and nested key, with defaults as written', () => {
  const keys = new Map(configKeys().map((k) => [k.path, k]));
  for (const path of [
    'version',
    'source.key',
    'request.body.json',
    'auth (type: basic).password',
    'auth (type: oauth2_password).username',
    'transport.tls.cert_file',
    'middleware[] (type: retry).max_attempts',
    'middleware[] (type: circuit_breaker).open',
    'response.extract.<name>.type',
    'execution.spark.master',
  ]) {
    assert.ok(keys.has(path), `missing ${path}`);
  }
  assert.deepEqual(keys.get('transport.timeout'), {
    path: 'transport.timeout',
    type: 'duration (250ms, 30s, 5m, 1h, or seconds)',
    default: '"30s"',
    required: false,
    description: 'Total time per attempt.',
  });
  assert.equal(keys.get('transport.max_response_bytes')?.type, 'size (10MB, 512KiB, or bytes)');
  assert.equal(keys.get('request.method')?.type, '"GET" | "POST" | "PUT" | "PATCH" | "DELETE"');
  assert.equal(keys.get('request.url')?.required, true);
  assert.equal(keys.get('request.body.json')?.type, 'any JSON value');
  // The discriminator is the variant label, not a row of its own.
  assert.ok(![...keys.keys()].some((p) => p.endsWith(').type')));
  const undocumented = [...keys.values()].filter((k) => !k.description).map((k) => k.path);
  assert.deepEqual(undocumented, []);
});

test('the Markdown reference is a table with one row per key, pipes escaped', () => {
  const md = configReferenceMarkdown();
  const lines = md.trimEnd().split('\n');
  assert.equal(lines[0], '| key | type | default | description |');
  assert.equal(lines.length, configKeys().length + 2);
  assert.ok(lines.includes('| `sink.mode` | "append" \\| "overwrite" | `"append"` | append \\| overwrite (the run\'s first commit replaces the table, schema included) |'), md);
  for (const line of lines) assert.equal(line.split(/(?<!\\)\|/).length, 6, line);
});
