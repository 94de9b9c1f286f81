// auth: basic. The header value is computed once per worker; the middleware sits
// innermost (just before the transport) so every attempt carries it.
import type { AuthConfig } from '../config/types.js';
import type { MiddlewareFactory } from '../middleware/types.js';

export type BasicAuthConfig = Extract<AuthConfig, { type: 'basic' }>;

export const basicAuth: MiddlewareFactory<BasicAuthConfig> = (config) => {
  const value = 'Basic ' + Buffer.from(`${config.username}:${config.password}`, 'utf8').toString('base64');
  return (ex, next) => {
    ex.request.headers.authorization = value;
    return next();
  };
};
