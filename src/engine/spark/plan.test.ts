import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadConfig } from '../../config/load.js';
import { ConfigError } from '../../errors.js';
import { sparkRequestIdSql } from '../../request/request-id.js';
import { sinkSchema } from '../../sink/schema.js';
import { answerSchema, buildPlan, sinkTypeOfSpark, sourceReadOptions, sparkPath } from './plan.js';
import { DRIVER_SCRIPT } from './driver-script.js';
import { assertS3aJars, s3aConfFromEnv, sparkConf, spawnArgs, splitSparkConf, usesS3 } from '../spark.js';

const SECRET = 'super-secret-client-secret-value';

async function config(extra: Record<string, unknown> = {}) {
  return loadConfig(
    {
      version: 1,
      name: 'orders_scoring',
      source: { path: '/data/orders.parquet', key: ['order_id'], limit: 10 },
      request: { method: 'POST', url: 'https://api.example.com/v1/{{ order_id }}', body: { json: { id: '{{ order_id }}' } } },
      auth: { type: 'oauth2_client_credentials', token_url: 'https://idp.example.com/token', client_id: 'etl', client_secret: SECRET },
      response: { extract: { score: { path: '$.score', type: 'double' }, raw: { path: '$', type: 'json' } } },
      sink: { path: 's3://bucket/lake/scores', source_columns: ['order_id', 'placed_at'] },
      execution: { engine: 'spark', commit_rows: 1000, spark: { master: 'spark://m:7077', conf: { 'spark.executor.memory': '2g', 'spark.sql.session.timeZone': 'Europe/Paris' } } },
      ...extra,
    },
    { baseDir: '/work', env: {} },
  );
}

const FIELDS = [
  { name: 'order_id', type: 'bigint' },
  { name: 'placed_at', type: 'timestamp_ntz' },
  { name: 'region', type: 'string' },
];

test('plan: paths for Spark (s3 -> s3a), TRANSFORM by file names, and no secret anywhere', async () => {
  const c = await config();
  const plan = buildPlan(c, 'run-1', { question: '/tmp/q.json', answer: '/tmp/a.json' });
  assert.equal(plan.sink.path, 's3a://bucket/lake/scores');
  assert.equal(plan.source.path, '/data/orders.parquet');
  assert.equal(plan.source.limit, 10);
  assert.equal(plan.transform_command, 'node --max-semi-space-size=16 restlake-worker.mjs restlake-job.json');
  assert.equal(plan.partitions, null);
  assert.equal(plan.parent_pid, process.pid);
  assert.deepEqual(plan.user_conf_keys, ['spark.executor.memory', 'spark.sql.session.timeZone']);
  assert.ok(!JSON.stringify(plan).includes(SECRET));
  assert.equal(sparkPath('s3://b/k'), 's3a://b/k');
  assert.equal(sparkPath('/local/x'), '/local/x');
});

test('answerSchema: the local sink schema (names, order, nullability) with Spark source types', async () => {
  const c = await config();
  const a = answerSchema(c, FIELDS);
  const local = sinkSchema(c, FIELDS.map((f) => ({ name: f.name, duckType: 'VARCHAR' })));
  assert.deepEqual(a.sink_columns.map((x) => x.name), local.fields.map((f) => f.name));
  const by = Object.fromEntries(a.sink_columns.map((x) => [x.name, x]));
  assert.deepEqual(by.order_id, { name: 'order_id', type: 'bigint', nullable: true, json_type: 'bigint', select_sql: 'r.`order_id`' });
  // Naive timestamps land as timestamps (protocol 1/2), as in the local engine.
  assert.equal(by.placed_at?.type, 'timestamp');
  assert.equal(by.started_at?.json_type, 'BIGINT');
  assert.equal(by.started_at?.select_sql, 'timestamp_micros(r.`started_at`)');
  assert.equal(by.request_id?.nullable, false);
  assert.equal(by.success?.type, 'BOOLEAN');
  assert.equal(by.status_code?.type, 'INT');
  assert.equal(by.score?.type, 'DOUBLE');
  assert.equal(by.raw?.type, 'STRING');
  assert.equal(a.request_id_sql, sparkRequestIdSql('orders_scoring', ['order_id']));
});

