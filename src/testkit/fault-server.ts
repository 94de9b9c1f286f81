// A fault-injecting HTTP server for tests and for rehearsals before a real run
// (issue 5 item 7). Every request names an id (Idempotency-Key, X-Request-Id, ?id=,
// or the last path segment); the fault an id gets is decided by a seeded hash of
// the id, not by arrival order, so the same seed gives the same faults whatever the
// concurrency. Transient faults hit only the first `faultyAttempts` attempts of an
// id (default 1), so a client that retries must end with every row recovered;
// permanent ones (404, 400) hit every attempt and must be recorded once, unretried.
//
// A request can also ask for a fault itself: `?fault=status_503&fault_attempts=2`
// or the headers `x-fault` / `x-fault-attempts` / `x-fault-retry-after`.
//
// Every request is recorded (id, attempt, fault, status) for assertions.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { listenTracked } from './listen.js';

/** Every fault the server can inject, in the (fixed) order the mix is drawn from. */
export const FAULT_KINDS = [
  'status_500',          // 500 Internal Server Error
  'status_502',          // 502 Bad Gateway
  'status_503',          // 503 Service Unavailable
  'status_504',          // 504 Gateway Timeout
  'retry_after_seconds', // 429 with Retry-After: <seconds>
  'retry_after_date',    // 429 with Retry-After: <HTTP date>
  'reset',               // connection reset before any response
  'slow_body',           // 200, body dribbled out over slowBodyMs (completes)
  'hang_headers',        // no response at all (until hangMs, then reset; or forever)
  'hang_body',           // headers and half the body, then nothing
  'truncated_json',      // headers promise the full JSON, half is sent, connection closed
  'malformed_json',      // 200 with a complete response whose JSON is cut off
  'not_found',           // 404 on every attempt (permanent)
  'bad_request',         // 400 on every attempt (permanent)
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults that hit every attempt, not just the first ones. */
export const PERMANENT_FAULTS: ReadonlySet<FaultKind> = new Set(['not_found', 'bad_request']);

/** What a record's `fault` says when the global rate limit turned a request away. */
export const RATE_LIMITED = 'global_rate_limit';

export interface FaultServerOptions {
  host?: string;                                 // default 127.0.0.1
  port?: number;                                 // default 0
  seed?: number;                                 // default 1
  /** Probability of each fault per id; the rest succeed. Sum must be ≤ 1. */
  mix?: Partial<Record<FaultKind, number>>;
  /** Transient faults hit attempts 1..faultyAttempts of an id. Default 1. */
  faultyAttempts?: number;
  retryAfterSeconds?: number;                    // default 1
  slowBodyMs?: number;                           // default 1500
  /** How long hung responses hang before the socket is reset; null = until the client gives up or close(). */
  hangMs?: number | null;
  /** Global token bucket: beyond it, 429 with Retry-After. */
  rateLimit?: { requestsPerSecond: number; burst?: number } | null;
  /** Latency added to every answer that is not a hang or reset, in ms. */
  latencyMs?: number;
  /** Override how a request's id is found. */
  idOf?: (req: IncomingMessage, url: URL) => string;
  /** Keep at most this many request records (stats keep counting). Default 1,000,000. */
  recordLimit?: number;
}

export interface FaultRecord {
  /** Arrival order (1-based), unique per request. */
  seq: number;
  id: string;
  /** 1 for the first request carrying this id, 2 for the next, … (rate-limited ones included). */
  attempt: number;
  method: string;
  path: string;
  /** The injected fault, RATE_LIMITED, or null for a normal answer. */
  fault: FaultKind | typeof RATE_LIMITED | null;
  /** Status sent, null when no status line was sent (reset, hang). */
  status: number | null;
  /** Epoch ms when the request arrived. */
  at: number;
}

export interface FaultServerStats {
  total: number;
  byFault: Record<string, number>;
  byStatus: Record<string, number>;
  /** Complete successful (2xx) answers. */
  served: number;
}

export interface FaultServer {
  url: string;
  /** Every request so far, in arrival order. */
  requests(): FaultRecord[];
  /** The fault the seeded mix assigns to `id` (null: none); directives can still override. */
  plannedFault(id: string): FaultKind | null;
  /** Complete 2xx answers sent for `id`. */
  servedCount(id: string): number;
  stats(): FaultServerStats;
  close(): Promise<void>;
}

export async function startFaultServer(opts: FaultServerOptions = {}): Promise<FaultServer> {
  const seed = opts.seed ?? 1;
  const mix = compileMix(opts.mix ?? {});
  const faultyAttempts = opts.faultyAttempts ?? 1;
  const retryAfterDefault = opts.retryAfterSeconds ?? 1;
  const slowBodyMs = opts.slowBodyMs ?? 1500;
  const hangMs = opts.hangMs ?? null;
  const latencyMs = opts.latencyMs ?? 0;
  const idOf = opts.idOf ?? defaultIdOf;
  const bucket = opts.rateLimit ? new TokenBucket(opts.rateLimit.requestsPerSecond, opts.rateLimit.burst) : null;

  const records: FaultRecord[] = [];
  const attempts = new Map<string, number>();        // every request per id
  const admitted = new Map<string, number>();        // requests per id past the rate limit
  const served = new Map<string, number>();
  const stats: FaultServerStats = { total: 0, byFault: {}, byStatus: {}, served: 0 };

  function planned(id: string): FaultKind | null {
    if (mix.length === 0) return null;
    const u = createHash('sha256').update(`${seed}\u0000${id}`).digest().readUInt32BE(0) / 0x1_0000_0000;
    for (const [kind, upTo] of mix) if (u < upTo) return kind;
    return null;
  }

  const recordLimit = opts.recordLimit ?? 1_000_000;
  let seq = 0; // arrival order, unique even when answers are recorded out of order
  function record(rec: FaultRecord): void {
    // A long rehearsal must not grow without bound; tests stay far below the limit.
    if (records.length < recordLimit) records.push(rec);
    stats.total++;
    const f = rec.fault ?? 'none';
    stats.byFault[f] = (stats.byFault[f] ?? 0) + 1;
    if (rec.status !== null) stats.byStatus[rec.status] = (stats.byStatus[rec.status] ?? 0) + 1;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://fault');
    await drain(req);
    const id = idOf(req, url);
    const attempt = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, attempt);
    const base = { seq: ++seq, id, attempt, method: req.method ?? 'GET', path: url.pathname, at };

    if (bucket) {
      const wait = bucket.take(at);
      if (wait > 0) {
        const secs = Math.max(1, Math.ceil(wait / 1000));
        record({ ...base, fault: RATE_LIMITED, status: 429 });
        return json(res, 429, { error: 'rate_limited', retry_after: secs }, { 'retry-after': String(secs) });
      }
    }
    const n = (admitted.get(id) ?? 0) + 1;
    admitted.set(id, n);

    const directive = directiveOf(req, url);
    const kind = directive.kind ?? planned(id);
    const upTo = directive.attempts ?? faultyAttempts;
    const fault = kind !== null && (PERMANENT_FAULTS.has(kind) || n <= upTo) ? kind : null;
    const retryAfter = directive.retryAfter ?? retryAfterDefault;
    const okBody = JSON.stringify({ id, attempt, ok: true, score: scoreOf(id) });

    if (fault !== 'reset' && fault !== 'hang_headers' && fault !== 'hang_body' && latencyMs > 0) {
      await sleep(latencyMs);
    }
    switch (fault) {
      case null:
        record({ ...base, fault: null, status: 200 });
        return json(res, 200, okBody, {}, () => bumpServed(id));
      case 'status_500':
      case 'status_502':
      case 'status_503':
      case 'status_504': {
        const status = Number(fault.slice(7));
        record({ ...base, fault, status });
        return json(res, status, { error: fault, id, attempt });
      }
      case 'retry_after_seconds':
        record({ ...base, fault, status: 429 });
        return json(res, 429, { error: 'too_many_requests', id }, { 'retry-after': String(retryAfter) });
      case 'retry_after_date': {
        // HTTP dates have whole seconds: round up so the client never waits less than asked.
        const when = new Date(Math.ceil((Date.now() + retryAfter * 1000) / 1000) * 1000);
        record({ ...base, fault, status: 429 });
        return json(res, 429, { error: 'too_many_requests', id }, { 'retry-after': when.toUTCString() });
      }
      case 'not_found':
        record({ ...base, fault, status: 404 });
        return json(res, 404, { error: 'not_found', id });
      case 'bad_request':
        record({ ...base, fault, status: 400 });
        return json(res, 400, { error: 'bad_request', id });
      case 'reset':
        record({ ...base, fault, status: null });
        return reset(req.socket);
      case 'hang_headers':
        record({ ...base, fault, status: null });
        return hang(req.socket);
      case 'hang_body': {
        record({ ...base, fault, status: 200 });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(okBody) });
        res.write(okBody.slice(0, okBody.length >> 1));
        return hang(req.socket);
      }
      case 'truncated_json': {
        record({ ...base, fault, status: 200 });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(okBody) });
        res.write(okBody.slice(0, okBody.length >> 1), () => setTimeout(() => reset(req.socket), 10));
        return;
      }
      case 'malformed_json':
        record({ ...base, fault, status: 200 });
        return json(res, 200, okBody.slice(0, okBody.length >> 1));
      case 'slow_body': {
        record({ ...base, fault, status: 200 });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(okBody) });
        const pieces = 5;
        const step = Math.ceil(okBody.length / pieces);
        // Headers now, then each piece after a pause: the last byte arrives after slowBodyMs.
        for (let i = 0; i < pieces; i++) {
          await sleep(slowBodyMs / pieces);
          if (res.destroyed) return;
          res.write(okBody.slice(i * step, (i + 1) * step));
        }
        if (res.destroyed) return;
        res.end(() => bumpServed(id));
        return;
      }
    }
  }

  function bumpServed(id: string): void {
    served.set(id, (served.get(id) ?? 0) + 1);
    stats.served++;
  }

  const hangTimers = new Set<NodeJS.Timeout>();
  function hang(socket: Socket): void {
    if (hangMs === null) return; // held until the client gives up or close()
    const t = setTimeout(() => {
      hangTimers.delete(t);
      reset(socket);
    }, hangMs);
    hangTimers.add(t);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (s) => s.on('error', () => {})); // resets we cause ourselves
  const listening = await listenTracked(server, opts);

  return {
    url: listening.url,
    requests: () => records.slice(),
    plannedFault: planned,
    servedCount: (id) => served.get(id) ?? 0,
    stats: () => structuredClone(stats),
    close: () => {
      for (const t of hangTimers) clearTimeout(t);
      return listening.close();
    },
  };
}

