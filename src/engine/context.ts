// What an engine gets for one run, and what it reports while running.
import type { PipelineConfig } from '../config/types.js';
import type { Row } from '../request/types.js';
import type { ProgressSnapshot } from './stats.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RunOptions {
  /** Rows given in memory replace `source`. */
  rows?: Iterable<Row> | AsyncIterable<Row>;
  /** Key columns of `rows` for request_id (default: the config's source.key, else every column). */
  key?: string[];
  /** Aborting stops reading the source; in-flight rows finish and are committed. */
  signal?: AbortSignal;
  /** Called about twice a second while the run goes on. */
  onProgress?: (progress: ProgressSnapshot) => void;
  /** Operational messages (worker restarts, commit retries); silent by default. */
  log?: (level: LogLevel, message: string) => void;
}

export interface EngineContext extends RunOptions {
  config: PipelineConfig;
  runId: string;
  log: (level: LogLevel, message: string) => void;
}
