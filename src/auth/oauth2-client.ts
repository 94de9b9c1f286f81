// The driver's side of OAuth2 (RFC 6749): asks the authorization server for access
// tokens. Runs in the driver only — it needs the client secret and the password,
// which workers never receive.
//
//   §4.4 client_credentials and §4.3 password grants, §6 refresh_token grant
//   §2.3.1 client authentication: HTTP Basic (default; id and secret form-urlencoded
//          before base64) or client_id/client_secret in the form body
//   §5.1/§5.2 responses: expires_in honoured; errors classified so a run can say
//          "wrong credentials" apart from "token endpoint unreachable"
//
// Messages never contain a secret, a password, or a token: they name the endpoint
// (without userinfo or query), the grant, the client_id, and the server's error code.
// What the server wrote into them (error, error_description, token_type) goes through
// the redactor the sink uses, since servers echo the request: the secret, the password
// and the refresh token in each form they take there (form-encoded in the body, inside
// the base64 of the Basic client authentication, ...). These messages reach the
// workers (a 503 from the driver) and the sink, where nothing else could redact them:
// workers never hold these secrets.
import { request, type Dispatcher } from 'undici';
import { RestlakeError } from '../errors.js';
import { LiveSecrets } from '../middleware/live-secrets.js';
import { createRedactor, type Redactor } from '../middleware/redact.js';
import { serverBackoffMs } from '../middleware/retry-after.js';
import type { OAuth2AuthConfig } from './oauth2-identity.js';

/** Why a token request failed; decides how the run reports and whether retrying can help. */
export type TokenFailureKind =
  | 'credentials'   // invalid_client / invalid_grant: wrong client secret, username or password
  | 'rejected'      // other 4xx (invalid_scope, unauthorized_client, …): the request itself is wrong
  | 'unavailable'   // 5xx or 429 from the token endpoint
  | 'unreachable'   // no HTTP answer: refused, DNS, TLS, timeout, reset
  | 'bad_response'; // 2xx/3xx that is not a usable token response

export class OAuth2TokenError extends RestlakeError {
  readonly kind: TokenFailureKind;
  readonly status: number | null;
  /** The RFC 6749 §5.2 `error` code, when the server sent one. */
  readonly oauthError: string | null;
  /** The wait a 429 or 5xx asked for (Retry-After or RateLimit headers), ms; null when none. */
  readonly retryAfterMs: number | null;
  constructor(kind: TokenFailureKind, message: string, status: number | null = null, oauthError: string | null = null, retryAfterMs: number | null = null) {
    super(`RESTLAKE_OAUTH2_${kind.toUpperCase()}`, message);
    this.kind = kind;
    this.status = status;
    this.oauthError = oauthError;
    this.retryAfterMs = retryAfterMs;
  }
  /** Worth retrying later (the endpoint may recover), as opposed to a wrong config. */
  get transient(): boolean {
    return this.kind === 'unavailable' || this.kind === 'unreachable' || this.kind === 'bad_response';
  }
}

export type GrantType = 'client_credentials' | 'password' | 'refresh_token';

export interface TokenGrant {
  accessToken: string;
  /** Epoch ms when the token expires (receipt time + expires_in). */
  expiresAtMs: number;
  lifetimeMs: number;
  /** The grant that produced it. */
  grant: GrantType;
}

export interface OAuth2ClientOptions {
  /** Per token request, headers and body together. Default 15 s. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  now?: () => number;
}

const MAX_TOKEN_RESPONSE_BYTES = 256 * 1024;

export class OAuth2Client {
  private readonly auth: OAuth2AuthConfig;
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly now: () => number;
  private readonly primaryGrant: 'client_credentials' | 'password';
  /** HTTP Basic client authentication (§2.3.1), or null for body authentication or a public client. */
  private readonly basicAuth: string | null;
  /** Tokens the server issued (refresh tokens, a refused access token), for the redactor; the newest few. */
  private readonly issued = new LiveSecrets();
  /** Scrubs every secret we hold, in every form, from text a server sent (servers echo input). */
  private readonly redactor: Redactor;
  /** Where and who, for messages: never a secret. */
  private readonly label: string;
  private refreshToken: string | null = null;

  constructor(auth: OAuth2AuthConfig, opts: OAuth2ClientOptions = {}) {
    this.auth = auth;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.dispatcher = opts.dispatcher;
    this.now = opts.now ?? Date.now;
    this.primaryGrant = auth.type === 'oauth2_password' ? 'password' : 'client_credentials';
    if (this.primaryGrant === 'password' && (auth.username === null || auth.password === null)) {
      throw new RestlakeError('RESTLAKE_OAUTH2_CONFIG', 'oauth2_password needs auth.username and auth.password');
    }
    this.basicAuth =
      auth.client_auth === 'basic' && auth.client_secret !== null
        ? Buffer.from(`${formEncode(auth.client_id)}:${formEncode(auth.client_secret)}`).toString('base64')
        : null;
    // The Basic value is a secret of its own: the secret's own forms are not substrings of it.
    this.redactor = createRedactor([auth.client_secret, auth.password, this.basicAuth].filter((s): s is string => !!s), [], this.issued);
    this.label = `${this.primaryGrant} token request to ${safeUrl(auth.token_url)} (client_id "${auth.client_id}")`;
  }

  /** Whether the last response carried a refresh token (the next fetch will use it). */
  get hasRefreshToken(): boolean {
    return this.refreshToken !== null;
  }

