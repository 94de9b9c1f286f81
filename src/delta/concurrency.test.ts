// Four processes append 50 commits each to one local table: every commit lands at its own version,
// versions are contiguous, no data file is lost or duplicated, and all rows read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeltaTable } from './index.js';
import { one, openConn, tempDir } from './testing/duck.js';

const WORKERS = 4;
const COMMITS = 50;

function runWorker(dir: string, worker: number): Promise<number[]> {
  const script = fileURLToPath(new URL('./testing/append-worker.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = fork(script, [dir, String(worker), String(COMMITS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let versions: number[] | null = null;
    child.on('message', (m: { versions: number[] }) => (versions = m.versions));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 && versions ? resolve(versions) : reject(new Error(`worker ${worker} exited with ${code}`))));
  });
}

test('4 processes x 50 appends: 200 contiguous versions, no lost or duplicated file', { timeout: 300_000 }, async () => {
  const t = await tempDir('concurrency');
  const { conn, close } = await openConn();
  try {
    const results = await Promise.all(Array.from({ length: WORKERS }, (_, w) => runWorker(t.dir, w)));
    const all = results.flat().sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: WORKERS * COMMITS }, (_, i) => i), 'each commit got its own version, 0..199');

    const log = (await fs.readdir(path.join(t.dir, '_delta_log'))).filter((n) => /^\d{20}\.json$/.test(n)).sort();
    assert.equal(log.length, WORKERS * COMMITS);
    log.forEach((n, i) => assert.equal(Number(n.slice(0, 20)), i));

    const table = DeltaTable.forPath(t.dir);
    const snap = await table.snapshot();
    assert.equal(snap.version, WORKERS * COMMITS - 1);
    assert.equal(snap.files.length, WORKERS * COMMITS);
    assert.equal(new Set(snap.files.map((f) => f.path)).size, WORKERS * COMMITS, 'no duplicated add');
    const onDisk = (await fs.readdir(t.dir)).filter((n) => n.endsWith('.parquet'));
    assert.deepEqual(onDisk.sort(), snap.files.map((f) => f.path).sort(), 'every data file on disk is committed exactly once');
    // exactly one protocol+metaData: the losers of the creation race turned into appends
    let metas = 0;
    for (const n of log) metas += (await fs.readFile(path.join(t.dir, '_delta_log', n), 'utf8')).split('\n').filter((l) => l.startsWith('{"metaData"')).length;
    assert.equal(metas, 1);

    await table.registerScan(conn, 'rows');
    assert.equal(Number(await one(conn, 'SELECT count(DISTINCT id) FROM rows')), WORKERS * COMMITS);
    assert.equal(Number(await one(conn, 'SELECT count(*) FROM rows')), WORKERS * COMMITS);
    for (let w = 0; w < WORKERS; w++) {
      assert.equal(Number(await one(conn, `SELECT count(*) FROM rows WHERE worker = ${w} AND id BETWEEN ${w * 1_000_000} AND ${w * 1_000_000 + COMMITS - 1}`)), COMMITS);
    }
  } finally {
    close();
    await t.cleanup();
  }
});

test('two writers creating one table at once: the loser appends to the winner\'s table and reports its id, so its next write with that id goes through', async () => {
  const { conn, close } = await openConn();
  const tmp = await tempDir('delta-create-race-');
  try {
    const schema = { type: 'struct' as const, fields: [{ name: 'id', type: 'long' as const, nullable: true, metadata: {} }] };
    const a = DeltaTable.forPath(tmp.dir);
    const b = DeltaTable.forPath(tmp.dir);
    // A creates the table while B, which found none, is between its plan and its commit.
    const rb = await b.write(conn, {
      selectSql: 'SELECT 2::BIGINT AS id',
      schema,
      mode: 'append',
      observer: { planned: async () => void (await a.write(conn, { selectSql: 'SELECT 1::BIGINT AS id', schema, mode: 'append' })) },
    });
    assert.equal(rb.version, 1);
    const snap = await DeltaTable.forPath(tmp.dir).snapshot();
    assert.equal(rb.tableId, snap.metadata.id, "the id of the table B wrote to, not of B's dropped metaData");
    const r2 = await b.write(conn, { selectSql: 'SELECT 3::BIGINT AS id', schema, mode: 'append', minVersion: rb.version, tableId: rb.tableId });
    assert.equal(r2.version, 2);
  } finally {
    close();
    await tmp.cleanup();
  }
});
