// The Spark engine on a real standalone cluster (a master and 2 workers on loopback,
// from the test venv's pip pyspark), with the real worker bundle inside the executors.
// Each spark-submit costs tens of seconds, so the cases share one cluster and each run
// proves several things:
//   1. no auth, Delta source, 3 batches: every row lands once with the local engine's
//      request_ids; the local engine on the same config gives the same rows;
//   2. rerun: only the failed request_ids are sent again, never a second success row,
//      even when a worker dies and Spark retries its task;
//   3. OAuth2 (CSV source, mode overwrite over a table the local engine wrote): tokens
//      come only from restlake's token service, one grant for the whole run whatever
//      the number of executors;
//   4. a middleware module that throws at load: exit-3 RunError carrying its message.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '../duckdb.js';
import { loadConfig } from '../config/load.js';
import { DeltaTable } from '../delta/index.js';
import { RunError } from '../errors.js';
import { requestIdOf } from '../request/request-id.js';
import { sparkEnv, sparkHome, sparkJars } from '../testkit/python.js';
import { startMockApi, type MockApi } from '../testkit/mock-api.js';
import { startOAuthServer, type OAuthServer } from '../testkit/oauth-server.js';
import { queryTable, scoreReply, startTestServer, tempDir, type TestServer } from './e2e-support.js';
import { runConfig } from './run.js';
import { startSparkCluster, type SparkCluster } from '../testkit/spark-cluster.js';

// The engine runs spark-submit with this process's environment: the test tools' Spark
// settings (loopback only, as the test network rule asks; fast-starting test JVMs).
Object.assign(process.env, sparkEnv());

const N = 30;
const failsFirst = (id: number): boolean => id % 5 === 0;
const longReply = (id: number) => ({
  status: 200,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify({ id: String(id), score: id * 1.5, note: 'ünï "q" \\ 😀\n€'.repeat(80) }),
});

let cluster: SparkCluster;
let tmp: { dir: string; cleanup(): Promise<void> };
let server: TestServer;
let healthy = false;
let deltaSource: string;

/**
 * A test on the shared cluster; when it fails, the cluster's log tails go into the test
 * output (the cluster's temp dir is gone once the suite ends).
 */
function sparkTest(name: string, fn: (t: TestContext) => Promise<void>): void {
  test(name, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      if (cluster) t.diagnostic(`Spark cluster logs:\n${await cluster.logTails(40)}`);
      throw e;
    }
  });
}

before(async () => {
  tmp = await tempDir('restlake-spark-');
  [cluster, server] = await Promise.all([
    startSparkCluster({ workers: 2, memoryPerWorker: '1g' }),
    startTestServer((req) => {
      const id = Number(/\/items\/(\d+)/.exec(req.url)?.[1]);
      if (!healthy && failsFirst(id)) return { status: 503, body: '{"error":"busy"}' };
      // Every third reply is long and not ASCII: both engines must land it unchanged.
      return id % 3 === 0 ? longReply(id) : scoreReply(req);
    }),
  ]);
  // The Delta source, written by restlake's own Delta writer (Spark reads it back).
  deltaSource = join(tmp.dir, 'orders_delta');
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    await DeltaTable.forPath(deltaSource).write(conn, {
      mode: 'append',
      selectSql: `SELECT i::BIGINT AS id, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END AS region, CASE WHEN i % 7 = 0 THEN NULL ELSE 'n' || i END AS name FROM range(1, ${N + 1}) t(i)`,
      schema: {
        type: 'struct',
        fields: [
          { name: 'id', type: 'long', nullable: true, metadata: {} },
          { name: 'region', type: 'string', nullable: true, metadata: {} },
          { name: 'name', type: 'string', nullable: true, metadata: {} },
        ],
      },
    });
  } finally {
    conn.closeSync();
    duck.closeSync();
  }
});

after(async () => {
  await Promise.all([cluster?.stop(), server?.close()]);
  await tmp?.cleanup();
});

/**
 * Runs one pipeline on Spark, then on the local engine, each into its own sink; both must
 * send `rows` rows and give the same result for `q` over their sinks. Returns Spark's.
 */
