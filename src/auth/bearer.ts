// auth: bearer, a static token from the config (OAuth2 tokens come from the driver's
// token service instead, see oauth2-middleware.ts). The token is redacted wherever it
// shows up, whether or not the config's secrets caught it.
import type { AuthConfig } from '../config/types.js';
import { liveSecretsOf } from '../middleware/live-secrets.js';
import type { MiddlewareFactory } from '../middleware/types.js';

export type BearerAuthConfig = Extract<AuthConfig, { type: 'bearer' }>;

export const bearerAuth: MiddlewareFactory<BearerAuthConfig> = (config, runtime) => {
  const value = 'Bearer ' + config.token;
  liveSecretsOf(runtime).add(config.token);
  return (ex, next) => {
    ex.request.headers.authorization = value;
    return next();
  };
};
