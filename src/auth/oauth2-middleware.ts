// OAuth2 in the worker: after all the middleware listed, before only the rate-limit
// permits. It sets `authorization: Bearer <token>` with the run's shared token from the
// driver (workers never talk to the identity provider and never hold its credentials).
// When the API answers 401, the token may have been revoked or expired early: ask the
// driver for a new one "if the current one is still the one that failed" (a burst of
// 401s costs one grant) and send the request once more with it. That second send is an
// attempt like any other: it takes a permit of a rate_limit listed after retry. When
// the driver hands back the same token (the API refused a token just issued too, see
// REFUSED_REFRESH_INTERVAL_MS), the 401 stands: sending it again could only get another.
//
// A token fetch or refresh can take seconds (a slow identity provider): the permits
// are taken after it (buildChain), so the rows waiting for a token hold none and do not
// all go when it arrives. After its permits, a row is sent with the token the worker
// holds then (`send.ready`, which the permit layer calls), not the one it got before;
// when the worker holds none safe to send (the permit wait outlasted the token, a
// refresh is under way), the row drops its permits, waits for the token and takes
// them again (permitGate).
//
// Each token is registered with the worker's live secrets when it is first sent, so an
// API echoing it cannot put it in the sink or the logs (the worker never had it in its
// config). Per request that is one string comparison: the driver client hands out the
// same cached string until the token changes.
import type { AuthConfig } from '../config/types.js';
import { RestlakeError, RowError } from '../errors.js';
import { liveSecretsOf } from '../middleware/live-secrets.js';
import type { SendReady } from '../middleware/rate-limit.js';
import type { Exchange, Middleware, MiddlewareFactory, MiddlewareRuntime } from '../middleware/types.js';
import { authIdOf, isOAuth2 } from './oauth2-identity.js';

/**
 * The OAuth2 layer, and what the permit layer after it (buildChain's permitGate) asks
 * just before the send (`send`): whether the worker still holds a token safe to send,
 * put in the request; else a wait for one, holding no permit.
 */
export function oauth2Auth(auth: AuthConfig, runtime: MiddlewareRuntime): { middleware: Middleware; send: SendReady } {
  if (!isOAuth2(auth)) {
    throw new RestlakeError('RESTLAKE_AUTH_TYPE', `oauth2Middleware handles oauth2_* auth, not "${auth.type}"`);
  }
  const driver = runtime.driver;
  if (!driver) {
    // Tokens come from the driver's token service only; a worker has no credentials to get one itself.
    throw new RestlakeError('RESTLAKE_AUTH_NO_DRIVER', `auth ${auth.type} needs the driver's token service, but this worker has no driver`);
  }
  const authId = authIdOf(auth);
  const live = liveSecretsOf(runtime);
  // The token last handed to this layer (the newest, nearly always) and its header value.
  let registered = '';
  let header = '';
  const sending = (token: string): string => {
    if (token !== registered) {
      live.add(token);
      header = `Bearer ${token}`;
    }
    // Kept even when equal: a refetched copy of the same token then compares by identity.
    registered = token;
    return header;
  };

  /** The token, or null after leaving the failure on the exchange (layers never throw past retry). */
  const tokenOr = async (ex: Exchange, get: () => Promise<string>): Promise<string | null> => {
    try {
      return await get();
    } catch (e) {
      ex.response = null;
      ex.error =
        e instanceof RowError
          ? e
          : new RowError('auth', 'RESTLAKE_AUTH_UNAVAILABLE', `could not get an OAuth2 token from the driver (${e instanceof Error ? e.name : 'error'})`, {
              cause: e,
            });
      return null;
    }
  };

  const middleware: Middleware = async (ex, next) => {
    const token = await tokenOr(ex, () => driver.token(authId));
    if (token === null) return;
    ex.request.headers.authorization = sending(token);
    await next();
    if (ex.response?.status !== 401) return;
    // The token sent: beforeSend may have put a newer one in than this row got.
    const sent = ex.request.headers.authorization;
    const stale = sent === header ? registered : typeof sent === 'string' && sent.startsWith('Bearer ') ? sent.slice(7) : token;
    const fresh = await tokenOr(ex, () => driver.refreshToken(authId, stale));
    if (fresh === null || fresh === stale) return;
    ex.request.headers.authorization = sending(fresh);
    await next();
  };
  const stamp = (ex: Exchange): void => {
    if (header !== '') ex.request.headers.authorization = header;
  };
  const ready = (ex: Exchange): true | Promise<boolean> => {
    const cached = driver.cachedToken?.(authId);
    if (cached === undefined) {
      stamp(ex);
      return true;
    }
    if (cached !== null) {
      ex.request.headers.authorization = sending(cached);
      return true;
    }
    return tokenOr(ex, () => driver.token(authId)).then((token) => {
      if (token === null) return false;
      ex.request.headers.authorization = sending(token);
      return true;
    });
  };
  return { middleware, send: { ready, stamp } };
}

export const oauth2Middleware: MiddlewareFactory<AuthConfig> = (auth, runtime) => oauth2Auth(auth, runtime).middleware;
