// What `restlake demo` prints at the end: a table per pipeline, what the mock API
// and the OAuth2 server saw, and how to look at the tables; or the same as JSON.
import { join } from 'node:path';
import type { RunSummary } from '../index.js';
import type { MockApiStats } from '../testkit/mock-api.js';
import type { OAuthServerStats } from '../testkit/oauth-server.js';
import type { DemoPipeline } from './demo-configs.js';
import { fmt } from './demo-progress.js';

export interface DemoOutcome {
  pipeline: DemoPipeline;
  summary: RunSummary | null;
  error: string | null;
}

export interface DemoResult {
  dir: string;
  elapsedMs: number;
  outcomes: DemoOutcome[];
  api: MockApiStats;
  oauth: OAuthServerStats;
  interrupted: boolean;
}

export function demoJson(r: DemoResult): Record<string, unknown> {
  return {
    ok: !r.interrupted && r.outcomes.every((o) => o.summary !== null && o.summary.failed === 0),
    dir: r.dir,
    elapsed_ms: r.elapsedMs,
    interrupted: r.interrupted,
    pipelines: r.outcomes.map((o) => ({ name: o.pipeline.name, config: o.pipeline.config, table: o.pipeline.table, summary: o.summary, error: o.error })),
    mock_api: r.api,
    oauth: { grants: r.oauth.grants, refused: r.oauth.refused },
  };
}

/** `shown` makes a path relative to where the user is. */
export function demoSummaryText(r: DemoResult, shown: (p: string) => string): string {
  const { api, oauth } = r;
  const total = r.outcomes.reduce((a, o) => a + (o.summary?.rows ?? 0), 0);
  const rejected = Object.values(api.byAuth).reduce((a, b) => a + b.rejected, 0);
  const grants = oauth.grants.client_credentials + oauth.grants.password + oauth.grants.refresh_token;
  const first = r.outcomes[0].pipeline;
  const allOk = r.outcomes.every((o) => o.summary !== null && o.summary.failed === 0);
  let s = `\n${r.outcomes.length} pipelines, ${fmt(total)} requests in ${(r.elapsedMs / 1000).toFixed(1)}s\n\n`;
  s += summaryTable(r.outcomes, shown) + '\n';
  s +=
    `mock API: ${fmt(api.total)} requests (none ${fmt(api.byAuth.none.accepted)}, basic ${fmt(api.byAuth.basic.accepted)}, ` +
    `bearer ${fmt(api.byAuth.bearer.accepted)}, oauth2 ${fmt(api.byAuth.oauth2.accepted)}), ${fmt(rejected)} rejected\n`;
  s +=
    `OAuth2 server: ${fmt(grants)} token grants (client_credentials ${oauth.grants.client_credentials}, password ${oauth.grants.password}, ` +
    `refresh ${oauth.grants.refresh_token}) served ${fmt(api.byAuth.oauth2.accepted + api.byAuth.oauth2.rejected)} API calls: ` +
    `the driver's token service shares one token per auth config\n\n`;
  s += `Look at the results:\n`;
  s += `  npx restlake inspect ${shown(first.table)}\n`;
  s += `  npx restlake inspect ${shown(first.table)} --sql "SELECT region, avg(score) FROM results GROUP BY 1"\n`;
  s += `  npx restlake report ${shown(first.table)} --html ${shown(join(r.dir, 'report.html'))}\n`;
  s += `  configs that ran: ${shown(join(r.dir, 'pipelines'))}/*.yaml (from examples/)\n`;
  if (r.interrupted) s += `\ninterrupted: what finished is committed; run the demo again to start over\n`;
  else if (!allOk) s += `\nsome demo rows did not succeed: see the failures above\n`;
  return s;
}

function summaryTable(outcomes: DemoOutcome[], shown: (p: string) => string): string {
  const head = ['pipeline', 'rows', 'ok', 'failed', 'p50', 'p95', 'rows/s', 'table'];
  const body = outcomes.map((o) => {
    const s = o.summary;
    if (!s) return [o.pipeline.name, '–', '–', '–', '–', '–', '–', `could not run: ${o.error}`];
    const failed = Object.entries(s.failures_by_class).map(([c, n]) => `${c} ${n}`).join(', ');
    return [
      s.pipeline,
      fmt(s.rows),
      fmt(s.succeeded),
      s.failed ? `${fmt(s.failed)} (${failed})` : '0',
      ms(s.latency_ms.p50),
      ms(s.latency_ms.p95),
      fmt(s.rows_per_second),
      shown(o.pipeline.table),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 1 && i <= 6 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n') + '\n';
}

function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return v >= 1000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`;
}

