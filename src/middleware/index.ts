// The middleware registry and the chain a worker runs for every row (chainLayout):
//
//   configured middleware, in config order (first = outermost), with these three just
//   before the first rate_limit or adaptive_concurrency listed after retry (after
//   everything configured when none is):
//     circuit_breaker       unless configured (on by default, conservative thresholds)
//     backoff_pause         always: run-wide pauses after 429/503 with Retry-After
//     adaptive_concurrency  unless configured (on by default, max = execution.concurrency)
//   auth                  after them all, so every attempt (retry) carries fresh credentials
//   rate-limit permits    one layer taking the permit of every rate_limit listed
//   transport             one attempt (allowed_hosts checked again, whatever middleware did)
//
// "After retry" is after the last retry listed (the first place, when there is none):
// the three run once per attempt, wherever retry is listed. backoff_pause then sees
// every attempt's 429 + Retry-After, also one that retry gets past, and pauses the
// other rows; the breaker and the AIMD limit count attempts; no concurrency slot is
// held through retry's backoff. Layers listed after a rate_limit or an
// adaptive_concurrency (a signing module, say) run after the three.
//
// Every rate-limit permit is taken last, when nothing can hold the request back any
// more: a permit is spent when taken, and requests that held permits through a wait
// (for a circuit's probe, out of a server's pause, for a concurrency slot or a paced
// turn, in a module of yours, for an OAuth2 token) would all go when it ends, in one
// burst over the limit (rate-limit.ts). So where a rate_limit is listed, and where a
// circuit_breaker or adaptive_concurrency is listed relative to it, does not matter.
// Its place only says how many permits it takes: listed after the last retry (or with
// no retry), one per send, a resend after a 401 included; listed before it, one per
// call (per row, or per attempt of an outer retry): it notes the permit owed there
// (owe_permit) and the row's first send takes it (rowPermits), later ones none. After
// the permits, the OAuth2 token the worker holds then goes in the request; when it
// holds none safe to send, the permits are dropped and taken again after the token
// comes (permitGate, oauth2-middleware.ts).
// backoff_pause sits just outside adaptive_concurrency (when the config lists the
// latter after retry): a request waiting out a server's pause holds no concurrency
// slot, and when the pause ends it passes the rate pacer, which spaces the resumed
// requests instead of letting them hit the server in one burst.
//
// Built once per worker, before any request; a module that cannot be loaded is a
// config-time RestlakeError (RESTLAKE_MIDDLEWARE_MODULE).
import { isAbsolute, resolve } from 'node:path';
import { basicAuth } from '../auth/basic.js';
import { bearerAuth } from '../auth/bearer.js';
import { oauth2Auth } from '../auth/oauth2-middleware.js';
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
import { permitGate, rateLimit, rowPermits, sendPermits, type SendReady } from './rate-limit.js';
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

/** One layer of the chain buildChain makes, outermost first; the transport follows. */
export type ChainLayer =
  /** config.middleware[index], at its place (never a rate_limit: see the next two) */
  | { layer: 'configured'; index: number }
  /** a built-in default buildChain adds */
  | { layer: 'circuit_breaker' | 'backoff_pause' | 'adaptive_concurrency' }
  /** where the rate_limit config.middleware[index], listed before the last retry, notes the permit a row owes */
  | { layer: 'owe_permit'; index: number }
  /** the auth config's middleware (none for auth: none) */
  | { layer: 'auth' }
  /**
   * Where the rate_limits config.middleware[indexes] take their permits, in that order:
   * one layer, after auth, just before the transport. A permit per send, or, for one with an
   * owe_permit layer, per mark.
   */
  | { layer: 'permits'; indexes: number[] };

