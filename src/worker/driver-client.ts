// The worker's side of the driver services (DESIGN §5), in two forms with one interface:
//
// - createDriverClient(url, secret): over HTTP (local worker processes, Spark executors),
//   with an undici Pool kept alive for the whole run. Cheap on the hot path: tokens are
//   cached until the driver plans to replace them, permits are leased in batches and
//   handed out locally, pauses are cached (refreshed from every reply and by a light
//   poll while someone is asking; backoff_pause adds the resume jitter), progress is batched.
// - createLocalDriverServices(...): the same over in-process objects, for runs and
//   tests without separate processes.
//
// Neither ever sees a client secret or password: only tokens come back.
import { Pool } from 'undici';
import { hostname } from 'node:os';
import type { DriverServices } from '../middleware/types.js';
import { RowError } from '../errors.js';
import { tokenFingerprint } from '../auth/oauth2-identity.js';
import type { TokenInfo } from '../auth/token-service.js';
import { BucketSet } from '../middleware/rate-limit-bucket.js';
import { PauseBoard } from '../middleware/rate-limit-pause.js';

export type Counts = Record<string, number>;

/** DriverServices plus what a worker does once per batch or at the end. */
export interface DriverClient extends DriverServices {
  /** Adds to this worker's progress counts (sent in batches). */
  reportProgress(delta: Counts): void;
  /** Sends pending progress now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface DriverClientOptions {
  /** Names this worker in progress reports. Default host:pid. */
  workerId?: string;
  /** Connections to the driver. Default 8 (each long-polling lease holds one while it waits). */
  connections?: number;
  /** Most permits asked for in one lease. Default 64. */
  maxLease?: number;
  /** Pause poll interval while pauses are being asked for. Default 500 ms. */
  pausePollMs?: number;
  /** Progress batching interval. Default 1 s. */
  progressFlushMs?: number;
  /** A driver that has not answered for this long fails the waiting rows. Default 30 s. */
  unreachableAfterMs?: number;
}

interface PermitWaiter {
  want: number;
  resolve(n: number): void;
  reject(e: unknown): void;
  done: boolean;
}

interface KeyPermits {
  available: number;
  expiresAt: number;
  queue: PermitWaiter[];
  leasing: boolean;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly reply: { error?: string; message?: string }) {
    super(reply.message ?? `HTTP ${status}`);
  }
}

