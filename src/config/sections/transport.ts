// transport: timeouts, connections, the response size cap and TLS.
import { z } from 'zod';
import type { TransportConfig } from '../types.js';
import { positiveDuration, positiveDurationValue, size, strictObject } from '../schema-parts.js';
import { positiveInt } from './common.js';
import { ALWAYS, asRecord, existingFilePath } from './context.js';
import { tlsFileProblems } from '../tls-files.js';

const tls = strictObject({
  verify: z.boolean().default(true).describe('Verify server certificates (turn off only for testing).'),
  ca_file: existingFilePath().nullable().default(null).describe('PEM file of extra CA certificates to trust.'),
  cert_file: existingFilePath().nullable().default(null).describe('PEM client certificate for mTLS (with key_file).'),
  key_file: existingFilePath().nullable().default(null).describe('PEM client key for mTLS (with cert_file).'),
})
  .superRefine((value, c) => {
    const v = asRecord(value);
    if (!v) return;
    const hasCert = v.cert_file != null;
    const hasKey = v.key_file != null;
    if (hasCert !== hasKey) {
      c.addIssue({ code: 'custom', path: [hasCert ? 'key_file' : 'cert_file'], message: `is required with ${hasCert ? 'cert_file' : 'key_file'} (mTLS needs both)` });
    }
    for (const p of tlsFileProblems(v)) c.addIssue({ code: 'custom', path: [p.key], message: p.message });
  }, ALWAYS)
  .describe('TLS settings; mTLS when cert_file and key_file are given.');

/**
 * The largest max_response_bytes. A result line must hold the body JSON-escaped and the
 * sink's line limit is 2 × max_response_bytes + 1 MiB (worker/result.ts,
 * maxResultLineBytes): at 256 MB that is ~513 MB, just under the longest string V8 can
 * hold (2^29 - 24 characters, ~536.9M), which the worker builds the line as. A larger cap
 * let a 540 MB body fail to become text at all and killed the worker.
 */
export const MAX_RESPONSE_BYTES_LIMIT = 256_000_000;

export const transport = strictObject({
  timeout: positiveDuration('30s').describe('Total time per attempt.'),
  connect_timeout: positiveDurationValue().optional().describe('Time to connect (default: timeout).'),
  headers_timeout: positiveDurationValue().optional().describe('Time until response headers arrive (default: timeout).'),
  body_timeout: positiveDurationValue().optional().describe('Time between body chunks (default: timeout).'),
  connections: positiveInt().default(64).describe('Connections per worker per origin.'),
  max_response_bytes: size('10MB')
    .refine((n) => n <= MAX_RESPONSE_BYTES_LIMIT, {
      error: `must be at most 256MB (${MAX_RESPONSE_BYTES_LIMIT} bytes): a result row holds the body JSON-escaped, in a line of up to twice its size, and a longer line than that cannot be built or read back`,
    })
    .describe('Larger bodies are truncated and flagged. e.g. 10MB, 512KiB; at most 256MB.'),
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
