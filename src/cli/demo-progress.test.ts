import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressBoard } from './demo-progress.js';

const snap = (rows: number, expected: number | null, rps: number, failed = 0) => ({
  rows,
  succeeded: rows - failed,
  failed,
  expected,
  rows_per_second: rps,
  elapsed_ms: 1000,
});

test('a line shows rows of expected, a bar, rows/s, ok/failed and an ETA', () => {
  const b = new ProgressBoard(['demo_none', 'demo_oauth2_password'], { write: () => {} }, 'quiet');
  assert.match(b.render('demo_none'), /^demo_none\s+0\s+░{20}.*starting…$/);
  b.expect('demo_none', 2000);
  assert.match(b.render('demo_none'), /^demo_none\s+0\/2,000\s+░{20}.*starting…$/);
  b.update('demo_none', snap(500, 2000, 250));
  const line = b.render('demo_none');
  assert.match(line, /500\/2,000/);
  assert.match(line, /█{5}░{15}/);
  assert.match(line, /250 rows\/s/);
  assert.match(line, /ok\s+500\s+failed\s+0/);
  assert.match(line, /ETA 6s$/);
  b.update('demo_none', snap(1000, 100_000, 10));
  assert.match(b.render('demo_none'), /ETA 165m00s$/);
  b.finish('demo_none', snap(2000, 2000, 400, 3));
  assert.match(b.render('demo_none'), /2,000\/2,000\s+█{20} .*failed\s+3\s+done in 1\.0s$/);
  b.fail('demo_oauth2_password', 'no Delta table');
  assert.match(b.render('demo_oauth2_password'), /FAILED: no Delta table$/);
  assert.throws(() => b.update('nope', snap(1, 1, 1)), /unknown pipeline/);
});

test('tty mode redraws the block in place; plain mode prints changed lines only', async () => {
  let tty = '';
  const t = new ProgressBoard(['a', 'b'], { write: (s: string) => (tty += s) }, 'tty');
  t.start();
  t.update('a', snap(1, 10, 1));
  await new Promise((r) => setTimeout(r, 450));
  t.stop();
  assert.ok(tty.includes('\x1b[2A'), 'moves up over the two lines it drew');
  assert.ok(tty.includes('\x1b[?25h'), 'shows the cursor again');

  let plain = '';
  const p = new ProgressBoard(['a', 'b'], { write: (s: string) => (plain += s) }, 'plain', 100);
  p.start();
  p.update('a', snap(5, 10, 5));
  await new Promise((r) => setTimeout(r, 350));
  p.finish('a', snap(10, 10, 5));
  p.finish('b', snap(10, 10, 5));
  p.stop();
  assert.ok(!plain.includes('\x1b'), 'no escape codes in logs');
  const lines = plain.trim().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('a ') && l.includes('5/10')).length, 1, 'an unchanged line is not repeated');
  assert.ok(lines.some((l) => l.startsWith('b ') && l.includes('done')));
});
