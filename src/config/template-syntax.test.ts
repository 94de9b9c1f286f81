import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTemplate, templateColumns, hasTemplate, TemplateSyntaxError } from './template-syntax.js';

test('parses text, columns, builtins and filters with arguments', () => {
  assert.deepEqual(parseTemplate("https://x/{{ id }}/s?r={{region|url}}&t={{ $now }}-{{ name | default('n/a, \\'q\\'') | upper }}"), [
    { kind: 'text', text: 'https://x/' },
    { kind: 'expr', name: 'id', builtin: false, filters: [] },
    { kind: 'text', text: '/s?r=' },
    { kind: 'expr', name: 'region', builtin: false, filters: [{ name: 'url', args: [] }] },
    { kind: 'text', text: '&t=' },
    { kind: 'expr', name: 'now', builtin: true, filters: [] },
    { kind: 'text', text: '-' },
    {
      kind: 'expr',
      name: 'name',
      builtin: false,
      filters: [
        { name: 'default', args: ["n/a, 'q'"] },
        { name: 'upper', args: [] },
      ],
    },
  ]);
});

test('plain text, escaped braces and a lone }} stay text', () => {
  assert.deepEqual(parseTemplate('{"a":{"b":1}}'), [{ kind: 'text', text: '{"a":{"b":1}}' }]);
  assert.deepEqual(parseTemplate('x \\{{ y }}'), [{ kind: 'text', text: 'x {{ y }}' }]);
  assert.deepEqual(parseTemplate(''), []);
  assert.equal(hasTemplate('no templates'), false);
  assert.equal(hasTemplate('{{a}}'), true);
});

test('a quoted "}}" inside an argument does not close the expression', () => {
  assert.deepEqual(parseTemplate(`{{ a | default("}}") }}!`), [
    { kind: 'expr', name: 'a', builtin: false, filters: [{ name: 'default', args: ['}}'] }] },
    { kind: 'text', text: '!' },
  ]);
});

test('column names may hold dashes and start with digits', () => {
  assert.deepEqual(parseTemplate('{{ order-id }}{{2024_total|url}}'), [
    { kind: 'expr', name: 'order-id', builtin: false, filters: [] },
    { kind: 'expr', name: '2024_total', builtin: false, filters: [{ name: 'url', args: [] }] },
  ]);
});

test('templateColumns lists each column once, without builtins', () => {
  assert.deepEqual(templateColumns(parseTemplate('{{b}}{{a}}{{b|url}}{{$run_id}}')), ['b', 'a']);
});

const bad: [string, RegExp, number][] = [
  ['x {{ id', /never closed/, 2],
  ['{{ a {{ b }}', /never closed/, 0],
  ['{{ }}', /empty expression/, 0],
  ['{{ a | nope }}', /unknown filter "nope" \(known: url, json, default/, 7],
  ['{{ $when }}', /unknown built-in "\$when"/, 3],
  ['{{ a b }}', /unexpected "b"/, 5],
  ['{{ a | default }}', /filter "default" takes 1 argument\(s\), got 0/, 7],
  ["{{ a | upper('x') }}", /filter "upper" takes 0 argument\(s\), got 1/, 7],
  ['{{ a | default(x) }}', /expected a quoted string/, 15],
  ["{{ a | default('x' }}", /expected "\)"/, 19],
  ['{{ @x }}', /expected a column name/, 3],
  ['{{ a.b }}', /unexpected "\.b"/, 4],
  ['{{ a | }}', /expected a filter name/, 7],
];
for (const [src, message, offset] of bad) {
  test(`rejects ${JSON.stringify(src)}`, () => {
    assert.throws(
      () => parseTemplate(src),
      (e: unknown) => {
        assert.ok(e instanceof TemplateSyntaxError);
        assert.equal(e.code, 'RESTLAKE_TEMPLATE_SYNTAX');
        assert.match(e.message, message);
        assert.equal(e.offset, offset);
        return true;
      },
    );
  });
}