async function onBothEngines(
  name: string,
  p: { source: object; request: object; source_columns: string[] },
  rows: number,
  q: string,
): Promise<Record<string, unknown>[]> {
  const run = async (engine: 'local' | 'spark'): Promise<Record<string, unknown>[]> => {
    const sink = join(tmp.dir, 'lake', `${name}_${engine}`);
    const config = await loadConfig(
      {
        version: 1,
        name,
        source: p.source,
        request: p.request,
        sink: { path: sink, source_columns: p.source_columns },
        execution: engine === 'spark' ? { engine, workers: 2, spark: sparkSection() } : { engine },
      },
      { baseDir: tmp.dir },
    );
    assert.equal((await runConfig(config)).rows, rows, engine);
    return queryTable(sink, q);
  };
  const spark = await run('spark');
  assert.deepEqual(spark, await run('local'));
  return spark;
}

function sparkSection(extraConf: Record<string, string> = {}) {
  return {
    master: cluster.masterUrl,
    spark_home: sparkHome(),
    jars: sparkJars(),
    driver_host: '127.0.0.1',
    conf: { 'spark.executor.memory': '512m', 'spark.driver.memory': '512m', 'spark.ui.enabled': 'false', ...extraConf },
  };
}

function pipeline(engine: 'local' | 'spark', sink: string) {
  return {
    version: 1,
    name: 'spark_e2e',
    source: { path: deltaSource, format: 'delta', key: ['id'] },
    request: {
      method: 'POST',
      url: `${server.url}/items/{{ id }}`,
      query: { region: '{{ region }}' },
      body: { json: { id: '{{ id }}', label: "{{ name | default('none') }}" } },
    },
    response: { extract: { score: { path: '$.score', type: 'double' } } },
    sink: { path: sink, source_columns: ['id', 'region', 'name'] },
    execution: { engine, workers: 2, concurrency: 4, commit_rows: 12, ...(engine === 'spark' ? { spark: sparkSection() } : {}) },
  };
}

// Everything but timings and the run id.
const COMPARABLE = `request_id, pipeline, id, region, name, method, url, request_headers, request_body, status_code, success,
  attempts, error_class, error_message, response_body, response_truncated, score`;

const sparkSink = (): string => join(tmp.dir, 'lake', 'spark_scores');

sparkTest('no auth, Delta source: every row lands once, with the same request_ids and rows as the local engine', async () => {
  const config = await loadConfig(pipeline('spark', sparkSink()), { baseDir: tmp.dir });
  const progress: number[] = [];
  const s = await runConfig(config, { onProgress: (p) => progress.push(p.rows) });
  assert.equal(s.engine, 'spark');
  assert.equal(s.rows, N);
  assert.equal(s.failed, N / 5);
  assert.deepEqual(s.failures_by_class, { http_status: N / 5 });
  assert.equal(s.source_rows, N);
  assert.ok(s.commits >= 2, `commit_rows 12 over ${N} rows means several commits, got ${s.commits}`);
  assert.equal(progress.at(-1), N);
  assert.equal(server.count(), N);

  const rows = await queryTable<{ request_id: string; id: number; run_id: string; success: boolean; started_at: string }>(
    sparkSink(),
    'SELECT request_id, id, run_id, success, started_at::VARCHAR AS started_at FROM t ORDER BY id',
  );
  assert.equal(rows.length, N);
  for (const r of rows) {
    assert.equal(r.request_id, requestIdOf('spark_e2e', [r.id]), `request_id of id ${r.id}`);
    assert.equal(r.run_id, s.run_id);
    assert.equal(r.success, !failsFirst(Number(r.id)));
    assert.match(r.started_at, /^20\d\d-/);
  }
  const long = await queryTable<{ id: number; response_body: string }>(sparkSink(), 'SELECT id, response_body FROM t WHERE id % 3 = 0 AND id % 5 <> 0 ORDER BY id');
  assert.ok(long.length > 0);
  for (const r of long) assert.equal(r.response_body, longReply(Number(r.id)).body, `long body of id ${r.id}`);

  // The same config on the local engine: same request_ids, same rows apart from timings.
  const localSink = join(tmp.dir, 'lake', 'local_scores');
  const local = await runConfig(await loadConfig(pipeline('local', localSink), { baseDir: tmp.dir }));
  assert.equal(local.rows, N);
  const sparkRows = await queryTable(sparkSink(), `SELECT ${COMPARABLE} FROM t ORDER BY request_id`);
  const localRows = await queryTable(localSink, `SELECT ${COMPARABLE} FROM t ORDER BY request_id`);
  assert.deepEqual(sparkRows, localRows);
  const [sparkCols, localCols] = await Promise.all([sparkSink(), localSink].map((p) => queryTable<{ column_name: string; column_type: string }>(p, 'SELECT column_name, column_type FROM (DESCRIBE t)')));
  assert.deepEqual(sparkCols, localCols);
});

