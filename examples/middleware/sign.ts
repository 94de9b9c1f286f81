// An example user middleware: signs every attempt with HMAC-SHA256, the way many
// partner APIs want it. Use it from a pipeline config:
//
//   middleware:
//     - type: retry
//     - type: module
//       path: ./middleware/sign.ts     # relative to the config file
//       export: sign
//       options: { key_id: abc, secret: "${env:SIGNING_SECRET}" }
//
// A module middleware has exactly the interface of the built-ins: a factory called
// once per worker with (options, runtime), returning `(ex, next) => Promise<void>`.
// Placed after retry, it runs once per attempt, so each attempt gets a fresh
// timestamp and signature. Config secrets (like `secret` above) are in
// runtime.secrets and are redacted from logs and the sink automatically.
import { createHmac } from 'node:crypto';
import type { MiddlewareFactory } from 'restlake/middleware';

export interface SignOptions {
  key_id: string;
  secret: string;
  /** Header to put the signature in (default X-Signature). */
  header?: string;
}

export const sign: MiddlewareFactory<SignOptions> = (options, runtime) => {
  if (!options.key_id || !options.secret) throw new Error('options key_id and secret are required');
  const header = (options.header ?? 'X-Signature').toLowerCase();
  const log = runtime.logger.child({ middleware: 'sign', key_id: options.key_id });

  return async (ex, next) => {
    const ts = Math.floor(Date.now() / 1000).toString();
    const url = new URL(ex.request.url);
    // What is signed: method, path with query, timestamp and body, one per line.
    const payload = `${ex.request.method}\n${url.pathname}${url.search}\n${ts}\n${ex.request.body ?? ''}`;
    const sig = createHmac('sha256', options.secret).update(payload).digest('hex');
    ex.request.headers[header] = `keyId=${options.key_id},ts=${ts},sig=${sig}`;
    await next();
    if (ex.response?.status === 401) log.warn({ request_id: ex.requestId }, 'signature rejected');
  };
};
