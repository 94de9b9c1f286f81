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

test('firstLine: a DuckDB out-of-memory error names the setting to raise, not DuckDB\'s own', () => {
  const oom = new Error('Out of Memory Error: failed to allocate data of size 28.7 MiB (94.4 MiB/122.0 MiB used)\n\nPossible solutions:\n* Reducing the number of threads (SET threads=X)');
  const was = process.env.RESTLAKE_DUCKDB_MEMORY;
  try {
    delete process.env.RESTLAKE_DUCKDB_MEMORY;
    assert.equal(
      firstLine(oom),
      "Out of Memory Error: failed to allocate data of size 28.7 MiB (94.4 MiB/122.0 MiB used) (the driver's DuckDB memory limit is RESTLAKE_DUCKDB_MEMORY, default 128MB: set it higher, e.g. RESTLAKE_DUCKDB_MEMORY=1GB)",
    );
    process.env.RESTLAKE_DUCKDB_MEMORY = '300MB';
    assert.match(firstLine(oom), /RESTLAKE_DUCKDB_MEMORY, now 300MB: set it higher/);
  } finally {
    if (was === undefined) delete process.env.RESTLAKE_DUCKDB_MEMORY;
    else process.env.RESTLAKE_DUCKDB_MEMORY = was;
  }
});