sparkTest('rerun resumes: only failed request_ids are sent again; a task retried after its worker died adds no second row', async () => {
  healthy = true;
  // The first worker process of the run dies after its first request: Spark retries the task
  // (the retry sends that partition's requests again), and the sink must still get one row each.
  const marker = join(tmp.dir, 'crashed-once');
  await mkdir(join(tmp.dir, 'mw'), { recursive: true });
  await writeFile(
    join(tmp.dir, 'mw', 'crash-once.mjs'),
    `import { existsSync, writeFileSync } from 'node:fs';
export function crashOnce(options) {
  const first = !existsSync(options.marker);
  if (first) writeFileSync(options.marker, String(process.pid));
  return async (ex, next) => { await next(); if (first) process.exit(1); };
}
`,
  );
  const before = server.seen.length;
  const config = await loadConfig(
    { ...pipeline('spark', sparkSink()), middleware: [{ type: 'module', path: './mw/crash-once.mjs', export: 'crashOnce', options: { marker } }] },
    { baseDir: tmp.dir },
  );
  const s = await runConfig(config);
  assert.ok(existsSync(marker), 'a worker crashed and its task was retried');
  const resent = [...new Set(server.seen.slice(before).map((r) => Number(/\/items\/(\d+)/.exec(r.url)?.[1])))].sort((a, b) => a - b);
  assert.deepEqual(resent, Array.from({ length: N }, (_, i) => i + 1).filter(failsFirst));
  assert.equal(s.rows, N / 5);
  const [{ rows }] = await queryTable<{ rows: number }>(sparkSink(), `SELECT count(*)::INT AS rows FROM t WHERE run_id = '${s.run_id}'`);
  assert.equal(rows, N / 5, 'one row per request of this run, despite the retried task');
  assert.equal(s.failed, 0);
  assert.equal(s.skipped_succeeded, N - N / 5);
  const dupes = await queryTable(sparkSink(), 'SELECT request_id FROM t WHERE success GROUP BY request_id HAVING count(*) > 1');
  assert.deepEqual(dupes, []);
  const [{ ok }] = await queryTable<{ ok: number }>(sparkSink(), 'SELECT count(DISTINCT request_id)::INT AS ok FROM t WHERE success');
  assert.equal(ok, N);
});

sparkTest('OAuth2: executors get tokens only from the driver token service, one grant for the run', async (t) => {
  const secret = 'spark-e2e-client-secret';
  const idp: OAuthServer = await startOAuthServer({ clients: [{ id: 'spark-etl', secret, grants: ['client_credentials'] }] });
  const api: MockApi = await startMockApi({ verifyToken: (tok) => idp.verify(tok) });
  t.after(async () => {
    await api.close();
    await idp.close();
  });
  const csv = join(tmp.dir, 'accounts.csv');
  // zip is text with leading zeros: Spark's own CSV inference would read 00123 as 123.
  await writeFile(csv, ['account,tier,zip', ...Array.from({ length: 16 }, (_, i) => `acc-${i},${i % 3},${String(i).padStart(5, '0')}`)].join('\n') + '\n');
  // mode: overwrite replaces a table another pipeline (and the local engine) wrote.
  const sink = join(tmp.dir, 'lake', 'oauth_scores');
  const seeded = await runConfig(await loadConfig(pipeline('local', sink), { baseDir: tmp.dir }));
  assert.equal(seeded.rows, N);
  const config = await loadConfig(
    {
      version: 1,
      name: 'spark_oauth',
      source: { path: csv, key: ['account'] },
      request: { url: `${api.url}/v1/oauth2/score/{{ account }}` },
      auth: { type: 'oauth2_client_credentials', token_url: idp.tokenUrl, client_id: 'spark-etl', client_secret: secret },
      sink: { path: sink, mode: 'overwrite', source_columns: ['account', 'tier', 'zip'] },
      execution: { engine: 'spark', workers: 4, concurrency: 2, spark: sparkSection() },
    },
    { baseDir: tmp.dir },
  );
  const s = await runConfig(config);
  assert.equal(s.rows, 16);
  assert.equal(s.succeeded, 16, JSON.stringify(s.failures_by_class));
  assert.equal(idp.stats().grants.client_credentials, 1);
  assert.deepEqual(api.stats().byAuth.oauth2, { accepted: 16, rejected: 0 });
  assert.deepEqual(await queryTable(sink, 'SELECT pipeline, count(*)::INT AS n FROM t GROUP BY pipeline'), [{ pipeline: 'spark_oauth', n: 16 }]);
  // Read with DuckDB's types, as the local engine reads it: text stays text.
  assert.deepEqual(await queryTable(sink, "SELECT zip, typeof(zip) AS t FROM t WHERE account = 'acc-7'"), [{ zip: '00007', t: 'VARCHAR' }]);
  const leaks = await queryTable(sink, `SELECT request_id FROM t WHERE request_headers LIKE '%${idp.issuedTokens()[0]}%' OR request_headers LIKE '%${secret}%'`);
  assert.deepEqual(leaks, []);
});

