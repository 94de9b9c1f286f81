// Human-readable numbers and the end-of-run summary.
import type { RunSummary } from '../engine/summary.js';

export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function ms(n: number): string {
  if (n >= 10_000) return `${(n / 1000).toFixed(1)} s`;
  if (n >= 100) return `${Math.round(n)} ms`;
  return `${n.toFixed(1)} ms`;
}

export function duration(totalMs: number): string {
  const s = Math.max(0, Math.round(totalMs / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const OUTCOME: Record<RunSummary['outcome'], string> = {
  completed: 'completed',
  interrupted: 'interrupted (results so far are committed; run again to finish)',
  max_requests: 'stopped at max_requests (run again to continue)',
};

export function formatSummary(s: RunSummary): string {
  const lines = [
    `${s.pipeline}: ${OUTCOME[s.outcome]}  run ${s.run_id}`,
    `  rows       ${int(s.rows)} sent in ${duration(s.elapsed_ms)} (${int(s.rows_per_second)} rows/s)`,
    `  succeeded  ${int(s.succeeded)}`,
    `  failed     ${int(s.failed)}${Object.keys(s.failures_by_class).length ? '  (' + Object.entries(s.failures_by_class).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${int(v)}`).join(', ') + ')' : ''}`,
    `  latency    p50 ${ms(s.latency_ms.p50)}  p95 ${ms(s.latency_ms.p95)}  p99 ${ms(s.latency_ms.p99)}  max ${ms(s.latency_ms.max)}`,
  ];
  const skipped: string[] = [];
  if (s.skipped_succeeded) skipped.push(`${int(s.skipped_succeeded)} already succeeded`);
  if (s.duplicates) skipped.push(`${int(s.duplicates)} duplicate keys`);
  if (skipped.length) lines.push(`  skipped    ${skipped.join(', ')}`);
  lines.push(`  sink       ${s.sink}${s.table_version !== null ? ` (version ${s.table_version}, ${s.commits} commits)` : ''}`);
  if (s.worker_restarts) lines.push(`  workers    ${s.worker_restarts} restarted after dying (their rows were re-sent)`);
  return lines.join('\n');
}