  /**
   * A new access token: through the refresh_token grant when the server gave us a
   * refresh token, falling back to the original grant when the refresh is refused.
   */
  async fetchToken(): Promise<TokenGrant> {
    if (this.refreshToken !== null) {
      try {
        return await this.grant('refresh_token');
      } catch (err) {
        // An endpoint that is down will refuse the original grant just the same; let the
        // caller back off and try the refresh token again later.
        if (err instanceof OAuth2TokenError && (err.kind === 'unreachable' || err.kind === 'unavailable')) throw err;
        this.refreshToken = null;
      }
    }
    return this.grant(this.primaryGrant);
  }

  private async grant(grant: GrantType): Promise<TokenGrant> {
    const a = this.auth;
    const form = new URLSearchParams();
    form.set('grant_type', grant);
    if (grant === 'refresh_token') {
      form.set('refresh_token', this.refreshToken!);
    } else {
      if (grant === 'password') {
        form.set('username', a.username!);
        form.set('password', a.password!);
      }
      if (a.scope) form.set('scope', a.scope);
      if (a.audience) form.set('audience', a.audience);
      for (const [k, v] of Object.entries(a.extra_params)) form.set(k, v);
    }
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (this.basicAuth !== null) {
      headers.authorization = `Basic ${this.basicAuth}`;
    } else {
      // Body authentication, or a public client (no secret) that identifies itself by id.
      form.set('client_id', a.client_id);
      if (a.client_secret !== null) form.set('client_secret', a.client_secret);
    }

    const sentAt = this.now();
    let status: number;
    let text: string;
    let contentType: string;
    let resHeaders: Record<string, string>;
    try {
      const res = await request(a.token_url, {
        method: 'POST',
        headers,
        body: form.toString(),
        dispatcher: this.dispatcher,
        signal: AbortSignal.timeout(this.timeoutMs),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      status = res.statusCode;
      contentType = String(res.headers['content-type'] ?? '');
      resHeaders = Object.fromEntries(Object.entries(res.headers).filter((e): e is [string, string] => typeof e[1] === 'string'));
      text = await readCapped(res.body, MAX_TOKEN_RESPONSE_BYTES);
    } catch (err) {
      throw new OAuth2TokenError('unreachable', `${this.describe(grant)} failed: token endpoint unreachable (${networkReason(err)})`);
    }
    return this.interpret(grant, status, contentType, text, sentAt, resHeaders);
  }

  private interpret(grant: GrantType, status: number, contentType: string, text: string, sentAt: number, headers: Record<string, string>): TokenGrant {
    const what = this.describe(grant);
    const body = parseJsonObject(text);
    if (status >= 200 && status < 300) {
      const token = body?.access_token;
      if (typeof token !== 'string' || token === '') {
        const got = body === null ? `a non-JSON body (${contentType || 'no content-type'})` : 'JSON without access_token';
        throw new OAuth2TokenError('bad_response', `${what} got HTTP ${status} with ${got}; expected an RFC 6749 token response`, status);
      }
      const type = body!.token_type;
      if (typeof type === 'string' && type.toLowerCase() !== 'bearer') {
        this.issued.add(token); // refused, never used, but the server may repeat it in token_type
        throw new OAuth2TokenError('bad_response', `${what} got token_type "${this.redactor.text(type)}"; only Bearer tokens are supported`, status);
      }
      const lifetimeMs = expiresInMs(body!.expires_in) ?? this.auth.default_expires_in_ms;
      const refresh = body!.refresh_token;
      // A rotated refresh token replaces the old one; when none comes back the old one stays valid (§6).
      if (typeof refresh === 'string' && refresh !== '') {
        this.refreshToken = refresh;
        this.issued.add(refresh);
      }
      return { accessToken: token, expiresAtMs: sentAt + lifetimeMs, lifetimeMs, grant };
    }

    const code = typeof body?.error === 'string' ? body.error : null;
    const desc = typeof body?.error_description === 'string' ? body.error_description : null;
    const detail = code ? ` (${this.redactor.text(code)}${desc ? ': ' + this.redactor.text(desc).slice(0, 200) : ''})` : '';
    if (status >= 500 || status === 429) {
      const wait = serverBackoffMs(headers, this.now());
      const asked = wait === null ? '' : `, asking to wait ${Math.ceil(wait / 1000)}s`;
      throw new OAuth2TokenError('unavailable', `${what} failed: token endpoint answered HTTP ${status}${detail}${asked}`, status, code, wait);
    }
    if (status >= 300 && status < 400) {
      throw new OAuth2TokenError('bad_response', `${what} got a redirect (HTTP ${status}); token_url must be the token endpoint itself`, status, code);
    }
    if (code === 'invalid_client' || (code === null && status === 401)) {
      throw new OAuth2TokenError('credentials', `${what} failed: wrong client credentials — the server rejected client_id or client_secret (HTTP ${status}${detail})`, status, code);
    }
    if (code === 'invalid_grant') {
      const which =
        grant === 'password' ? 'wrong username or password' : grant === 'refresh_token' ? 'the refresh token was refused' : 'the grant was refused';
      throw new OAuth2TokenError('credentials', `${what} failed: ${which} (HTTP ${status}${detail})`, status, code);
    }
    throw new OAuth2TokenError('rejected', `${what} failed: the server rejected the request (HTTP ${status}${detail})`, status, code);
  }

  private describe(grant: GrantType): string {
    return grant === this.primaryGrant ? this.label : this.label.replace(this.primaryGrant, grant);
  }
}

/** application/x-www-form-urlencoded encoding of one value, as §2.3.1 asks before base64. */
export function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/** The URL for messages: no userinfo, no query (either could carry a secret). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid token_url)';
  }
}

function expiresInMs(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? Math.round(n * 1000) : null;
}

function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function networkReason(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') return code;
    return err.name;
  }
  return 'unknown error';
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
