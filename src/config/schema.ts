// The pipeline config schema (DESIGN §2), zod 4. Input: what a user writes, shorthand
// included. Output: exactly `PipelineConfig` of ./types.ts (minus base_dir and secrets,
// which the loader adds). Defaults live here and nowhere else.
//
// A few values depend on where the config lives (relative paths, the Delta-directory
// check for source.format, $SPARK_HOME): they come from the SchemaContext of the parse.
import { z } from 'zod';
import type {
  AuthConfig,
  BodyConfig,
  ExecutionConfig,
  MiddlewareConfig,
  PipelineConfig,
  RequestConfig,
  SourceConfig,
  TransportConfig,
} from './types.js';
import {
  duration,
  positiveDuration,
  positiveDurationValue,
  headerName,
  hostName,
  resolvePath,
  scalarTemplate,
  checkTemplate,
  show,
  sinkColumnName,
  size,
  statusSpec,
  strictObject,
  template,
} from './schema-parts.js';
import { detectSourceFormat } from './source-format.js';
import { hostAllowed, literalHost } from './url-host.js';
import { didYouMean } from './suggest.js';

/** Schemas that also accept a bare type name for `{type: name}` (the JSON Schema generator says so). */
export const TYPE_NAME_SHORTHAND = new WeakSet<z.ZodType>();

export interface SchemaContext {
  /** Directory relative paths resolve against. */
  baseDir: string;
  env: NodeJS.ProcessEnv;
  /** Rows come from the caller (runPipeline with rows), so `source` may be absent. */
  allowNoSource: boolean;
}

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export const SOURCE_FORMATS = ['parquet', 'csv', 'json', 'delta'] as const;
export const EXTRACT_TYPES = ['string', 'long', 'double', 'boolean', 'json'] as const;
export const AUTH_TYPES = ['none', 'basic', 'bearer', 'oauth2_client_credentials', 'oauth2_password'] as const;
export const MIDDLEWARE_TYPES = [
  'retry',
  'rate_limit',
  'timing',
  'logging',
  'headers',
  'module',
  'adaptive_concurrency',
  'circuit_breaker',
] as const;

/** Columns every sink row has; source_columns and extract names must not reuse them. */
export const RESERVED_SINK_COLUMNS = [
  'request_id',
  'run_id',
  'pipeline',
  'method',
  'url',
  'request_headers',
  'request_body',
  'status_code',
  'success',
  'attempts',
  'error_class',
  'error_message',
  'response_headers',
  'response_body',
  'response_truncated',
  'started_at',
  'finished_at',
  'duration_ms',
] as const;

function enumOf<T extends readonly [string, ...string[]]>(values: T, what: string) {
  return z.enum(values, {
    error: (iss) =>
      iss.input === undefined
        ? `is required: one of ${values.join(', ')}`
        : `unknown ${what} ${show(iss.input)}; expected one of ${values.join(', ')}` +
          (typeof iss.input === 'string' ? didYouMean(iss.input, values) : ''),
  });
}

/** A discriminated union on `type` whose "unknown type" message lists the known ones. */
function byType<T extends readonly [z.core.$ZodTypeDiscriminable, ...z.core.$ZodTypeDiscriminable[]]>(
  options: T,
  types: readonly string[],
  what: string,
) {
  return z.discriminatedUnion('type', options, {
    error: (iss) => {
      if (iss.code !== 'invalid_union') return undefined;
      const t = (iss.input as { type?: unknown } | undefined)?.type;
      if (t === undefined) return `is required: one of ${types.join(', ')}`;
      return `unknown ${what} type ${show(t)}; expected one of ${types.join(', ')}` + (typeof t === 'string' ? didYouMean(t, types) : '');
    },
  });
}

const positiveInt = () => z.number().int().min(1);

// Building a schema and zod's compilation of it on first parse cost ~100x a parse, so
// the schema is built once per process (per allowNoSource), and the values that depend
// on where a config lives are read from the context of the parse in progress. Parsing
// is synchronous, so exactly one parse is in progress while a transform runs.
let active: SchemaContext | null = null;

