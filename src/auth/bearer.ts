// auth: bearer, a static token from the config (OAuth2 tokens come from the driver's
// token service instead, see oauth2-middleware.ts).
import type { AuthConfig } from '../config/types.js';
import type { MiddlewareFactory } from '../middleware/types.js';

export type BearerAuthConfig = Extract<AuthConfig, { type: 'bearer' }>;

export const bearerAuth: MiddlewareFactory<BearerAuthConfig> = (config) => {
  const value = 'Bearer ' + config.token;
  return (ex, next) => {
    ex.request.headers.authorization = value;
    return next();
  };
};
