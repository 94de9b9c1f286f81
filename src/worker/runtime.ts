// Rebuilds everything a worker needs from the serialised job: templates, the
// middleware chain, the transport and the driver client. Identical under the local
// engine and inside Spark executors; nothing here knows which one started it.
import { setMaxListeners } from 'node:events';
import pino, { type Logger } from 'pino';
import type { PipelineConfig } from '../config/types.js';
import { RowError } from '../errors.js';
import { liveSecretsOf } from '../middleware/live-secrets.js';
import { createRedactor, REDACTED } from '../middleware/redact.js';
import type { DriverServices, Exchange, MiddlewareRuntime } from '../middleware/types.js';
import { createRowProcessor } from '../request/execute.js';
import { REQUEST_ID_FIELD, requestIdOf } from '../request/request-id.js';
import { parseRowJson } from '../request/row-json.js';
import { compileTemplate } from '../request/template.js';
import type { Row } from '../request/types.js';
import { createTransport } from '../transport/undici-transport.js';
import type { Transport } from '../transport/types.js';
import { createResultSerializer, failedResult } from './result.js';
import type { ResultRow, WorkerJob } from './types.js';

export type RowProcessor = (row: Row, requestId: string) => Promise<ResultRow>;

export interface WorkerRuntime {
  readonly job: WorkerJob;
  readonly logger: Logger;
  /** One input line (a JSON row) to one result line; never throws. */
  handleLine(line: string): Promise<string>;
  /** Aborts requests in flight and backoff waits (their rows still get a result). */
  abort(): void;
  close(): Promise<void>;
}

const RID_IN_LINE = /"_request_id"\s*:\s*"([0-9a-f]{64})"/;

/**
 * The worker's logger: RESTLAKE_LOG_LEVEL if set, else the level of a configured
 * `logging` middleware (so its lines are not filtered out), else warn. Each line it
 * writes goes through `scrub` first (see logLineScrubber); a line not written (below
 * the level) costs nothing more.
 */
export function createLogger(config: PipelineConfig, scrub: (line: string) => string = (l) => l): Logger {
  const logging = config.middleware.find((m) => m.type === 'logging');
  const level = process.env.RESTLAKE_LOG_LEVEL ?? (logging && logging.type === 'logging' ? logging.level : 'warn');
  // stderr only: stdout carries result lines and nothing else.
  return pino({ level, base: { pipeline: config.name, pid: process.pid }, hooks: { streamWrite: scrub } }, pino.destination({ fd: 2, sync: false }));
}

/** Header names whose values a log line never shows, besides sink.redact_headers and logging's `redact`. */
export const LOG_REDACTED_KEYS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'];

/**
 * What the worker's logger does to each line (pino's JSON, whatever a middleware logged):
 * the value of a key named like a sensitive header (Authorization, Cookie, X-Api-Key, …,
 * in any case and at any depth, a string or a list of strings) becomes "[REDACTED]", and
 * every secret the row processor's redactor knows (the run's secrets and the credentials
 * auth sends: the Basic value, the bearer token, each OAuth2 access token) is scrubbed,
 * in every form including JSON-escaped (what a JSON line holds).
 */
