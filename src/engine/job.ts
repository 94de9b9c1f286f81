// The WorkerJob a run hands to its workers (a file: local workers get its path,
// Spark ships it with --files). Workers never hold an OAuth2 client secret or
// password the token service alone uses: those stay in the driver. A value the config
// also uses elsewhere (a header, a URL, a body, a module's options) travels in those
// places anyway, so it stays in the workers' `secrets` and their redactor scrubs it.
import type { AuthConfig, PipelineConfig } from '../config/types.js';
import type { WorkerJob } from '../worker/types.js';

/**
 * The config as workers see it: OAuth2 credentials removed from `auth`, and from
 * `secrets` unless another part of the config still carries them.
 */
export function workerConfig(config: PipelineConfig): PipelineConfig {
  const auth: AuthConfig = config.auth;
  if (auth.type !== 'oauth2_client_credentials' && auth.type !== 'oauth2_password') return config;
  const stripped: PipelineConfig = { ...config, auth: { ...auth, client_secret: null, password: null } };
  const hidden = new Set(driverOnlySecrets(config, stripped));
  return { ...stripped, secrets: config.secrets.filter((s) => !hidden.has(s)) };
}

/**
 * The OAuth2 client secret and password when nothing but the token service uses them:
 * the values workers must not hold.
 */
export function driverOnlySecrets(config: PipelineConfig, stripped?: PipelineConfig): string[] {
  const auth = config.auth;
  if (auth.type !== 'oauth2_client_credentials' && auth.type !== 'oauth2_password') return [];
  // Everything the job carries besides the secrets list, as the job file writes it.
  const rest = JSON.stringify({ ...(stripped ?? { ...config, auth: { ...auth, client_secret: null, password: null } }), secrets: [] });
  return [auth.client_secret, auth.password].filter(
    (s): s is string => typeof s === 'string' && s !== '' && !rest.includes(JSON.stringify(s).slice(1, -1)),
  );
}

export function buildJob(config: PipelineConfig, runId: string, driver: { url: string; secret: string } | null): WorkerJob {
  return { version: 1, run_id: runId, config: workerConfig(config), driver };
}

/** Whether the run needs driver services (tokens or a run-wide rate limit). */
export function needsDriverServices(config: PipelineConfig): boolean {
  return (
    config.auth.type === 'oauth2_client_credentials' ||
    config.auth.type === 'oauth2_password' ||
    config.middleware.some((m) => m.type === 'rate_limit')
  );
}

/** A run id: sortable UTC time plus randomness. */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const rand = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
  return `${t}-${rand}`;
}
