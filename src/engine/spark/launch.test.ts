// runSparkJob against a fake spark-submit that speaks the driver script's protocol
// (events on stdout, the schema question through files): what restlake ships, what it
// answers, how progress, failures, config errors and aborts come back. No JVM needed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { ConfigError, RunError } from '../../errors.js';
import { sparkRequestIdSql } from '../../request/request-id.js';
import { runSparkEngine, runSparkJob } from '../spark.js';

const PASSWORD = 'basic-password-for-the-fake';
let root: string;
let home: string;

// The fake copies what it was given into FAKE_OUT, then acts out FAKE_MODE.
const FAKE = `#!${process.execPath}
const fs = require('fs'), path = require('path');
const args = process.argv.slice(2);
const plan = JSON.parse(fs.readFileSync(args[args.length - 1], 'utf8'));
const out = process.env.FAKE_OUT;
const ev = (e) => console.log('RESTLAKE_EVENT ' + JSON.stringify(e));
fs.writeFileSync(path.join(out, 'args.json'), JSON.stringify(args));
const files = args[args.indexOf('--files') + 1].split(',');
for (const f of files) fs.copyFileSync(f, path.join(out, path.basename(f)));
fs.writeFileSync(path.join(out, 'mode.txt'), (fs.statSync(files[1]).mode & 0o777).toString(8));
console.log('26/01/01 INFO SparkContext: Running Spark version 4.0.1');
fs.writeFileSync(plan.question_file, JSON.stringify({ columns: [{ name: 'id', type: 'bigint' }, { name: 'region', type: 'string' }] }));
ev({ event: 'question', file: plan.question_file });
const wait = () => fs.existsSync(plan.answer_file) ? go(JSON.parse(fs.readFileSync(plan.answer_file, 'utf8'))) : setTimeout(wait, 20);
wait();
function go(answer) {
  fs.writeFileSync(path.join(out, 'answer.json'), JSON.stringify(answer));
  if (answer.error) { ev({ event: 'error', kind: 'config', message: answer.error }); process.exit(2); }
  const mode = process.env.FAKE_MODE;
  ev({ event: 'pending', rows: 10, batches: 2, source_rows: 11, duplicates: 1, skipped_succeeded: 0 });
  ev({ event: 'batch_start', index: 0, rows: 6 });
  ev({ event: 'tasks', group: 'g', done: 1, total: 2 });
  ev({ event: 'batch', index: 0, rows: 6, ok: 5, failed: 1, failuresByClass: { timeout: 1 } });
  if (mode === 'fail') {
    console.log('Traceback (most recent call last): noise');
    ev({ event: 'error', kind: 'spark', message: 'Subprocess exited with status 1. Error: login ${PASSWORD} refused (${Buffer.from(PASSWORD).toString('base64')})' });
    process.exit(1);
  }
  if (mode === 'crash') { console.error('Exception in thread "main" java.lang.OutOfMemoryError: Java heap space'); process.exit(1); }
  if (mode === 'hang') { setInterval(() => {}, 1000); return; }
  ev({ event: 'batch_start', index: 1, rows: 4 });
  ev({ event: 'batch', index: 1, rows: 4, ok: 2, failed: 2, failuresByClass: { http_status: 2 } });
  ev({ event: 'done', rows: 10, ok: 7, failed: 3, failuresByClass: {}, commits: 2, latency_ms: { p50: 1, p95: 2, p99: 3, max: 4 }, table_version: 5 });
}
`;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'restlake-spark-launch-'));
  home = join(root, 'spark');
  await mkdir(join(home, 'bin'), { recursive: true });
  await mkdir(join(home, 'jars'), { recursive: true });
  await writeFile(join(home, 'bin', 'spark-submit'), FAKE);
  await chmod(join(home, 'bin', 'spark-submit'), 0o755);
  await writeFile(join(home, 'jars', 'spark-core_2.13-4.0.1.jar'), '');
  await writeFile(join(root, 'worker.mjs'), '// stand-in worker bundle\n');
  await mkdir(join(root, 'mw'));
  await writeFile(join(root, 'mw', 'helper.ts'), 'export const tag: string = "from-helper";\n');
  await writeFile(join(root, 'mw', 'sign.ts'), 'import { tag } from "./helper.js";\nexport function sign() { return async (_ex: unknown, next: () => Promise<void>) => { void tag; await next(); }; }\n');
  process.env.RESTLAKE_WORKER_BUNDLE = join(root, 'worker.mjs');
});

after(async () => {
  delete process.env.RESTLAKE_WORKER_BUNDLE;
  delete process.env.FAKE_MODE;
  delete process.env.FAKE_OUT;
  await rm(root, { recursive: true, force: true });
});

