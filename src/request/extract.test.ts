// convert(): each extract type, table-style, with the values that do not fit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExtractType } from '../config/types.js';
import { compileExtract, convert } from './extract.js';

const cases: [type: ExtractType, input: unknown, expected: unknown][] = [
  ['long', 12, 12],
  ['long', 12.9, 12],
  ['long', -7.5, -7],
  ['long', ' 42 ', 42],
  ['long', '4.2', null],
  ['long', 2 ** 53 - 1, 2 ** 53 - 1],
  // Beyond 2^53 JSON.parse has already rounded the number; 1e19 does not fit 64 bits at all.
  ['long', 2 ** 53, null],
  ['long', 1e19, null],
  ['long', '9223372036854775807', null],
  ['long', Infinity, null],
  ['long', true, null],
  ['double', 1.5, 1.5],
  ['double', ' 2.5e3 ', 2500],
  ['double', 'x', null],
  ['boolean', 'true', true],
  ['boolean', 1, null],
  ['string', 7, '7'],
  ['string', { a: 1 }, '{"a":1}'],
  ['json', [1, 'a'], '[1,"a"]'],
  ['string', null, null],
];

for (const [type, input, expected] of cases) {
  test(`convert ${JSON.stringify(input) ?? String(input)} to ${type}: ${JSON.stringify(expected)}`, () => {
    assert.equal(convert(input, type), expected);
  });
}

test('an out-of-range long in a body is null, the other columns still extracted', () => {
  const x = compileExtract({ n: { path: '$.n', type: 'long' }, s: { path: '$.s', type: 'string' } })!;
  const out: Record<string, unknown> = {};
  assert.equal(x.apply('{"n":1e19,"s":"ok"}', out), true);
  assert.deepEqual(out, { n: null, s: 'ok' });
});

test('a body starting with a UTF-8 byte-order mark is JSON; a BOM anywhere else, or two, is not', () => {
  const x = compileExtract({ v: { path: '$.v', type: 'string' } })!;
  const out: Record<string, unknown> = {};
  assert.equal(x.apply('\ufeff{"v":"ok"}', out), true);
  assert.deepEqual(out, { v: 'ok' });
  assert.equal(x.apply('\ufeff\ufeff{"v":"ok"}', out), false);
  assert.deepEqual(out, { v: null });
  assert.equal(x.apply(' \ufeff{"v":"ok"}', out), false);
});
