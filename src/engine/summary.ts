// What a run returns (runPipeline) and the CLI prints.
import type { LatencyPercentiles } from './stats.js';

export type RunOutcome = 'completed' | 'interrupted' | 'max_requests';

export interface RunSummary {
  run_id: string;
  pipeline: string;
  engine: 'local' | 'spark';
  sink: string;
  outcome: RunOutcome;
  /** Rows in the source (after `limit`), when known. */
  source_rows: number | null;
  /** Source rows skipped because their request_id already succeeded (resume). */
  skipped_succeeded: number | null;
  /** Source rows dropped because their request_id appeared earlier in the source. */
  duplicates: number;
  /** Rows sent this run (one result row each). */
  rows: number;
  succeeded: number;
  failed: number;
  failures_by_class: Record<string, number>;
  latency_ms: LatencyPercentiles;
  elapsed_ms: number;
  rows_per_second: number;
  commits: number;
  table_version: number | null;
  worker_restarts: number;
}
