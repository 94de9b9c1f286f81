// The Spark engine (DESIGN §1 "One worker, two engines"): the same worker runs inside
// Spark executors through SQL script transformation, Spark reads the source and writes
// the sink with delta-spark, and restlake's driver services (tokens, rate limit) keep
// running in this process, which is why Spark runs in client mode.
//
// One run:
//   1. a private temp dir gets the worker bundle, the WorkerJob (no OAuth2 secret; the
//      services' URL and per-run secret), every local file the config refers to, the
//      PySpark driver script and its plan (no secrets at all);
//   2. spark-submit ships the first three with --files and runs the script, which
//      reads the source, asks us for the request_id SQL and the sink columns, drops what
//      already succeeded, and writes the rest in batches, one Delta commit each;
//   3. its events feed onProgress; a failure ends as RunError with the executor's error.
//
// Exactly one success row per request_id, even with Spark task retries: each batch is
// hash-partitioned on request_id (a retried task sees exactly the same rows), Delta's
// commit protocol keeps the output of one attempt per task, speculation is off, and the
// batch's append carries txnAppId=run_id/txnVersion=batch so a repeated commit of the
// same batch is a no-op. Rows already successful are removed up front by the anti-join
// with the sink. A MERGE on request_id would also guard against two concurrent runs, but
// it joins the whole sink per batch and Delta may evaluate a MERGE source twice, which
// here would mean sending every request twice.
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PipelineConfig } from '../config/types.js';
import { ConfigError, RestlakeError, RunError } from '../errors.js';
import { isS3Uri } from '../delta/index.js';
import { s3SettingsFromEnv } from '../delta/storage/s3-settings.js';
import { SPARK_SECRET_CONF_KEY } from '../config/secrets.js';
import { createRedactor } from '../middleware/redact.js';
import { checkAppendBeforeSpark } from '../sink/sink.js';
import type { EngineContext } from './context.js';
import { needsDriverServices, workerEnv } from './job.js';
import { createRunDir, removeStaleRunDirs } from './run-dir.js';
import { startServices, type RunningServices } from './services.js';
import type { RunSummary } from './summary.js';
import { buildSparkJob, JOB_FILE, WORKER_FILE, type ShippedFile } from './spark/job-file.js';
import { locateSpark, type SparkInstall } from './spark/locate.js';
import { defaultDeltaJars, packageRoot } from './spark/delta-jars.js';
import { DRIVER_SCRIPT } from './spark/driver-script.js';
import { sniffSource } from './spark/source-schema.js';
import { answerSchema, buildPlan, type SourceField } from './spark/plan.js';
import { runSparkSubmit, type DriverEvent } from './spark/submit.js';

export interface SparkRunContext {
  runId: string;
  services: { url: string; secret: string } | null;
  /** `expected` (rows to send this run) is known once the source was read; extra to the brief's shape. */
  onProgress?: (p: { rows: number; ok: number; failed: number; expected?: number | null }) => void;
  signal?: AbortSignal;
}

export interface SparkRunResult {
  rows: number;
  ok: number;
  failed: number;
  failuresByClass: Record<string, number>;
}

/** Everything the driver script reported, for the run summary. */
export interface SparkJobReport extends SparkRunResult {
  interrupted: boolean;
  pending: number | null;
  sourceRows: number | null;
  duplicates: number;
  skippedSucceeded: number | null;
  commits: number;
  tableVersion: number | null;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

/** Where the worker bundle is built (scripts/build-worker-bundle.mjs). Overridable for tests. */
export function workerBundlePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.RESTLAKE_WORKER_BUNDLE ? resolve(env.RESTLAKE_WORKER_BUNDLE) : join(packageRoot(), 'dist', WORKER_FILE);
}

/** Whether the pipeline reads or writes s3:// (Spark then needs s3a). */
export function usesS3(config: PipelineConfig): boolean {
  return isS3Uri(config.source?.path ?? '') || isS3Uri(config.sink.path);
}

