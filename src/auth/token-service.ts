// The driver's token service: one cached access token per OAuth2 auth config, shared
// by every worker of the run (DESIGN §5).
//
// - refreshed `refresh_margin` before expiry, in the background, so callers rarely wait;
// - at most one token request in flight (single-flight): a thousand callers that need a
//   new token share one grant;
// - `refreshIfStill(stale)`: an API that answered 401 to token T asks for a new token only
//   if the current one is still T, so a burst of 401s costs one refresh; and when the
//   token such a refresh produced is refused too, the next forced refresh waits
//   REFUSED_REFRESH_INTERVAL_MS, so an API that refuses every token costs a grant per
//   30 s, not one per burst;
// - a token endpoint that fails mid-run is retried with jittered backoff (or after the
//   Retry-After it sent, up to RETRY_AFTER_MAX_MS) while callers wait; they get RowError('auth') only once the outage is older than `failure_deadline_ms`;
// - `start()` gets the first token before any API request and turns failure into a
//   RunError (exit 3) that says whether the credentials are wrong or the endpoint is not
//   answering. No message ever holds a secret or a token.
import { MAX_TIMER_MS, sleep, timerMs } from '../middleware/sleep.js';
import { RestlakeError, RowError, RunError } from '../errors.js';
import { OAuth2Client, OAuth2TokenError, safeUrl, type OAuth2ClientOptions, type TokenGrant } from './oauth2-client.js';
import { authIdOf, tokenFingerprint, type OAuth2AuthConfig } from './oauth2-identity.js';

/**
 * How long after a forced refresh (a 401) the token it produced is kept when the API
 * refuses it too. A token that new is not stale: the API refuses these tokens for
 * another reason (wrong audience, missing scope or role), and a grant per burst of 401s
 * would only load the identity provider. The 401s stand meanwhile.
 */
export const REFUSED_REFRESH_INTERVAL_MS = 30_000;

/** The longest wait a Retry-After from the token endpoint gets (a longer one is cut to this). */
export const RETRY_AFTER_MAX_MS = 60_000;

export interface TokenInfo {
  token: string;
  expiresAtMs: number;
  /** When the service will replace it (callers may cache it until then). */
  refreshAtMs: number;
  /**
   * Last moment it is handed out while a refresh is late: a request sent later could
   * reach the API after expiry. Between refreshAtMs and this, callers may reuse it briefly.
   */
  usableUntilMs: number;
}

export interface TokenServiceStats {
  /** Tokens obtained, by any grant (including refresh_token). */
  grants: number;
  /** Of those, obtained with the refresh_token grant. */
  refreshes: number;
  /** Token requests that failed. */
  failures: number;
}

/** Where tokens come from; OAuth2Client in production, anything in tests. */
export interface TokenSource {
  fetchToken(): Promise<TokenGrant>;
}

export interface TokenServiceOptions {
  source?: TokenSource;
  client?: OAuth2ClientOptions;
  /** Backoff between failed token requests: base and cap, ms. Defaults 250 ms and 5 s. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Tries for the first token when the endpoint is down or answers 5xx. Default 3. */
  startAttempts?: number;
  /** Operational messages (refresh failures, recovery); never hold a secret or token. */
  log?: (level: 'info' | 'warn', message: string) => void;
  now?: () => number;
}


export class TokenService {
  readonly id: string;
  private readonly auth: OAuth2AuthConfig;
  private readonly source: TokenSource;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly startAttempts: number;
  private readonly log: (level: 'info' | 'warn', message: string) => void;
  private readonly now: () => number;
  private readonly label: string;

  private current: TokenInfo | null = null;
  private inflight: Promise<TokenInfo> | null = null;
  /** When the current run of failed token requests began; null while healthy. */
  private outageSince: number | null = null;
  private lastError: OAuth2TokenError | null = null;
  /** The token the last forced refresh produced, and when that refresh was forced. */
  private forced: { token: string; at: number } | null = null;
  /** The refused fresh token last warned about (one warning per token). */
  private warnedRefused: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly closing = new AbortController();
  private readonly counts: TokenServiceStats = { grants: 0, refreshes: 0, failures: 0 };

