// Other writers of the sink table: another run of the same pipeline committing results for
// the same request_ids (overlapping cron runs, an orchestrator's retry), and a writer that
// adds a nullable column. The sink never holds two success rows for one request_id, and a
// table schema that only gained nullable columns still takes this pipeline's rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '../duckdb.js';
import { loadConfig } from '../config/load.js';
import type { PipelineConfig } from '../config/types.js';
import { DeltaTable, type StructType } from '../delta/index.js';
import { RunError } from '../errors.js';
import { runPipeline } from '../index.js';
import { createResultSerializer, failedResult } from '../worker/result.js';
import { queryTable, startTestServer, tempDir } from '../engine/e2e-support.js';
import { sinkSchema } from './schema.js';
import { Sink } from './sink.js';

interface Env {
  dir: string;
  path: string;
  conn: DuckDBConnection;
  config: PipelineConfig;
  schema: StructType;
  /** Spools results of `runId` (success unless listed in `failed`) and returns the file. */
  spool(runId: string, ids: string[], failed?: string[]): Promise<string>;
}

async function withEnv(fn: (env: Env) => Promise<void>): Promise<void> {
  const tmp = await tempDir();
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  let n = 0;
  try {
    const path = join(tmp.dir, 'sink');
    const config = await loadConfig({
      version: 1,
      name: 'conc_t',
      source: { path: join(tmp.dir, 'x.csv'), format: 'csv' },
      request: { url: 'http://127.0.0.1/{{ id }}' },
      sink: { path, source_columns: ['id'] },
    });
    const schema = sinkSchema(config, [{ name: 'id', duckType: 'INTEGER' }]);
    const serialize = createResultSerializer(config);
    const spool = async (runId: string, ids: string[], failed: string[] = []): Promise<string> => {
      const lines = ids.map((id, i) => {
        const r = failedResult(config, runId, id, 'http_status', 'x', { id: i });
        if (!failed.includes(id)) Object.assign(r, { success: true, status_code: 200, error_class: null, error_message: null, response_body: `${runId}:${id}` });
        return serialize(r);
      });
      const file = join(tmp.dir, `spool-${n++}.ndjson`);
      await writeFile(file, lines.join('\n') + '\n');
      return file;
    };
    await fn({ dir: tmp.dir, path, conn, config, schema, spool });
  } finally {
    conn.closeSync();
    duck.closeSync();
    await tmp.cleanup();
  }
}

type Row = { request_id: string; run_id: string; success: boolean; error_class: string | null; error_message: string | null };
const rowsOf = (path: string): Promise<Row[]> =>
  queryTable<Row>(path, 'SELECT request_id, run_id, success, error_class, error_message FROM t ORDER BY request_id, run_id');

function successesPerId(rows: Row[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) if (r.success) m.set(r.request_id, (m.get(r.request_id) ?? 0) + 1);
  return m;
}

test('a commit keeps out successes another run committed since this run looked: they land as duplicate rows, and the send loop skips those ids', async () => {
  await withEnv(async ({ path, conn, config, schema, spool }) => {
    const seed = await Sink.open(config, schema, 'run-0');
    await seed.commit(conn, [await spool('run-0', ['a'])]);

    const warnings: string[] = [];
    const mine = await Sink.open(config, schema, 'run-a', (level, m) => level === 'warn' && warnings.push(m));
    const other = await Sink.open(config, schema, 'run-b');
    // The other run commits b (success) and c (a failure) after this run opened the sink.
    await other.commit(conn, [await spool('run-b', ['b', 'c'], ['c'])]);
    assert.equal(mine.committedElsewhere('b'), false);
    await mine.refresh(conn);
    assert.equal(mine.committedElsewhere('b'), true, 'a success another run committed is skipped from now on');
    assert.equal(mine.committedElsewhere('c'), false, 'a failure is not');
    assert.equal(mine.committedElsewhere('a'), false, 'successes from before this run started are the resume set\'s');
    assert.match(warnings.join('\n'), /another run of pipeline conc_t \(run_id run-b\) is committing to sink .* while this run goes on/);

    // This run had sent b and c too (before it knew): b is kept as a duplicate, c succeeds.
    const r = await mine.commit(conn, [await spool('run-a', ['b', 'c', 'd'])]);
    assert.equal(r.rows, 3);
    assert.equal(mine.duplicates, 1);
    const rows = await rowsOf(path);
    assert.deepEqual([...successesPerId(rows)].sort(), [['a', 1], ['b', 1], ['c', 1], ['d', 1]]);
    const dup = rows.find((x) => x.request_id === 'b' && x.run_id === 'run-a');
    assert.deepEqual({ ...dup, error_message: undefined }, { request_id: 'b', run_id: 'run-a', success: false, error_class: 'duplicate', error_message: undefined });
    assert.match(dup!.error_message!, /another run \(run_id run-b\) committed a success row for this request_id first/);
    const [kept] = await queryTable<{ body: string; status: number }>(path, `SELECT response_body AS body, status_code AS status FROM t WHERE request_id = 'b' AND run_id = 'run-a'`);
    assert.deepEqual(kept, { body: 'run-a:b', status: 200 }, 'the duplicate keeps its response, for the record');

    // The other run, in turn, does not commit c or d as successes again; its own next ids land.
    await other.commit(conn, [await spool('run-b', ['c', 'd', 'e'])]);
    const after = successesPerId(await rowsOf(path));
    assert.deepEqual([...after].sort(), [['a', 1], ['b', 1], ['c', 1], ['d', 1], ['e', 1]]);
    assert.equal(other.duplicates, 2);
    // A resumed run still sees one success per id.
    const resumed = await Sink.open(config, schema, 'run-c');
    const t = await resumed.succeededIds(conn);
    const ids = (await conn.runAndReadAll(`SELECT count(*)::INT AS n, count(DISTINCT request_id)::INT AS d FROM ${t}`)).getRowObjectsJson();
    assert.deepEqual(ids, [{ n: 5, d: 5 }]);
  });
});