/** Cumulative thresholds in FAULT_KINDS order; validates the probabilities. */
function compileMix(mix: Partial<Record<FaultKind, number>>): Array<[FaultKind, number]> {
  const out: Array<[FaultKind, number]> = [];
  let sum = 0;
  for (const [k, p] of Object.entries(mix)) {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new TypeError(`fault server: unknown fault "${k}" (known: ${FAULT_KINDS.join(', ')})`);
    if (typeof p !== 'number' || !(p >= 0)) throw new TypeError(`fault server: mix.${k} must be a probability ≥ 0`);
  }
  for (const k of FAULT_KINDS) {
    const p = mix[k] ?? 0;
    if (p === 0) continue;
    sum += p;
    out.push([k, sum]);
  }
  if (sum > 1 + 1e-9) throw new TypeError(`fault server: mix probabilities add up to ${sum}, more than 1`);
  return out;
}

interface Directive { kind: FaultKind | null; attempts: number | null; retryAfter: number | null }

function directiveOf(req: IncomingMessage, url: URL): Directive {
  const pick = (q: string, h: string) => url.searchParams.get(q) ?? headerOf(req, h);
  const kind = pick('fault', 'x-fault');
  const attempts = pick('fault_attempts', 'x-fault-attempts');
  const retryAfter = pick('retry_after', 'x-fault-retry-after');
  return {
    kind: kind !== null && (FAULT_KINDS as readonly string[]).includes(kind) ? (kind as FaultKind) : null,
    attempts: attempts !== null && /^\d+$/.test(attempts) ? Number(attempts) : null,
    retryAfter: retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : null,
  };
}

