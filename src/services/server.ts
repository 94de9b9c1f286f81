// The driver's services (DESIGN §5): one HTTP port that every worker of a run —
// local processes or Spark executors — calls for OAuth2 tokens, rate-limit permits,
// run-wide pauses and progress. Every call must carry the run's random secret.
//
// Loopback for the local engine; for Spark it listens on all interfaces and
// advertises `execution.spark.driver_host` (or a detected address) to executors.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { networkInterfaces, hostname } from 'node:os';
import type { AuthConfig, PipelineConfig } from '../config/types.js';
import { RowError } from '../errors.js';
import { isOAuth2 } from '../auth/oauth2-identity.js';
import { TokenService, type TokenInfo, type TokenServiceOptions, type TokenServiceStats } from '../auth/token-service.js';
import { BucketSet, parseRateLimitKey, type RateSpec } from '../middleware/rate-limit-bucket.js';
import { PauseBoard, MAX_PAUSE_MS } from '../middleware/rate-limit-pause.js';
import { ProgressBoard, type WorkerProgress } from './progress.js';
import { LEASE_WAIT_MS, PERMIT_TTL_MS, type TokenReply } from './protocol.js';

export type ServicesLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface StartDriverServicesOptions {
  /** The run's config: auth and rate_limit middleware are taken from it unless given below. */
  config?: PipelineConfig;
  /** Auth configs to serve tokens for (non-OAuth2 ones are ignored). */
  auth?: AuthConfig[];
  /** Rates workers may lease from; default: the config's rate_limit middleware, or any. */
  rateLimits?: RateSpec[];
  /** Address to listen on. Default 127.0.0.1; 0.0.0.0 for the Spark engine. */
  host?: string;
  /** Host in the URL given to workers. Default: the listen host, or for Spark the driver_host / a detected address. */
  advertiseHost?: string;
  port?: number;
  runId?: string;
  log?: ServicesLog;
  /** Called after every progress report with the run's totals and per-worker counts. */
  onProgress?: (progress: WorkerProgress) => void;
  /** Token service tuning (tests): retry backoff, start attempts. */
  tokenOptions?: Omit<TokenServiceOptions, 'log'>;
}

export interface DriverServicesStats {
  /** Authenticated calls served. */
  calls: number;
  /** Calls refused for a missing or wrong run secret. */
  unauthorized: number;
  tokens: Record<string, TokenServiceStats>;
  /** Permits granted per bucket key. */
  permits: Record<string, number>;
  pauses: Record<string, number>;
  progress: WorkerProgress;
}

