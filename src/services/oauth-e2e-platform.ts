// The identity provider and the API of the OAuth2 end-to-end test, in a process of
// their own — as they would be on other machines — so that the run under test (the
// driver, its sink commits) cannot delay their clocks and token checks.
//
// Started by src/services/oauth-e2e.test.ts with the OAuth server options as its only
// argument (JSON). Prints one JSON line { oauth, tokenUrl, api }; then answers every
// line on stdin with one JSON line of stats; exits when stdin closes.
import { createInterface } from 'node:readline';
import { startOAuthServer, type OAuthServerOptions } from '../testkit/oauth-server.js';
import { startMockApi } from '../testkit/mock-api.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as OAuthServerOptions;
const oauth = await startOAuthServer(opts);
const api = await startMockApi({ verifyToken: (t) => oauth.verify(t) });
process.stdout.write(JSON.stringify({ oauth: oauth.url, tokenUrl: oauth.tokenUrl, api: api.url }) + '\n');

const lines = createInterface({ input: process.stdin });
lines.on('line', () => {
  process.stdout.write(JSON.stringify({ oauth: oauth.stats(), issued: oauth.issuedTokens(), api: api.stats() }) + '\n');
});
lines.on('close', () => {
  void Promise.all([api.close(), oauth.close()]).then(() => process.exit(0));
});
