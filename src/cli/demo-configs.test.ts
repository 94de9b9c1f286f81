import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { DEMO_EXAMPLES, EXAMPLES_DIR, writeDemoConfigs } from './demo-configs.js';
import { writeDemoSources } from './demo-sources.js';
import { DuckDBInstance } from '../duckdb.js';

const ENV = {
  RESTLAKE_DEMO_API: 'http://127.0.0.1:9',
  RESTLAKE_DEMO_TOKEN_URL: 'http://127.0.0.1:9/token',
  DEMO_BASIC_PASSWORD: 'pw-basic',
  DEMO_BEARER_TOKEN: 'tok-bearer',
  DEMO_CLIENT_SECRET: 'sec-client',
  DEMO_USER_PASSWORD: 'pw-user',
  SPARK_HOME: '/opt/spark',
};

test('every example config validates, and none holds a literal secret', async () => {
  const files = (await readdir(EXAMPLES_DIR)).filter((f) => f.endsWith('.yaml') && f !== 'pipeline.reference.yaml');
  assert.ok(files.length >= 6, files.join(', '));
  for (const f of files) {
    const text = await readFile(join(EXAMPLES_DIR, f), 'utf8');
    const config = await loadConfig(join(EXAMPLES_DIR, f), { env: ENV });
    assert.match(text, /^# restlake example/m, `${f} starts with an explanation`);
    for (const s of config.secrets) assert.ok(!text.includes(s), `${f}: secrets come from the environment`);
    if (config.auth.type !== 'none') assert.ok(config.secrets.length > 0, `${f}: its credentials count as secrets`);
  }
  const auths = new Set<string>();
  for (const { file } of DEMO_EXAMPLES) auths.add((await loadConfig(join(EXAMPLES_DIR, file), { env: ENV })).auth.type);
  assert.deepEqual([...auths].sort(), ['basic', 'bearer', 'none', 'oauth2_client_credentials', 'oauth2_password']);
  const spark = await loadConfig(join(EXAMPLES_DIR, 'spark.yaml'), { env: ENV });
  assert.equal(spark.execution.engine, 'spark');
});

test('demo sources and configs: N rows each, paths into the demo dir, comments kept, all valid', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-demo-cfg-'));
  try {
    const sources = await writeDemoSources(join(dir, 'sources'), 37);
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const count = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRows()[0][0]);
    assert.equal(await count(`SELECT count(DISTINCT order_id) FROM '${sources.orders}'`), 37);
    assert.equal(await count(`SELECT count(DISTINCT customer_id) FROM read_csv('${sources.customers}', header = true)`), 37);
    // every order points at an existing customer
    assert.equal(await count(`SELECT count(*) FROM '${sources.orders}' o ANTI JOIN read_csv('${sources.customers}', header = true) c USING (customer_id)`), 0);
    conn.closeSync();
    db.closeSync();

    const pipelines = await writeDemoConfigs(dir, sources, 37);
    assert.deepEqual(pipelines.map((p) => p.name), ['demo_none', 'demo_basic', 'demo_bearer', 'demo_oauth2_client_credentials', 'demo_oauth2_password']);
    for (const p of pipelines) {
      const text = await readFile(p.config, 'utf8');
      assert.match(text, /Written by `restlake demo`/);
      assert.match(text, /# restlake example/, 'the example comments survive');
      const c = await loadConfig(p.config, { env: ENV });
      assert.equal(c.sink.path, join(dir, p.name));
      assert.equal(p.table, join(dir, p.name));
      assert.ok(c.source!.path === sources.orders || c.source!.path === sources.customers, c.source!.path);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('writeDemoSources refuses a bad row count', async () => {
  await assert.rejects(writeDemoSources(join(tmpdir(), 'never-written'), 0), /rows must be/);
});
