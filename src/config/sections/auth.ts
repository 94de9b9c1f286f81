// auth: how requests authenticate (OAuth2 tokens are fetched by the driver).
import { z } from 'zod';
import type { AuthConfig } from '../types.js';
import { duration, positiveDuration, show, strictObject } from '../schema-parts.js';
import { byType, enumOf, orTypeName, scalarLiteral } from './common.js';

export const AUTH_TYPES = ['none', 'basic', 'bearer', 'oauth2_client_credentials', 'oauth2_password'] as const;

const secret = (what: string) =>
  z.string({ error: (iss) => (iss.input === undefined ? 'is required' : `expected ${what} as a string`) }).min(1, { error: 'must not be empty' });
const httpUrl = z
  .string()
  .regex(/^[hH][tT][tT][pP][sS]?:\/\/[^\s/?#]+/, { error: (iss) => `${show(iss.input)} is not an http(s) URL` });
const oauthCommon = {
  token_url: httpUrl.describe('The token endpoint of the identity provider.'),
  client_id: z.string().min(1).describe('OAuth2 client id.'),
  client_auth: enumOf(['basic', 'body'] as const, 'client_auth')
    .default('basic')
    .describe('How the client authenticates to the token endpoint: HTTP basic (default) or in the form body.'),
  scope: z
    .union([z.string(), z.array(z.string().min(1))])
    .nullable()
    .default(null)
    .describe('Scope(s): "read write" or [read, write].'),
  audience: z.string().nullable().default(null).describe('Audience parameter, for providers that need one.'),
  extra_params: z.record(z.string(), scalarLiteral()).default({}).describe('More form parameters for the token request.'),
  refresh_margin: duration('60s').describe('Refresh the token this long before it expires.'),
  default_expires_in: positiveDuration('300s').describe('Token lifetime assumed when the server sends no expires_in.'),
  failure_deadline: duration('120s').describe('Keep retrying the token endpoint this long before rows fail with error_class auth.'),
};
export const auth = orTypeName(
  byType(
  [
    strictObject({ type: z.literal('none') }).describe('No authentication.'),
    strictObject({
      type: z.literal('basic'),
      username: z.string().describe('User name.'),
      password: secret('a password').describe('Password; use ${env:NAME} or ${file:path}.'),
    }).describe('HTTP basic authentication.'),
    strictObject({
      type: z.literal('bearer'),
      token: secret('a token').describe('A static bearer token; use ${env:NAME} or ${file:path}.'),
    }).describe('A static bearer token.'),
    strictObject({
      type: z.literal('oauth2_client_credentials'),
      ...oauthCommon,
      client_secret: secret('a client secret').describe('OAuth2 client secret; use ${env:NAME} or ${file:path}.'),
    }).describe('OAuth2 client credentials grant; tokens are fetched and refreshed by the driver.'),
    strictObject({
      type: z.literal('oauth2_password'),
      ...oauthCommon,
      client_secret: secret('a client secret').nullable().default(null).describe('OAuth2 client secret (public clients have none).'),
      username: z.string().min(1).describe('Resource owner user name.'),
      password: secret('a password').describe('Resource owner password; use ${env:NAME} or ${file:path}.'),
    }).describe('OAuth2 resource owner password grant.'),
  ],
  AUTH_TYPES,
  'auth',
)
  .transform((v): AuthConfig => {
    if (v.type !== 'oauth2_client_credentials' && v.type !== 'oauth2_password') return v;
    return {
      type: v.type,
      token_url: v.token_url,
      client_id: v.client_id,
      client_secret: v.client_secret,
      client_auth: v.client_auth,
      scope: Array.isArray(v.scope) ? v.scope.join(' ') : v.scope,
      audience: v.audience,
      extra_params: v.extra_params,
      username: v.type === 'oauth2_password' ? v.username : null,
      password: v.type === 'oauth2_password' ? v.password : null,
      refresh_margin_ms: v.refresh_margin,
      default_expires_in_ms: v.default_expires_in,
      failure_deadline_ms: v.failure_deadline,
    };
  }),
  AUTH_TYPES,
  'How requests authenticate: none | basic | bearer | oauth2_client_credentials | oauth2_password (`auth: none` is short for {type: none}).',
);