test('a commit another run lands between this commit\'s look at the table and its own commit: rows it shares are written again as duplicates, others move past it', async () => {
  await withEnv(async ({ path, conn, config, schema, spool }) => {
    const seed = await Sink.open(config, schema, 'run-0');
    await seed.commit(conn, [await spool('run-0', ['a'])]);
    const mine = await Sink.open(config, schema, 'run-a');
    const other = await Sink.open(config, schema, 'run-b');
    const otherFile = await spool('run-b', ['x', 'y']);
    const otherFile2 = await spool('run-b', ['p']);

    // Just before this run's next commit attempt (its files are written), the other run commits.
    const storage = mine.table.storage;
    const put = storage.putIfAbsent.bind(storage);
    let interleave: (() => Promise<unknown>) | null = null;
    let attempts = 0;
    storage.putIfAbsent = async (rel, data) => {
      if (rel.startsWith('_delta_log/') && rel.endsWith('.json')) {
        attempts++;
        const hook = interleave;
        interleave = null;
        if (hook) await hook();
      }
      return put(rel, data);
    };

    // Shares y with the commit that wins the race: written again, y as a duplicate.
    interleave = () => other.commit(conn, [otherFile]);
    const r = await mine.commit(conn, [await spool('run-a', ['y', 'z'])]);
    assert.equal(r.rows, 2);
    assert.equal(mine.duplicates, 1);
    assert.equal(mine.committedElsewhere('x'), true);
    let rows = await rowsOf(path);
    assert.deepEqual([...successesPerId(rows)].sort(), [['a', 1], ['x', 1], ['y', 1], ['z', 1]]);
    assert.deepEqual(rows.filter((x) => x.request_id === 'y').map((x) => [x.run_id, x.success, x.error_class]), [['run-a', false, 'duplicate'], ['run-b', true, null]]);
    assert.equal(attempts, 2, 'lost the race, then written again and committed');

    // Shares nothing with it: the commit simply lands at the next version.
    attempts = 0;
    interleave = () => other.commit(conn, [otherFile2]);
    await mine.commit(conn, [await spool('run-a', ['q'])]);
    assert.equal(attempts, 2, 'lost the race, then committed at the next version');
    assert.equal(mine.duplicates, 1);
    rows = await rowsOf(path);
    assert.deepEqual([...successesPerId(rows)].sort(), [['a', 1], ['p', 1], ['q', 1], ['x', 1], ['y', 1], ['z', 1]]);
    // Files of the abandoned attempt are gone: every data file is in the log.
    const snap = await DeltaTable.forPath(path).latestSnapshot();
    const live = new Set(snap!.files.map((f) => f.path));
    const onDisk = (await storage.list('', { recursive: true })).map((f) => f.path).filter((p) => p.endsWith('.parquet'));
    assert.deepEqual(onDisk.filter((p) => !live.has(p)), []);
  });
});