sparkTest('a CSV source in UTF-16LE without BOM, with a t/f column: Spark reads the rows and values DuckDB reads', async () => {
  const csv = join(tmp.dir, 'u16.csv');
  await writeFile(csv, Buffer.from('id,name,flag\n' + Array.from({ length: 6 }, (_, i) => `${i + 1},Zoë ${i + 1},${i % 2 ? 't' : 'F'}`).join('\n') + '\n', 'utf16le'));
  const spark = await onBothEngines(
    'spark_u16',
    { source: { path: csv, key: ['id'], encoding: 'utf-16' }, request: { url: `${server.url}/items/{{ id }}`, query: { flag: '{{ flag }}' } }, source_columns: ['name', 'flag'] },
    6,
    'SELECT request_id, name, flag, typeof(flag) AS t, url FROM t ORDER BY request_id',
  );
  assert.deepEqual(spark.filter((r) => r.name === 'Zoë 2').map((r) => [r.flag, r.t]), [[true, 'BOOLEAN']]);
});

sparkTest('a CSV source with dates and timestamps in the formats DuckDB detected (03/25/2024, 25.03.85 14:05:00): Spark sends the values, URLs and request_ids DuckDB does', async () => {
  const csv = join(tmp.dir, 'dates.csv');
  const days = ['03/25/2024', '12/01/2023', '1/5/2024', '02/29/2024', '07/04/1999', '10/31/2000'];
  const ats = ['25.03.85 14:05:00', '01.12.23 09:30:05', '31.12.69 23:59:59', '29.02.24 00:00:00', '04.07.99 12:00:00', '31.10.68 06:07:08'];
  await writeFile(csv, 'id,day,at\n' + days.map((d, i) => `${i + 1},${d},${ats[i]}`).join('\n') + '\n');
  const spark = await onBothEngines(
    'spark_dates',
    { source: { path: csv, key: ['day', 'at'] }, request: { url: `${server.url}/items/{{ id }}`, query: { day: '{{ day }}', at: '{{ at }}' } }, source_columns: ['day', 'at'] },
    6,
    'SELECT request_id, day, typeof(day) AS dt, "at", typeof("at") AS att, url FROM t ORDER BY request_id',
  );
  // As DuckDB reads them: %y 69-99 is 19xx, 00-68 20xx (Spark's yy alone would say 2085).
  assert.deepEqual(
    spark.map((r) => new URL(r.url as string).searchParams.toString()).sort(),
    [
      'day=1999-07-04&at=1999-07-04+12%3A00%3A00',
      'day=2000-10-31&at=2068-10-31+06%3A07%3A08',
      'day=2023-12-01&at=2023-12-01+09%3A30%3A05',
      'day=2024-01-05&at=1969-12-31+23%3A59%3A59',
      'day=2024-02-29&at=2024-02-29+00%3A00%3A00',
      'day=2024-03-25&at=1985-03-25+14%3A05%3A00',
    ],
  );
});

sparkTest('a worker that fails in the executors ends the run with RunError carrying its stderr', async () => {
  const dir = join(tmp.dir, 'mw');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'broken.mjs'), `throw new Error('kaboom: the signing key is missing (spark-e2e)');\nexport function sign() {}\n`);
  const config = await loadConfig(
    {
      ...pipeline('spark', join(tmp.dir, 'lake', 'broken')),
      name: 'spark_broken',
      middleware: [{ type: 'module', path: './mw/broken.mjs', export: 'sign' }],
      execution: { engine: 'spark', spark: sparkSection({ 'spark.task.maxFailures': '1' }) },
    },
    { baseDir: tmp.dir },
  );
  await assert.rejects(runConfig(config), (e: unknown) => {
    assert.ok(e instanceof RunError, String(e));
    assert.equal(e.code, 'RESTLAKE_SPARK_JOB_FAILED');
    assert.match(e.message, /kaboom: the signing key is missing \(spark-e2e\)/);
    return true;
  });
});
