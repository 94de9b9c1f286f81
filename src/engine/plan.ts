// `plan`: the first N requests exactly as a run would render them (templates, headers
// middleware, auth, idempotency header, allowed_hosts) through a transport that
// records instead of sending. Nothing leaves the machine; secrets are redacted.
import { DuckDBInstance } from '../duckdb.js';
import type { PipelineConfig } from '../config/types.js';
import { RunError } from '../errors.js';
import { createRedactor } from '../middleware/redact.js';
import { createRowProcessor } from '../request/execute.js';
import type { HttpRequest, Row } from '../request/types.js';
import { parseRowJson } from '../request/row-json.js';
import { checkTemplateColumns } from '../request/template-columns.js';
import { describe, registerSource } from '../source/relation.js';
import { previewRows } from '../source/stream.js';
import type { Transport } from '../transport/types.js';
import { REQUEST_ID_FIELD, requestIdOf } from '../request/request-id.js';
import { createLoggingRuntime } from '../worker/runtime.js';
import { buildJob, newRunId } from './job.js';

export interface PlannedRequest {
  request_id: string;
  method: string | null;
  url: string | null;
  headers: Record<string, string>;
  body: string | null;
  /** Set when the row could not become a request (template, host_not_allowed, …). */
  error: { class: string; message: string } | null;
}

// Middleware that would talk to the driver or wait is left out: a plan shows requests, not
// pacing. So is logging, which would report the recording transport's stand-in 200 as an answer.
const SKIPPED = new Set(['retry', 'rate_limit', 'circuit_breaker', 'adaptive_concurrency', 'logging']);

/** The config a plan renders with: no pacing middleware, OAuth2 shown as a redacted bearer token. */
function planConfig(config: PipelineConfig): PipelineConfig {
  const isOauth = config.auth.type === 'oauth2_client_credentials' || config.auth.type === 'oauth2_password';
  const placeholder = 'restlake-plan-oauth2-token';
  return {
    ...config,
    auth: isOauth ? { type: 'bearer', token: placeholder } : config.auth,
    middleware: config.middleware.filter((m) => !SKIPPED.has(m.type)),
    response: { ...config.response, extract: {} },
    secrets: isOauth ? [...config.secrets, placeholder] : config.secrets,
  };
}

function recordingTransport(sink: HttpRequest[]): Transport {
  return {
    async send(request) {
      sink.push({ ...request, headers: { ...request.headers } });
      return { status: 200, headers: {}, body: '', truncated: false };
    },
    async close() {},
  };
}

async function sourceLines(config: PipelineConfig, limit: number, rows?: Iterable<Row>): Promise<{ ids: string[]; lines: string[] }> {
  if (rows) {
    const out = { ids: [] as string[], lines: [] as string[] };
    for (const row of rows) {
      if (out.ids.length >= limit) break;
      const keys = config.source?.key ?? Object.keys(row);
      const id = requestIdOf(config.name, keys.map((k) => row[k]));
      out.ids.push(id);
      out.lines.push(JSON.stringify({ ...row, [REQUEST_ID_FIELD]: id }));
    }
    return out;
  }
  if (!config.source) throw new RunError('RESTLAKE_SOURCE', 'the config has no source');
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    const { relation } = await registerSource(conn, config.source);
    const columns = await describe(conn, relation);
    checkTemplateColumns(config, columns.map((c) => c.name));
    return await previewRows(conn, config, relation, columns, limit);
  } finally {
    conn.closeSync();
    duck.closeSync();
  }
}

export async function planRequests(config: PipelineConfig, limit: number, rows?: Iterable<Row>): Promise<PlannedRequest[]> {
  const { ids, lines } = await sourceLines(config, limit, rows);
  const cfg = planConfig(config);
  const job = buildJob(cfg, newRunId(), null);
  const runtime = createLoggingRuntime(job, null);
  const recorded: HttpRequest[] = [];
  const transport = recordingTransport(recorded);
  const processRow = await createRowProcessor(job.config, runtime, transport);
  // The row processor's results are redacted already; this pass covers what the plan
  // adds around them, with the same redactor (every form a secret can take).
  const redact = createRedactor(config.secrets).text;
  const out: PlannedRequest[] = [];
  for (let i = 0; i < ids.length; i++) {
    const row = parseRowJson(lines[i] as string) as Row;
    delete row[REQUEST_ID_FIELD];
    recorded.length = 0;
    const r = await processRow(row, ids[i] as string);
    let headers: Record<string, string> = {};
    try {
      headers = r.request_headers ? (JSON.parse(r.request_headers) as Record<string, string>) : {};
    } catch {
      headers = {};
    }
    for (const k of Object.keys(headers)) headers[k] = redact(String(headers[k]));
    const sent = recorded.length > 0;
    out.push({
      request_id: r.request_id,
      method: r.method,
      url: r.url !== null ? redact(r.url) : null,
      headers,
      body: r.request_body !== null ? redact(r.request_body) : null,
      error: !sent || (!r.success && r.error_class) ? { class: r.error_class ?? 'internal', message: redact(r.error_message ?? '') } : null,
    });
  }
  await transport.close();
  return out;
}
