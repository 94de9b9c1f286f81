import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RowError } from '../errors.js';
import { compileTemplate, type TemplateEncoding } from './template.js';

const ctx = { run_id: 'run-1', request_id: 'req-abc', now: Date.UTC(2026, 0, 2, 3, 4, 5, 6) };
const row = {
  id: 42,
  name: 'Ada Lovelace',
  slashy: 'a/b?c#d',
  amp: 'x&y=z',
  padded: '  hi  ',
  nul: null,
  flag: true,
  obj: { a: [1, 2] },
  uni: 'Zürich ✓',
  plus: 'a+b c',
};

const cases: { tpl: string; enc?: TemplateEncoding; want: string }[] = [
  { tpl: 'plain text', want: 'plain text' },
  { tpl: '{{ id }}', want: '42' },
  { tpl: 'id={{id}}!', want: 'id=42!' },
  { tpl: '{{ name | upper }}', want: 'ADA LOVELACE' },
  { tpl: '{{ name | lower }}', want: 'ada lovelace' },
  { tpl: '[{{ padded | trim }}]', want: '[hi]' },
  { tpl: '{{ name | base64 }}', want: Buffer.from('Ada Lovelace').toString('base64') },
  { tpl: '{{ uni | base64 }}', want: Buffer.from('Zürich ✓').toString('base64') },
  { tpl: '{{ name | json }}', want: '"Ada Lovelace"' },
  { tpl: '{{ obj | json }}', want: '{"a":[1,2]}' },
  { tpl: '{{ obj }}', want: '{"a":[1,2]}' },
  { tpl: '{{ flag }}', want: 'true' },
  { tpl: '[{{ nul }}]', want: '[]' },
  { tpl: "{{ nul | default('none') }}", want: 'none' },
  { tpl: "{{ missing | default('d') }}", want: 'd' },
  { tpl: "{{ missing | upper | default('late') }}", want: 'late' },
  { tpl: "{{ id | default('d') }}", want: '42' },
  { tpl: '{{ slashy | url }}', want: 'a%2Fb%3Fc%23d' },
  { tpl: '{{ $run_id }}/{{ $request_id }}', want: 'run-1/req-abc' },
  { tpl: '{{ $now }}', want: '2026-01-02T03:04:05.006Z' },
  { tpl: '\\{{ literal }}', want: '{{ literal }}' },
  // url encoding: values encoded, template text kept
  { tpl: 'https://h/x/{{ slashy }}', enc: 'url', want: 'https://h/x/a%2Fb%3Fc%23d' },
  { tpl: 'https://h/{{ uni }}', enc: 'url', want: 'https://h/Z%C3%BCrich%20%E2%9C%93' },
  { tpl: 'https://h/{{ slashy | url }}', enc: 'url', want: 'https://h/a%2Fb%3Fc%23d' },
  { tpl: 'https://h/{{ $run_id }}', enc: 'url', want: 'https://h/run-1' },
  { tpl: "https://h/x/{{ nul | default('') }}", enc: 'url', want: 'https://h/x/' },
  { tpl: "{{ nul | default('any') }}", enc: 'query', want: 'any' },
  // query: value and text both encoded
  { tpl: '{{ amp }}', enc: 'query', want: 'x%26y%3Dz' },
  { tpl: 'a b {{ id }}', enc: 'query', want: 'a%20b%2042' },
  // form: + for space
  { tpl: '{{ plus }}', enc: 'form', want: 'a%2Bb+c' },
  { tpl: 'x y', enc: 'form', want: 'x+y' },
];

for (const c of cases) {
  test(`template ${c.enc ?? 'text'}: ${c.tpl}`, () => {
    assert.equal(compileTemplate(c.tpl, 'test', c.enc)(row, ctx), c.want);
  });
}

test('a missing column without default is a RowError template naming the column and location', () => {
  const render = compileTemplate('x {{ nope | upper }}', 'request.headers.X-A');
  assert.throws(
    () => render(row, ctx),
    (e: unknown) => e instanceof RowError && e.errorClass === 'template' && e.code === 'RESTLAKE_TEMPLATE' && /"nope"/.test(e.message) && /request\.headers\.X-A/.test(e.message),
  );
});

test('a syntax error surfaces at compile time, not per row', () => {
  assert.throws(() => compileTemplate('{{ id ', 'request.url'), /never closed/);
  assert.throws(() => compileTemplate('{{ id | shout }}', 'request.url'), /unknown filter/);
});

test('a null in the URL or a query value fails the row (it would address another resource); elsewhere it is empty', () => {
  for (const [tpl, enc, where] of [
    ['https://h/users/{{ nul }}', 'url', 'request.url'],
    ['https://h/users/{{ nul | url }}', 'url', 'request.url'],
    ['{{ nul }}', 'query', 'request.query.cursor'],
  ] as const) {
    assert.throws(
      () => compileTemplate(tpl, where, enc)(row, ctx),
      (e: unknown) =>
        e instanceof RowError &&
        e.errorClass === 'template' &&
        e.message === `${where}: column "nul" is null, and a URL would get nothing in its place (use | default('...') to allow that)`,
      tpl,
    );
  }
  assert.equal(compileTemplate('[{{ nul }}]', 'request.headers.X-A', 'text')(row, ctx), '[]');
  assert.equal(compileTemplate('{{ nul }}', 'request.body.form.a', 'form')(row, ctx), '');
});
