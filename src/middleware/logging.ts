// logging: one pino line per attempt it sees (at the configured level, `debug` by
// default) and a `warn` line for each failed one (a transport error or a status of
// 400 and up). Placed inside (after) retry it sees every attempt; outside, the last.
// Nothing secret is logged: Authorization, Cookie, Set-Cookie and configured header
// names are replaced, and every config secret and credential auth sends is scrubbed
// from URLs, header values and messages. Lines are only built when the level is enabled.
import type { MiddlewareConfig } from '../config/types.js';
import { liveSecretsOf } from './live-secrets.js';
import { createRedactor } from './redact.js';
import type { MiddlewareFactory } from './types.js';

export type LoggingOptions = Partial<Omit<Extract<MiddlewareConfig, { type: 'logging' }>, 'type'>>;

export const logging: MiddlewareFactory<LoggingOptions> = (options, runtime) => {
  const log = runtime.logger.child({ middleware: 'logging' });
  const level = options.level ?? 'debug';
  const redact = createRedactor(runtime.secrets, options.redact ?? [], liveSecretsOf(runtime));

  return async (ex, next) => {
    const start = performance.now();
    let thrown: unknown = null;
    try {
      await next();
    } catch (err) {
      thrown = err;
    }
    const res = ex.response;
    const failed = thrown !== null || ex.error !== null || (res !== null && res.status >= 400);
    const lvl = failed && level !== 'error' ? 'warn' : level;
    if (log.isLevelEnabled(lvl)) {
      const message = thrown instanceof Error ? thrown.message : ex.error?.message;
      log[lvl](
        {
          request_id: ex.requestId,
          attempt: ex.attempts,
          method: ex.request.method,
          url: redact.text(ex.request.url),
          status: res?.status ?? null,
          duration_ms: Math.round((performance.now() - start) * 1000) / 1000,
          error_class: ex.error?.errorClass ?? null,
          error: message === undefined ? null : redact.text(message),
          request_headers: log.isLevelEnabled('debug') ? redact.headers(ex.request.headers) : undefined,
          response_headers: res && log.isLevelEnabled('debug') ? redact.headers(res.headers) : undefined,
        },
        failed ? 'request failed' : 'request',
      );
    }
    if (thrown !== null) throw thrown;
  };
};
