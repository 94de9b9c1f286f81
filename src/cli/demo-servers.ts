// The demo's platform: the mock API and a real OAuth2 server, wired so the API
// checks OAuth2 tokens with the server. Secrets reach the pipelines only through
// environment variables, the way a real deployment passes them (${env:NAME} in
// the example configs). In process (`restlake demo`) they are fresh random values
// per run; as a service (`restlake demo serve`, docker-compose, Airflow) they come
// from the environment.
import { randomBytes } from 'node:crypto';
import { startMockApi, type MockApi } from '../testkit/mock-api.js';
import { startOAuthServer, type OAuthServer } from '../testkit/oauth-server.js';

export const DEMO_CLIENT_ID = 'restlake-demo';
export const DEMO_USER = 'demo-user';
export const DEMO_BASIC_USER = 'demo';

/** The environment variables holding the demo's secrets, as the example configs name them. */
export const DEMO_SECRET_VARS = ['DEMO_BASIC_PASSWORD', 'DEMO_BEARER_TOKEN', 'DEMO_CLIENT_SECRET', 'DEMO_USER_PASSWORD'] as const;
export type DemoSecrets = Record<(typeof DEMO_SECRET_VARS)[number], string>;

export interface DemoPlatformOptions {
  host?: string;          // default 127.0.0.1
  apiPort?: number;       // default 0
  oauthPort?: number;     // default 0
  /** Default: fresh random values. */
  secrets?: DemoSecrets;
}

export interface DemoPlatform {
  api: MockApi;
  oauth: OAuthServer;
  /** What the example configs read with ${env:…}: the two URLs and the secrets. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export function randomDemoSecrets(): DemoSecrets {
  const s = () => randomBytes(18).toString('base64url');
  return { DEMO_BASIC_PASSWORD: s(), DEMO_BEARER_TOKEN: s(), DEMO_CLIENT_SECRET: s(), DEMO_USER_PASSWORD: s() };
}

/** The secrets from an environment; names the missing variables. */
export function demoSecretsFromEnv(env: NodeJS.ProcessEnv): DemoSecrets | { missing: string[] } {
  const missing = DEMO_SECRET_VARS.filter((k) => !env[k]);
  if (missing.length > 0) return { missing };
  return Object.fromEntries(DEMO_SECRET_VARS.map((k) => [k, env[k]!])) as DemoSecrets;
}

export async function startDemoPlatform(opts: DemoPlatformOptions = {}): Promise<DemoPlatform> {
  const secrets = opts.secrets ?? randomDemoSecrets();
  const host = opts.host ?? '127.0.0.1';
  const oauth = await startOAuthServer({
    clients: [{ id: DEMO_CLIENT_ID, secret: secrets.DEMO_CLIENT_SECRET }],
    users: [{ username: DEMO_USER, password: secrets.DEMO_USER_PASSWORD }],
    host,
    port: opts.oauthPort ?? 0,
  });
  let api: MockApi;
  try {
    api = await startMockApi({
      host,
      port: opts.apiPort ?? 0,
      basic: { username: DEMO_BASIC_USER, password: secrets.DEMO_BASIC_PASSWORD },
      bearerToken: secrets.DEMO_BEARER_TOKEN,
      verifyToken: (t) => oauth.verify(t),
      // A little spread, so the latency histogram of a demo table has a shape.
      latencyMs: [1, 12],
    });
  } catch (err) {
    await oauth.close();
    throw err;
  }
  return {
    api,
    oauth,
    env: { RESTLAKE_DEMO_API: api.url, RESTLAKE_DEMO_TOKEN_URL: oauth.tokenUrl, ...secrets },
    close: async () => {
      await Promise.all([api.close(), oauth.close()]);
    },
  };
}
