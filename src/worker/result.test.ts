import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineConfig } from '../config/types.js';
import { createResultSerializer, failedResult, parseResultHead, resultKeys } from './result.js';

const config = {
  name: 'p1',
  sink: { source_columns: ['id', 'region'] },
  response: { extract: { score: { path: '$.score', type: 'double' } } },
  transport: { max_response_bytes: 10 << 20 },
} as unknown as PipelineConfig;

test('serialised results have a fixed key order and the driver reads their head without parsing', () => {
  const serialize = createResultSerializer(config);
  const r = failedResult(config, 'run1', 'ab'.repeat(32), 'template', 'missing column "x"', { id: 7, region: 'eu', other: 1 });
  r.duration_ms = 12.5;
  const line = serialize(r);
  assert.deepEqual(Object.keys(JSON.parse(line)), resultKeys(config));
  assert.equal(JSON.parse(line).id, 7);
  assert.equal(JSON.parse(line).score, null);
  assert.equal('other' in JSON.parse(line), false);
  assert.deepEqual(parseResultHead(line), { requestId: 'ab'.repeat(32), success: false, statusCode: null, errorClass: 'template', durationMs: 12.5 });
});

test('a line is exactly JSON.stringify of the ordered row: escapes, odd column names, non-finite numbers, nested values', () => {
  const odd = {
    ...config,
    sink: { source_columns: ['id', 'we"ird\\name', 'ü', 'constructor', '__proto__'] },
    response: { extract: { tags: { path: '$.tags', type: 'json' }, gone: { path: '$.x', type: 'string' } } },
  } as unknown as PipelineConfig;
  const serialize = createResultSerializer(odd);
  const r = failedResult(odd, 'run "1"', 'cd'.repeat(32), 'parse', 'line\nbreak \u2028 and "quotes"', { id: -0, 'we"ird\\name': [1, { a: 'x' }], 'ü': 'ünï\u0000', constructor: 'c', ['__proto__']: 'p' });
  r.duration_ms = Number.NaN;
  r.status_code = 503;
  r.attempts = 3;
  r.response_body = '{"a":"\\"}';
  r.tags = { nested: [true, null, 1.5e-7] };
  r.gone = undefined;
  const expected = JSON.stringify(Object.fromEntries(resultKeys(odd).map((k) => [k, r[k] ?? null])));
  assert.equal(serialize(r), expected);
  assert.equal(JSON.parse(serialize(r)).duration_ms, null);
});

test('parseResultHead reads successes and falls back to a full parse for other key orders', () => {
  const serialize = createResultSerializer(config);
  const r = failedResult(config, 'run1', 'cd'.repeat(32), 'internal', 'x');
  Object.assign(r, { success: true, status_code: 201, error_class: null, duration_ms: 3 });
  assert.deepEqual(parseResultHead(serialize(r)), { requestId: 'cd'.repeat(32), success: true, statusCode: 201, errorClass: null, durationMs: 3 });
  const foreign = JSON.stringify({ success: false, request_id: 'x', error_class: 'timeout', duration_ms: 9, status_code: null });
  assert.deepEqual(parseResultHead(foreign), { requestId: 'x', success: false, statusCode: null, errorClass: 'timeout', durationMs: 9 });
  assert.equal(parseResultHead('{"nope":1}'), null);
  assert.equal(parseResultHead('not json'), null);
});

