// restlake's programmatic API.
//
//   import { runPipeline } from 'restlake';
//   const summary = await runPipeline('pipeline.yaml', { set: ['execution.workers=2'] });
//   await runPipeline({ version: 1, name: 'scores', request: { url: 'https://…/{{ id }}' }, sink: { path: './lake/s' } },
//                     { rows: [{ id: 1 }, { id: 2 }] });
export { runPipeline, runConfig, type RunPipelineOptions } from './engine/run.js';
export type { RunOptions, LogLevel } from './engine/context.js';
export type { RunSummary, RunOutcome } from './engine/summary.js';
export type { ProgressSnapshot, LatencyPercentiles } from './engine/stats.js';
export { loadConfig, validateConfig, type LoadOptions, type ValidationResult } from './config/load.js';
export { configJsonSchema } from './config/json-schema.js';
export type * from './config/types.js';
export { RestlakeError, RowError, ConfigError, RunError, type ErrorClass, type ConfigIssue } from './errors.js';
export type { ResultRow, WorkerJob } from './worker/types.js';
export type { Row, HttpRequest } from './request/types.js';
export type { HttpResponse, Transport } from './transport/types.js';
export type { Middleware, MiddlewareFactory, MiddlewareRuntime, Exchange, Next, DriverServices } from './middleware/types.js';
export { requestIdOf } from './request/request-id.js';
