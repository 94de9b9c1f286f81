// execution: engine, workers, concurrency, commits, resume, and Spark settings.
import { z } from 'zod';
import type { ExecutionConfig } from '../types.js';
import { positiveDuration, resolvePath, show, strictObject } from '../schema-parts.js';
import { didYouMean } from '../suggest.js';
import { enumOf, positiveInt, scalarLiteral } from './common.js';
import { ALWAYS, asRecord, configPath, here } from './context.js';

const spark = strictObject({
  master: z.string().min(1).describe('spark://host:7077, local[*] or local-cluster[2,1,1024].'),
  spark_home: configPath().nullable().optional().describe('Default: $SPARK_HOME, else spark-submit on PATH.'),
  jars: z.array(z.string().min(1)).default([]).describe('Extra jars (default: the Delta jars `restlake spark setup` fetched).'),
  conf: z.record(z.string().min(1), scalarLiteral()).default({}).describe('Spark conf, e.g. {spark.executor.memory: 1g}.'),
  driver_host: z.string().min(1).nullable().default(null).describe('Address executors use to reach the driver services (default: detected).'),
})
  .transform((v) => {
    const { baseDir, env } = here();
    return {
      master: v.master,
      spark_home: v.spark_home ?? (env.SPARK_HOME ? resolvePath(baseDir, env.SPARK_HOME) : null),
      jars: v.jars.map((j) => resolvePath(baseDir, j)),
      conf: v.conf,
      driver_host: v.driver_host,
    };
  })
  .describe('Spark settings (engine: spark only).');

export const execution = strictObject({
  engine: enumOf(['local', 'spark'] as const, 'engine').default('local').describe('local (worker processes on this machine) | spark'),
  workers: z
    .union([z.literal('auto'), positiveInt()], {
      error: (iss) =>
        `must be "auto" or a whole number of at least 1, got ${show(iss.input)}` +
        (typeof iss.input === 'string' ? didYouMean(iss.input, ['auto']) : ''),
    })
    .default('auto')
    .describe('Worker processes for the local engine; auto = one per core.'),
  concurrency: positiveInt().default(64).describe('Requests in flight per worker.'),
  commit_rows: positiveInt().default(50000).describe('Commit the sink once this many results are spooled (results arriving during a commit join the next one)...'),
  commit_interval: positiveDuration('30s').describe('...and at least this often.'),
  resume: z.boolean().default(true).describe('Skip request_ids that already succeeded in the sink.'),
  max_requests: positiveInt().nullable().default(null).describe('Stop cleanly (resumable) after this many requests.'),
  fail_on_failed_rows: z.boolean().default(false).describe('Exit 1 when any row failed.'),
  spark: spark.nullable().default(null).describe('Spark settings; required when engine is spark.'),
})
  .superRefine((value, c) => {
    const v = asRecord(value);
    if (v?.engine === 'spark' && v.spark == null) {
      c.addIssue({ code: 'custom', path: ['spark'], message: 'is required when engine is spark (at least spark.master)' });
    }
    // A speculative copy of a slow task runs its Node worker again: every request of
    // that partition would be sent twice.
    const speculation = asRecord(asRecord(asRecord(v?.spark)?.conf))?.['spark.speculation'];
    if (speculation !== undefined && String(speculation).trim().toLowerCase() !== 'false') {
      c.addIssue({ code: 'custom', path: ['spark', 'conf', 'spark.speculation'], message: 'must be false: a speculative copy of a task would send its requests a second time' });
    }
  }, ALWAYS)
  .transform((v): ExecutionConfig => {
    return {
      engine: v.engine,
      workers: v.workers,
      concurrency: v.concurrency,
      commit_rows: v.commit_rows,
      commit_interval_ms: v.commit_interval,
      resume: v.resume,
      max_requests: v.max_requests,
      fail_on_failed_rows: v.fail_on_failed_rows,
      spark: v.spark,
    };
  })
  .describe('How and where the run executes.');
