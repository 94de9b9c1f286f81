// RowError is recognised across copies of restlake in one process; its subclasses keep
// the ordinary instanceof. firstLine keeps messages to one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstLine, RestlakeError, RowError } from './errors.js';
import { TimeoutError } from './transport/errors.js';

test('instanceof RowError: any copy of restlake, subclasses included; subclasses test as usual', () => {
  // What another copy's RowError looks like from here: its own class, the shared mark.
  class OtherCopyRowError extends Error {}
  Object.defineProperty(OtherCopyRowError.prototype, Symbol.for('restlake.RowError'), { value: true });

  const table: Array<[string, unknown, boolean, boolean]> = [
    // what, value, instanceof RowError, instanceof TimeoutError
    ['a RowError', new RowError('auth', 'X', 'm'), true, false],
    ['a TimeoutError', new TimeoutError('slow'), true, true],
    ["another copy's RowError", new OtherCopyRowError('m'), true, false],
    ['a RestlakeError', new RestlakeError('X', 'm'), false, false],
    ['an Error', new Error('m'), false, false],
    ['an object that only looks like one', { errorClass: 'auth', message: 'm' }, false, false],
    ['null', null, false, false],
    ['a string', 'RowError', false, false],
  ];
  for (const [what, value, isRow, isTimeout] of table) {
    assert.equal(value instanceof RowError, isRow, `${what} instanceof RowError`);
    assert.equal(value instanceof TimeoutError, isTimeout, `${what} instanceof TimeoutError`);
  }
});

test('firstLine: the first line, and for a DuckDB CSV error the reason a few lines down', () => {
  const csv = new Error(
    'Invalid Input Error: CSV Error on Line: 3\nOriginal Line: 2,\u00ff bad\nInvalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded.\n\nPossible Solution: Set the correct encoding\n\n  file = x.csv\n',
  );
  assert.equal(firstLine(csv), 'Invalid Input Error: CSV Error on Line: 3: Invalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded.');
  assert.equal(firstLine(new Error('IO Error: No files found\nLINE 1: SELECT')), 'IO Error: No files found');
  assert.equal(firstLine('plain'), 'plain');
});
