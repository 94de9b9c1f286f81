// Valid configs: every shorthand and default normalised into the one typed shape.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from './load.js';
import { DESIGN_EXAMPLE, MINIMAL_YAML, issuesOf, tempDir, type TempDir } from './testing.js';
import type { PipelineConfig } from './types.js';
import { makeCerts } from '../transport/test-support.js';

let tmp: TempDir;
before(async () => {
  tmp = await tempDir();
  // Files the configs below name as module middleware or TLS material: the loader checks they exist.
  for (const f of ['m.js', 'middleware/sign.ts', 'sub/mw/sign.ts']) await tmp.write(f, '// test\n');
  // TLS files are parsed too: real ones.
  const certs = makeCerts();
  for (const [f, from] of [['sub/certs/ca.pem', certs.caCert], ['c.pem', certs.clientCert], ['k.pem', certs.clientKey]]) await tmp.write(f!, await readFile(from!, 'utf8'));
  certs.cleanup();
});
after(async () => {
  await tmp.cleanup();
});

async function load(yaml: string, opts: Parameters<typeof loadConfig>[1] = {}): Promise<PipelineConfig> {
  const file = await tmp.write(`c-${Math.random().toString(36).slice(2)}.yaml`, yaml);
  return loadConfig(file, { env: {}, ...opts });
}

test('a minimal config gets every default of DESIGN §2', async () => {
  const c = await load(MINIMAL_YAML);
  assert.deepEqual(c, {
    version: 1,
    name: 't',
    source: { path: join(tmp.dir, 'rows.csv'), format: 'csv', key: null, limit: null },
    request: {
      method: 'GET',
      url: 'https://api.example.com/x/{{ id }}',
      query: {},
      headers: {},
      body: null,
      idempotency_header: null,
      allowed_hosts: ['api.example.com'],
    },
    auth: { type: 'none' },
    transport: {
      timeout_ms: 30_000,
      connect_timeout_ms: 30_000,
      headers_timeout_ms: 30_000,
      body_timeout_ms: 30_000,
      connections: 64,
      max_response_bytes: 10_000_000,
      tls: { verify: true, ca_file: null, cert_file: null, key_file: null },
    },
    middleware: [],
    response: { success_status: [{ from: 200, to: 299 }], extract: {} },
    sink: { path: join(tmp.dir, 'lake'), mode: 'append', source_columns: [], redact_headers: [] },
    execution: {
      engine: 'local',
      workers: 'auto',
      concurrency: 64,
      commit_rows: 50_000,
      commit_interval_ms: 30_000,
      resume: true,
      max_requests: null,
      fail_on_failed_rows: false,
      spark: null,
    },
    base_dir: tmp.dir,
    secrets: [],
  });
});

