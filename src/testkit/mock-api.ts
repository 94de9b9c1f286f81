// A real HTTP mock API for tests and the demo, one route family per auth pattern
// (like the original framework's mock API):
//
//   /v1/none/...     no credentials
//   /v1/basic/...    HTTP Basic, checked against `basic`
//   /v1/bearer/...   a static bearer token, checked against `bearerToken`
//   /v1/oauth2/...   a bearer token checked by `verifyToken` (the OAuth server's introspection)
//
// Under each prefix: `score/<id>` answers a deterministic score computed from the
// id and the body, `echo` answers what it received. Every answer echoes the method,
// path, query, headers (credentials redacted: responses land in sinks) and body, so
// tests can assert what the client sent. `stats()` counts requests per route and
// status. Loopback only; port 0 by default.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { listenTracked } from './listen.js';

export type MockAuthPattern = 'none' | 'basic' | 'bearer' | 'oauth2';

export interface MockApiOptions {
  host?: string;                                   // default 127.0.0.1
  port?: number;                                   // default 0 (any free port)
  basic?: { username: string; password: string };  // default demo / demo-password
  bearerToken?: string;                            // default 'demo-static-token'
  /** Verifies an OAuth2 access token; without it every /v1/oauth2 request is rejected. */
  verifyToken?: (token: string) => Promise<boolean>;
  /** Added latency per request in ms: a number, or [min, max] spread deterministically by path. */
  latencyMs?: number | [number, number];
  /** Largest request body accepted (bytes); larger ones get 413. Default 1 MiB. */
  maxBodyBytes?: number;
}

export interface MockApiStats {
  total: number;
  /** "<METHOD> <route>" (ids collapsed, e.g. "POST /v1/basic/score/:id") → count. */
  byRoute: Record<string, number>;
  /** HTTP status → count. */
  byStatus: Record<string, number>;
  /** Auth pattern → accepted / rejected (401) counts. */
  byAuth: Record<MockAuthPattern, { accepted: number; rejected: number }>;
}

export interface MockApi {
  url: string;
  stats(): MockApiStats;
  close(): Promise<void>;
}

/** What every answer carries back about the request. */
export interface MockEcho {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
}

const REDACTED_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

export const MOCK_DEFAULTS = {
  basic: { username: 'demo', password: 'demo-password' },
  bearerToken: 'demo-static-token',
} as const;

/** A score in [0, 1) with 4 decimals, stable for the same id and body. */
export function mockScore(id: string, body: string): number {
  const h = createHash('sha256').update(id).update('\u001f').update(body).digest();
  return Math.floor((h.readUInt32BE(0) / 0x1_0000_0000) * 10_000) / 10_000;
}

export async function startMockApi(opts: MockApiOptions = {}): Promise<MockApi> {
  const basic = opts.basic ?? MOCK_DEFAULTS.basic;
  const bearer = opts.bearerToken ?? MOCK_DEFAULTS.bearerToken;
  const expectedBasic = 'Basic ' + Buffer.from(`${basic.username}:${basic.password}`).toString('base64');
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const latency = opts.latencyMs ?? 0;

  const stats: MockApiStats = {
    total: 0,
    byRoute: {},
    byStatus: {},
    byAuth: { none: zero(), basic: zero(), bearer: zero(), oauth2: zero() },
  };

  async function authorise(pattern: MockAuthPattern, header: string | undefined): Promise<boolean> {
    switch (pattern) {
      case 'none':
        return true;
      case 'basic':
        return header !== undefined && safeEqual(header, expectedBasic);
      case 'bearer':
        return header !== undefined && safeEqual(header, 'Bearer ' + bearer);
      case 'oauth2': {
        const m = header === undefined ? null : /^Bearer (\S+)$/i.exec(header);
        if (!m || !opts.verifyToken) return false;
        try {
          return await opts.verifyToken(m[1]);
        } catch {
          return false;
        }
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://mock');
    const method = req.method ?? 'GET';
    stats.total++;
    let raw: string;
    try {
      raw = await readBody(req, maxBody);
    } catch {
      return send(res, 413, { error: 'body_too_large' }, `${method} (body too large)`);
    }
    if (url.pathname === '/health') return send(res, 200, { ok: true }, `${method} /health`);

    const m = /^\/v1\/(none|basic|bearer|oauth2)\/(score\/([^/]+)|echo)$/.exec(url.pathname);
    if (!m) return send(res, 404, { error: 'not_found', path: url.pathname }, `${method} (unknown)`);
    const pattern = m[1] as MockAuthPattern;
    const route = `${method} /v1/${pattern}/${m[3] !== undefined ? 'score/:id' : 'echo'}`;

    if (!(await authorise(pattern, req.headers.authorization))) {
      stats.byAuth[pattern].rejected++;
      res.setHeader('www-authenticate', pattern === 'basic' ? 'Basic realm="mock"' : 'Bearer realm="mock"');
      return send(res, 401, { error: 'unauthorized', auth: pattern }, route);
    }
    stats.byAuth[pattern].accepted++;

    const delay = latencyFor(latency, url.pathname);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));

    const echo: MockEcho = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: echoHeaders(req),
      body: parseBody(raw, req.headers['content-type']),
    };
    if (m[3] !== undefined) {
      const id = decodeURIComponent(m[3]);
      return send(res, 200, { id, auth: pattern, score: mockScore(id, raw), echo }, route);
    }
    return send(res, 200, { auth: pattern, echo }, route);
  }

  function send(res: ServerResponse, status: number, body: unknown, route: string): void {
    stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: 'internal', message: String(err) }, 'internal');
      else res.destroy();
    });
  });
  // Many clients keep connections alive; track them so close() does not wait on idle ones.
  server.keepAliveTimeout = 30_000;
  const listening = await listenTracked(server, opts);

  return {
    url: listening.url,
    stats: () => structuredClone(stats),
    close: listening.close,
  };
}

function zero() {
  return { accepted: 0, rejected: 0 };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function latencyFor(latency: number | [number, number], path: string): number {
  if (typeof latency === 'number') return latency;
  const [min, max] = latency;
  if (max <= min) return min;
  // Spread by path so a run's latency histogram has a shape, yet stays reproducible.
  const h = createHash('md5').update(path).digest().readUInt16BE(0) / 0x1_0000;
  return Math.round(min + h * (max - min));
}

function echoHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k] = REDACTED_HEADERS.has(k) ? '[redacted]' : Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw === '') return null;
  if (contentType?.includes('json')) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  if (contentType?.includes('x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  return raw;
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new Error('too large'));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
