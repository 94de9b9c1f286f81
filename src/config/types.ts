// The normalised pipeline config: the one typed shape every other layer reads.
// `loadConfig` (src/config/load.ts) turns YAML/JSON with shorthand, durations ("30s"),
// sizes ("10MB") and ${env:}/${file:} references into this. Durations are milliseconds,
// sizes are bytes. Nothing downstream re-parses user strings.

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type SourceFormat = 'parquet' | 'csv' | 'json' | 'delta';
export type ExtractType = 'string' | 'long' | 'double' | 'boolean' | 'json';

/** The text encodings DuckDB's CSV reader decodes without an extension (Spark reads them too). */
export type SourceEncoding = 'utf-8' | 'utf-16' | 'latin-1';

export interface SourceConfig {
  path: string;               // file, glob, directory, Delta table dir, or s3://…
  format: SourceFormat;       // resolved: from extension, or delta for a dir with _delta_log
  key: string[] | null;       // null = all columns
  limit: number | null;
  /** CSV only, set only when the config gives it (absent = utf-8): how DuckDB and Spark decode the file. */
  encoding?: SourceEncoding;
  /** A catalog table (`catalog.schema.table`) to read instead of `path`; Spark engine only. */
  table?: string | null;
}

export type BodyConfig =
  | { kind: 'json'; template: unknown }           // any JSON value whose strings are templates
  | { kind: 'text'; template: string }
  | { kind: 'form'; template: Record<string, string> };

export interface RequestConfig {
  method: HttpMethod;
  url: string;                          // template
  query: Record<string, string>;        // values are templates
  headers: Record<string, string>;      // values are templates
  body: BodyConfig | null;
  idempotency_header: string | null;
  allowed_hosts: string[];              // resolved: default is the literal host of `url`
}

export type AuthConfig =
  | { type: 'none' }
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string }
  | {
      type: 'oauth2_client_credentials' | 'oauth2_password';
      token_url: string;
      client_id: string;
      client_secret: string | null;
      client_auth: 'basic' | 'body';
      scope: string | null;
      audience: string | null;
      extra_params: Record<string, string>;
      username: string | null;          // oauth2_password only
      password: string | null;          // oauth2_password only
      refresh_margin_ms: number;
      default_expires_in_ms: number;    // when the server sends no expires_in
      failure_deadline_ms: number;      // rows fail with error_class auth only past this
    };

export interface TlsConfig {
  verify: boolean;
  ca_file: string | null;
  cert_file: string | null;
  key_file: string | null;
}

export interface TransportConfig {
  timeout_ms: number;                   // total per attempt
  connect_timeout_ms: number;
  headers_timeout_ms: number;
  body_timeout_ms: number;
  connections: number;                  // per worker per origin
  max_response_bytes: number;
  tls: TlsConfig;
}

export type MiddlewareConfig =
  | { type: 'retry'; max_attempts: number; base_delay_ms: number; max_delay_ms: number; statuses: number[]; on_network_error: boolean }
  | { type: 'rate_limit'; requests_per_second: number; burst: number; per_origin: boolean }
  | { type: 'timing' }
  | { type: 'logging'; level: 'debug' | 'info' | 'warn' | 'error'; redact: string[] }
  | { type: 'headers'; set: Record<string, string>; remove: string[] }
  | { type: 'module'; path: string; export: string; options: Record<string, unknown> }
  | { type: 'adaptive_concurrency'; enabled: boolean; min: number; max: number | null }
  | { type: 'circuit_breaker'; enabled: boolean; failure_ratio: number; min_requests: number; window_ms: number; open_ms: number; max_wait_ms: number | null };

export interface StatusRange { from: number; to: number }

export interface ExtractConfig { path: string; type: ExtractType }

export interface ResponseConfig {
  success_status: StatusRange[];
  extract: Record<string, ExtractConfig>;
}

export interface SinkConfig {
  path: string;                         // Delta table dir or s3://bucket/prefix
  mode: 'append' | 'overwrite';
  source_columns: string[];
  redact_headers: string[];             // extra header names to redact besides Authorization/Cookie
}

export interface SparkConfig {
  master: string;
  spark_home: string | null;
  jars: string[];
  conf: Record<string, string>;
  driver_host: string | null;
}

export interface ExecutionConfig {
  engine: 'local' | 'spark';
  workers: number | 'auto';
  concurrency: number;
  commit_rows: number;
  commit_interval_ms: number;
  resume: boolean;
  max_requests: number | null;
  fail_on_failed_rows: boolean;         // exit 1 when rows failed
  spark: SparkConfig | null;
}

export interface PipelineConfig {
  version: 1;
  name: string;
  source: SourceConfig | null;          // null only when rows are given programmatically
  request: RequestConfig;
  auth: AuthConfig;
  transport: TransportConfig;
  middleware: MiddlewareConfig[];
  response: ResponseConfig;
  sink: SinkConfig;
  execution: ExecutionConfig;
  /** Directory the config file lives in; relative paths (source, sink, module, tls files) resolve against it. */
  base_dir: string;
  /** Every secret value found in the config (passwords, tokens, client secrets), for redaction. */
  secrets: string[];
}
