// The WorkerJob a run hands to its workers (a file: local workers get its path,
// Spark ships it with --files). Workers never hold an OAuth2 client secret or
// password: those stay in the driver's token service.
import type { AuthConfig, PipelineConfig } from '../config/types.js';
import type { WorkerJob } from '../worker/types.js';

/** The config as workers see it: OAuth2 credentials removed (from `auth` and from `secrets`). */
export function workerConfig(config: PipelineConfig): PipelineConfig {
  const auth: AuthConfig = config.auth;
  if (auth.type !== 'oauth2_client_credentials' && auth.type !== 'oauth2_password') return config;
  const hidden = new Set([auth.client_secret, auth.password].filter((s): s is string => typeof s === 'string'));
  return {
    ...config,
    auth: { ...auth, client_secret: null, password: null },
    secrets: config.secrets.filter((s) => !hidden.has(s)),
  };
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
