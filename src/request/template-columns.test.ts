import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors.js';
import { testConfig } from './test-support.js';
import { checkTemplateColumns } from './template-columns.js';

test('every column a template reads must be in the source, unless it has a default; each one named with where it is', () => {
  const config = testConfig({
    request: {
      url: 'http://127.0.0.1/{{ id }}/{{ nmae }}?r={{ $run_id }}',
      query: { region: '{{ regin }}', page: "{{ page | default('1') }}" },
      headers: { 'X-Team': '{{ team }}' },
      body: { kind: 'json', template: { a: ['{{ id }}', { b: '{{ amout }}' }] } },
    },
    middleware: [{ type: 'headers', set: { 'X-Trace': '{{ trace }}' }, remove: [] }],
  });
  assert.throws(
    () => checkTemplateColumns(config, ['id', 'name', 'region', 'amount', 'team']),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const tail = "; every row would fail (it has: id, name, region, amount, team; use | default('...') for a column that may be absent)";
      assert.deepEqual(
        e.issues.map((i) => [i.path, i.message]),
        [
          ['request.url', `the source has no column "nmae" (did you mean "name"?)${tail}`],
          ['request.query.region', `the source has no column "regin" (did you mean "region"?)${tail}`],
          ['request.body.json.a[1].b', `the source has no column "amout" (did you mean "amount"?)${tail}`],
          ['middleware[0].set.X-Trace', `the source has no column "trace"${tail}`],
        ],
      );
      return true;
    },
  );
  assert.doesNotThrow(() => checkTemplateColumns(config, ['id', 'nmae', 'regin', 'amout', 'team', 'trace']));
});
