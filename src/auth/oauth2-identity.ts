// Who an OAuth2 auth config is, without its secrets.
//
// The driver keeps one token per auth config and workers ask for it by id. Workers
// get the config with its secrets removed (they never hold a client secret or a
// password), so the id is a hash of exactly the fields both sides still have.
import { createHash } from 'node:crypto';
import type { AuthConfig } from '../config/types.js';

export type OAuth2AuthConfig = Extract<AuthConfig, { type: 'oauth2_client_credentials' | 'oauth2_password' }>;

export function isOAuth2(auth: AuthConfig): auth is OAuth2AuthConfig {
  return auth.type === 'oauth2_client_credentials' || auth.type === 'oauth2_password';
}

/**
 * A stable id for an OAuth2 auth config: the same on the driver (with secrets) and in
 * workers (without). Secrets never enter the hash, so the id reveals nothing about them.
 */
export function authIdOf(auth: OAuth2AuthConfig): string {
  const identity = {
    type: auth.type,
    token_url: auth.token_url,
    client_id: auth.client_id,
    client_auth: auth.client_auth,
    scope: auth.scope,
    audience: auth.audience,
    // Sorted so key order in the user's YAML cannot change the id.
    extra_params: Object.entries(auth.extra_params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    username: auth.username,
  };
  return 'oauth2-' + createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

/** The auth config as shipped to workers: OAuth2 client secret and password removed. */
export function authConfigForWorkers(auth: AuthConfig): AuthConfig {
  if (!isOAuth2(auth)) return auth;
  return { ...auth, client_secret: null, password: null };
}

/**
 * A short digest of a token: how a worker names "the token the API refused" to the
 * driver without sending the token back over the wire.
 */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 32);
}
