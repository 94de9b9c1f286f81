// Test helpers for the config layer (not used at runtime): temp dirs with config
// files, and loading that returns the issues instead of throwing.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { loadConfig, type LoadOptions } from './load.js';
import type { PipelineConfig } from './types.js';

export interface TempDir {
  dir: string;
  /** Writes `text` to `rel` (creating folders) and returns its absolute path. */
  write(rel: string, text: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-config-'));
  return {
    dir,
    async write(rel, text) {
      const p = join(dir, rel);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, text);
      return p;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Loads and returns the ConfigError's issues; fails if the config loads. */
export async function issuesOf(input: string | object, opts?: LoadOptions): Promise<ConfigIssue[]> {
  let config: PipelineConfig;
  try {
    config = await loadConfig(input, opts);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error(`expected a ConfigError, but the config loaded: ${JSON.stringify(config).slice(0, 300)}`);
}

/** A minimal valid config as YAML, to which a test appends or replaces sections. */
export const MINIMAL_YAML = `version: 1
name: t
source:
  path: ./rows.csv
request:
  url: "https://api.example.com/x/{{ id }}"
sink:
  path: ./lake
`;

// The example config of DESIGN §2, verbatim.
export const DESIGN_EXAMPLE = `
version: 1
name: orders_scoring
source:
  path: ./data/orders.parquet
  format: parquet
  key: [order_id]
  limit: 1000
request:
  method: POST
  url: "https://api.example.com/v1/orders/{{ order_id }}/score"
  query: { region: "{{ region }}" }
  headers: { Accept: application/json }
  body:
    json: { id: "{{ order_id }}", amount: "{{ amount }}" }
  idempotency_header: Idempotency-Key
  allowed_hosts: [api.example.com]
auth:
  type: oauth2_client_credentials
  token_url: https://idp.example.com/realms/x/protocol/openid-connect/token
  client_id: etl-client
  client_secret: \${env:CLIENT_SECRET}
  scope: "read write"
  refresh_margin: 60s
transport:
  timeout: 30s
  connections: 64
  max_response_bytes: 10MB
  tls: { verify: true, ca_file: null, cert_file: null, key_file: null }
middleware:
  - type: retry
    max_attempts: 5
    base_delay: 200ms
    max_delay: 30s
  - type: rate_limit
    requests_per_second: 200
    burst: 50
  - type: timing
  - type: logging
  - type: headers
    set: { X-Run: "{{ $run_id }}" }
  - type: module
    path: ./middleware/sign.ts
    export: sign
    options: { key_id: abc }
response:
  success_status: [200-299]
  extract:
    score: { path: $.score, type: double }
sink:
  path: ./lake/orders_scores
  mode: append
  source_columns: [order_id, region]
execution:
  engine: local
  workers: auto
  concurrency: 64
  commit_rows: 50000
  commit_interval: 30s
  resume: true
  max_requests: null
  spark:
    master: spark://spark-master:7077
    spark_home: \${env:SPARK_HOME}
    jars: []
    conf: { spark.executor.memory: 1g }
    driver_host: null
`;