/**
 * s3a settings from the same environment the local engine reads S3 with (AWS_ENDPOINT_URL,
 * AWS_REGION, RESTLAKE_S3_PATH_STYLE, the access keys), so a pipeline that works locally
 * reaches the same bucket on Spark; executors on other hosts do not share this
 * environment, so the credentials go in the conf too (off the command line: splitSparkConf).
 */
export function s3aConfFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const s3 = s3SettingsFromEnv(env);
  const conf: Record<string, string> = {};
  if (s3.endpoint) {
    conf['spark.hadoop.fs.s3a.endpoint'] = s3.endpoint;
    conf['spark.hadoop.fs.s3a.connection.ssl.enabled'] = String(s3.endpoint.toLowerCase().startsWith('https:'));
  }
  if (s3.forcePathStyle) conf['spark.hadoop.fs.s3a.path.style.access'] = 'true';
  if (s3.region) conf['spark.hadoop.fs.s3a.endpoint.region'] = s3.region;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    conf['spark.hadoop.fs.s3a.access.key'] = env.AWS_ACCESS_KEY_ID;
    conf['spark.hadoop.fs.s3a.secret.key'] = env.AWS_SECRET_ACCESS_KEY;
    if (env.AWS_SESSION_TOKEN) {
      conf['spark.hadoop.fs.s3a.session.token'] = env.AWS_SESSION_TOKEN;
      conf['spark.hadoop.fs.s3a.aws.credentials.provider'] = 'org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider';
    }
  }
  return conf;
}

/** Spark settings restlake needs; the user's `execution.spark.conf` wins where it sets the same key. */
export function sparkConf(config: PipelineConfig, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const spark = config.execution.spark;
  const conf: Record<string, string> = {
    ...(usesS3(config) ? s3aConfFromEnv(env) : {}),
    'spark.sql.extensions': 'io.delta.sql.DeltaSparkSessionExtension',
    'spark.sql.catalog.spark_catalog': 'org.apache.spark.sql.delta.catalog.DeltaCatalog',
    // Rows are rendered to JSON for the worker: timestamps the same on every host and engine.
    'spark.sql.session.timeZone': 'UTC',
    // A worker is a whole Node process per partition; running a slow one again
    // speculatively would send its requests twice.
    'spark.speculation': 'false',
  };
  if (spark?.driver_host) conf['spark.driver.host'] = spark.driver_host;
  for (const [k, v] of Object.entries(spark?.conf ?? {})) conf[k] = String(v);
  return conf;
}

// Conf that carries a credential (spark.hadoop.fs.s3a.secret.key, a password, a token)
// must not go on spark-submit's command line: every local user can read that in
// /proc/*/cmdline while the job runs. The driver script sets it on its SparkSession
// from a file only this user can read (secretConf).

/** The conf split into what may go on the command line and what must not. */
export function splitSparkConf(config: PipelineConfig, env: NodeJS.ProcessEnv = process.env): { public: Record<string, string>; secret: Record<string, string> } {
  const out = { public: {} as Record<string, string>, secret: {} as Record<string, string> };
  for (const [k, v] of Object.entries(sparkConf(config, env))) {
    const secret = SPARK_SECRET_CONF_KEY.test(k) || config.secrets.some((s) => s.length >= 4 && v.includes(s));
    // The driver JVM reads these when it starts, from the command line only: set on the
    // session later they would be ignored without a word.
    if (secret && /^spark\.(driver\.|jars|submit\.)/.test(k)) {
      throw new ConfigError([{ path: `execution.spark.conf["${k}"]`, message: 'holds a secret, but Spark reads it from the command line when the driver starts (where every local user can see it); pass the secret another way' }]);
    }
    (secret ? out.secret : out.public)[k] = v;
  }
  return out;
}