test('answerSchema: no key means every source column, in source order', async () => {
  const c = await config({ source: { path: '/data/orders.parquet' } });
  assert.equal(answerSchema(c, FIELDS).request_id_sql, sparkRequestIdSql('orders_scoring', ['order_id', 'placed_at', 'region']));
});

test('answerSchema: a key or source column the source lacks is a config error naming it', async () => {
  const c = await config({ source: { path: '/data/orders.parquet', key: ['nope'] } });
  assert.throws(() => answerSchema(c, FIELDS), (e: unknown) => e instanceof ConfigError && /source\.key.*"nope"/.test(e.message));
  const c2 = await config({ sink: { path: '/lake/x', source_columns: ['missing_col'] } });
  assert.throws(() => answerSchema(c2, FIELDS), (e: unknown) => e instanceof ConfigError && /missing_col/.test(e.message));
});

test('sinkTypeOfSpark widens naive timestamps everywhere and types all-null columns as string', () => {
  assert.equal(sinkTypeOfSpark('struct<a:timestamp_ntz,b:array<timestamp_ntz>>'), 'struct<a:timestamp,b:array<timestamp>>');
  assert.equal(sinkTypeOfSpark('void'), 'string');
  assert.equal(sinkTypeOfSpark('decimal(10,2)'), 'decimal(10,2)');
});

test('spark-submit args: client mode, Delta on, user conf wins, no secret', async () => {
  const c = await config();
  const conf = sparkConf(c);
  assert.equal(conf['spark.sql.extensions'], 'io.delta.sql.DeltaSparkSessionExtension');
  assert.equal(conf['spark.sql.session.timeZone'], 'Europe/Paris');
  assert.equal(conf['spark.executor.memory'], '2g');
  assert.equal(conf['spark.speculation'], 'false');
  const args = spawnArgs({ config: c, files: ['/t/restlake-worker.mjs', '/t/restlake-job.json'], jars: ['/j/a.jar', '/j/b.jar'], script: '/t/d.py', plan: '/t/plan.json' });
  assert.deepEqual(args.slice(0, 4), ['--master', 'spark://m:7077', '--deploy-mode', 'client']);
  assert.equal(args[args.indexOf('--files') + 1], '/t/restlake-worker.mjs,/t/restlake-job.json');
  assert.equal(args[args.indexOf('--jars') + 1], '/j/a.jar,/j/b.jar');
  assert.deepEqual(args.slice(-2), ['/t/d.py', '/t/plan.json']);
  assert.ok(!args.join(' ').includes(SECRET));
});

test('credentials in the Spark conf stay off the command line (any local user can read it) and go in the secret conf', async () => {
  const c = await loadConfig(
    {
      version: 1,
      name: 'orders_scoring',
      source: { path: '/data/orders.parquet', key: ['order_id'] },
      request: { url: 'https://api.example.com/v1/{{ order_id }}' },
      sink: { path: 's3://bucket/lake/scores' },
      execution: {
        engine: 'spark',
        spark: {
          master: 'local[2]',
          conf: {
            'spark.hadoop.fs.s3a.access.key': 'AKIAEXAMPLE123',
            'spark.hadoop.fs.s3a.secret.key': '${env:AWS_SECRET}',
            'spark.hadoop.fs.s3a.endpoint': 'http://127.0.0.1:9000',
            'spark.some.custom.setting': 'x-${env:AWS_SECRET}',
          },
        },
      },
    },
    { baseDir: '/work', env: { AWS_SECRET: 'aws-secret-value-1234' } },
  );
  const { public: open, secret } = splitSparkConf(c);
  assert.deepEqual(Object.keys(secret).sort(), ['spark.hadoop.fs.s3a.access.key', 'spark.hadoop.fs.s3a.secret.key', 'spark.some.custom.setting']);
  assert.equal(open['spark.hadoop.fs.s3a.endpoint'], 'http://127.0.0.1:9000');
  const args = spawnArgs({ config: c, files: ['/t/w.mjs'], jars: [], script: '/t/d.py', plan: '/t/plan.json' }).join(' ');
  assert.ok(!args.includes('aws-secret-value-1234') && !args.includes('AKIAEXAMPLE123'), args);
  assert.match(args, /spark\.hadoop\.fs\.s3a\.endpoint=http:\/\/127\.0\.0\.1:9000/);
  // The driver script reads them from the file the plan names.
  assert.match(DRIVER_SCRIPT, /plan\.get\("secret_conf_file"\)/);
  assert.equal(buildPlan(c, 'r', { question: '/q', answer: '/a', secretConf: '/t/secret-conf.json' }).secret_conf_file, '/t/secret-conf.json');
});

