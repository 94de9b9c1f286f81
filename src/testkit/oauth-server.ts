// A real OAuth2 authorization server for tests and the demo.
//
// The protocol is @node-oauth/oauth2-server's (a standards-conformant implementation);
// this file supplies its model — configured clients and users whose secrets and
// passwords are checked — and serves it with node:http on loopback:
//
//   POST /token        RFC 6749 §4.4 client_credentials, §4.3 password, §6 refresh_token
//                      (refresh tokens rotate: each use revokes the old one)
//   POST /introspect   RFC 7662 token introspection, for resource servers (client auth required)
//
// In process, `verify(token)` is what a mock API plugs into its bearer check, and
// `stats()` counts grants by type so tests can assert how often the run asked for tokens.
// `setOutage()` makes the token endpoint fail (5xx, reset, hang) to rehearse an IdP outage.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import OAuth2Server from '@node-oauth/oauth2-server';
import type { AuthConfig } from '../config/types.js';
import { listenTracked } from './listen.js';

export type OAuthGrant = 'client_credentials' | 'password' | 'refresh_token';

export interface OAuthClientSpec {
  id: string;
  secret: string;
  /** Grants this client may use; default all three. */
  grants?: OAuthGrant[];
  /** Scopes this client may ask for; default any. */
  scopes?: string[];
}

export interface OAuthServerOptions {
  clients: OAuthClientSpec[];
  users?: Array<{ username: string; password: string }>;
  /** Access token lifetime in seconds (tests use 2–5). Default 3600. */
  accessTokenLifetimeSec?: number;
  /** Refresh token lifetime in seconds. Default 14 days. */
  refreshTokenLifetimeSec?: number;
  /** Added latency on every token request, ms (lets concurrent requests overlap in tests). */
  latencyMs?: number;
  host?: string;
  port?: number;
}

export type OAuthOutage = null | { status: number } | 'reset' | 'hang';

export interface Introspection {
  active: boolean;
  client_id?: string;
  username?: string;
  scope?: string;
  exp?: number;
  token_type?: 'Bearer';
}

export interface OAuthServerStats {
  /** Successful grants by type. */
  grants: Record<OAuthGrant, number>;
  /** Token requests the server refused (bad credentials, bad request) — not outages. */
  refused: number;
  /** Token requests answered by an injected outage. */
  outages: number;
  introspections: number;
}

export interface OAuthServer {
  url: string;
  tokenUrl: string;
  introspectUrl: string;
  introspect(token: string): Introspection;
  /** True when `token` is a live access token (the mock API's verifyToken). */
  verify(token: string): Promise<boolean>;
  stats(): OAuthServerStats;
  /** Every access and refresh token issued so far (for leak scans). */
  issuedTokens(): string[];
  setOutage(outage: OAuthOutage): void;
  setLatency(ms: number): void;
  /** Ends the life of every access token issued so far (as if they expired now); returns how many. */
  expireAccessTokens(): number;
  close(): Promise<void>;
}

interface StoredToken {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken?: string;
  refreshTokenExpiresAt?: Date;
  scope?: string[];
  client: OAuth2Server.Client;
  user: OAuth2Server.User;
}

const ALL_GRANTS: OAuthGrant[] = ['client_credentials', 'password', 'refresh_token'];

