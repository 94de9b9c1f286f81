// OAuth2 in the worker: the innermost middleware. It sets `authorization: Bearer <token>`
// with the run's shared token from the driver (workers never talk to the identity
// provider and never hold its credentials). When the API answers 401, the token may
// have been revoked or expired early: ask the driver for a new one "if the current one
// is still the one that failed" (a burst of 401s costs one grant) and send the request
// once more with it. That second send is an attempt like any other. When the driver
// hands back the same token (the API refused a token just issued too, see
// REFUSED_REFRESH_INTERVAL_MS), the 401 stands: sending it again could only get another.
//
// Each token is registered with the worker's live secrets when it is first sent, so an
// API echoing it cannot put it in the sink or the logs (the worker never had it in its
// config). Per request that is one string comparison: the driver client hands out the
// same cached string until the token changes.
import type { AuthConfig } from '../config/types.js';
import { RestlakeError, RowError } from '../errors.js';
import { liveSecretsOf } from '../middleware/live-secrets.js';
import type { Exchange, MiddlewareFactory } from '../middleware/types.js';
import { authIdOf, isOAuth2 } from './oauth2-identity.js';

export const oauth2Middleware: MiddlewareFactory<AuthConfig> = (auth, runtime) => {
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
  let registered = '';
  const sending = (token: string): string => {
    if (token !== registered) live.add(token);
    // Kept even when equal: a refetched copy of the same token then compares by identity.
    registered = token;
    return `Bearer ${token}`;
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

  return async (ex, next) => {
    const token = await tokenOr(ex, () => driver.token(authId));
    if (token === null) return;
    ex.request.headers.authorization = sending(token);
    await next();
    if (ex.response?.status !== 401) return;
    const fresh = await tokenOr(ex, () => driver.refreshToken(authId, token));
    if (fresh === null || fresh === token) return;
    ex.request.headers.authorization = sending(fresh);
    await next();
  };
};