test('shorthand: durations, sizes, statuses, single key, bare middleware, extract paths, scalars', async () => {
  const c = await load(`
version: 1
name: orders_2
source: { path: data/*.parquet, key: order_id, limit: 10 }
request:
  method: POST
  url: "http://127.0.0.1:8080/v1/{{ id | url }}?fixed=1"
  query: { page: 3, dry: false, q: "{{ q | default('x') }}" }
  headers: { X-Count: 5 }
  body: { form: { a: "{{ a }}", n: 1 } }
  allowed_hosts: [127.0.0.1, "*.Example.com", "api.example.com:8443"]
transport:
  timeout: 1m30s
  connect_timeout: 250ms
  body_timeout: 2
  max_response_bytes: 512KiB
middleware:
  - timing
  - retry
  - type: retry
    statuses: [429, 5xx]
    base_delay: 0.5
  - type: rate_limit
    requests_per_second: 2.5
  - type: circuit_breaker
    window: 10s
    open: 1m
    max_wait: 2m
  - adaptive_concurrency
  - logging
  - type: headers
    set: { X-Run: "{{ $run_id }}" }
response:
  success_status: [200, "201", "300-302", 4xx]
  extract:
    score: $.score
    first: { path: "$.items[0]['odd key']", type: json }
sink: { path: /abs/lake, mode: overwrite, source_columns: [order_id] }
execution: { workers: 4, commit_interval: 5m, max_requests: 100 }
`);
  assert.deepEqual(c.source, { path: join(tmp.dir, 'data/*.parquet'), format: 'parquet', key: ['order_id'], limit: 10 });
  assert.deepEqual(c.request.query, { page: '3', dry: 'false', q: "{{ q | default('x') }}" });
  assert.deepEqual(c.request.headers, { 'X-Count': '5' });
  assert.deepEqual(c.request.body, { kind: 'form', template: { a: '{{ a }}', n: '1' } });
  assert.deepEqual(c.request.allowed_hosts, ['127.0.0.1', '*.example.com', 'api.example.com:8443']);
  assert.equal(c.transport.timeout_ms, 90_000);
  assert.equal(c.transport.connect_timeout_ms, 250);
  assert.equal(c.transport.headers_timeout_ms, 90_000);
  assert.equal(c.transport.body_timeout_ms, 2000);
  assert.equal(c.transport.max_response_bytes, 524_288);
  const retry5xx = Array.from({ length: 100 }, (_, i) => 500 + i);
  assert.deepEqual(c.middleware, [
    { type: 'timing' },
    { type: 'retry', max_attempts: 3, base_delay_ms: 200, max_delay_ms: 30_000, statuses: [429, 500, 502, 503, 504], on_network_error: true },
    { type: 'retry', max_attempts: 3, base_delay_ms: 500, max_delay_ms: 30_000, statuses: [429, ...retry5xx], on_network_error: true },
    { type: 'rate_limit', requests_per_second: 2.5, burst: 3, per_origin: false },
    { type: 'circuit_breaker', enabled: true, failure_ratio: 0.5, min_requests: 20, window_ms: 10_000, open_ms: 60_000, max_wait_ms: 120_000 },
    { type: 'adaptive_concurrency', enabled: true, min: 1, max: null },
    { type: 'logging', level: 'info', redact: [] },
    { type: 'headers', set: { 'X-Run': '{{ $run_id }}' }, remove: [] },
  ]);
  assert.deepEqual(c.response, {
    success_status: [
      { from: 200, to: 200 },
      { from: 201, to: 201 },
      { from: 300, to: 302 },
      { from: 400, to: 499 },
    ],
    extract: { score: { path: '$.score', type: 'string' }, first: { path: "$.items[0]['odd key']", type: 'json' } },
  });
  assert.deepEqual(c.sink, { path: '/abs/lake', mode: 'overwrite', source_columns: ['order_id'], redact_headers: [] });
  assert.equal(c.execution.workers, 4);
  assert.equal(c.execution.commit_interval_ms, 300_000);
  assert.equal(c.execution.max_requests, 100);
});

test('bodies: json keeps values and types, text is a template', async () => {
  const json = await load(MINIMAL_YAML.replace('  url:', '  body:\n    json: { id: "{{ id }}", n: 1, ok: true, list: [1, "{{ x }}"], none: null }\n  url:'));
  assert.deepEqual(json.request.body, { kind: 'json', template: { id: '{{ id }}', n: 1, ok: true, list: [1, '{{ x }}'], none: null } });
  const text = await load(MINIMAL_YAML.replace('  url:', '  body: { text: "{\\"a\\":{\\"b\\":1}} {{ id }}" }\n  url:'));
  assert.deepEqual(text.request.body, { kind: 'text', template: '{"a":{"b":1}} {{ id }}' });
});