/** The order of the chain for `middleware` (see the top of this file). */
export function chainLayout(middleware: readonly MiddlewareConfig[]): ChainLayer[] {
  let retryAt = -1;
  for (let i = 0; i < middleware.length; i++) if (middleware[i].type === 'retry') retryAt = i;
  let waitsAt = middleware.length;
  for (let i = retryAt + 1; i < middleware.length; i++) {
    const t = middleware[i].type;
    if (t === 'rate_limit' || t === 'adaptive_concurrency') {
      waitsAt = i;
      break;
    }
  }
  const listed = new Set(middleware.map((m) => m.type));
  const out: ChainLayer[] = [];
  for (let i = 0; i <= middleware.length; i++) {
    if (i === waitsAt) {
      if (!listed.has('circuit_breaker')) out.push({ layer: 'circuit_breaker' });
      out.push({ layer: 'backoff_pause' });
      if (!listed.has('adaptive_concurrency')) out.push({ layer: 'adaptive_concurrency' });
    }
    if (i === middleware.length) break;
    if (middleware[i].type !== 'rate_limit') out.push({ layer: 'configured', index: i });
    else if (i < retryAt) out.push({ layer: 'owe_permit', index: i });
    // A rate_limit after the last retry has nothing to do at its place: every send takes a permit.
  }
  const indexes: number[] = [];
  for (let i = 0; i < middleware.length; i++) if (middleware[i].type === 'rate_limit') indexes.push(i);
  out.push({ layer: 'auth' });
  if (indexes.length > 0) out.push({ layer: 'permits', indexes });
  return out;
}

export async function buildChain(config: PipelineConfig, runtime: MiddlewareRuntime, transport: Transport): Promise<Handler> {
  const layout = chainLayout(config.middleware);
  const retryCfg = config.middleware.find((m) => m.type === 'retry');
  // The longest a server's Retry-After may hold an origin, for the run-wide pause and the pacer alike.
  const maxPauseMs = Math.max(retryCfg?.type === 'retry' ? retryCfg.max_delay_ms : 0, 60_000);
  // A rate_limit listed before the last retry: its two parts, by index (rowPermits).
  const owed = new Map<number, ReturnType<typeof rowPermits>>();
  for (const l of layout) {
    if (l.layer === 'owe_permit') {
      const m = config.middleware[l.index];
      if (m.type === 'rate_limit') owed.set(l.index, rowPermits(m, runtime));
    }
  }
  const chain: Middleware[] = [];
  let authSend: SendReady | null = null; // auth's, for the permit layer after it
  for (const l of layout) {
    switch (l.layer) {
      case 'configured':
        chain.push(await instantiate(config.middleware[l.index], l.index, config, runtime, maxPauseMs));
        break;
      case 'owe_permit':
        chain.push(owed.get(l.index)!.owe);
        break;
      case 'permits':
        chain.push(
          permitGate(
            l.indexes.map((i) => {
              const m = config.middleware[i] as Extract<MiddlewareConfig, { type: 'rate_limit' }>;
              return owed.get(i) ?? sendPermits(m, runtime);
            }),
            authSend,
          ),
        );
        break;
      case 'auth': {
        const auth = await authMiddleware(config.auth, runtime);
        if (auth) {
          chain.push(auth.middleware);
          authSend = auth.send;
        }
        break;
      }
      case 'circuit_breaker':
        chain.push(await circuitBreaker({ enabled: true, ...DEFAULT_CIRCUIT_BREAKER }, runtime));
        break;
      case 'backoff_pause':
        chain.push(await backoffPause({ max_pause_ms: maxPauseMs }, runtime));
        break;
      case 'adaptive_concurrency':
        chain.push(await adaptiveConcurrency({ enabled: true, min: 1, max: config.execution.concurrency, max_pause_ms: maxPauseMs }, runtime));
        break;
    }
  }
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

async function authMiddleware(auth: AuthConfig, runtime: MiddlewareRuntime): Promise<{ middleware: Middleware; send: SendReady | null } | null> {
  switch (auth.type) {
    case 'none':
      return null;
    case 'basic':
      return { middleware: await basicAuth(auth, runtime), send: null };
    case 'bearer':
      return { middleware: await bearerAuth(auth, runtime), send: null };
    case 'oauth2_client_credentials':
    case 'oauth2_password':
      return oauth2Auth(auth, runtime);
  }
}
