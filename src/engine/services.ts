// Starts the driver services (token service, run-wide rate limiter) for a run.
// A thin seam so the engine does not depend on how src/services wires itself.
import type { PipelineConfig } from '../config/types.js';
import type { LogLevel } from './context.js';

export interface RunningServices {
  url: string;
  secret: string;
  close(): Promise<void>;
}

export async function startServices(
  config: PipelineConfig,
  runId: string,
  log: (level: LogLevel, message: string) => void,
): Promise<RunningServices> {
  // Loaded on demand: most runs need no driver services.
  const { startDriverServices } = await import('../services/server.js');
  const s = await startDriverServices({ config, runId, log });
  return { url: s.url, secret: s.secret, close: () => s.close() };
}