test('auth types normalise to the contract shape', async () => {
  const base = MINIMAL_YAML;
  const none = await load(base + 'auth: none\n');
  assert.deepEqual(none.auth, { type: 'none' });
  const basic = await load(base + 'auth: { type: basic, username: u, password: p@ss }\n');
  assert.deepEqual(basic.auth, { type: 'basic', username: 'u', password: 'p@ss' });
  assert.deepEqual(basic.secrets, ['p@ss']);
  const bearer = await load(base + 'auth: { type: bearer, token: tok123 }\n');
  assert.deepEqual(bearer.auth, { type: 'bearer', token: 'tok123' });
  const cc = await load(base + 'auth:\n  type: oauth2_client_credentials\n  token_url: https://idp/t\n  client_id: c\n  client_secret: sec\n  scope: [read, write]\n  extra_params: { resource: 1 }\n  refresh_margin: 2m\n');
  assert.deepEqual(cc.auth, {
    type: 'oauth2_client_credentials',
    token_url: 'https://idp/t',
    client_id: 'c',
    client_secret: 'sec',
    client_auth: 'basic',
    scope: 'read write',
    audience: null,
    extra_params: { resource: '1' },
    username: null,
    password: null,
    refresh_margin_ms: 120_000,
    default_expires_in_ms: 300_000,
    failure_deadline_ms: 120_000,
  });
  const pw = await load(base + 'auth:\n  type: oauth2_password\n  token_url: http://idp/t\n  client_id: c\n  client_auth: body\n  username: alice\n  password: wonder\n');
  assert.equal(pw.auth.type, 'oauth2_password');
  if (pw.auth.type === 'oauth2_password') {
    assert.equal(pw.auth.client_secret, null);
    assert.equal(pw.auth.client_auth, 'body');
    assert.equal(pw.auth.username, 'alice');
    assert.equal(pw.auth.password, 'wonder');
  }
  assert.deepEqual(pw.secrets, ['wonder']);
});

test('relative paths resolve against the config directory; s3:// and absolute paths are kept', async () => {
  await tmp.write('sub/rows.json', '{}\n');
  const file = await tmp.write(
    'sub/p.yml',
    MINIMAL_YAML.replace('./rows.csv', './rows.json').replace('./lake', 's3://bucket/lake') +
      `transport:\n  tls: { ca_file: certs/ca.pem, cert_file: ${join(tmp.dir, 'c.pem')}, key_file: ../k.pem }\n` +
      'middleware:\n  - { type: module, path: ./mw/sign.ts, export: sign, options: { key_id: abc } }\n',
  );
  const c = await loadConfig(file, { env: {} });
  assert.equal(c.base_dir, join(tmp.dir, 'sub'));
  assert.deepEqual(c.source, { path: join(tmp.dir, 'sub/rows.json'), format: 'json', key: null, limit: null });
  assert.equal(c.sink.path, 's3://bucket/lake');
  assert.deepEqual(c.transport.tls, { verify: true, ca_file: join(tmp.dir, 'sub/certs/ca.pem'), cert_file: join(tmp.dir, 'c.pem'), key_file: join(tmp.dir, 'k.pem') });
  assert.deepEqual(c.middleware[0], { type: 'module', path: join(tmp.dir, 'sub/mw/sign.ts'), export: 'sign', options: { key_id: 'abc' } });
  // An explicit baseDir wins over the file's directory.
  const plain = await tmp.write('sub/plain.yml', MINIMAL_YAML.replace('./rows.csv', './rows.json'));
  const other = await loadConfig(plain, { env: {}, baseDir: '/srv' });
  assert.equal(other.source?.path, '/srv/rows.json');
});

test('source.encoding: kept for csv as given; absent means utf-8 and stays out of the config', async () => {
  const base = 'version: 1\nname: p\nrequest: { url: "https://a.example/{{ id }}" }\nsink: { path: ./lake }\n';
  for (const encoding of ['utf-8', 'utf-16', 'latin-1'] as const) {
    const c = await load(base + `source: { path: ./rows.csv, encoding: ${encoding} }\n`);
    assert.deepEqual(c.source, { path: join(tmp.dir, 'rows.csv'), format: 'csv', key: null, limit: null, encoding });
  }
  const dflt = await load(base + 'source: { path: ./rows.csv }\n');
  assert.equal(dflt.source && 'encoding' in dflt.source, false);
});

