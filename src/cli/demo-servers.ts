// The demo's platform, in process: the mock API and a real OAuth2 server, wired so
// the API checks OAuth2 tokens with the server. Secrets are fresh random values
// per demo run and reach the pipelines only through environment variables, the
// way a real deployment passes them (${env:NAME} in the example configs).
import { randomBytes } from 'node:crypto';
import { startMockApi, type MockApi } from '../testkit/mock-api.js';
import { startOAuthServer, type OAuthServer } from '../testkit/oauth-server.js';

export const DEMO_CLIENT_ID = 'restlake-demo';
export const DEMO_USER = 'demo-user';
export const DEMO_BASIC_USER = 'demo';

export interface DemoPlatform {
  api: MockApi;
  oauth: OAuthServer;
  /** What the example configs read with ${env:…}. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startDemoPlatform(): Promise<DemoPlatform> {
  const secret = () => randomBytes(18).toString('base64url');
  const basicPassword = secret();
  const bearerToken = secret();
  const clientSecret = secret();
  const userPassword = secret();

  const oauth = await startOAuthServer({
    clients: [{ id: DEMO_CLIENT_ID, secret: clientSecret }],
    users: [{ username: DEMO_USER, password: userPassword }],
  });
  let api: MockApi;
  try {
    api = await startMockApi({
      basic: { username: DEMO_BASIC_USER, password: basicPassword },
      bearerToken,
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
    env: {
      RESTLAKE_DEMO_API: api.url,
      RESTLAKE_DEMO_TOKEN_URL: oauth.tokenUrl,
      DEMO_BASIC_PASSWORD: basicPassword,
      DEMO_BEARER_TOKEN: bearerToken,
      DEMO_CLIENT_SECRET: clientSecret,
      DEMO_USER_PASSWORD: userPassword,
    },
    close: async () => {
      await Promise.all([api.close(), oauth.close()]);
    },
  };
}
