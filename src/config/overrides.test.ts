import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './load.js';
import { applyOverrides } from './overrides.js';
import { MINIMAL_YAML, issuesOf, tempDir, type TempDir } from './testing.js';

let tmp: TempDir;
let file: string;
before(async () => {
  tmp = await tempDir();
  file = await tmp.write(
    'p.yaml',
    MINIMAL_YAML.replace('  url:', '  headers: { Accept: application/json }\n  url:') + 'middleware:\n  - retry\n  - type: timing\n',
  );
});
after(async () => {
  await tmp.cleanup();
});

test('--set overrides any key; values are YAML scalars or flow collections', async () => {
  const c = await loadConfig(file, {
    env: { TOK: 'abc' },
    set: [
      'execution.workers=4',
      'execution.resume=false',
      'request.headers.X-Foo=bar',
      'request.method=POST',
      'middleware[0].max_attempts=3',
      'middleware[0].base_delay=1s',
      'middleware[2]=logging',
      'transport.timeout=2.5',
      'response.success_status=[2xx, 404]',
      'execution.spark.conf.spark.executor.memory=2g',
      'execution.spark.master=local[*]',
      'source.limit=',
      'auth.type=bearer',
      'auth.token=${env:TOK}',
    ],
  });
  assert.equal(c.execution.workers, 4);
  assert.equal(c.execution.resume, false);
  assert.deepEqual(c.request.headers, { Accept: 'application/json', 'X-Foo': 'bar' });
  assert.equal(c.request.method, 'POST');
  assert.deepEqual(c.middleware.map((m) => m.type), ['retry', 'timing', 'logging']);
  assert.deepEqual(c.middleware[0], { type: 'retry', max_attempts: 3, base_delay_ms: 1000, max_delay_ms: 30_000, statuses: [429, 500, 502, 503, 504], on_network_error: true });
  assert.equal(c.transport.timeout_ms, 2500);
  assert.deepEqual(c.response.success_status, [{ from: 200, to: 299 }, { from: 404, to: 404 }]);
  assert.deepEqual(c.execution.spark?.conf, { 'spark.executor.memory': '2g' });
  assert.equal(c.execution.spark?.master, 'local[*]');
  assert.equal(c.source?.limit, null);
  assert.deepEqual(c.auth, { type: 'bearer', token: 'abc' });
  assert.deepEqual(c.secrets, ['abc']);
});

test('a bad key path is an error naming it; an unknown key is caught by validation, marked "from --set"', async () => {
  const issues = await issuesOf(file, {
    env: {},
    set: [
      'execution.wrokers=4',
      'middleware[5].max_attempts=3',
      'request.url.host=x',
      'a..b=1',
      'novalue',
      'auth.password:hunter2',
      'execution.workers=0',
      '[0]=1',
      'executon.concurrency=4',
    ],
  });
  // They concern the command line, not the file: no file name, no line.
  assert.ok(issues.every((i) => i.file === undefined && i.line === undefined));
  assert.deepEqual(
    issues.map((i) => [i.path, i.message, i.line]),
    [
      ['', '--set: cannot set "middleware[5].max_attempts": middleware has 2 item(s); [5] is out of range (use [2] to append)', undefined],
      ['', '--set: cannot set "request.url.host": request.url is a string, not a mapping or list', undefined],
      ['', '--set: bad key path "a..b": empty key at 2', undefined],
      ['', '--set "novalue": expected key=value, e.g. execution.workers=4', undefined],
      ['', '--set "auth.password…": expected key=value, e.g. execution.workers=4', undefined],
      ['', '--set: bad key path "[0]": it must start with a key, not an index', undefined],
      ['execution.workers', 'must be at least 1, got 0 (from --set)', undefined],
      ['execution.wrokers', 'unknown key "wrokers" (did you mean "workers"?) (from --set)', undefined],
      ['executon', 'unknown key "executon" (did you mean "execution"?) (from --set)', undefined],
    ],
  );
});

test('applyOverrides never mutates its input and quotes free-form keys', () => {
  const tree = { request: { headers: { A: '1' } }, middleware: ['timing'] };
  const copy = structuredClone(tree);
  const r = applyOverrides(tree, ['request.headers["x.y"]=2', 'middleware[0].extra=1']);
  assert.deepEqual(tree, copy);
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.value, { request: { headers: { A: '1', 'x.y': 2 } }, middleware: [{ type: 'timing', extra: 1 }] });
  assert.deepEqual(r.paths, [
    ['request', 'headers', 'x.y'],
    ['middleware', 0, 'extra'],
  ]);
});

test('a --set under a YAML alias changes that place only, not the others the alias shares', async () => {
  const aliased = await tmp.write(
    'alias.yaml',
    MINIMAL_YAML.replace('  url:', '  method: POST\n  query: &q { region: eu, page: "1" }\n  body: { form: *q }\n  url:'),
  );
  const c = await loadConfig(aliased, { env: {}, set: ['request.query.page=2'] });
  assert.deepEqual(c.request.query, { region: 'eu', page: '2' });
  assert.deepEqual(c.request.body, { kind: 'form', template: { region: 'eu', page: '1' } });
});