  constructor(auth: OAuth2AuthConfig, opts: TokenServiceOptions = {}) {
    this.auth = auth;
    this.id = authIdOf(auth);
    this.source = opts.source ?? new OAuth2Client(auth, opts.client);
    this.retryBaseMs = opts.retryBaseMs ?? 250;
    this.retryMaxMs = opts.retryMaxMs ?? 5_000;
    this.startAttempts = Math.max(1, opts.startAttempts ?? 3);
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? Date.now;
    this.label = `${auth.type} at ${safeUrl(auth.token_url)} (client_id "${auth.client_id}")`;
  }

  /**
   * Gets the first token. Throws RunError (exit 3) when it cannot: before any API
   * request is sent, so a wrong secret costs nothing.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.adopt(await this.source.fetchToken());
        return;
      } catch (err) {
        this.counts.failures++;
        const e = asTokenError(err);
        if (!e.transient || attempt >= this.startAttempts) throw startFailure(e);
        // Each try may take the whole request timeout (15 s): say why nothing is happening yet.
        const wait = this.retryWait(e, attempt - 1);
        this.log('warn', `first token request failed (attempt ${attempt} of ${this.startAttempts}, retrying in ${seconds(wait)}): ${e.message}`);
        await sleep(wait, this.closing.signal);
      }
    }
  }

  /** A usable token: the cached one, or a fresh one when it is about to expire. */
  async token(): Promise<TokenInfo> {
    const cur = this.current;
    const now = this.now();
    if (cur && now < cur.refreshAtMs) return cur;
    if (cur && this.usable(cur, now)) {
      // In the refresh window: hand out the old token while a new one is fetched.
      void this.refresh().catch(() => {});
      return cur;
    }
    return this.awaitRefresh();
  }

  /**
   * A token other than `stale` (which an API just refused). Only the first caller with
   * a given stale token triggers a grant; the others get the token it produced.
   */
  async refreshIfStill(stale: string): Promise<TokenInfo> {
    const cur = this.current;
    const now = this.now();
    if (cur && cur.token !== stale && this.usable(cur, now)) return cur;
    if (!cur || cur.token !== stale) return this.awaitRefresh();
    if (this.refusedWhileFresh(cur, now)) return cur;
    this.current = null; // the API refused it: nobody gets it again
    const info = await this.awaitRefresh();
    // From when the new token exists (a slow or retried grant must not eat the window).
    this.forced = { token: info.token, at: this.now() };
    return info;
  }

  /** The cached token, without side effects (null before start or after a refused token). */
  peek(): TokenInfo | null {
    return this.current;
  }

  /** refreshIfStill, naming the refused token by its tokenFingerprint(). */
  refreshIfFingerprint(stale: string): Promise<TokenInfo> {
    const cur = this.current;
    return cur && tokenFingerprint(cur.token) === stale ? this.refreshIfStill(cur.token) : this.token();
  }

  stats(): TokenServiceStats {
    return { ...this.counts };
  }

