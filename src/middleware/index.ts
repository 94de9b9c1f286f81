// The middleware registry and the chain a worker runs for every row:
//
//   configured middleware, in config order (first = outermost), and just before the
//   first rate_limit or adaptive_concurrency listed (after everything, without one):
//     circuit_breaker       unless configured (on by default, conservative thresholds)
//     backoff_pause         always: run-wide pauses after 429/503 with Retry-After
//     adaptive_concurrency  unless configured (on by default, max = execution.concurrency)
//   auth                  innermost, so every attempt (retry) carries fresh credentials
//   transport             one attempt (allowed_hosts checked again, whatever middleware did)
//
// The first three make requests wait (for a probe, out of a server's pause, for a slot
// or a paced turn), so they go outside rate_limit: a permit is spent when taken, and
// requests that held permits through a wait would all go when it ends, in one burst
// over the limit (rate-limit.ts). backoff_pause sits just outside adaptive_concurrency
// (when the config lists the latter first): a request waiting out a server's pause
// holds no concurrency slot, and when the pause ends it passes the rate pacer, which
// spaces the resumed requests instead of letting them hit the server in one burst.
//
// Built once per worker, before any request; a module that cannot be loaded is a
// config-time RestlakeError (RESTLAKE_MIDDLEWARE_MODULE).
import { isAbsolute, resolve } from 'node:path';
import { basicAuth } from '../auth/basic.js';
import { bearerAuth } from '../auth/bearer.js';
import { oauth2Middleware } from '../auth/oauth2-middleware.js';
import type { AuthConfig, MiddlewareConfig, PipelineConfig } from '../config/types.js';
import { RestlakeError } from '../errors.js';
import { hostPolicyOf } from '../request/allowed-hosts.js';
import type { Transport } from '../transport/types.js';
import { adaptiveConcurrency } from './adaptive-concurrency.js';
import { backoffPause } from './backoff-pause.js';
import { circuitBreaker } from './circuit-breaker.js';
import { composeHandler, type Handler } from './compose.js';
import { headers } from './headers.js';
import { logging } from './logging.js';
import { moduleMiddleware } from './module.js';
import { rateLimit } from './rate-limit.js';
import { retry } from './retry.js';
import { timing } from './timing.js';
import { transportHandler } from './transport-handler.js';
import type { Middleware, MiddlewareFactory, MiddlewareRuntime } from './types.js';

export * from './public.js';
export type { Handler } from './compose.js';

/** Every built-in by its config `type` (backoff_pause has no config entry: buildChain always adds it). */
export const builtinMiddleware: Record<string, MiddlewareFactory<any>> = {
  retry,
  rate_limit: rateLimit,
  timing,
  logging,
  headers,
  module: moduleMiddleware,
  adaptive_concurrency: adaptiveConcurrency,
  circuit_breaker: circuitBreaker,
  backoff_pause: backoffPause,
};

/** Defaults for the resilience middleware a config does not list (issue 5: on by default). */
export const DEFAULT_CIRCUIT_BREAKER = { failure_ratio: 0.8, min_requests: 50, window_ms: 30_000, open_ms: 10_000 } as const;

export async function buildChain(config: PipelineConfig, runtime: MiddlewareRuntime, transport: Transport): Promise<Handler> {
  const chain: Middleware[] = [];
  const listed = new Set(config.middleware.map((m) => m.type));
  const retryCfg = config.middleware.find((m) => m.type === 'retry');
  // The longest a server's Retry-After may hold an origin, for the run-wide pause and the pacer alike.
  const maxPauseMs = Math.max(retryCfg?.type === 'retry' ? retryCfg.max_delay_ms : 0, 60_000);
  const waits = async () => {
    if (!listed.has('circuit_breaker')) chain.push(await circuitBreaker({ enabled: true, ...DEFAULT_CIRCUIT_BREAKER }, runtime));
    chain.push(await backoffPause({ max_pause_ms: maxPauseMs }, runtime));
    if (!listed.has('adaptive_concurrency')) {
      chain.push(await adaptiveConcurrency({ enabled: true, min: 1, max: config.execution.concurrency, max_pause_ms: maxPauseMs }, runtime));
    }
  };
  const at = config.middleware.findIndex((m) => m.type === 'rate_limit' || m.type === 'adaptive_concurrency');
  for (let i = 0; i < config.middleware.length; i++) {
    if (i === at) await waits();
    chain.push(await instantiate(config.middleware[i], i, config, runtime, maxPauseMs));
  }
  if (at < 0) await waits();
  const auth = await authMiddleware(config.auth, runtime);
  if (auth) chain.push(auth);
  return composeHandler(chain, transportHandler(transport, config.transport, hostPolicyOf(config.request)));
}

async function instantiate(m: MiddlewareConfig, index: number, config: PipelineConfig, runtime: MiddlewareRuntime, maxPauseMs: number): Promise<Middleware> {
  const factory = builtinMiddleware[m.type];
  if (!factory) throw new RestlakeError('RESTLAKE_MIDDLEWARE', `middleware[${index}]: unknown type "${m.type}"`);
  let options: object = m;
  if (m.type === 'module') options = { ...m, path: isAbsolute(m.path) ? m.path : resolve(config.base_dir, m.path) };
  if (m.type === 'adaptive_concurrency') options = { ...m, max: m.max ?? config.execution.concurrency, max_pause_ms: maxPauseMs };
  try {
    const mw = await factory(options, runtime);
    if (typeof mw !== 'function') throw new Error('factory did not return a middleware function');
    return mw;
  } catch (err) {
    if (err instanceof RestlakeError) throw err;
    throw new RestlakeError('RESTLAKE_MIDDLEWARE', `middleware[${index}] (${m.type}): ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

async function authMiddleware(auth: AuthConfig, runtime: MiddlewareRuntime): Promise<Middleware | null> {
  switch (auth.type) {
    case 'none':
      return null;
    case 'basic':
      return basicAuth(auth, runtime);
    case 'bearer':
      return bearerAuth(auth, runtime);
    case 'oauth2_client_credentials':
    case 'oauth2_password':
      return oauth2Middleware(auth, runtime);
  }
}
