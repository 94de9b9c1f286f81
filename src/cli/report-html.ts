// Renders ReportData as one self-contained HTML page: inline CSS and SVG, no
// scripts, and a Content-Security-Policy that forbids loading anything, so the
// page can be opened from any file share without phoning home.
import type { ReportData } from './report-data.js';
import { STATUS_CLASSES } from './report-data.js';
import { bars, esc, fmtNum, hBars, lineChart, stackedBars, type Series } from './report-svg.js';

const CLASS_COLORS: Record<(typeof STATUS_CLASSES)[number], string> = {
  '2xx': '#2e9d5b',
  '3xx': '#5b8def',
  '4xx': '#e0a100',
  '429': '#b36ae2',
  '5xx': '#d64545',
  'no response': '#6b7280',
};

export function renderReportHtml(d: ReportData): string {
  const t = d.totals;
  const timeLabel = (ms: number) => new Date(ms).toISOString().slice(11, 19);
  const series: Series[] = STATUS_CLASSES.map((c) => ({ name: c, color: CLASS_COLORS[c] }));
  const statusChart = stackedBars(
    'status-timeline',
    `Responses by status class per ${d.bucketSeconds}s (UTC)`,
    'rows',
    series,
    d.timeline.map((p) => ({ label: timeLabel(p.t), values: STATUS_CLASSES.map((c) => p.byClass[c] ?? 0) })),
  );
  const rateChart = lineChart(
    'rows-per-second',
    `Rows per second (${d.bucketSeconds}s buckets, UTC)`,
    'rows/s',
    d.timeline.map((p) => ({ label: timeLabel(p.t), value: p.rows / d.bucketSeconds })),
  );
  const latencyChart = bars(
    'latency-histogram',
    'Latency histogram (duration_ms, all attempts)',
    'rows',
    '#3b82f6',
    d.latency.map((b) => ({ label: b.to === null ? `≥${fmtMs(b.from)}` : `<${fmtMs(b.to)}`, value: b.count })),
  );
  const errorChart = hBars(
    'errors-by-class',
    'Failed rows by error class',
    '#d64545',
    d.errors.map((e) => ({ label: e.errorClass, value: e.count })),
    'no failed rows',
  );

  const cards: Array<[string, string]> = [
    ['rows', fmtNum(t.rows)],
    ['succeeded', `${fmtNum(t.ok)} (${t.rows ? ((t.ok / t.rows) * 100).toFixed(1) : '0'}%)`],
    ['failed', fmtNum(t.failed)],
    ['p50 / p95 / p99', [t.p50, t.p95, t.p99].map((v) => (v === null ? '–' : fmtMs(v))).join(' / ')],
    ['rows/s (overall)', t.rowsPerSecond === null ? '–' : fmtNum(Math.round(t.rowsPerSecond))],
    ['runs', fmtNum(t.runs)],
  ];

  const statusRows = d.statuses.map((s) => `<tr><td>${esc(s.status)}</td><td class="num">${fmtNum(s.count)}</td></tr>`).join('');
  const errorRows = d.errors
    .map((e) => `<tr><td>${esc(e.errorClass)}</td><td class="num">${fmtNum(e.count)}</td><td class="msg">${esc(e.sample ?? '')}</td></tr>`)
    .join('');
  const failureRows = d.recentFailures
    .map(
      (f) =>
        `<tr><td>${f.finishedAt === null ? '' : esc(new Date(f.finishedAt).toISOString())}</td><td class="mono">${esc(f.requestId.slice(0, 16))}…</td><td>${f.status ?? ''}</td><td>${esc(f.errorClass ?? '')}</td><td class="msg">${esc(f.message ?? '')}</td></tr>`,
    )
    .join('');
  const span = t.firstAt !== null && t.lastAt !== null ? `${new Date(t.firstAt).toISOString()} → ${new Date(t.lastAt).toISOString()}` : 'no rows';

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>restlake report · ${esc(d.table)}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1340px; padding: 0 16px; color: #1f2937; background: #f8fafc; }
  h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 0 0 8px; }
  .sub { color: #6b7280; margin-bottom: 16px; word-break: break-all; }
  .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; margin-bottom: 16px; }
  .card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 10px 12px; }
  .card .k { color: #6b7280; font-size: 12px; } .card .v { font-size: 18px; font-weight: 600; }
  .grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(660px, 1fr)); gap: 12px; }
  section { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 12px; margin-bottom: 12px; overflow-x: auto; }
  svg.chart { max-width: 100%; height: auto; font-size: 11px; fill: #374151; }
  svg .grid { stroke: #eef0f3; } svg .axis { stroke: #9ca3af; }
  svg .line { fill: none; stroke: #2563eb; stroke-width: 2; } svg .area { fill: #2563eb22; } svg .dot { fill: #2563eb; }
  svg .empty { fill: #6b7280; font-size: 13px; }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #f1f5f9; vertical-align: top; }
  th { color: #6b7280; font-weight: 600; font-size: 12px; } .num { text-align: right; font-variant-numeric: tabular-nums; }
  .mono { font-family: ui-monospace, monospace; } .msg { color: #4b5563; word-break: break-word; }
</style>
</head>
<body>
<h1>restlake report</h1>
<div class="sub">${esc(d.table)} · pipelines: ${esc(t.pipelines.join(', ') || '–')} · ${esc(span)} · generated ${esc(d.generatedAt)}</div>
<div class="cards">${cards.map(([k, v]) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`).join('')}</div>
<div class="grid2">
<section><h2>Status codes over time</h2>${statusChart}</section>
<section><h2>Rows per second</h2>${rateChart}</section>
<section><h2>Latency</h2>${latencyChart}</section>
<section><h2>Errors by class</h2>${errorChart}</section>
</div>
<section><h2>Status codes</h2><table><thead><tr><th>status</th><th class="num">rows</th></tr></thead><tbody>${statusRows || '<tr><td colspan="2">no rows</td></tr>'}</tbody></table></section>
<section><h2>Errors by class</h2><table><thead><tr><th>class</th><th class="num">rows</th><th>example message</th></tr></thead><tbody>${errorRows || '<tr><td colspan="3">no failed rows</td></tr>'}</tbody></table></section>
<section><h2>Recent failures</h2><table><thead><tr><th>finished</th><th>request_id</th><th>status</th><th>class</th><th>message</th></tr></thead><tbody>${failureRows || '<tr><td colspan="5">no failed rows</td></tr>'}</tbody></table></section>
</body>
</html>
`;
}

function fmtMs(ms: number): string {
  if (ms >= 1000) return `${fmtNum(ms / 1000)}s`;
  return `${fmtNum(ms)}ms`;
}