test('s3:// on Spark: s3a settings come from the AWS environment the local engine uses (credentials off the command line), user conf wins; no s3a jar is refused up front', async (t) => {
  const env = {
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9000',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIAENV',
    AWS_SECRET_ACCESS_KEY: 'env-secret-value',
  };
  assert.deepEqual(s3aConfFromEnv(env), {
    'spark.hadoop.fs.s3a.endpoint': 'http://127.0.0.1:9000',
    'spark.hadoop.fs.s3a.connection.ssl.enabled': 'false',
    'spark.hadoop.fs.s3a.path.style.access': 'true',
    'spark.hadoop.fs.s3a.endpoint.region': 'eu-west-1',
    'spark.hadoop.fs.s3a.access.key': 'AKIAENV',
    'spark.hadoop.fs.s3a.secret.key': 'env-secret-value',
  });
  const c = await config({ execution: { engine: 'spark', spark: { master: 'local[2]', conf: { 'spark.hadoop.fs.s3a.endpoint.region': 'us-east-2' } } } });
  assert.equal(usesS3(c), true);
  const { public: open, secret } = splitSparkConf(c, env);
  assert.equal(open['spark.hadoop.fs.s3a.endpoint'], 'http://127.0.0.1:9000');
  assert.equal(open['spark.hadoop.fs.s3a.endpoint.region'], 'us-east-2', 'the user conf wins');
  assert.deepEqual(Object.keys(secret).sort(), ['spark.hadoop.fs.s3a.access.key', 'spark.hadoop.fs.s3a.secret.key']);
  // Local paths get no s3a settings at all.
  assert.equal(usesS3({ ...c, sink: { ...c.sink, path: '/lake' }, source: { ...c.source!, path: '/in.parquet' } }), false);

  const home = await mkdtemp(join(tmpdir(), 'restlake-spark-home-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  await mkdir(join(home, 'jars'));
  await writeFile(join(home, 'jars', 'hadoop-client-api-3.3.4.jar'), '');
  assert.throws(() => assertS3aJars({ home }, ['/j/delta-spark_2.12-3.3.2.jar']), /need Hadoop's s3a connector: run `restlake spark setup --s3` \(fetches org\.apache\.hadoop:hadoop-aws:3\.3\.4 and its AWS SDK bundle/);
  assert.doesNotThrow(() => assertS3aJars({ home }, ['/j/delta-spark_2.12-3.3.2.jar', '/j/hadoop-aws-3.3.4.jar']));
  // Brought in through the conf, or provided by the distribution and declared.
  assert.doesNotThrow(() => assertS3aJars({ home }, [], { 'spark.jars.packages': 'org.apache.hadoop:hadoop-aws:3.3.4' }));
  assert.doesNotThrow(() => assertS3aJars({ home }, [], { 'spark.hadoop.fs.s3a.impl': 'org.apache.hadoop.fs.s3a.S3AFileSystem' }));
  await writeFile(join(home, 'jars', 'hadoop-aws-3.3.4.jar'), '');
  assert.doesNotThrow(() => assertS3aJars({ home }, []));
});

test('Spark conf secrets: an Azure account key written in the config is a secret, and a secret in a driver launch key is refused', async () => {
  const azureKey = 'spark.hadoop.fs.azure.account.key.acct.dfs.core.windows.net';
  const c = await config({ execution: { engine: 'spark', spark: { master: 'local[2]', conf: { [azureKey]: 'bXktYXp1cmUta2V5LXZhbHVl' } } } });
  assert.ok(c.secrets.includes('bXktYXp1cmUta2V5LXZhbHVl'), 'redacted from logs and messages');
  assert.deepEqual(Object.keys(splitSparkConf(c, {}).secret), [azureKey]);
  const launch = await config({ execution: { engine: 'spark', spark: { master: 'local[2]', conf: { 'spark.driver.extraJavaOptions': `-Dpw=${SECRET}` } } } });
  assert.throws(() => splitSparkConf(launch, {}), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /execution\.spark\.conf\["spark\.driver\.extraJavaOptions"\]: holds a secret, but Spark reads it from the command line/);
    return true;
  });
});

test('the PySpark driver script is valid Python', async (t) => {
  const py = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
  assert.ok(py, 'a Python interpreter is needed to check the driver script');
  const dir = await mkdtemp(join(tmpdir(), 'restlake-spark-py-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'restlake_driver.py');
  await writeFile(file, DRIVER_SCRIPT);
  const r = spawnSync(py, ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // The script quotes identifiers itself: no literal backtick survived the TypeScript wrapper.
  assert.ok(!DRIVER_SCRIPT.includes('`'));
});

test('plan: a catalog table source is read by name, not as a path', async () => {
  const c = await config();
  const withTable = { ...c, source: { ...(c.source as NonNullable<typeof c.source>), table: 'main.sales.orders' } };
  const plan = buildPlan(withTable, 'run-2', { question: '/q', answer: '/a' });
  assert.equal(plan.source.table, 'main.sales.orders');
  assert.equal(plan.source.path, null);
  assert.throws(() => buildPlan({ ...c, source: null }, 'r', { question: '/q', answer: '/a' }), ConfigError);
});

test('sourceReadOptions: Spark reads CSV in the dialect and encoding the local engine reads, and never PERMISSIVE', () => {
  const src = (format: 'csv' | 'json' | 'parquet', encoding?: 'utf-8' | 'utf-16' | 'latin-1') => ({ path: '/x', format, key: null, limit: null, ...(encoding ? { encoding } : {}) });
  const cases: [string, ReturnType<typeof sourceReadOptions>, Record<string, string>][] = [
    ['s3:// csv: RFC 4180 (Spark would escape with a backslash)', sourceReadOptions(src('csv'), null), { header: 'true', mode: 'FAILFAST', sep: ',', quote: '"', escape: '"' }],
    ['local csv: the sniffed dialect', sourceReadOptions(src('csv'), { delim: ';', quote: "'" }), { header: 'true', mode: 'FAILFAST', sep: ';', quote: "'", escape: "'" }],
    ['latin-1', sourceReadOptions(src('csv', 'latin-1'), null), { header: 'true', mode: 'FAILFAST', sep: ',', quote: '"', escape: '"', encoding: 'ISO-8859-1' }],
    ['utf-16 is read whole', sourceReadOptions(src('csv', 'utf-16'), null), { header: 'true', mode: 'FAILFAST', sep: ',', quote: '"', escape: '"', encoding: 'UTF-16LE', multiLine: 'true' }],
    ['json', sourceReadOptions(src('json'), null), { mode: 'FAILFAST' }],
    ['parquet', sourceReadOptions(src('parquet'), null), {}],
  ];
  for (const [title, actual, expected] of cases) assert.deepEqual(actual, expected, title);
});