function headerOf(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return v === undefined ? null : Array.isArray(v) ? v[0] : v;
}

/** Idempotency-Key, X-Request-Id, ?id=, else the last path segment (else the path). */
export function defaultIdOf(req: IncomingMessage, url: URL): string {
  return (
    headerOf(req, 'idempotency-key') ??
    headerOf(req, 'x-request-id') ??
    url.searchParams.get('id') ??
    (decodeURIComponent(url.pathname.split('/').filter(Boolean).pop() ?? '') || url.pathname)
  );
}

/** A deterministic score for an id, so sinks can be checked against the server. */
export function scoreOf(id: string): number {
  return Math.floor((createHash('sha256').update(id).digest().readUInt32BE(0) / 0x1_0000_0000) * 10_000) / 10_000;
}

class TokenBucket {
  private tokens: number;
  private last = Date.now();
  private readonly burst: number;
  constructor(private readonly rate: number, burst?: number) {
    if (!(rate > 0)) throw new TypeError('fault server: rateLimit.requestsPerSecond must be > 0');
    this.burst = Math.max(1, burst ?? Math.ceil(rate));
    this.tokens = this.burst;
  }
  /** Takes one token; returns 0, or the ms until one would be available (nothing taken). */
  take(now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return ((1 - this.tokens) / this.rate) * 1000;
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, done?: () => void): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text, done);
}

function reset(socket: Socket): void {
  // A TCP RST where the platform allows it: what a crashed upstream or a load balancer looks like.
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

function drain(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    req.on('data', () => {});
    req.on('end', resolve);
    req.on('error', () => resolve());
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
