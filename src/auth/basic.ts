// auth: basic. The header value is computed once per worker; the middleware sits
// after all the middleware listed (before only the rate-limit permits and the
// transport) so every attempt carries it. The value and its
// base64 part are secrets of their own: the password's base64 appears inside the
// credential's only by alignment luck, so an API echoing the header would leak it.
import type { AuthConfig } from '../config/types.js';
import { liveSecretsOf } from '../middleware/live-secrets.js';
import type { MiddlewareFactory } from '../middleware/types.js';

export type BasicAuthConfig = Extract<AuthConfig, { type: 'basic' }>;

export const basicAuth: MiddlewareFactory<BasicAuthConfig> = (config, runtime) => {
  const credential = Buffer.from(`${config.username}:${config.password}`, 'utf8').toString('base64');
  const value = 'Basic ' + credential;
  const live = liveSecretsOf(runtime);
  live.add(value);
  live.add(credential);
  return (ex, next) => {
    ex.request.headers.authorization = value;
    return next();
  };
};