export function createDriverClient(url: string, secret: string, opts: DriverClientOptions = {}): DriverClient {
  const base = new URL(url);
  const prefix = base.pathname.replace(/\/$/, '');
  const pool = new Pool(base.origin, { connections: opts.connections ?? 8, pipelining: 1, keepAliveTimeout: 60_000 });
  const authorization = `Bearer ${secret}`;
  const workerId = opts.workerId ?? `${hostname()}:${process.pid}`;
  const maxLease = opts.maxLease ?? 64;
  const pausePollMs = opts.pausePollMs ?? 500;
  const progressFlushMs = opts.progressFlushMs ?? 1_000;
  const unreachableAfterMs = opts.unreachableAfterMs ?? 30_000;

  let closed = false;
  const tokens = new Map<string, { token: string; until: number }>();
  const tokenFetches = new Map<string, Promise<string>>();
  const refreshes = new Map<string, { stale: string; promise: Promise<string> }>();
  const permits = new Map<string, KeyPermits>();
  const pauses = new LocalPauses();
  let lastPauseQuery = 0;
  let pauseTimer: NodeJS.Timeout | null = null;
  let pendingProgress: Counts = {};
  let progressTimer: NodeJS.Timeout | null = null;

  /** One call, retried with backoff while the driver does not answer (a restarting socket, a busy driver). */
  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await pool.request({
          method,
          path: prefix + path,
          headers: { authorization, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          headersTimeout: unreachableAfterMs,
          bodyTimeout: unreachableAfterMs,
        });
        const reply = (await res.body.json()) as T & { error?: string; message?: string };
        if (res.statusCode !== 200) throw new HttpError(res.statusCode, reply);
        return reply;
      } catch (e) {
        if (e instanceof HttpError) throw e; // an answer, not an outage
        if (closed || Date.now() - started > unreachableAfterMs) {
          throw new RowError('internal', 'RESTLAKE_DRIVER_UNREACHABLE', `driver services at ${base.origin} did not answer for ${Math.round((Date.now() - started) / 1000)}s`, {
            cause: e,
          });
        }
        await delay(Math.min(2_000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  }

  function authFailure(e: unknown): never {
    if (e instanceof HttpError) {
      if (e.status === 503 || e.status === 404) throw new RowError('auth', 'RESTLAKE_AUTH_UNAVAILABLE', e.reply.message ?? 'no token from the driver');
      if (e.status === 401) throw new RowError('internal', 'RESTLAKE_DRIVER_SECRET', 'the driver refused this worker (wrong run secret)');
    }
    throw e;
  }

  function remember(authId: string, r: { token: string; cache_ms: number }): string {
    tokens.set(authId, { token: r.token, until: Date.now() + r.cache_ms });
    return r.token;
  }

  function applyPauses(remaining: Record<string, number> | undefined): void {
    if (remaining) for (const [origin, ms] of Object.entries(remaining)) pauses.set(origin, ms);
  }

  function pollPauses(): void {
    if (pauseTimer || closed) return;
    pauseTimer = setInterval(() => {
      // Poll only while some middleware is asking; an idle worker costs the driver nothing.
      if (Date.now() - lastPauseQuery > 20 * pausePollMs) return;
      call<{ pauses: Record<string, number> }>('GET', '/v1/pauses').then((r) => applyPauses(r.pauses), () => {});
    }, pausePollMs);
    pauseTimer.unref();
  }

  async function lease(key: string, st: KeyPermits): Promise<void> {
    if (st.leasing) return;
    st.leasing = true;
    try {
      for (;;) {
        while (st.queue.length > 0 && st.queue[0].done) st.queue.shift();
        if (st.queue.length === 0) return;
        if (st.available > 0 && Date.now() < st.expiresAt) {
          st.available = handOut(st.queue, st.available); // permits left by a waiter that gave up
          continue;
        }
        st.available = 0; // none, or expired
        let want = 0;
        for (const w of st.queue) if (!w.done) want += w.want;
        let reply: { granted: number; ttl_ms: number; pauses: Record<string, number> };
        try {
          reply = await call('POST', '/v1/permits', { key, want: Math.min(maxLease, want) });
        } catch (e) {
          const err = !(e instanceof HttpError)
            ? e
            : e.status === 404
              ? new RowError('rate_limited', 'RESTLAKE_RATE_KEY', `driver refused rate-limit key: ${e.message}`)
              : new RowError('internal', 'RESTLAKE_DRIVER_CLOSED', `driver services stopped serving permits: ${e.message}`);
          for (const w of st.queue) if (!w.done) w.reject(err);
          st.queue.length = 0;
          return;
        }
        applyPauses(reply.pauses);
        const left = handOut(st.queue, reply.granted);
        if (left > 0) {
          st.available += left;
          st.expiresAt = Date.now() + reply.ttl_ms;
        }
      }
    } finally {
      st.leasing = false;
    }
  }

  async function flush(): Promise<void> {
    if (Object.keys(pendingProgress).length === 0) return;
    const counts = pendingProgress;
    pendingProgress = {};
    try {
      const r = await call<{ pauses: Record<string, number> }>('POST', '/v1/progress', { worker: workerId, counts });
      applyPauses(r.pauses);
    } catch {
      addCounts(pendingProgress, counts); // try again with the next batch
    }
  }

  return {
    async token(authId) {
      const c = tokens.get(authId);
      if (c && Date.now() < c.until) return c.token;
      let p = tokenFetches.get(authId);
      if (!p) {
        p = call<{ token: string; cache_ms: number }>('GET', `/v1/token?auth=${encodeURIComponent(authId)}`)
          .then((r) => remember(authId, r), authFailure)
          .finally(() => tokenFetches.delete(authId));
        tokenFetches.set(authId, p);
      }
      return p;
    },

    cachedToken(authId) {
      const c = tokens.get(authId);
      return c && Date.now() < c.until ? c.token : null;
    },

    async refreshToken(authId, stale) {
      const c = tokens.get(authId);
      if (c && c.token !== stale && Date.now() < c.until) return c.token; // someone already refreshed
      const inflight = refreshes.get(authId);
      if (inflight && inflight.stale === stale) return inflight.promise;
      tokens.delete(authId);
      const promise = call<{ token: string; cache_ms: number }>('POST', '/v1/token/refresh', { auth: authId, stale: tokenFingerprint(stale) })
        .then((r) => remember(authId, r), authFailure)
        .finally(() => {
          if (refreshes.get(authId)?.promise === promise) refreshes.delete(authId);
        });
      refreshes.set(authId, { stale, promise });
      return promise;
    },

    acquirePermits(key, want, signal) {
      let st = permits.get(key);
      if (!st) permits.set(key, (st = { available: 0, expiresAt: 0, queue: [], leasing: false }));
      if (st.available > 0 && Date.now() >= st.expiresAt) st.available = 0; // stale permits would break the rate
      if (st.queue.length === 0 && st.available > 0) {
        const n = Math.min(want, st.available);
        st.available -= n;
        return Promise.resolve(n);
      }
      if (signal?.aborted) return Promise.reject(signal.reason);
      const state = st;
      return new Promise<number>((resolve, reject) => {
        const onAbort = () => {
          w.done = true;
          reject(signal!.reason);
        };
        const w: PermitWaiter = {
          want: Math.max(1, want),
          done: false,
          resolve: (n) => {
            w.done = true;
            signal?.removeEventListener('abort', onAbort);
            resolve(n);
          },
          reject: (e) => {
            w.done = true;
            signal?.removeEventListener('abort', onAbort);
            reject(e);
          },
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        state.queue.push(w);
        void lease(key, state);
      });
    },

    reportBackoff(origin, untilMs) {
      const ms = untilMs - Date.now();
      if (!(ms > 0)) return;
      pauses.set(origin, ms);
      call<{ pauses: Record<string, number> }>('POST', '/v1/backoff', { origin, pause_ms: ms }).then((r) => applyPauses(r.pauses), () => {});
    },

    pausedUntil(origin) {
      lastPauseQuery = Date.now();
      pollPauses();
      return pauses.get(origin);
    },

    reportProgress(delta) {
      addCounts(pendingProgress, delta);
      if (progressTimer || closed) return;
      progressTimer = setTimeout(() => {
        progressTimer = null;
        void flush();
      }, progressFlushMs);
      progressTimer.unref();
    },

    flush,

    async close() {
      if (closed) return;
      if (progressTimer) clearTimeout(progressTimer);
      progressTimer = null;
      closed = true; // from here a call gets one try: a driver that is gone must not delay shutdown
      await flush();
      if (pauseTimer) clearInterval(pauseTimer);
      for (const st of permits.values()) {
        for (const w of st.queue) if (!w.done) w.reject(new RowError('internal', 'RESTLAKE_DRIVER_CLOSED', 'driver client closed'));
      }
      await pool.close();
    },
  };
}

/** What createLocalDriverServices needs; RunningDriverServices from src/services has it. */
export interface LocalDriverParts {
  tokenServices?: ReadonlyMap<string, { token(): Promise<TokenInfo>; refreshIfStill(stale: string): Promise<TokenInfo>; peek?(): TokenInfo | null }>;
  buckets?: BucketSet;
  pauses?: PauseBoard;
  onProgress?: (worker: string, delta: Counts) => void;
}

/** The driver services in this process: same behaviour, no HTTP. */
export function createLocalDriverServices(parts: LocalDriverParts = {}): DriverClient {
  const buckets = parts.buckets ?? new BucketSet();
  const board = parts.pauses ?? new PauseBoard();
  const service = (authId: string) => {
    const ts = parts.tokenServices?.get(authId);
    if (!ts) throw new RowError('auth', 'RESTLAKE_AUTH_UNAVAILABLE', `no token service for auth id ${authId}`);
    return ts;
  };
  return {
    token: async (authId) => (await service(authId).token()).token,
    cachedToken: (authId) => {
      const cur = parts.tokenServices?.get(authId)?.peek?.();
      return cur && Date.now() < cur.usableUntilMs ? cur.token : null;
    },
    refreshToken: async (authId, stale) => (await service(authId).refreshIfStill(stale)).token,
    acquirePermits(key, want, signal) {
      const b = buckets.get(key);
      if (!b) return Promise.reject(new RowError('rate_limited', 'RESTLAKE_RATE_KEY', `no rate limit for key ${key}`));
      return b.take(want, { signal });
    },
    reportBackoff: (origin, untilMs) => board.report(origin, untilMs),
    pausedUntil: (origin) => board.pausedUntil(origin),
    reportProgress: (delta) => parts.onProgress?.('local', delta),
    flush: async () => {},
    close: async () => {},
  };
}

/** Pauses as this worker sees them, in its own clock (they arrive as remaining ms). */
class LocalPauses {
  private readonly map = new Map<string, number>();

  set(origin: string, remainingMs: number): void {
    const until = Date.now() + remainingMs;
    const cur = this.map.get(origin);
    // Every reply repeats an active pause, each a little later for its time in flight: only a
    // clearly longer pause (a new Retry-After) moves the end, or polling would stretch it.
    if (cur === undefined || until > cur + 250) this.map.set(origin, until);
  }

  get(origin: string): number {
    const u = this.map.get(origin);
    if (u === undefined) return 0;
    if (u <= Date.now()) {
      this.map.delete(origin);
      return 0;
    }
    return u;
  }
}

/** Gives `n` permits to waiters first come, first served; returns what is left. */
function handOut(queue: PermitWaiter[], n: number): number {
  while (n > 0 && queue.length > 0) {
    const w = queue.shift()!;
    if (w.done) continue;
    const k = Math.min(w.want, n);
    n -= k;
    w.resolve(k);
  }
  return n;
}

function addCounts(into: Counts, delta: Counts): void {
  for (const [k, v] of Object.entries(delta)) into[k] = (into[k] ?? 0) + v;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
