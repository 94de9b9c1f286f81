// `restlake demo serve`: the demo platform (mock API + OAuth2 server) as a
// long-running service, for docker-compose, the Airflow DAG, or running the
// example configs by hand with `restlake run`. Secrets come from the environment
// (the same variables the example configs read).
import { parseArgs } from 'node:util';
import type { CommandIO } from './commands.js';
import { demoSecretsFromEnv, startDemoPlatform, DEMO_SECRET_VARS } from './demo-servers.js';

const USAGE = `usage: restlake demo serve [--host 127.0.0.1] [--api-port 8200] [--oauth-port 8180]
  Needs ${DEMO_SECRET_VARS.join(', ')} in the environment.
  Pipelines then need RESTLAKE_DEMO_API=http://HOST:API_PORT and RESTLAKE_DEMO_TOKEN_URL=http://HOST:OAUTH_PORT/token.`;

/** Serves until SIGINT/SIGTERM (or `stop`, for tests). 0, or 2 on bad usage. */
export async function runDemoServe(args: string[], io: Pick<CommandIO, 'stdout' | 'stderr' | 'env'>, stop?: Promise<unknown>): Promise<number> {
  let host: string;
  let apiPort: number;
  let oauthPort: number;
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { host: { type: 'string' }, 'api-port': { type: 'string' }, 'oauth-port': { type: 'string' } },
    });
    if (positionals.length > 0) throw new Error(`demo serve: unexpected argument "${positionals[0]}"`);
    const port = (name: string, v: string | undefined, def: number) => {
      const n = v === undefined ? def : Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`demo serve: --${name} must be a port number, got "${v}"`);
      return n;
    };
    host = values.host ?? '127.0.0.1';
    apiPort = port('api-port', values['api-port'], 8200);
    oauthPort = port('oauth-port', values['oauth-port'], 8180);
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const secrets = demoSecretsFromEnv(io.env);
  if ('missing' in secrets) {
    io.stderr.write(`demo serve: set ${secrets.missing.join(', ')} in the environment\n${USAGE}\n`);
    return 2;
  }
  const platform = await startDemoPlatform({ host, apiPort, oauthPort, secrets });
  io.stdout.write(`mock API      ${platform.api.url}  (/v1/none|basic|bearer|oauth2/score/<id>, /health)\n`);
  io.stdout.write(`OAuth2 server ${platform.oauth.tokenUrl}\n`);
  await (stop ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }));
  const s = platform.api.stats();
  await platform.close();
  io.stdout.write(`served ${s.total} requests\n`);
  return 0;
}
