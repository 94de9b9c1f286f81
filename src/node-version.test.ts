import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeTooOld } from './node-version.js';

test('Node versions below 20.18.1 are refused with one line; newer ones pass', () => {
  const cases: [string, string | null][] = [
    ['18.20.4', 'restlake needs Node.js 20.18.1 or newer; this is Node.js 18.20.4'],
    ['20.17.0', 'restlake needs Node.js 20.18.1 or newer; this is Node.js 20.17.0'],
    ['20.18.0', 'restlake needs Node.js 20.18.1 or newer; this is Node.js 20.18.0'],
    ['20.18.1', null],
    ['20.20.2', null],
    ['21.0.0', null],
    ['22.1.0', null],
    ['24.11.1', null],
  ];
  for (const [version, expected] of cases) assert.equal(nodeTooOld(version), expected, version);
});