export interface RunningDriverServices {
  /** Base URL workers call. */
  url: string;
  /** The per-run secret workers send as a bearer token. */
  secret: string;
  /** Token service per auth id (authIdOf). */
  tokenServices: ReadonlyMap<string, TokenService>;
  buckets: BucketSet;
  pauses: PauseBoard;
  stats(): DriverServicesStats;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

/**
 * Starts the token services (getting every first token: a RunError here means wrong
 * credentials or an unreachable IdP, and nothing was sent), then the HTTP server.
 */
export async function startDriverServices(opts: StartDriverServicesOptions): Promise<RunningDriverServices> {
  const log: ServicesLog = opts.log ?? (() => {});
  const auths = (opts.auth ?? (opts.config ? [opts.config.auth] : [])).filter(isOAuth2);
  const tokenServices = new Map<string, TokenService>();
  for (const a of auths) {
    const ts = new TokenService(a, { ...opts.tokenOptions, log: (level, m) => log(level, m) });
    tokenServices.set(ts.id, ts);
  }
  try {
    await Promise.all([...tokenServices.values()].map((t) => t.start()));
  } catch (err) {
    for (const t of tokenServices.values()) t.close();
    throw err;
  }

  const rates =
    opts.rateLimits ??
    opts.config?.middleware.flatMap((m) => (m.type === 'rate_limit' ? [{ requests_per_second: m.requests_per_second, burst: m.burst }] : []));
  const buckets = new BucketSet(rates);
  const pauses = new PauseBoard();
  const progress = new ProgressBoard();
  const secret = randomBytes(32).toString('base64url');
  const expectedAuth = digest(`Bearer ${secret}`);
  const counters = { calls: 0, unauthorized: 0 };
  const longPolls = new Set<AbortController>();

  type Route = (body: Record<string, unknown>, url: URL, res: ServerResponse) => Promise<[number, unknown]>;
  const routes: Record<string, Route> = {
    'GET /v1/health': async () => [200, { ok: true, run_id: opts.runId ?? null }],

    'GET /v1/token': async (_b, url) => tokenReply(url.searchParams.get('auth'), (t) => t.token()),

    'POST /v1/token/refresh': async (b) => {
      if (typeof b.stale !== 'string') return [400, err('bad_request', 'stale must be a token fingerprint')];
      const stale = b.stale;
      return tokenReply(b.auth, (t) => t.refreshIfFingerprint(stale));
    },

    'POST /v1/permits': async (b, _url, res) => {
      const bucket = typeof b.key === 'string' ? buckets.get(b.key) : null;
      if (!bucket) return [404, err('unknown_rate', `no rate limit for key ${JSON.stringify(b.key)}`)];
      const spec = parseRateLimitKey(b.key as string)!;
      const want = Math.min(typeof b.want === 'number' && b.want >= 1 ? Math.floor(b.want) : 1, leaseCap(spec));
      const ac = new AbortController();
      longPolls.add(ac);
      res.once('close', () => ac.abort()); // the worker gave up (or died): free its place in the queue
      try {
        const granted = await bucket.take(want, { signal: ac.signal, maxWaitMs: LEASE_WAIT_MS });
        return [200, { granted, ttl_ms: PERMIT_TTL_MS, pauses: pauses.remaining() }];
      } catch {
        return [503, err('closed', 'lease cancelled')];
      } finally {
        longPolls.delete(ac);
      }
    },

    'POST /v1/backoff': async (b) => {
      if (typeof b.origin !== 'string' || typeof b.pause_ms !== 'number' || !(b.pause_ms >= 0)) {
        return [400, err('bad_request', 'origin (string) and pause_ms (number) are required')];
      }
      pauses.report(b.origin, Date.now() + Math.min(b.pause_ms, MAX_PAUSE_MS));
      log('info', `pausing ${b.origin.replace(/\/\/[^/@]*@/, '//')} for every worker: ${Math.round(b.pause_ms)} ms (Retry-After)`);
      return [200, { pauses: pauses.remaining() }];
    },

    'GET /v1/pauses': async () => [200, { pauses: pauses.remaining() }],

    'POST /v1/progress': async (b) => {
      if (typeof b.worker !== 'string' || b.counts === null || typeof b.counts !== 'object') {
        return [400, err('bad_request', 'worker (string) and counts (object) are required')];
      }
      progress.add(b.worker, b.counts as Record<string, number>);
      opts.onProgress?.(progress.snapshot());
      return [200, { pauses: pauses.remaining() }];
    },
  };

  async function tokenReply(authId: unknown, get: (t: TokenService) => Promise<TokenInfo>): Promise<[number, unknown]> {
    const ts = typeof authId === 'string' ? tokenServices.get(authId) : undefined;
    if (!ts) return [404, err('unknown_auth', `no token service for auth id ${JSON.stringify(authId)}`)];
    try {
      const info = await get(ts);
      const now = Date.now();
      const reply: TokenReply = { token: info.token, expires_in_ms: info.expiresAtMs - now, cache_ms: cacheMs(info, now) };
      return [200, reply];
    } catch (e) {
      if (e instanceof RowError) return [503, err('auth', e.message)];
      throw e;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!authorised(req.headers.authorization, expectedAuth)) {
      counters.unauthorized++;
      req.resume();
      return send(res, 401, err('unauthorized', 'missing or wrong run secret'));
    }
    const url = new URL(req.url ?? '/', 'http://driver');
    const route = routes[`${req.method} ${url.pathname}`];
    if (!route) {
      req.resume();
      return send(res, 404, err('not_found', `${req.method} ${url.pathname}`));
    }
    counters.calls++;
    let body: Record<string, unknown> = {};
    if (req.method === 'POST') {
      const parsed = await readJson(req);
      if (parsed === null) return send(res, 400, err('bad_request', 'body must be a JSON object of at most 64 KiB'));
      body = parsed;
    }
    const [status, reply] = await route(body, url, res);
    send(res, status, reply);
  }

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log('error', `driver services: ${e instanceof Error ? e.message : String(e)}`);
      if (!res.headersSent) send(res, 500, err('internal', 'driver services failed; see the driver log'));
      else res.destroy();
    });
  });
  // Workers keep connections open for the whole run; idle ones must outlive the client's keep-alive.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const host = opts.host ?? defaultListenHost(opts.config);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => resolve());
    });
  } catch (e) {
    for (const t of tokenServices.values()) t.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const advertise =
    opts.advertiseHost ??
    (host === '0.0.0.0' || host === '::' ? (opts.config?.execution.spark?.driver_host ?? detectDriverHost()) : host);
  const url = `http://${advertise.includes(':') ? `[${advertise}]` : advertise}:${port}`;

  let closed: Promise<void> | null = null;
  return {
    url,
    secret,
    tokenServices,
    buckets,
    pauses,
    stats: () => ({
      ...counters,
      tokens: Object.fromEntries([...tokenServices].map(([id, t]) => [id, t.stats()])),
      permits: buckets.stats(),
      pauses: pauses.remaining(),
      progress: progress.snapshot(),
    }),
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        for (const t of tokenServices.values()) t.close();
        for (const ac of longPolls) ac.abort();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      })),
  };
}

/**
 * Loopback, unless Spark executors may run on other machines (a cluster master, or an
 * explicit driver_host): then every interface, still guarded by the run secret.
 */
function defaultListenHost(config: PipelineConfig | undefined): string {
  if (config?.execution.engine !== 'spark') return '127.0.0.1';
  const spark = config.execution.spark;
  const localMaster = !spark || spark.master.startsWith('local');
  return localMaster && !spark?.driver_host ? '127.0.0.1' : '0.0.0.0';
}

/** An address other machines can reach this one at: the first external IPv4, else the host name. */
export function detectDriverHost(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return hostname();
}

/** Permits per lease: about 50 ms of the rate, so leased permits are used while still fresh. */
function leaseCap(spec: RateSpec): number {
  return Math.max(1, Math.min(64, Math.ceil(spec.requests_per_second / 20)));
}

/**
 * How long a worker may reuse a token: until the driver plans to replace it; once in
 * the refresh window, briefly, so workers pick up the new token soon after it lands.
 */
function cacheMs(info: TokenInfo, now: number): number {
  if (now < info.refreshAtMs) return info.refreshAtMs - now;
  return Math.max(0, Math.min(1_000, (info.usableUntilMs - now) / 2));
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time check of the run secret (digests have equal length whatever was sent). */
function authorised(header: string | undefined, expected: Buffer): boolean {
  return header !== undefined && timingSafeEqual(digest(header), expected);
}

function err(error: string, message: string) {
  return { error, message };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return resolve(null);
      try {
        const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        resolve(v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
      } catch {
        resolve(null);
      }
    });
    req.on('error', () => resolve(null));
  });
}