test('a result line over the sink limit is shortened (response body first) and flagged truncated', () => {
  const small = { ...config, transport: { max_response_bytes: 1 << 20 } } as unknown as PipelineConfig;
  const serialize = createResultSerializer(small);
  const r = failedResult(small, 'run1', 'ef'.repeat(32), 'http_status', 'boom');
  // Control characters escape to six bytes each: 1 MB of them is a 6 MB line.
  r.response_body = '\u0001'.repeat(1 << 20);
  r.request_body = 'short body';
  const line = serialize(r);
  assert.ok(Buffer.byteLength(line) <= 4 << 20, `line of ${Buffer.byteLength(line)} bytes`);
  const back = JSON.parse(line);
  assert.equal(back.response_truncated, true);
  assert.match(back.error_message, /^boom; the result row is over the sink's limit of 4194304 bytes: response_body cut from 1048576 to \d+ characters \(6291456 bytes as JSON\)$/);
  assert.equal(back.request_body, 'short body');
  assert.ok(back.response_body.length > 100_000);
  assert.equal(parseResultHead(line)?.requestId, 'ef'.repeat(32));
});

test('a source column too large for the sink line is set to null, the row says why, and the rest is kept', () => {
  const small = { ...config, transport: { max_response_bytes: 1000 } } as unknown as PipelineConfig;
  const serialize = createResultSerializer(small);
  const r = failedResult(small, 'run1', 'ab'.repeat(32), 'internal', 'x', { id: 2, region: 'x'.repeat(5_000_000) });
  Object.assign(r, { success: true, status_code: 200, error_class: null, error_message: null, response_body: '{"ok":true}' });
  // Before, this never returned: every text column was empty and the loop kept picking one.
  const line = serialize(r);
  assert.ok(Buffer.byteLength(line) <= 4 << 20, `line of ${Buffer.byteLength(line)} bytes`);
  const back = JSON.parse(line);
  assert.deepEqual([back.success, back.status_code, back.id, back.region], [true, 200, 2, null]);
  assert.equal(back.error_message, `the result row is over the sink's limit of ${4 << 20} bytes: region (5000002 bytes) set to null`);
  assert.equal(back.response_body, '{"ok":true}', 'the short body is kept');
});

test('a body cut to fit the sink line says so in error_message; success and the rest of the row stay', () => {
  const small = { ...config, transport: { max_response_bytes: 1 << 20 } } as unknown as PipelineConfig;
  const serialize = createResultSerializer(small);
  const r = failedResult(small, 'run1', 'cd'.repeat(32), 'internal', 'x', { id: 1, region: 'eu' });
  Object.assign(r, { success: true, status_code: 200, error_class: null, error_message: null, score: 2.5 });
  r.response_body = '\u0001'.repeat(1 << 20);
  const line = serialize(r);
  assert.ok(Buffer.byteLength(line) <= 4 << 20, `line of ${Buffer.byteLength(line)} bytes`);
  const back = JSON.parse(line);
  assert.deepEqual([back.success, back.status_code, back.error_class, back.response_truncated, back.score, back.region], [true, 200, null, true, 2.5, 'eu']);
  const kept = back.response_body.length;
  assert.ok(kept > 600_000 && kept < 700_000, `kept ${kept}`);
  assert.equal(back.error_message, `the result row is over the sink's limit of ${4 << 20} bytes: response_body cut from ${1 << 20} to ${kept} characters (${6 << 20} bytes as JSON)`);
});

test('a body too long to escape into a string at all is cut without building the whole line first', { timeout: 60_000 }, () => {
  // 95M control characters are 570M characters escaped, past V8's longest string
  // (~536.9M): the line could not be built, and the worker died on the row.
  const big = { ...config, transport: { max_response_bytes: 100_000_000 } } as unknown as PipelineConfig;
  const serialize = createResultSerializer(big);
  const r = failedResult(big, 'run1', 'ee'.repeat(32), 'internal', 'x', { id: 1, region: 'eu' });
  Object.assign(r, { success: true, status_code: 200, error_class: null, error_message: null });
  r.response_body = '\u0001'.repeat(95_000_000);
  const line = serialize(r);
  const limit = 2 * 100_000_000 + (1 << 20);
  assert.ok(line.length <= limit, `line of ${line.length} characters`);
  const head = JSON.parse(line.slice(0, line.indexOf(',"response_body"')) + '}');
  assert.equal(head.success, true);
  assert.match(line, new RegExp(`"error_message":"the result row is over the sink's limit of ${limit} bytes: response_body cut from 95000000 to \\d+ characters \\(570000000 bytes as JSON\\)"`));
  assert.match(line, /"response_truncated":true/);
});