/** spark-submit's arguments. Only paths and settings: the secrets live inside the shipped job file and the secret conf file. */
export function spawnArgs(opts: { config: PipelineConfig; files: string[]; jars: string[]; script: string; plan: string }): string[] {
  const spark = opts.config.execution.spark;
  const args = ['--master', spark?.master ?? 'local[*]', '--deploy-mode', 'client', '--name', `restlake-${opts.config.name}`];
  args.push('--files', opts.files.join(','));
  if (opts.jars.length) args.push('--jars', opts.jars.join(','));
  for (const [k, v] of Object.entries(splitSparkConf(opts.config).public)) args.push('--conf', `${k}=${v}`);
  args.push(opts.script, opts.plan);
  return args;
}

/**
 * Spark reads s3:// through Hadoop's s3a connector, which is not in a plain Spark: without
 * it the job fails after its start with ClassNotFoundException: S3AFileSystem. Checked
 * here, before Spark starts, naming what to add.
 */
export function assertS3aJars(install: Pick<SparkInstall, 'home'>, jars: readonly string[], conf: Record<string, string> = {}): void {
  const name = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
  const sparkJars = existsSync(join(install.home, 'jars')) ? readdirSync(join(install.home, 'jars')) : [];
  if ([...jars.map(name), ...sparkJars].some((j) => /^hadoop-aws-.*\.jar$/.test(j))) return;
  // Brought in another way (spark.jars.packages, an extraClassPath), or provided by the
  // distribution (EMR, Dataproc) and declared with fs.s3a.impl.
  if (Object.values(conf).some((v) => v.includes('hadoop-aws')) || 'spark.hadoop.fs.s3a.impl' in conf) return;
  const hadoop = sparkJars.map((j) => /^hadoop-client-api-(.+)\.jar$/.exec(j)?.[1]).find(Boolean);
  throw new RunError(
    'RESTLAKE_SPARK_NO_S3A',
    `s3:// paths on Spark need Hadoop's s3a connector: run \`restlake spark setup --s3\` (fetches org.apache.hadoop:hadoop-aws${hadoop ? `:${hadoop}` : ''} and its AWS SDK bundle next to the Delta jars), or add them to execution.spark.jars or ${join(install.home, 'jars')}; if your Spark provides it elsewhere, set spark.hadoop.fs.s3a.impl: org.apache.hadoop.fs.s3a.S3AFileSystem in execution.spark.conf`,
  );
}

