import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRowJson } from './row-json.js';

const cases: [line: string, row: unknown][] = [
  // What DuckDB's json_object and Spark's to_json write for BIGINT/DECIMAL(38,0) columns.
  ['{"id":1234567890123456789,"n":42}', { id: 1234567890123456789n, n: 42 }],
  ['{"id":-9007199254740993}', { id: -9007199254740993n }],
  ['{"id":9007199254740991,"x":9007199254740992}', { id: 9007199254740991, x: 9007199254740992n }],
  ['{"a":[12345678901234567890, 1.5e300, 1234567890123456.5]}', { a: [12345678901234567890n, 1.5e300, 1234567890123456.5] }],
  // Digits inside strings (a request_id, a phone number) stay as they are, strings.
  ['{"s":"99999999999999999999","t":"a\\"12345678901234567890","_request_id":"0123456789012345678abc"}', { s: '99999999999999999999', t: 'a"12345678901234567890', _request_id: '0123456789012345678abc' }],
  ['{"s":"at:12345678901234567890,[-12345678901234567890"}', { s: 'at:12345678901234567890,[-12345678901234567890' }],
  // Whitespace JSON allows before a value (rows given to runPipeline may be pretty-printed).
  ['{"id": 1234567890123456789, "a":[ 1,\n\t-12345678901234567890]}', { id: 1234567890123456789n, a: [1, -12345678901234567890n] }],
  ['{"id":7,"name":"x"}', { id: 7, name: 'x' }],
];

for (const [line, row] of cases) {
  test(`parseRowJson ${line}`, () => {
    assert.deepEqual(parseRowJson(line), row);
  });
}