function here(): SchemaContext {
  if (!active) throw new Error('the pipeline schema was used outside parsePipeline()');
  return active;
}

const built = new Map<boolean, ReturnType<typeof buildPipelineSchema>>();

/** The pipeline schema (memoised). Parse with parsePipeline, which supplies the context. */
export function pipelineSchema(allowNoSource = false): ReturnType<typeof buildPipelineSchema> {
  let s = built.get(allowNoSource);
  if (!s) built.set(allowNoSource, (s = buildPipelineSchema(allowNoSource)));
  return s;
}

/** Validates and normalises raw (interpolated) config data in `ctx`. */
export function parsePipeline(data: unknown, ctx: SchemaContext) {
  const schema = pipelineSchema(ctx.allowNoSource);
  active = ctx;
  try {
    return schema.safeParse(data, { reportInput: true });
  } finally {
    active = null;
  }
}

function buildPipelineSchema(allowNoSource: boolean) {
  const path = () => z.string().min(1).transform((p) => resolvePath(here().baseDir, p));

  // ── source ───────────────────────────────────────────────────────────────
  const source = strictObject({
    path: z.string().min(1).describe('File, glob, directory or Delta table directory; s3://bucket/key too. Relative to the config file.'),
    format: enumOf(SOURCE_FORMATS, 'source format')
      .optional()
      .describe('parquet | csv | json (newline-delimited) | delta. Default: from the extension, or delta for a directory with _delta_log.'),
    key: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .nullable()
      .default(null)
      .describe('Column(s) that identify a request (they make the request_id). Default: all columns.'),
    limit: positiveInt().nullable().default(null).describe('Read at most this many rows.'),
  })
    .transform((v, c): SourceConfig => {
      const abs = resolvePath(here().baseDir, v.path);
      let format = v.format;
      if (!format) {
        const r = detectSourceFormat(abs);
        if (!r.ok) {
          c.addIssue({ code: 'custom', path: ['format'], message: r.message });
          return z.NEVER;
        }
        format = r.format;
      }
      const key = v.key === null ? null : Array.isArray(v.key) ? v.key : [v.key];
      const twice = key?.findIndex((k, i) => key.indexOf(k) !== i) ?? -1;
      if (twice >= 0) {
        c.addIssue({ code: 'custom', path: ['key', twice], message: `"${key![twice]}" is listed twice` });
        return z.NEVER;
      }
      return { path: abs, format, key, limit: v.limit };
    })
    .describe('Where the rows come from: one request per row.');

  // ── request ──────────────────────────────────────────────────────────────
  const body = strictObject({
    json: z.json().optional().describe('A JSON value whose strings are templates; a string that is exactly one "{{ col }}" keeps the column type.'),
    text: template().optional().describe('A text body template.'),
    form: z.record(z.string(), scalarTemplate()).optional().describe('Form fields (application/x-www-form-urlencoded); values are templates.'),
  })
    .superRefine((value, c) => {
      const v = asRecord(value);
      if (!v) return;
      const given = (['json', 'text', 'form'] as const).filter((k) => v[k] !== undefined);
      if (given.length !== 1) {
        c.addIssue({
          code: 'custom',
          message: given.length === 0 ? 'needs exactly one of json, text or form' : `has ${given.join(' and ')}; give exactly one of json, text or form`,
        });
      }
      if (v.json !== undefined) checkJsonTemplates(v.json, ['json'], c);
    }, ALWAYS)
    .transform((v): BodyConfig => {
      if (v.json !== undefined) return { kind: 'json', template: v.json };
      if (v.text !== undefined) return { kind: 'text', template: v.text };
      return { kind: 'form', template: v.form ?? {} };
    })
    .describe('Request body: exactly one of json, text or form.');

  const request = strictObject({
    method: enumOf(HTTP_METHODS, 'HTTP method').default('GET').describe('GET | POST | PUT | PATCH | DELETE'),
    url: template().describe('URL template, e.g. "https://api.example.com/v1/orders/{{ order_id }}"; values are URL-encoded in the path.'),
    query: z.record(z.string().min(1), scalarTemplate()).default({}).describe('Query parameters; values are templates (URL-encoded).'),
    headers: z.record(headerName, scalarTemplate()).default({}).describe('Request headers; values are templates.'),
    body: body.nullable().default(null).describe('Request body: null, or exactly one of json, text or form.'),
    idempotency_header: headerName.nullable().default(null).describe('Send the request_id in this header (e.g. Idempotency-Key).'),
    allowed_hosts: z
      .array(hostName)
      .min(1)
      .optional()
      .describe('Hosts a rendered URL may point at ("*.example.com" for subdomains). Default: the literal host of url.'),
  })
    .superRefine(checkRequest, ALWAYS)
    .transform((v): RequestConfig => {
      const host = literalHost(v.url);
      return {
        method: v.method,
        url: v.url,
        query: v.query,
        headers: v.headers,
        body: v.body,
        idempotency_header: v.idempotency_header,
        // checkRequest guarantees a literal host when allowed_hosts is absent.
        allowed_hosts: [...new Set(v.allowed_hosts ?? (host.kind === 'literal' ? [host.host] : []))],
      };
    })
    .describe('The HTTP request made for each row; strings are templates over the row columns.');

  // ── auth ─────────────────────────────────────────────────────────────────
  const secret = (what: string) =>
    z.string({ error: (iss) => (iss.input === undefined ? 'is required' : `expected ${what} as a string`) }).min(1, { error: 'must not be empty' });
  const httpUrl = z
    .string()
    .regex(/^[hH][tT][tT][pP][sS]?:\/\/[^\s/?#]+/, { error: (iss) => `${show(iss.input)} is not an http(s) URL` });
  const oauthCommon = {
    token_url: httpUrl.describe('The token endpoint of the identity provider.'),
    client_id: z.string().min(1).describe('OAuth2 client id.'),
    client_auth: enumOf(['basic', 'body'] as const, 'client_auth')
      .default('basic')
      .describe('How the client authenticates to the token endpoint: HTTP basic (default) or in the form body.'),
    scope: z
      .union([z.string(), z.array(z.string().min(1))])
      .nullable()
      .default(null)
      .describe('Scope(s): "read write" or [read, write].'),
    audience: z.string().nullable().default(null).describe('Audience parameter, for providers that need one.'),
    extra_params: z.record(z.string(), scalarLiteral()).default({}).describe('More form parameters for the token request.'),
    refresh_margin: duration('60s').describe('Refresh the token this long before it expires.'),
    default_expires_in: positiveDuration('300s').describe('Token lifetime assumed when the server sends no expires_in.'),
    failure_deadline: duration('120s').describe('Keep retrying the token endpoint this long before rows fail with error_class auth.'),
  };
  const auth = byType(
    [
      strictObject({ type: z.literal('none') }).describe('No authentication.'),
      strictObject({
        type: z.literal('basic'),
        username: z.string().describe('User name.'),
        password: secret('a password').describe('Password; use ${env:NAME} or ${file:path}.'),
      }).describe('HTTP basic authentication.'),
      strictObject({
        type: z.literal('bearer'),
        token: secret('a token').describe('A static bearer token; use ${env:NAME} or ${file:path}.'),
      }).describe('A static bearer token.'),
      strictObject({
        type: z.literal('oauth2_client_credentials'),
        ...oauthCommon,
        client_secret: secret('a client secret').describe('OAuth2 client secret; use ${env:NAME} or ${file:path}.'),
      }).describe('OAuth2 client credentials grant; tokens are fetched and refreshed by the driver.'),
      strictObject({
        type: z.literal('oauth2_password'),
        ...oauthCommon,
        client_secret: secret('a client secret').nullable().default(null).describe('OAuth2 client secret (public clients have none).'),
        username: z.string().min(1).describe('Resource owner user name.'),
        password: secret('a password').describe('Resource owner password; use ${env:NAME} or ${file:path}.'),
      }).describe('OAuth2 resource owner password grant.'),
    ],
    AUTH_TYPES,
    'auth',
  )
    .transform((v): AuthConfig => {
      if (v.type !== 'oauth2_client_credentials' && v.type !== 'oauth2_password') return v;
      return {
        type: v.type,
        token_url: v.token_url,
        client_id: v.client_id,
        client_secret: v.client_secret,
        client_auth: v.client_auth,
        scope: Array.isArray(v.scope) ? v.scope.join(' ') : v.scope,
        audience: v.audience,
        extra_params: v.extra_params,
        username: v.type === 'oauth2_password' ? v.username : null,
        password: v.type === 'oauth2_password' ? v.password : null,
        refresh_margin_ms: v.refresh_margin,
        default_expires_in_ms: v.default_expires_in,
        failure_deadline_ms: v.failure_deadline,
      };
    })
    .describe('How requests authenticate: none | basic | bearer | oauth2_client_credentials | oauth2_password.');

  // ── transport ────────────────────────────────────────────────────────────
  const tls = strictObject({
    verify: z.boolean().default(true).describe('Verify server certificates (turn off only for testing).'),
    ca_file: path().nullable().default(null).describe('PEM file of extra CA certificates to trust.'),
    cert_file: path().nullable().default(null).describe('PEM client certificate for mTLS (with key_file).'),
    key_file: path().nullable().default(null).describe('PEM client key for mTLS (with cert_file).'),
  })
    .superRefine((value, c) => {
      const v = asRecord(value);
      if (!v) return;
      const hasCert = v.cert_file != null;
      const hasKey = v.key_file != null;
      if (hasCert !== hasKey) {
        c.addIssue({ code: 'custom', path: [hasCert ? 'key_file' : 'cert_file'], message: `is required with ${hasCert ? 'cert_file' : 'key_file'} (mTLS needs both)` });
      }
    }, ALWAYS)
    .describe('TLS settings; mTLS when cert_file and key_file are given.');

  const transport = strictObject({
    timeout: positiveDuration('30s').describe('Total time per attempt.'),
    connect_timeout: positiveDurationValue().optional().describe('Time to connect (default: timeout).'),
    headers_timeout: positiveDurationValue().optional().describe('Time until response headers arrive (default: timeout).'),
    body_timeout: positiveDurationValue().optional().describe('Time between body chunks (default: timeout).'),
    connections: positiveInt().default(64).describe('Connections per worker per origin.'),
    max_response_bytes: size('10MB').describe('Larger bodies are truncated and flagged. e.g. 10MB, 512KiB.'),
    tls: tls.prefault({}),
  })
    .transform(
      (v): TransportConfig => ({
        timeout_ms: v.timeout,
        connect_timeout_ms: v.connect_timeout ?? v.timeout,
        headers_timeout_ms: v.headers_timeout ?? v.timeout,
        body_timeout_ms: v.body_timeout ?? v.timeout,
        connections: v.connections,
        max_response_bytes: v.max_response_bytes,
        tls: v.tls,
      }),
    )
    .describe('HTTP client settings.');

  // ── middleware ───────────────────────────────────────────────────────────
  const statusCodes = z
    .array(statusSpec)
    .transform((ranges) => {
      const out: number[] = [];
      for (const r of ranges) for (let s = r.from; s <= r.to; s++) if (!out.includes(s)) out.push(s);
      return out;
    });
  const middlewareItem = byType(
    [
      strictObject({
        type: z.literal('retry'),
        max_attempts: positiveInt().default(3).describe('Attempts in all, the first included.'),
        base_delay: duration('200ms').describe('First backoff; doubles each attempt, with full jitter.'),
        max_delay: duration('30s').describe('Cap on one backoff, Retry-After included.'),
        statuses: statusCodes.prefault([429, 500, 502, 503, 504]).describe('Statuses to retry (codes, "500-504" or "5xx").'),
        on_network_error: z.boolean().default(true).describe('Retry timeouts and connection errors.'),
      })
        .transform((v): MiddlewareConfig => ({
          type: 'retry',
          max_attempts: v.max_attempts,
          base_delay_ms: v.base_delay,
          max_delay_ms: v.max_delay,
          statuses: v.statuses,
          on_network_error: v.on_network_error,
        }))
        .describe('Retry with exponential backoff and full jitter; honours Retry-After.'),
      strictObject({
        type: z.literal('rate_limit'),
        requests_per_second: z.number().positive().describe('Requests per second for the whole run (all workers).'),
        burst: positiveInt().optional().describe('Bucket size (default: requests_per_second rounded up).'),
        per_origin: z.boolean().default(false).describe('One bucket per origin instead of one for the run.'),
      })
        .transform((v): MiddlewareConfig => ({
          type: 'rate_limit',
          requests_per_second: v.requests_per_second,
          burst: v.burst ?? Math.max(1, Math.ceil(v.requests_per_second)),
          per_origin: v.per_origin,
        }))
        .describe('A run-wide token bucket, shared by every worker through the driver.'),
      strictObject({ type: z.literal('timing') }).describe('Record per-attempt timings.'),
      strictObject({
        type: z.literal('logging'),
        level: enumOf(['debug', 'info', 'warn', 'error'] as const, 'log level').default('info').describe('debug | info | warn | error'),
        redact: z.array(z.string().min(1)).default([]).describe('More header names to redact in logs.'),
      }).describe('Log each exchange (secrets redacted).'),
      strictObject({
        type: z.literal('headers'),
        set: z.record(headerName, scalarTemplate()).default({}).describe('Headers to set; values are templates.'),
        remove: z.array(headerName).default([]).describe('Headers to remove.'),
      }).describe('Set or remove request headers.'),
      strictObject({
        type: z.literal('module'),
        path: path().describe('A .ts/.js/.mjs file, relative to the config file.'),
        export: z.string().min(1).default('default').describe('The exported factory (default: the default export).'),
        options: z.record(z.string(), z.unknown()).default({}).describe('Passed to the factory as its first argument.'),
      }).describe('User middleware from a module, with the same interface as the built-ins.'),
      strictObject({
        type: z.literal('adaptive_concurrency'),
        enabled: z.boolean().default(true).describe('Turn it off without removing the entry.'),
        min: positiveInt().default(1).describe('Lowest in-flight limit.'),
        max: positiveInt().nullable().default(null).describe('Highest in-flight limit (default: execution.concurrency).'),
      })
        .superRefine((v, c) => {
          if (v.max !== null && v.max < v.min) c.addIssue({ code: 'custom', path: ['max'], message: `must be at least min (${v.min})` });
        })
        .describe('Adjust in-flight requests to the server\'s latency.'),
      strictObject({
        type: z.literal('circuit_breaker'),
        enabled: z.boolean().default(true).describe('Turn it off without removing the entry.'),
        failure_ratio: z.number().gt(0).max(1).default(0.5).describe('Open when this share of requests in the window failed.'),
        min_requests: positiveInt().default(20).describe('Requests in the window before the ratio counts.'),
        window: positiveDuration('30s').describe('Sliding window.'),
        open: positiveDuration('30s').describe('How long to stay open before a trial request.'),
      })
        .transform((v): MiddlewareConfig => ({
          type: 'circuit_breaker',
          enabled: v.enabled,
          failure_ratio: v.failure_ratio,
          min_requests: v.min_requests,
          window_ms: v.window,
          open_ms: v.open,
        }))
        .describe('Fail fast (error_class circuit_open) while the server is failing.'),
    ],
    MIDDLEWARE_TYPES,
    'middleware',
  );
  // `- timing` is shorthand for `- type: timing`.
  const middlewareEntry = z.preprocess((v) => (typeof v === 'string' ? { type: v } : v), middlewareItem);
  TYPE_NAME_SHORTHAND.add(middlewareEntry);
  const middleware = z
    .array(middlewareEntry)
    .default([])
    .describe('Applied in order, outermost first. An entry is {type: ..., options} or just the type name.');

  // ── response ─────────────────────────────────────────────────────────────
  const jsonPath = z
    .string()
    .regex(/^\$(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\['[^']*'\]|\["[^"]*"\])*$/, {
      error: (iss) => `${show(iss.input)} is not a JSON path; use e.g. $.score, $.items[0].id or $['odd key']`,
    });
  const extractItem = z
    .union([
      jsonPath,
      strictObject({
        path: jsonPath.describe('JSON path into the response body: $.a.b[0]'),
        type: enumOf(EXTRACT_TYPES, 'extract type').default('string').describe('string | long | double | boolean | json'),
      }),
    ])
    .transform((v) => (typeof v === 'string' ? { path: v, type: 'string' as const } : v))
    .describe('{path, type} or just a path (type string).');
  const response = strictObject({
    success_status: z
      .array(statusSpec)
      .min(1)
      .prefault(['200-299'])
      .describe('Statuses that count as success: codes, ranges ("200-299") or classes ("2xx").'),
    extract: z.record(sinkColumnName, extractItem).default({}).describe('Typed sink columns pulled from a JSON response body.'),
  }).describe('How responses are judged and what is pulled out of them.');

  // ── sink ─────────────────────────────────────────────────────────────────
  const sink = strictObject({
    path: z.string().min(1).describe('Delta table directory (relative to the config file) or s3://bucket/prefix.'),
    mode: enumOf(['append', 'overwrite'] as const, 'sink mode').default('append').describe('append | overwrite'),
    source_columns: z.array(z.string().min(1)).default([]).describe('Source columns copied into every result row.'),
    redact_headers: z.array(headerName).default([]).describe('Header names to redact besides Authorization and cookies.'),
  })
    .transform((v) => ({ ...v, path: resolvePath(here().baseDir, v.path) }))
    .describe('The Delta table results land in.');

  // ── execution ────────────────────────────────────────────────────────────
  const spark = strictObject({
    master: z.string().min(1).describe('spark://host:7077, local[*] or local-cluster[2,1,1024].'),
    spark_home: path().nullable().optional().describe('Default: $SPARK_HOME, else spark-submit on PATH.'),
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

  const execution = strictObject({
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
    commit_rows: positiveInt().default(50000).describe('Commit the sink at least every this many rows...'),
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

  // ── root ─────────────────────────────────────────────────────────────────
  // Without a source the rows must come from the caller (runPipeline with rows).
  const sourceField = allowNoSource ? source.nullable().default(null) : source;

  return strictObject({
    version: z
      .literal(1, { error: (iss) => `unsupported config version ${show(iss.input)}; this restlake reads version 1` })
      .default(1)
      .describe('Config format version: 1.'),
    name: z
      .string({ error: (iss) => (iss.input === undefined ? 'is required' : `expected a string, got ${show(iss.input)}`) })
      .regex(/^[a-z0-9_]+$/, { error: (iss) => `${show(iss.input)} is not a valid name; use lower-case letters, digits and _` })
      .describe('Pipeline name, [a-z0-9_]+; part of every request_id, so renaming it re-sends everything.'),
    source: sourceField,
    request,
    auth: auth.prefault({ type: 'none' }),
    transport: transport.prefault({}),
    middleware,
    response: response.prefault({}),
    sink,
    execution: execution.prefault({}),
  })
    .superRefine(checkColumnNames, ALWAYS)
    .describe('A restlake pipeline: rows of a table become HTTP requests; responses land in a Delta table.');
}

/** What the schema outputs: the config without the loader-added base_dir and secrets. */
export type ParsedPipeline = Omit<PipelineConfig, 'base_dir' | 'secrets'>;

/** A value for a free-form string map (extra_params, Spark conf): numbers and booleans become strings. */
function scalarLiteral() {
  return z
    .union([z.string(), z.number(), z.boolean()], { error: (iss) => `expected a string, number or boolean, got ${show(iss.input)}` })
    .transform((v) => String(v));
}

function duplicateIgnoringCase(names: string[]): string | null {
  const seen = new Set<string>();
  for (const n of names) {
    const l = n.toLowerCase();
    if (seen.has(l)) return n;
    seen.add(l);
  }
  return null;
}

type IssueSink = Pick<z.core.$RefinementCtx, 'addIssue'>;

// Cross-field checks run even when other fields of the same object failed, so one
// `validate` lists every problem rather than revealing them one fix at a time.
// They therefore get the value as parsed so far and must not trust its shape.
const ALWAYS = { when: () => true };

function asRecord(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function checkRequest(value: unknown, c: IssueSink): void {
  const v = asRecord(value);
  if (!v) return;
  const headers = asRecord(v.headers);
  const dup = headers && duplicateIgnoringCase(Object.keys(headers));
  if (dup) c.addIssue({ code: 'custom', path: ['headers', dup], message: `header "${dup}" is given twice (header names ignore case)` });
  const idem = typeof v.idempotency_header === 'string' ? v.idempotency_header.toLowerCase() : null;
  const clash = idem && headers && Object.keys(headers).find((h) => h.toLowerCase() === idem);
  if (clash) c.addIssue({ code: 'custom', path: ['headers', clash], message: `is also set by idempotency_header; keep one` });
  if (typeof v.url !== 'string') return;
  const host = literalHost(v.url);
  if (host.kind === 'bad') {
    c.addIssue({ code: 'custom', path: ['url'], message: host.message });
    return;
  }
  const allowed = Array.isArray(v.allowed_hosts)
    ? v.allowed_hosts.filter((h): h is string => typeof h === 'string').map((h) => h.trim().toLowerCase())
    : null;
  if (!allowed && host.kind === 'templated') {
    c.addIssue({
      code: 'custom',
      path: ['allowed_hosts'],
      message: "is required when the url's host is a template; list the hosts a row may send requests to",
    });
  } else if (allowed && host.kind === 'literal' && !hostAllowed(host.host, allowed)) {
    c.addIssue({ code: 'custom', path: ['allowed_hosts'], message: `does not include the url's host "${host.host}"` });
  }
}

function checkJsonTemplates(v: unknown, path: PropertyKey[], c: IssueSink): void {
  if (typeof v === 'string') checkTemplate(v, c, path);
  else if (Array.isArray(v)) v.forEach((x, i) => checkJsonTemplates(x, [...path, i], c));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) checkJsonTemplates(x, [...path, k], c);
}

/** Sink column names must be unique: reserved columns, copied source columns and extract names. */
function checkColumnNames(value: unknown, c: IssueSink): void {
  const v = asRecord(value);
  const sink = asRecord(v?.sink);
  const extract = asRecord(asRecord(v?.response)?.extract);
  const reserved = new Set<string>(RESERVED_SINK_COLUMNS);
  const seen = new Set<string>();
  const cols = Array.isArray(sink?.source_columns) ? sink.source_columns : [];
  cols.forEach((col, i) => {
    if (typeof col !== 'string') return;
    if (reserved.has(col)) c.addIssue({ code: 'custom', path: ['sink', 'source_columns', i], message: `"${col}" is a column restlake writes itself; it cannot be copied from the source` });
    else if (seen.has(col)) c.addIssue({ code: 'custom', path: ['sink', 'source_columns', i], message: `"${col}" is listed twice` });
    seen.add(col);
  });
  for (const name of Object.keys(extract ?? {})) {
    if (reserved.has(name)) c.addIssue({ code: 'custom', path: ['response', 'extract', name], message: `"${name}" is a column restlake writes itself; pick another name` });
    else if (seen.has(name)) c.addIssue({ code: 'custom', path: ['response', 'extract', name], message: `"${name}" is also a source column in sink.source_columns; pick another name` });
  }
}
