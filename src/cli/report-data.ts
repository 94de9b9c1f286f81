// What the HTML report shows, computed with DuckDB over a view of the sink table.
// Every aggregate runs in SQL, so a report over millions of rows reads only
// small results into JS.
import type { DuckDBConnection } from '@duckdb/node-api';

export interface TimePoint {
  /** Bucket start, epoch ms. */
  t: number;
  /** Rows finished in this bucket by status class (see STATUS_CLASSES). */
  byClass: Record<string, number>;
  rows: number;
}

export interface ReportData {
  table: string;
  generatedAt: string;
  totals: {
    rows: number;
    ok: number;
    failed: number;
    runs: number;
    pipelines: string[];
    firstAt: number | null;     // epoch ms of the first started_at
    lastAt: number | null;      // epoch ms of the last finished_at
    p50: number | null;
    p95: number | null;
    p99: number | null;
    rowsPerSecond: number | null;
  };
  bucketSeconds: number;
  timeline: TimePoint[];
  latency: Array<{ from: number; to: number | null; count: number }>;
  errors: Array<{ errorClass: string; count: number; sample: string | null }>;
  statuses: Array<{ status: string; count: number }>;
  recentFailures: Array<{ finishedAt: number | null; requestId: string; status: number | null; errorClass: string | null; message: string | null }>;
}

/** The status classes the timeline stacks, in drawing order. */
export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '429', '5xx', 'no response'] as const;

/** Latency histogram edges in ms (log-like, covering fast local mocks to slow APIs). */
export const LATENCY_EDGES = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000];

/** Bucket widths the timeline may use, in seconds; the smallest giving ≤ 60 buckets wins. */
const BUCKET_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];

const STATUS_CLASS_SQL = `CASE
  WHEN status_code IS NULL THEN 'no response'
  WHEN status_code = 429 THEN '429'
  WHEN status_code < 300 THEN '2xx'
  WHEN status_code < 400 THEN '3xx'
  WHEN status_code < 500 THEN '4xx'
  ELSE '5xx' END`;

export async function collectReportData(conn: DuckDBConnection, view: string, table: string): Promise<ReportData> {
  const v = '"' + view.replace(/"/g, '""') + '"';
  const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];

  const [t] = await rows(`SELECT
      count(*)::DOUBLE AS rows,
      count(*) FILTER (WHERE success)::DOUBLE AS ok,
      count(DISTINCT run_id)::DOUBLE AS runs,
      list(DISTINCT pipeline ORDER BY pipeline) AS pipelines,
      epoch_ms(min(started_at))::DOUBLE AS first_at,
      epoch_ms(max(finished_at))::DOUBLE AS last_at,
      quantile_cont(duration_ms, 0.5) AS p50,
      quantile_cont(duration_ms, 0.95) AS p95,
      quantile_cont(duration_ms, 0.99) AS p99
    FROM ${v}`);
  const total = num(t.rows) ?? 0;
  const firstAt = num(t.first_at);
  const lastAt = num(t.last_at);
  const spanS = firstAt !== null && lastAt !== null ? Math.max(0, (lastAt - firstAt) / 1000) : 0;
  const bucketSeconds = BUCKET_STEPS.find((s) => spanS / s <= 60) ?? BUCKET_STEPS[BUCKET_STEPS.length - 1];
  const w = bucketSeconds * 1000;

  const timelineRows = await rows(`SELECT
      (floor(epoch_ms(finished_at) / ${w}) * ${w})::DOUBLE AS t,
      ${STATUS_CLASS_SQL} AS cls,
      count(*)::DOUBLE AS n
    FROM ${v} WHERE finished_at IS NOT NULL GROUP BY ALL ORDER BY t`);
  const timeline = fillTimeline(timelineRows, w);

  const edges = LATENCY_EDGES;
  const bucketCase = `CASE ${edges
    .slice(1)
    .map((e, i) => `WHEN duration_ms < ${e} THEN ${i}`)
    .join(' ')} ELSE ${edges.length - 1} END`;
  const latRows = await rows(`SELECT ${bucketCase} AS b, count(*)::DOUBLE AS n FROM ${v} WHERE duration_ms IS NOT NULL GROUP BY ALL`);
  const latCounts = new Map(latRows.map((r) => [Number(r.b), num(r.n) ?? 0]));
  const latency = edges.map((from, i) => ({ from, to: edges[i + 1] ?? null, count: latCounts.get(i) ?? 0 }));
  // Trim empty buckets at both ends so the histogram shows the interesting range.
  while (latency.length > 1 && latency[latency.length - 1].count === 0) latency.pop();
  while (latency.length > 1 && latency[0].count === 0) latency.shift();

  const errors = (
    await rows(`SELECT error_class AS c, count(*)::DOUBLE AS n, any_value(error_message) AS sample
      FROM ${v} WHERE NOT success GROUP BY ALL ORDER BY n DESC, c`)
  ).map((r) => ({ errorClass: String(r.c ?? 'unknown'), count: num(r.n) ?? 0, sample: r.sample === null ? null : String(r.sample) }));

  const statuses = (
    await rows(`SELECT coalesce(CAST(status_code AS VARCHAR), 'none') AS s, count(*)::DOUBLE AS n FROM ${v} GROUP BY ALL ORDER BY n DESC, s`)
  ).map((r) => ({ status: String(r.s), count: num(r.n) ?? 0 }));

  const recentFailures = (
    await rows(`SELECT epoch_ms(finished_at)::DOUBLE AS f, request_id, status_code, error_class, error_message
      FROM ${v} WHERE NOT success ORDER BY finished_at DESC NULLS LAST LIMIT 20`)
  ).map((r) => ({
    finishedAt: num(r.f),
    requestId: String(r.request_id),
    status: num(r.status_code),
    errorClass: r.error_class === null ? null : String(r.error_class),
    message: r.error_message === null ? null : String(r.error_message),
  }));

  const ok = num(t.ok) ?? 0;
  return {
    table,
    generatedAt: new Date().toISOString(),
    totals: {
      rows: total,
      ok,
      failed: total - ok,
      runs: num(t.runs) ?? 0,
      pipelines: Array.isArray(t.pipelines) ? t.pipelines.map(String) : [],
      firstAt,
      lastAt,
      p50: num(t.p50),
      p95: num(t.p95),
      p99: num(t.p99),
      rowsPerSecond: spanS > 0 ? total / spanS : null,
    },
    bucketSeconds,
    timeline,
    latency: total === 0 ? [] : latency,
    errors,
    statuses,
    recentFailures,
  };
}

/** One point per bucket from the first to the last, empty buckets included (gaps matter on a time axis). */
function fillTimeline(rows: Record<string, unknown>[], w: number): TimePoint[] {
  if (rows.length === 0) return [];
  const byT = new Map<number, TimePoint>();
  for (const r of rows) {
    const t = Number(r.t);
    const p = byT.get(t) ?? { t, byClass: {}, rows: 0 };
    const n = num(r.n) ?? 0;
    p.byClass[String(r.cls)] = (p.byClass[String(r.cls)] ?? 0) + n;
    p.rows += n;
    byT.set(t, p);
  }
  const ts = [...byT.keys()].sort((a, b) => a - b);
  const out: TimePoint[] = [];
  for (let t = ts[0]; t <= ts[ts.length - 1]; t += w) out.push(byT.get(t) ?? { t, byClass: {}, rows: 0 });
  return out;
}

function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