test('source.format: delta for a _delta_log directory, the shared extension of a plain directory', async () => {
  await mkdir(join(tmp.dir, 'table/_delta_log'), { recursive: true });
  await mkdir(join(tmp.dir, 'csvs'), { recursive: true });
  await writeFile(join(tmp.dir, 'csvs/a.csv'), 'id\n1\n');
  await writeFile(join(tmp.dir, 'csvs/b.csv.gz'), '');
  await writeFile(join(tmp.dir, 'csvs/_SUCCESS'), '');
  const delta = await load(MINIMAL_YAML.replace('./rows.csv', './table'));
  assert.equal(delta.source?.format, 'delta');
  const csvs = await load(MINIMAL_YAML.replace('./rows.csv', './csvs'));
  assert.equal(csvs.source?.format, 'csv');
  const explicit = await load(MINIMAL_YAML.replace('./rows.csv', './table\n  format: parquet'));
  assert.equal(explicit.source?.format, 'parquet');
  const s3 = await load(MINIMAL_YAML.replace('./rows.csv', 's3://b/t/part.ndjson'));
  assert.deepEqual([s3.source?.path, s3.source?.format], ['s3://b/t/part.ndjson', 'json']);
  await writeFile(join(tmp.dir, 'csvs/c.parquet'), '');
  const mixed = await issuesOf(await tmp.write('mixed.yaml', MINIMAL_YAML.replace('./rows.csv', './csvs')), { env: {} });
  assert.deepEqual(
    mixed.map((i) => [i.path, i.message]),
    [['source.format', `directory "${join(tmp.dir, 'csvs')}" mixes csv and parquet files; set source.format to parquet, csv, json or delta`]],
  );
});

test('execution.spark: defaults, $SPARK_HOME, and engine spark', async () => {
  const c = await load(MINIMAL_YAML + 'execution:\n  engine: spark\n  spark:\n    master: local[*]\n    jars: [./jars/delta.jar]\n    conf: { spark.executor.memory: 1g, spark.sql.shuffle.partitions: 8 }\n', {
    env: { SPARK_HOME: '/opt/spark' },
  });
  assert.deepEqual(c.execution.spark, {
    master: 'local[*]',
    spark_home: '/opt/spark',
    jars: [join(tmp.dir, 'jars/delta.jar')],
    conf: { 'spark.executor.memory': '1g', 'spark.sql.shuffle.partitions': '8' },
    driver_host: null,
  });
  const noHome = await load(MINIMAL_YAML + 'execution: { engine: spark, spark: { master: "local[2]", spark_home: ./spark } }\n');
  assert.equal(noHome.execution.spark?.spark_home, join(tmp.dir, 'spark'));
});

test('an object config: base dir is the cwd or baseDir, input is not mutated, allowNoSource', async () => {
  const input = {
    name: 'obj',
    request: { url: 'https://a.example/{{ x }}' },
    sink: { path: 'out' },
    middleware: ['timing'],
  };
  const frozen = structuredClone(input);
  const c = await loadConfig(input, { baseDir: '/data', allowNoSource: true, env: {} });
  assert.deepEqual(input, frozen);
  assert.equal(c.source, null);
  assert.equal(c.sink.path, '/data/out');
  assert.deepEqual(c.middleware, [{ type: 'timing' }]);
  assert.deepEqual(await issuesOf(input, { env: {} }), [{ path: 'source', message: 'is required' }]);
});

test('secrets: auth values, Authorization headers and secret-named keys are recorded', async () => {
  const c = await load(
    MINIMAL_YAML.replace('  url:', '  headers: { Authorization: "Token abc-literal", X-Api-Key: "k-123", X-Other: "plain" }\n  url:') +
      'middleware:\n  - { type: module, path: ./m.js, options: { api_key: mod-key, region: eu } }\n' +
      'auth: { type: bearer, token: tok-1 }\n',
  );
  assert.deepEqual([...c.secrets].sort(), ['Token abc-literal', 'k-123', 'mod-key', 'tok-1']);
});