export async function startOAuthServer(opts: OAuthServerOptions): Promise<OAuthServer> {
  const clients = new Map(opts.clients.map((c) => [c.id, c]));
  const users = new Map((opts.users ?? []).map((u) => [u.username, u]));
  const lifetimeSec = opts.accessTokenLifetimeSec ?? 3600;
  const accessTokens = new Map<string, StoredToken>();
  const refreshTokens = new Map<string, StoredToken>();
  const issued: string[] = [];
  const stats: OAuthServerStats = {
    grants: { client_credentials: 0, password: 0, refresh_token: 0 },
    refused: 0,
    outages: 0,
    introspections: 0,
  };
  let outage: OAuthOutage = null;
  let latencyMs = opts.latencyMs ?? 0;

  const clientOf = (spec: OAuthClientSpec): OAuth2Server.Client => ({ id: spec.id, grants: spec.grants ?? ALL_GRANTS });

  const model: OAuth2Server.ClientCredentialsModel & OAuth2Server.PasswordModel & OAuth2Server.RefreshTokenModel = {
    async getClient(clientId, clientSecret) {
      const spec = clients.get(clientId);
      if (!spec || clientSecret === null || clientSecret === undefined || !safeEqual(clientSecret, spec.secret)) return false;
      return clientOf(spec);
    },
    async getUserFromClient(client) {
      return { id: `client:${client.id}` };
    },
    async getUser(username, password) {
      const u = users.get(username);
      return u && safeEqual(password, u.password) ? { id: `user:${username}`, username } : false;
    },
    async validateScope(_user, client, scope) {
      const allowed = clients.get(client.id)?.scopes;
      if (!scope || !allowed) return scope ?? [];
      return scope.every((s) => allowed.includes(s)) ? scope : false;
    },
    async generateAccessToken() {
      return 'at_' + randomBytes(24).toString('base64url');
    },
    async generateRefreshToken() {
      return 'rt_' + randomBytes(24).toString('base64url');
    },
    async saveToken(token, client, user) {
      const stored: StoredToken = {
        accessToken: token.accessToken,
        accessTokenExpiresAt: token.accessTokenExpiresAt!,
        refreshToken: token.refreshToken,
        refreshTokenExpiresAt: token.refreshTokenExpiresAt,
        scope: token.scope,
        client,
        user,
      };
      accessTokens.set(stored.accessToken, stored);
      issued.push(stored.accessToken);
      if (stored.refreshToken) {
        refreshTokens.set(stored.refreshToken, stored);
        issued.push(stored.refreshToken);
      }
      return { ...stored };
    },
    async getAccessToken(accessToken) {
      return accessTokens.get(accessToken) ?? false;
    },
    async getRefreshToken(refreshToken) {
      const t = refreshTokens.get(refreshToken);
      return t ? { refreshToken, refreshTokenExpiresAt: t.refreshTokenExpiresAt, scope: t.scope, client: t.client, user: t.user } : false;
    },
    async revokeToken(token) {
      return refreshTokens.delete(token.refreshToken);
    },
  };

  const oauth = new OAuth2Server({
    model,
    accessTokenLifetime: lifetimeSec,
    refreshTokenLifetime: opts.refreshTokenLifetimeSec ?? 14 * 24 * 3600,
    alwaysIssueNewRefreshToken: true,
  });

  function introspect(token: string): Introspection {
    const t = accessTokens.get(token);
    if (!t || t.accessTokenExpiresAt.getTime() <= Date.now()) return { active: false };
    return {
      active: true,
      client_id: t.client.id,
      username: typeof t.user.username === 'string' ? t.user.username : undefined,
      scope: t.scope?.join(' '),
      exp: Math.floor(t.accessTokenExpiresAt.getTime() / 1000),
      token_type: 'Bearer',
    };
  }

  async function handleToken(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    if (outage !== null) {
      stats.outages++;
      if (outage === 'reset') return void req.socket.destroy();
      if (outage === 'hang') return; // never answers; close() destroys the socket
      return sendJson(res, outage.status, { error: 'temporarily_unavailable', error_description: 'injected outage' });
    }
    const request = new OAuth2Server.Request({
      headers: normaliseBasicAuth(req.headers as Record<string, string>),
      method: req.method ?? 'POST',
      query: {},
      body: Object.fromEntries(new URLSearchParams(raw)),
    });
    const response = new OAuth2Server.Response();
    try {
      await oauth.token(request, response);
      const grant = request.body.grant_type as OAuthGrant;
      stats.grants[grant]++;
      const body = response.body as Record<string, unknown>;
      // The library floors expires_in to whole seconds (a 3 s token reads as 2 s); report the real lifetime.
      const stored = accessTokens.get(body.access_token as string);
      if (stored) body.expires_in = Math.round((stored.accessTokenExpiresAt.getTime() - Date.now()) / 1000);
      sendJson(res, response.status ?? 200, body, response.headers);
    } catch {
      stats.refused++;
      sendJson(res, response.status ?? 500, response.body, response.headers);
    }
  }

  function handleIntrospect(req: IncomingMessage, res: ServerResponse, raw: string): void {
    // RFC 7662 §2.1: the caller must authenticate; any configured client may introspect.
    const creds = parseBasic(req.headers.authorization);
    const spec = creds ? clients.get(creds.id) : undefined;
    if (!creds || !spec || !safeEqual(creds.secret, spec.secret)) {
      return sendJson(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="introspect"' });
    }
    stats.introspections++;
    const token = new URLSearchParams(raw).get('token') ?? '';
    sendJson(res, 200, introspect(token));
  }

  const server = createServer((req, res) => {
    readBody(req)
      .then((raw) => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        if (req.method === 'POST' && path === '/token') return handleToken(req, res, raw);
        if (req.method === 'POST' && path === '/introspect') return handleIntrospect(req, res, raw);
        sendJson(res, 404, { error: 'not_found' });
      })
      .catch(() => res.destroy());
  });
  server.keepAliveTimeout = 30_000;
  const listening = await listenTracked(server, opts);
  const url = listening.url;

  return {
    url,
    tokenUrl: `${url}/token`,
    introspectUrl: `${url}/introspect`,
    introspect,
    verify: async (token) => introspect(token).active,
    stats: () => structuredClone(stats),
    issuedTokens: () => [...issued],
    setOutage: (o) => {
      outage = o;
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    expireAccessTokens: () => {
      const now = new Date();
      let n = 0;
      for (const t of accessTokens.values()) {
        if (t.accessTokenExpiresAt > now) {
          t.accessTokenExpiresAt = now;
          n++;
        }
      }
      return n;
    },
    close: listening.close,
  };
}

/**
 * RFC 6749 §2.3.1: client id and secret are form-urlencoded before base64. The library
 * compares them raw, so decode them here; a secret like "a+b/c" then works as specified.
 */
function normaliseBasicAuth(headers: Record<string, string>): Record<string, string> {
  const creds = parseBasic(headers.authorization);
  if (!creds) return headers;
  return { ...headers, authorization: 'Basic ' + Buffer.from(`${creds.id}:${creds.secret}`).toString('base64') };
}

function parseBasic(header: string | undefined): { id: string; secret: string } | null {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

function safeEqual(a: string, b: string): boolean {
  // Hash first so the comparison takes the same time whatever the lengths.
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body ?? {});
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) return reject(new Error('body too large'));
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Builds the normalised auth config a pipeline would have for this server (tests and demo). */
export function oauthAuthConfig(
  server: Pick<OAuthServer, 'tokenUrl'>,
  o: {
    grant: 'client_credentials' | 'password';
    clientId: string;
    clientSecret: string | null;
    username?: string;
    password?: string;
    clientAuth?: 'basic' | 'body';
    scope?: string;
    refreshMarginMs?: number;
    failureDeadlineMs?: number;
  },
): Extract<AuthConfig, { type: 'oauth2_client_credentials' | 'oauth2_password' }> {
  return {
    type: o.grant === 'password' ? 'oauth2_password' : 'oauth2_client_credentials',
    token_url: server.tokenUrl,
    client_id: o.clientId,
    client_secret: o.clientSecret,
    client_auth: o.clientAuth ?? 'basic',
    scope: o.scope ?? null,
    audience: null,
    extra_params: {},
    username: o.username ?? null,
    password: o.password ?? null,
    refresh_margin_ms: o.refreshMarginMs ?? 60_000,
    default_expires_in_ms: 3_600_000,
    failure_deadline_ms: o.failureDeadlineMs ?? 60_000,
  };
}