/** Module middleware travels as one ESM file with its imports inlined (TypeScript transpiled here). */
async function shipFile(f: ShippedFile, dest: string): Promise<void> {
  if (!f.bundle) return copyFileSync(f.source, dest);
  const { build } = await import('esbuild');
  try {
    await build({ entryPoints: [f.source], outfile: dest, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent' });
  } catch (err) {
    const first = (err as { errors?: { text: string }[] }).errors?.[0]?.text ?? (err as Error).message;
    throw new RunError('RESTLAKE_SPARK_MODULE', `cannot bundle middleware module ${f.source} for the executors: ${first}`);
  }
}

/** The Spark run proper: services are the caller's. */
export async function runSparkJob(config: PipelineConfig, ctx: SparkRunContext): Promise<SparkJobReport> {
  if (!config.source) {
    throw new ConfigError([{ path: 'source', message: 'the Spark engine reads its rows from a source table; rows given in memory need engine: local' }]);
  }
  const bundle = workerBundlePath();
  if (!existsSync(bundle)) {
    throw new RunError('RESTLAKE_SPARK_NO_WORKER_BUNDLE', `the worker bundle ${bundle} is missing: run \`npm run build\` (node scripts/build-worker-bundle.mjs)`);
  }
  const sparkCfg = config.execution.spark;
  const install: SparkInstall = locateSpark(sparkCfg?.spark_home ?? null);
  const jars = sparkCfg?.jars.length ? sparkCfg.jars.map((j) => resolve(config.base_dir, j)) : defaultDeltaJars(install);
  if (usesS3(config)) assertS3aJars(install, jars, config.execution.spark?.conf ?? {});

  // The job shipped with --files holds basic/bearer credentials: the directory is a run
  // directory (run-dir.ts), so one left by a driver killed with SIGKILL is removed by the
  // next run of either engine, as this one removes those of runs that are gone.
  await removeStaleRunDirs();
  const dir = await createRunDir();
  try {
    // Everything executors need, under the names the shipped config uses.
    const { job, files } = buildSparkJob(config, ctx.runId, ctx.services);
    const shipped = [join(dir, WORKER_FILE), join(dir, JOB_FILE)];
    copyFileSync(bundle, shipped[0] as string);
    writeFileSync(shipped[1] as string, JSON.stringify(job), { mode: 0o600 });
    for (const f of files) {
      await shipFile(f, join(dir, f.name));
      shipped.push(join(dir, f.name));
    }

    const answer = join(dir, 'answer.json');
    const { secret } = splitSparkConf(config);
    let secretConf: string | null = null;
    if (Object.keys(secret).length > 0) {
      secretConf = join(dir, 'secret-conf.json');
      writeFileSync(secretConf, JSON.stringify(secret), { mode: 0o600 });
    }
    const sniffed = await sniffSource(config);
    const plan = buildPlan(config, ctx.runId, {
      question: join(dir, 'question.json'),
      answer,
      secretConf,
      sourceSchema: sniffed?.ddl ?? null,
      sourceCasts: sniffed?.casts ?? {},
      csvDialect: sniffed?.dialect ?? null,
    });
    writeFileSync(join(dir, 'plan.json'), JSON.stringify(plan, null, 2));
    writeFileSync(join(dir, 'restlake_driver.py'), DRIVER_SCRIPT);

    // Without the variables holding the OAuth2 client secret or password: the executors'
    // workers (children of spark-submit under local[*]) must not inherit them.
    const env: NodeJS.ProcessEnv = { ...workerEnv(config), SPARK_HOME: install.home };
    if (install.python) {
      env.PYSPARK_PYTHON ??= install.python;
      env.PYSPARK_DRIVER_PYTHON ??= install.python;
    }
    const args = spawnArgs({ config, files: shipped, jars, script: join(dir, 'restlake_driver.py'), plan: join(dir, 'plan.json') });

    const report: SparkJobReport = {
      rows: 0, ok: 0, failed: 0, failuresByClass: {}, interrupted: false, pending: null, sourceRows: null, duplicates: 0,
      skippedSucceeded: null, commits: 0, tableVersion: null, latencyMs: { p50: 0, p95: 0, p99: 0, max: 0 },
    };
    let done = false;
    let failure: string | null = null;
    let configError: ConfigError | null = null;
    let batchRows = 0;
    let shown = 0;
    const progress = (rows: number): void => ctx.onProgress?.({ rows, ok: report.ok, failed: report.failed, expected: report.pending });

    const onEvent = (e: DriverEvent): void => {
      switch (e.event) {
        case 'question': {
          const fields = (JSON.parse(readFileSync(e.file, 'utf8')) as { columns: SourceField[] }).columns;
          let reply: unknown;
          try {
            reply = answerSchema(config, fields);
          } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
            configError = err;
            reply = { error: err.message };
          }
          writeFileSync(answer + '.tmp', JSON.stringify(reply));
          renameSync(answer + '.tmp', answer);
          break;
        }
        case 'pending':
          report.pending = e.rows;
          report.sourceRows = e.source_rows;
          report.duplicates = e.duplicates;
          report.skippedSucceeded = e.skipped_succeeded;
          progress(0);
          break;
        case 'batch_start':
          batchRows = e.rows;
          break;
        case 'tasks': {
          // Rows of finished tasks are written but not yet committed: shown as progress,
          // not as ok/failed. A batch runs several Spark jobs; the estimate only grows.
          const rows = e.total > 0 ? report.rows + Math.floor((batchRows * e.done) / e.total) : 0;
          if (rows > shown) progress((shown = rows));
          break;
        }
        case 'batch':
          report.rows += e.rows;
          report.ok += e.ok;
          report.failed += e.failed;
          report.commits++;
          for (const [k, v] of Object.entries(e.failuresByClass ?? {})) report.failuresByClass[k] = (report.failuresByClass[k] ?? 0) + v;
          batchRows = 0;
          shown = report.rows;
          progress(report.rows);
          break;
        case 'done':
          done = true;
          report.latencyMs = e.latency_ms;
          report.tableVersion = e.table_version;
          break;
        case 'error':
          failure = e.message;
          break;
        default:
          break;
      }
    };

    let outcome;
    try {
      outcome = await runSparkSubmit({ sparkSubmit: install.sparkSubmit, args, cwd: dir, env, signal: ctx.signal, onEvent });
    } catch (err) {
      throw err instanceof RestlakeError ? err : new RunError('RESTLAKE_SPARK_SUBMIT', `could not run ${install.sparkSubmit}: ${(err as Error).message}`);
    }
    if (configError) throw configError;
    if (ctx.signal?.aborted && !done) return { ...report, interrupted: true };
    if (failure !== null) throw new RunError('RESTLAKE_SPARK_JOB_FAILED', createRedactor(config.secrets).text(`the Spark job failed: ${failure}`));
    if (outcome.code !== 0 || !done) {
      const tail = outcome.tail.filter((l) => l.trim() && !/^\s+at |^\s*\.\.\. \d+ more/.test(l)).slice(-25).join('\n');
      throw new RunError(
        'RESTLAKE_SPARK_JOB_FAILED',
        createRedactor(config.secrets).text(`spark-submit exited with ${outcome.code ?? outcome.signal} (master ${sparkCfg?.master ?? 'local[*]'}, Spark ${install.version} at ${install.home}):\n${tail}`),
      );
    }
    return report;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Spark engine as the brief names it: counts only. */
export async function runSparkEngine(config: PipelineConfig, ctx: SparkRunContext): Promise<SparkRunResult> {
  await checkAppendBeforeSpark(config);
  const r = await runSparkJob(config, ctx);
  if (r.interrupted) throw new RunError('RESTLAKE_ABORTED', `the Spark run was stopped; ${r.rows} rows were committed and a rerun resumes after them`);
  return { rows: r.rows, ok: r.ok, failed: r.failed, failuresByClass: r.failuresByClass };
}

/** The Spark engine as src/engine/run.ts loads it: starts the driver services, runs, summarises. */
export async function runSpark(ctx: EngineContext): Promise<RunSummary> {
  const { config, runId } = ctx;
  const started = Date.now();
  let services: RunningServices | null = null;
  try {
    // A sink that cannot take these rows is refused before the token service's first
    // grant and before Spark starts, as the local engine does.
    await checkAppendBeforeSpark(config);
    if (needsDriverServices(config)) services = await startServices(config, runId, ctx.log);
    const r = await runSparkJob(config, {
      runId,
      services: services ? { url: services.url, secret: services.secret } : null,
      signal: ctx.signal,
      onProgress: (p) => {
        const elapsed = Date.now() - started;
        ctx.onProgress?.({
          rows: p.rows,
          succeeded: p.ok,
          failed: p.failed,
          expected: p.expected ?? null,
          in_flight: 0,
          committed_rows: p.ok + p.failed,
          elapsed_ms: elapsed,
          rows_per_second: elapsed > 0 ? (p.rows * 1000) / elapsed : 0,
        });
      },
    });
    const elapsed = Date.now() - started;
    const budget = config.execution.max_requests;
    return {
      run_id: runId,
      pipeline: config.name,
      engine: 'spark',
      sink: config.sink.path,
      outcome: r.interrupted ? 'interrupted' : budget !== null && r.pending !== null && r.pending >= budget ? 'max_requests' : 'completed',
      source_rows: r.sourceRows,
      skipped_succeeded: r.skippedSucceeded,
      duplicates: r.duplicates,
      rows: r.rows,
      succeeded: r.ok,
      failed: r.failed,
      failures_by_class: r.failuresByClass,
      latency_ms: r.latencyMs,
      elapsed_ms: elapsed,
      rows_per_second: elapsed > 0 ? (r.rows * 1000) / elapsed : 0,
      commits: r.commits,
      table_version: r.tableVersion,
      worker_restarts: 0,
    };
  } finally {
    if (services) await services.close().catch(() => {});
  }
}
