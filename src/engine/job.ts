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
 * the values workers must not hold (neither in the job nor in their environment).
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

/**
 * The environment for processes that run workers (local workers, spark-submit and the
 * executors it starts): this process's, without the variables that hold a driver-only
 * secret (CLIENT_SECRET=… read by `${env:CLIENT_SECRET}`), so /proc/<pid>/environ of a
 * worker does not hold what its job leaves out. Everything else stays.
 */
export function workerEnv(config: PipelineConfig, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const unset = new Set(driverOnlyEnv(config, env));
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!unset.has(k)) out[k] = v;
  return out;
}

/** The names of the variables workerEnv leaves out. */
export function driverOnlyEnv(config: PipelineConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const hidden = new Set(driverOnlySecrets(config));
  if (hidden.size === 0) return [];
  return Object.keys(env).filter((k) => hidden.has(env[k] as string));
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