test('two runs of one pipeline into one sink at once: one success row per request_id, and every id succeeds', { timeout: 120_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer((req) => {
    const id = /\/items\/(\d+)/.exec(req.url)?.[1];
    return { status: 200, body: JSON.stringify({ id }), delayMs: 5 };
  });
  try {
    const N = 1500;
    const csv = join(tmp.dir, 'src.csv');
    await writeFile(csv, ['id', ...Array.from({ length: N }, (_, i) => String(i + 1))].join('\n') + '\n');
    const sink = join(tmp.dir, 'lake');
    const config = {
      version: 1,
      name: 'two_runs',
      source: { path: csv, key: ['id'] },
      request: { url: `${server.url}/items/{{ id }}` },
      sink: { path: sink, source_columns: ['id'] },
      execution: { workers: 1, concurrency: 16, commit_rows: 100, commit_interval: '200ms' },
    };
    await runPipeline({ ...config, source: { ...config.source, limit: 10 } });
    const warnings: string[] = [];
    const log = (level: string, m: string): void => void (level === 'warn' && warnings.push(m));
    const [a, b] = await Promise.all([runPipeline(config, { log }), runPipeline(config, { log })]);
    assert.equal(a.outcome, 'completed');
    assert.equal(b.outcome, 'completed');
    const [t] = await queryTable<{ ok: number; ids: number; dupRows: number; other: number }>(
      sink,
      `SELECT count(*) FILTER (WHERE success)::INT AS ok, count(DISTINCT request_id) FILTER (WHERE success)::INT AS ids, ` +
        `count(*) FILTER (WHERE error_class = 'duplicate')::INT AS dupRows, count(*) FILTER (WHERE NOT success AND error_class <> 'duplicate')::INT AS other FROM t`,
    );
    assert.deepEqual({ ok: t!.ok, ids: t!.ids, other: t!.other }, { ok: N, ids: N, other: 0 });
    // Every request both runs sent left one success row and one duplicate row.
    const sent = server.count() - 10;
    assert.equal(t!.dupRows, sent - (N - 10), `${sent} requests for ${N - 10} ids`);
    if (t!.dupRows > 0) assert.ok(warnings.some((w) => /another run of pipeline two_runs/.test(w)));
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('a table another writer gave an extra nullable column takes this pipeline\'s rows, at open and mid-run (nulls there); a non-nullable one is refused', async () => {
  await withEnv(async ({ path, conn, config, schema, spool }) => {
    const first = await Sink.open(config, schema, 'run-0');
    await first.commit(conn, [await spool('run-0', ['a'])]);
    const mine = await Sink.open(config, schema, 'run-a');

    // Mid-run: another writer appends with a new nullable column (delta-rs schema_mode=merge).
    const extended: StructType = { ...schema, fields: [...schema.fields, { name: 'note', type: 'string', nullable: true, metadata: {} }] };
    const cols = schema.fields.map((f) => f.name);
    const source = `SELECT ${cols.map((c) => (c === 'request_id' ? `'other-1' AS request_id` : c)).join(', ')}, 'from another writer' AS note FROM restlake_src`;
    await DeltaTable.forPath(path).registerScan(conn, 'restlake_src');
    await DeltaTable.forPath(path).write(conn, { selectSql: source, schema: extended, mode: 'append', mergeSchema: true });

    await mine.commit(conn, [await spool('run-a', ['b'])]);
    // At open, too: a later run (resume) takes the table as it is.
    const later = await Sink.open(config, schema, 'run-b');
    assert.equal(later.exists, true);
    await later.commit(conn, [await spool('run-b', ['c'])]);
    const rows = await queryTable<{ request_id: string; note: string | null }>(path, 'SELECT request_id, note FROM t ORDER BY request_id');
    assert.deepEqual(rows, [
      { request_id: 'a', note: null },
      { request_id: 'b', note: null },
      { request_id: 'c', note: null },
      { request_id: 'other-1', note: 'from another writer' },
    ]);

    // A column every row must have cannot be left out: refused, naming it.
    const snap = await DeltaTable.forPath(path).latestSnapshot();
    const strict = { ...snap!.schema, fields: [...snap!.schema.fields, { name: 'must', type: 'string' as const, nullable: false, metadata: {} }] };
    await DeltaTable.forPath(path).commit([{ metaData: { ...snap!.metadata, schemaString: JSON.stringify(strict) } }]);
    await assert.rejects(Sink.open(config, schema, 'run-c'), (e: unknown) => {
      assert.ok(e instanceof RunError);
      assert.match(e.message, /holds a Delta table with other columns than this pipeline writes \(non-nullable table columns missing from the data: must\)/);
      return true;
    });
  });
});
