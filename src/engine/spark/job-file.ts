// The serialized WorkerJob for Spark executors, and the files that travel with it.
//
// Executors get everything through `--files`, which lands each file in the working
// directory of the worker process (Spark runs a TRANSFORM script in SparkFiles' root).
// So every local file the config points at (module middleware, TLS files) is shipped
// under a unique plain name and the shipped config points at `./<name>`. The job holds
// no OAuth2 client secret or password: executors get tokens from the driver's token
// service. Basic/bearer credentials do travel (the worker must send them); they live
// only in this file, never in a command line or SQL text.
import { basename } from 'node:path';
import type { PipelineConfig } from '../../config/types.js';
import type { WorkerJob } from '../../worker/types.js';
import { workerConfig } from '../job.js';

export const WORKER_FILE = 'restlake-worker.mjs';
export const JOB_FILE = 'restlake-job.json';

export interface ShippedFile {
  /** Absolute path on the driver host. */
  source: string;
  /** Plain file name in the executors' working directory. */
  name: string;
  /**
   * Ship as one bundled ESM file (module middleware): executors have neither the module's
   * sibling files and node_modules nor esbuild to transpile TypeScript.
   */
  bundle: boolean;
}

export interface SparkJob {
  job: WorkerJob;
  /** Local files the job refers to, to add to --files (besides the worker and the job). */
  files: ShippedFile[];
}

export function buildSparkJob(
  config: PipelineConfig,
  runId: string,
  driver: { url: string; secret: string } | null,
): SparkJob {
  const files: ShippedFile[] = [];
  const ship = (path: string, tag: string, bundle = false): string => {
    const plain = basename(path).replace(/[^A-Za-z0-9._-]/g, '_');
    const name = `restlake-${tag}-${files.length}-${bundle ? plain.replace(/\.[^.]*$/, '') + '.mjs' : plain}`;
    files.push({ source: path, name, bundle });
    return `./${name}`;
  };

  // OAuth2 credentials removed exactly as for local workers.
  const base = workerConfig(config);
  const middleware = base.middleware.map((m) => (m.type === 'module' ? { ...m, path: ship(m.path, 'module', true) } : m));
  const tls = { ...base.transport.tls };
  if (tls.ca_file) tls.ca_file = ship(tls.ca_file, 'ca');
  if (tls.cert_file) tls.cert_file = ship(tls.cert_file, 'cert');
  if (tls.key_file) tls.key_file = ship(tls.key_file, 'key');

  // Relative paths now mean "the executor's working directory", where --files put them.
  const shipped: PipelineConfig = { ...base, middleware, transport: { ...base.transport, tls }, base_dir: '.' };
  return { job: { version: 1, run_id: runId, config: shipped, driver }, files };
}