  close(): void {
    this.closing.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Waits for the refresh in flight (starting one if needed), at most until the deadline. */
  private awaitRefresh(): Promise<TokenInfo> {
    const now = this.now();
    const deadlineAt = (this.outageSince ?? now) + this.auth.failure_deadline_ms;
    if (now >= deadlineAt) return Promise.reject(this.deadlineError());
    const refresh = this.refresh();
    return new Promise<TokenInfo>((resolve, reject) => {
      const t = setTimeout(() => reject(this.deadlineError()), timerMs(deadlineAt - now));
      refresh.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(t);
          reject(e);
        },
      );
    });
  }

  /** Single-flight: every caller shares the one token request loop in flight. */
  private refresh(): Promise<TokenInfo> {
    if (this.inflight) return this.inflight;
    const p = this.refreshLoop().finally(() => {
      if (this.inflight === p) this.inflight = null;
    });
    this.inflight = p;
    return p;
  }

  private async refreshLoop(): Promise<TokenInfo> {
    for (let attempt = 0; ; attempt++) {
      if (this.closing.signal.aborted) throw new RestlakeError('RESTLAKE_AUTH_CLOSED', 'token service closed');
      try {
        return this.adopt(await this.source.fetchToken());
      } catch (err) {
        const e = asTokenError(err);
        this.counts.failures++;
        this.lastError = e;
        this.outageSince ??= this.now();
        const wait = this.retryWait(e, attempt);
        this.log('warn', `token refresh failed (attempt ${attempt + 1}, retrying in ${seconds(wait)}): ${e.message}`);
        await sleep(wait, this.closing.signal);
      }
    }
  }

  private adopt(g: TokenGrant): TokenInfo {
    this.counts.grants++;
    if (g.grant === 'refresh_token') this.counts.refreshes++;
    if (this.outageSince !== null) this.log('info', `token endpoint recovered: ${this.label}`);
    this.outageSince = null;
    this.lastError = null;
    // A margin as large as the lifetime would refresh constantly; keep at least 3/4 of it.
    const margin = Math.min(this.auth.refresh_margin_ms, g.lifetimeMs / 4);
    // Keep half the margin (at most 1 s) for the flight of a request that got the token last.
    const slack = Math.min(1_000, margin / 2);
    const info: TokenInfo = {
      token: g.accessToken,
      expiresAtMs: g.expiresAtMs,
      // A Node timer cannot wait longer than MAX_TIMER_MS (~24.8 days): a token that
      // lives longer (expires_in of a year) is replaced then, early, instead of never.
      refreshAtMs: Math.min(g.expiresAtMs - margin, this.now() + MAX_TIMER_MS),
      usableUntilMs: g.expiresAtMs - slack,
    };
    this.current = info;
    this.schedule(info.refreshAtMs);
    return info;
  }

  /** Proactive refresh, so workers swap tokens before any request sees an expired one. */
  private schedule(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.closing.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh().catch(() => {});
    }, timerMs(at - this.now()));
    this.timer.unref();
  }

  /** Whether `cur`, refused, came from a forced refresh under REFUSED_REFRESH_INTERVAL_MS ago (then it is kept). */
  private refusedWhileFresh(cur: TokenInfo, now: number): boolean {
    const f = this.forced;
    if (!f || f.token !== cur.token || now - f.at >= REFUSED_REFRESH_INTERVAL_MS || !this.usable(cur, now)) return false;
    if (this.warnedRefused !== cur.token) {
      this.warnedRefused = cur.token;
      const secs = Math.round(REFUSED_REFRESH_INTERVAL_MS / 1000);
      this.log(
        'warn',
        `the API refused (401) a token just issued for ${this.label}: it rejects these tokens whatever their age (audience, scope or role?); ` +
          `their requests fail with their 401, and the next new token is requested in ${secs}s at the earliest`,
      );
    }
    return true;
  }

  private usable(t: TokenInfo, now: number): boolean {
    return now < t.usableUntilMs;
  }

  /** The backoff, or longer when the endpoint asked for it (Retry-After on a 429 or 503). */
  private retryWait(e: OAuth2TokenError, attempt: number): number {
    return Math.max(this.backoff(attempt), Math.min(e.retryAfterMs ?? 0, RETRY_AFTER_MAX_MS));
  }

  private backoff(attempt: number): number {
    const cap = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(attempt, 20));
    return cap / 2 + Math.random() * (cap / 2); // "equal jitter": never hammer, never sync up
  }

  private deadlineError(): RowError {
    const why = this.lastError ? this.lastError.message : 'no answer from the token endpoint yet';
    const secs = Math.round(this.auth.failure_deadline_ms / 1000);
    return new RowError('auth', 'RESTLAKE_AUTH_UNAVAILABLE', `no OAuth2 token for ${this.label} within ${secs}s: ${why}`);
  }
}

function asTokenError(err: unknown): OAuth2TokenError {
  if (err instanceof OAuth2TokenError) return err;
  // A bug or an unexpected throw from a custom source: report it without its text (it could hold anything).
  return new OAuth2TokenError('bad_response', `token request failed unexpectedly (${err instanceof Error ? err.name : typeof err})`);
}

const START_REASON: Record<OAuth2TokenError['kind'], string> = {
  credentials: 'wrong credentials',
  rejected: 'the token request was rejected',
  unavailable: 'the token endpoint is failing',
  unreachable: 'the token endpoint is unreachable',
  bad_response: 'bad response from the token endpoint',
};

function startFailure(e: OAuth2TokenError): RunError {
  return new RunError('RESTLAKE_AUTH_FAILED', `OAuth2 authentication failed, nothing was sent: ${START_REASON[e.kind]}. ${e.message}`, {
    cause: e,
  });
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

