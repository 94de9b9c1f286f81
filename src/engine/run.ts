// One run of a pipeline, whatever the engine: load and validate the config (nothing
// is sent before it passes), then hand it to the engine.
import { loadConfig } from '../config/load.js';
import type { PipelineConfig } from '../config/types.js';
import { configWarnings } from '../config/warnings.js';
import { ConfigError, RunError } from '../errors.js';
import type { EngineContext, RunOptions } from './context.js';
import { newRunId } from './job.js';
import { runLocal } from './local.js';
import type { RunSummary } from './summary.js';

export interface RunPipelineOptions extends RunOptions {
  /** `key=value` overrides, as `--set` on the command line. */
  set?: string[];
}

type SparkEngine = (ctx: EngineContext) => Promise<RunSummary>;

/** The Spark engine (src/engine/spark.ts), loaded on demand so local runs never load the Spark launcher. */
async function sparkEngine(): Promise<SparkEngine> {
  const mod = (await import('./spark.js')) as { runSpark?: SparkEngine };
  if (typeof mod.runSpark !== 'function') throw new RunError('RESTLAKE_SPARK', 'the Spark engine is not available in this build');
  return mod.runSpark;
}

/** Runs an already loaded config. */
export async function runConfig(config: PipelineConfig, opts: RunOptions = {}): Promise<RunSummary> {
  const ctx: EngineContext = { ...opts, config, runId: newRunId(), log: opts.log ?? (() => {}) };
  for (const warning of configWarnings(config)) ctx.log('warn', warning);
  if (config.execution.engine === 'spark') {
    if (opts.rows) throw new ConfigError([{ path: 'execution.engine', message: 'rows given in memory need the local engine' }]);
    return (await sparkEngine())(ctx);
  }
  return runLocal(ctx);
}

/**
 * Runs a pipeline from a config file path or a config object. With `rows`, those rows
 * are the source (the config's `source` may then be omitted).
 */
export async function runPipeline(config: string | object, opts: RunPipelineOptions = {}): Promise<RunSummary> {
  const loaded = await loadConfig(config, { set: opts.set, allowNoSource: opts.rows !== undefined });
  return runConfig(loaded, opts);
}