export function logLineScrubber(config: PipelineConfig, runtime: MiddlewareRuntime): (line: string) => string {
  const names = new Set(LOG_REDACTED_KEYS);
  for (const n of config.sink.redact_headers) names.add(n.toLowerCase());
  for (const m of config.middleware) if (m.type === 'logging') for (const n of m.redact ?? []) names.add(n.toLowerCase());
  const quoted = [...names].map((n) => JSON.stringify(n).slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const str = '"(?:[^"\\\\]|\\\\.)*"';
  const keyed = new RegExp(`"(${quoted.join('|')})":(?:${str}|\\[(?:${str},?)*\\])`, 'gi');
  const redactor = createRedactor(runtime.secrets, [], liveSecretsOf(runtime));
  const censored = `"$1":${JSON.stringify(REDACTED)}`;
  return (line) => redactor.text(line.replace(keyed, censored));
}

export function createMiddlewareRuntime(job: WorkerJob, logger: Logger, driver: DriverServices | null): MiddlewareRuntime {
  return {
    logger,
    runId: job.run_id,
    pipeline: job.config.name,
    compileTemplate(source: string) {
      const render = compileTemplate(source, 'middleware', 'text');
      return (ex: Exchange) => render(ex.row, { run_id: ex.runId, request_id: ex.requestId, now: Date.now() });
    },
    driver,
    secrets: job.config.secrets,
  };
}

/** The MiddlewareRuntime with the worker's logger, whose lines are scrubbed of what this runtime's redactors know. */
export function createLoggingRuntime(job: WorkerJob, driver: DriverServices | null): MiddlewareRuntime {
  // The scrubber needs the runtime (the live secrets auth registers are the runtime's),
  // which needs the logger: a line before both exist (none, in practice) gets the config's secrets.
  let scrub = createRedactor(job.config.secrets).text;
  const runtime = createMiddlewareRuntime(job, createLogger(job.config, (line) => scrub(line)), driver);
  scrub = logLineScrubber(job.config, runtime);
  return runtime;
}

export interface RuntimeOverrides {
  transport?: Transport;
  processor?: RowProcessor;
  logger?: Logger;
}

export async function createWorkerRuntime(job: WorkerJob, overrides: RuntimeOverrides = {}): Promise<WorkerRuntime> {
  const { config } = job;
  // Loaded only when the run has driver services: its undici Pool needs undici's whole
  // index (request API included), which a worker without them does not load.
  const driver = job.driver ? (await import('./driver-client.js')).createDriverClient(job.driver.url, job.driver.secret) : null;
  const transport = overrides.transport ?? createTransport(config.transport, { idempotencyHeader: config.request.idempotency_header });
  const runtime = overrides.logger ? createMiddlewareRuntime(job, overrides.logger, driver) : createLoggingRuntime(job, driver);
  const logger = runtime.logger;
  // One signal shared by every request of this worker: aborted when the worker must stop
  // at once. Hundreds of requests listen on it at a time, which is expected.
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const process_ = overrides.processor ?? (await createRowProcessor(config, runtime, transport, { signal: stop.signal }));
  const serialize = createResultSerializer(config);
  const keys = config.source?.key ?? null;

  const fail = (requestId: string, errorClass: 'template' | 'internal', message: string, row?: Row): string =>
    serialize(failedResult(config, job.run_id, requestId, errorClass, message, row));

  return {
    job,
    logger,
    async handleLine(line: string): Promise<string> {
      let row: Row;
      try {
        const parsed = parseRowJson(line);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('a row must be a JSON object');
        row = parsed as Row;
      } catch (e) {
        // Still exactly one result: keyed by the id the driver sent, else by the line itself.
        const id = RID_IN_LINE.exec(line)?.[1] ?? requestIdOf(config.name, [line]);
        return fail(id, 'template', `input row is not valid JSON: ${(e as Error).message}`);
      }
      let requestId = row[REQUEST_ID_FIELD];
      // The driver puts _request_id last, so this delete keeps the row a fast object.
      if (typeof requestId === 'string') delete row[REQUEST_ID_FIELD];
      else {
        const k = keys ?? Object.keys(row);
        requestId = requestIdOf(config.name, k.map((c) => row[c]));
      }
      try {
        return serialize(await process_(row, requestId as string));
      } catch (e) {
        // The processor promises never to throw; if it does, the row still gets its result.
        const cls = e instanceof RowError && e.errorClass === 'template' ? 'template' : 'internal';
        logger.error({ err: e, request_id: requestId }, 'row processor threw');
        return fail(requestId as string, cls, e instanceof Error ? e.message : String(e), row);
      }
    },
    abort() {
      stop.abort();
    },
    async close() {
      await transport.close();
      // The worker exits right after this; pino writes what is still buffered at the
      // process's exit as well (synchronously), so this only starts it sooner.
      logger.flush();
    },
  };
}