async function setup(mode: string, key = ['id']) {
  const out = await mkdtemp(join(root, `out-${mode}-`));
  process.env.FAKE_OUT = out;
  process.env.FAKE_MODE = mode;
  const config = await loadConfig(
    {
      version: 1,
      name: 'launch',
      source: { path: join(root, 'in.parquet'), format: 'parquet', key },
      request: { url: 'http://127.0.0.1:9/{{ id }}' },
      auth: { type: 'basic', username: 'u', password: PASSWORD },
      middleware: [{ type: 'module', path: './mw/sign.ts', export: 'sign' }],
      sink: { path: join(root, 'sink'), source_columns: ['region'] },
      execution: { engine: 'spark', spark: { master: 'spark://127.0.0.1:1', spark_home: home, jars: ['/j/delta.jar'] } },
    },
    { baseDir: root, env: {} },
  );
  return { out, config };
}

test('ships worker, job and bundled module; answers the schema question; reports progress and totals', async () => {
  const { out, config } = await setup('ok');
  const seen: Array<{ rows: number; ok: number; failed: number }> = [];
  const r = await runSparkJob(config, { runId: 'run-1', services: { url: 'http://127.0.0.1:7', secret: 'run-secret' }, onProgress: (p) => seen.push({ rows: p.rows, ok: p.ok, failed: p.failed }) });
  assert.deepEqual(
    { rows: r.rows, ok: r.ok, failed: r.failed, commits: r.commits, sourceRows: r.sourceRows, duplicates: r.duplicates, tableVersion: r.tableVersion },
    { rows: 10, ok: 7, failed: 3, commits: 2, sourceRows: 11, duplicates: 1, tableVersion: 5 },
  );
  assert.deepEqual(r.failuresByClass, { timeout: 1, http_status: 2 });
  assert.deepEqual(seen.at(-1), { rows: 10, ok: 7, failed: 3 });
  assert.ok(seen.some((p) => p.rows === 3 && p.ok === 0), 'task progress shows rows before their commit');

  const args = JSON.parse(await readFile(join(out, 'args.json'), 'utf8')) as string[];
  assert.ok(!JSON.stringify(args).includes(PASSWORD) && !JSON.stringify(args).includes('run-secret'), 'no secret on the command line');
  assert.equal(args[args.indexOf('--jars') + 1], '/j/delta.jar');
  const job = JSON.parse(await readFile(join(out, 'restlake-job.json'), 'utf8'));
  assert.deepEqual(job.driver, { url: 'http://127.0.0.1:7', secret: 'run-secret' });
  assert.equal(await readFile(join(out, 'mode.txt'), 'utf8'), '600');
  const mod = await readFile(join(out, job.config.middleware[0].path.slice(2)), 'utf8');
  assert.match(mod, /from-helper/, 'the module is bundled with its relative imports');
  assert.doesNotMatch(mod, /: string/, 'and transpiled');
  const answer = JSON.parse(await readFile(join(out, 'answer.json'), 'utf8'));
  assert.equal(answer.request_id_sql, sparkRequestIdSql('launch', ['id']));
  assert.deepEqual(answer.sink_columns.find((c: { name: string }) => c.name === 'region'), { name: 'region', type: 'string', nullable: true, json_type: 'string', select_sql: 'r.`region`' });
});

test('a failed Spark job is a RunError with the executor error, secrets redacted', async () => {
  const { config } = await setup('fail');
  await assert.rejects(runSparkEngine(config, { runId: 'run-2', services: null }), (e: unknown) => {
    assert.ok(e instanceof RunError);
    assert.equal(e.code, 'RESTLAKE_SPARK_JOB_FAILED');
    // The run's redactor, as in the sink: the base64 form too.
    assert.match(e.message, /Subprocess exited with status 1\. Error: login \[REDACTED\] refused \(\[REDACTED\]\)/);
    assert.ok(!e.message.includes(PASSWORD));
    return true;
  });
});

test('spark-submit dying without an error event: RunError with the tail of its output', async () => {
  const { config } = await setup('crash');
  await assert.rejects(runSparkEngine(config, { runId: 'run-3', services: null }), (e: unknown) => e instanceof RunError && /exited with 1[\s\S]*OutOfMemoryError/.test(e.message));
});

test('a key the source lacks is a ConfigError (exit 2), raised by restlake, not Spark', async () => {
  const { config } = await setup('ok', ['nope']);
  await assert.rejects(runSparkEngine(config, { runId: 'run-4', services: null }), (e: unknown) => e instanceof ConfigError && /"nope"/.test(e.message));
});

test('abort stops spark-submit; committed batches count, and the run reports itself interrupted', async () => {
  const { config } = await setup('hang');
  const ac = new AbortController();
  const r = runSparkJob(config, { runId: 'run-5', services: null, signal: ac.signal, onProgress: (p) => p.ok > 0 && ac.abort() });
  const report = await r;
  assert.equal(report.interrupted, true);
  assert.equal(report.ok, 5);
});