test('examples/pipeline.reference.yaml loads, with its documented values', async () => {
  const file = new URL('../../examples/pipeline.reference.yaml', import.meta.url).pathname;
  const c = await loadConfig(file, { env: {} });
  assert.equal(c.name, 'orders_scoring');
  assert.equal(c.source?.format, 'parquet');
  assert.deepEqual(c.request.allowed_hosts, ['api.example.com']);
  assert.deepEqual(
    c.middleware.map((m) => m.type),
    ['retry', 'rate_limit', 'circuit_breaker', 'adaptive_concurrency', 'timing', 'logging', 'headers', 'module'],
  );
  assert.equal(c.transport.connect_timeout_ms, 10_000);
  assert.deepEqual(c.response.extract.model, { path: '$.model.name', type: 'string' });
  assert.deepEqual(c.secrets, ['change-me']);
  // With the secret in the environment, the fallback is not used.
  const withEnv = await loadConfig(file, { env: { ORDERS_CLIENT_SECRET: 'real-secret' } });
  assert.equal(withEnv.auth.type === 'oauth2_client_credentials' && withEnv.auth.client_secret, 'real-secret');
});

test('the example config of DESIGN §2 loads', async () => {
  const c = await load(DESIGN_EXAMPLE, { env: { CLIENT_SECRET: 'cs-1', SPARK_HOME: '/opt/spark' } });
  assert.equal(c.name, 'orders_scoring');
  assert.deepEqual(c.source, { path: join(tmp.dir, 'data/orders.parquet'), format: 'parquet', key: ['order_id'], limit: 1000 });
  assert.deepEqual(c.request.body, { kind: 'json', template: { id: '{{ order_id }}', amount: '{{ amount }}' } });
  assert.equal(c.auth.type === 'oauth2_client_credentials' && c.auth.refresh_margin_ms, 60_000);
  assert.deepEqual(c.middleware.map((m) => m.type), ['retry', 'rate_limit', 'timing', 'logging', 'headers', 'module']);
  assert.deepEqual(c.response.extract, { score: { path: '$.score', type: 'double' } });
  assert.equal(c.execution.spark?.spark_home, '/opt/spark');
  assert.deepEqual(c.secrets, ['cs-1']);
});

test('YAML anchors, aliases and merge keys work', async () => {
  const c = await load(
    MINIMAL_YAML +
      'middleware:\n  - &base { type: retry, max_attempts: 4, base_delay: 1s }\n  - { <<: *base, max_attempts: 9 }\n  - *base\n',
  );
  assert.deepEqual(
    c.middleware.map((m) => (m.type === 'retry' ? [m.max_attempts, m.base_delay_ms] : null)),
    [
      [4, 1000],
      [9, 1000],
      [4, 1000],
    ],
  );
});

test('a JSON config may name its JSON Schema with "$schema" (for editors); it is not part of the config', async () => {
  const file = await tmp.write(
    'with-schema.json',
    JSON.stringify({ $schema: './restlake.schema.json', name: 'j', source: { path: './r.csv' }, request: { url: 'https://a.example/{{ id }}' }, sink: { path: './l' } }),
  );
  const c = await loadConfig(file, { env: {} });
  assert.equal('$schema' in c, false);
  assert.equal(c.name, 'j');
});

test('source.table: a catalog table for the Spark engine, read by name (no path, no format detection)', async () => {
  const c = await loadConfig(
    {
      name: 'cat',
      source: { table: 'main.sales.orders', key: 'order_id' },
      request: { url: 'https://a.example/{{ order_id }}' },
      sink: { path: '/lake/out' },
      execution: { engine: 'spark', spark: { master: 'local[2]' } },
    },
    { env: {} },
  );
  assert.equal(c.source?.table, 'main.sales.orders');
  assert.deepEqual(c.source?.key, ['order_id']);
});
