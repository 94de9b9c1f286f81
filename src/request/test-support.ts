// A complete PipelineConfig for tests of the request path, with overrides.
import type { PipelineConfig, RequestConfig } from '../config/types.js';

export function testConfig(over: Partial<Omit<PipelineConfig, 'request'>> & { request?: Partial<RequestConfig> } = {}): PipelineConfig {
  const { request, ...rest } = over;
  return {
    version: 1,
    name: 'test_pipeline',
    source: null,
    request: {
      method: 'GET',
      url: 'http://127.0.0.1/',
      query: {},
      headers: {},
      body: null,
      idempotency_header: null,
      allowed_hosts: [],
      ...request,
    },
    auth: { type: 'none' },
    transport: {
      timeout_ms: 5000,
      connect_timeout_ms: 2000,
      headers_timeout_ms: 5000,
      body_timeout_ms: 5000,
      connections: 4,
      max_response_bytes: 1024 * 1024,
      tls: { verify: true, ca_file: null, cert_file: null, key_file: null },
    },
    middleware: [],
    response: { success_status: [{ from: 200, to: 299 }], extract: {} },
    sink: { path: '/tmp/unused', mode: 'append', source_columns: [], redact_headers: [] },
    execution: {
      engine: 'local',
      workers: 1,
      concurrency: 8,
      commit_rows: 1000,
      commit_interval_ms: 1000,
      resume: false,
      max_requests: null,
      fail_on_failed_rows: false,
      spark: null,
    },
    base_dir: '/tmp',
    secrets: [],
    ...rest,
  };
}
