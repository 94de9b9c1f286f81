// Expired log cleanup (log/cleanup.ts): which files go, which stay, and who can read the table afterwards.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DeltaError, DeltaTable, LocalStorage } from '../index.js';
import { tempDir } from '../testing/duck.js';
import { SpyStorage, add, makeTable } from '../testing/log-table.js';
import { cleanupExpiredLogs } from './cleanup.js';

const DAY = 86_400_000;
const pad = (v: number): string => String(v).padStart(20, '0');

const logDir = (dir: string): string => path.join(dir, '_delta_log');
async function setTime(dir: string, name: string, ms: number): Promise<void> {
  await fs.utimes(path.join(logDir(dir), name), ms / 1000, ms / 1000);
}
async function logNames(dir: string): Promise<string[]> {
  return (await fs.readdir(logDir(dir))).sort();
}

const NOW = Date.parse('2024-03-15T23:59:00Z');
const CUTOFF = Date.parse('2024-02-14T00:00:00Z'); // midnight UTC of NOW - 30 days
const OLD = Date.parse('2024-02-01T00:00:00Z');

/**
 * Commits 0..12, checkpoints at 4, 8 and 12, a .crc per version, log compaction files, a writer's temp file
 * and a sidecar; commit v at OLD + v hours for v <= 9, commits 10-12 the day of NOW.
 */
async function historyTable(dir: string): Promise<DeltaTable> {
  const t = await makeTable(dir, 12);
  for (const v of [4, 8, 12]) await t.checkpoint(v);
  for (let v = 0; v <= 12; v++) await fs.writeFile(path.join(logDir(dir), `${pad(v)}.crc`), '{}');
  for (const [a, b] of [[0, 3], [8, 10], [9, 11]]) await fs.writeFile(path.join(logDir(dir), `${pad(a)}.${pad(b)}.compacted.json`), '');
  await fs.writeFile(path.join(logDir(dir), `.${pad(2)}.json.0a1b.tmp`), '');
  await fs.mkdir(path.join(logDir(dir), '_sidecars'));
  await fs.writeFile(path.join(logDir(dir), '_sidecars', 'orphan.parquet'), 'x');
  for (const name of await logNames(dir)) {
    const m = /^(\d{20})\./.exec(name);
    if (!m) continue;
    const v = Number(m[1]);
    await setTime(dir, name, v <= 9 ? OLD + v * 3_600_000 : NOW - 3_600_000 + v * 1000);
  }
  return t;
}

describe('expired log cleanup', () => {
  test('deletes exactly the files below the newest checkpoint not after the cutoff commit', async () => {
    const tmp = await tempDir('cleanup');
    try {
      const t = await historyTable(tmp.dir);
      const before = await t.snapshot();
      const r = await cleanupExpiredLogs(new LocalStorage(tmp.dir), {}, { now: NOW });
      // cutoff 2024-02-14T00:00Z: newest commit not after it is 9, newest checkpoint not after that is 8
      assert.equal(r.cutoffTime, CUTOFF);
      assert.equal(r.cutoffCheckpoint, 8);
      assert.deepEqual(r.failed, []);
      assert.deepEqual(await logNames(tmp.dir), [
        `.${pad(2)}.json.0a1b.tmp`,
        `${pad(8)}.checkpoint.parquet`, `${pad(8)}.crc`, `${pad(8)}.json`,
        `${pad(9)}.${pad(11)}.compacted.json`, `${pad(9)}.crc`, `${pad(9)}.json`,
        `${pad(10)}.crc`, `${pad(10)}.json`, `${pad(11)}.crc`, `${pad(11)}.json`,
        `${pad(12)}.checkpoint.parquet`, `${pad(12)}.crc`, `${pad(12)}.json`,
        '_last_checkpoint', '_sidecars',
      ]);
      assert.equal(r.deleted.length, 8 + 8 + 1 + 2); // commits 0-7, crc 0-7, checkpoint 4, compactions 0-3 and 8-10
      assert.deepEqual(await fs.readdir(path.join(logDir(tmp.dir), '_sidecars')), ['orphan.parquet']);

      const fresh = DeltaTable.forPath(tmp.dir);
      const after = await fresh.snapshot();
      assert.equal(after.version, 12);
      assert.deepEqual(after.files.map((f) => f.path).sort(), before.files.map((f) => f.path).sort());
      // the oldest retained version is still there to time travel to, the one before it is gone
      assert.deepEqual((await fresh.snapshot({ version: 8 })).files.map((f) => f.path).sort(), Array.from({ length: 9 }, (_, v) => `part-${v}.parquet`).sort());
      await assert.rejects(fresh.snapshot({ version: 7 }), (e) => e instanceof DeltaError && e.code === 'DELTA_VERSION_NOT_FOUND');
      assert.equal((await fresh.snapshot({ timestamp: OLD + 8 * 3_600_000 + 1 })).version, 8);

      // a second run finds nothing more to delete
      const again = await cleanupExpiredLogs(new LocalStorage(tmp.dir), {}, { now: NOW });
      assert.equal(again.cutoffCheckpoint, 8);
      assert.deepEqual(again.deleted, []);
    } finally {
      await tmp.cleanup();
    }
  });

  test('the cutoff is midnight UTC: a commit at midnight has expired, one a second later has not', async () => {
    for (const [t8, expected] of [[CUTOFF, 8], [CUTOFF + 1000, 4]] as const) {
      const tmp = await tempDir('cleanup');
      try {
        await historyTable(tmp.dir);
        await setTime(tmp.dir, `${pad(8)}.json`, t8);
        await setTime(tmp.dir, `${pad(9)}.json`, NOW - DAY);
        const r = await cleanupExpiredLogs(new LocalStorage(tmp.dir), {}, { now: NOW });
        assert.equal(r.cutoffCheckpoint, expected, `commit 8 at ${new Date(t8).toISOString()}`);
        assert.ok((await logNames(tmp.dir)).includes(`${pad(expected)}.json`));
        assert.ok(!(await logNames(tmp.dir)).includes(`${pad(expected - 1)}.json`));
      } finally {
        await tmp.cleanup();
      }
    }
  });

  test('a checkpoint that cannot start a replay is not the cutoff: unreadable, empty, its time adjusted', async () => {
    const cases: [string, (dir: string) => Promise<void>][] = [
      ['unreadable', (dir) => fs.writeFile(path.join(logDir(dir), `${pad(8)}.checkpoint.parquet`), 'not parquet')],
      ['empty', (dir) => fs.writeFile(path.join(logDir(dir), `${pad(8)}.checkpoint.parquet`), '')],
      // commit 8 written "before" commit 7: time travel counts it as 7's time + 1 ms, which needs commit 7
      ['time adjusted', (dir) => setTime(dir, `${pad(8)}.json`, OLD + 7 * 3_600_000 - 5)],
    ];
    for (const [name, damage] of cases) {
      const tmp = await tempDir('cleanup');
      try {
        await historyTable(tmp.dir);
        await damage(tmp.dir);
        const r = await cleanupExpiredLogs(new LocalStorage(tmp.dir), {}, { now: NOW });
        assert.equal(r.cutoffCheckpoint, 4, name);
        const names = await logNames(tmp.dir);
        assert.ok(names.includes(`${pad(4)}.checkpoint.parquet`) && names.includes(`${pad(4)}.json`) && !names.includes(`${pad(3)}.json`), name);
        assert.ok(names.includes(`${pad(7)}.json`), name);
      } finally {
        await tmp.cleanup();
      }
    }
  });

  test('a commit missing after the checkpoint, no expired commit, or no checkpoint before the cutoff: nothing is deleted', async () => {
    const tmp = await tempDir('cleanup');
    try {
      await historyTable(tmp.dir);
      const all = await logNames(tmp.dir);
      const st = new LocalStorage(tmp.dir);
      for (const v of [10, 8]) { // a gap after the candidate; the candidate's own commit (then 4 has the gap at 8)
        await fs.rename(path.join(logDir(tmp.dir), `${pad(v)}.json`), path.join(tmp.dir, 'aside.json'));
        assert.equal((await cleanupExpiredLogs(st, {}, { now: NOW })).cutoffCheckpoint, null, `commit ${v} missing`);
        await fs.rename(path.join(tmp.dir, 'aside.json'), path.join(logDir(tmp.dir), `${pad(v)}.json`));
      }
      assert.deepEqual(await logNames(tmp.dir), all);
      // nothing older than 30 days before now
      assert.deepEqual((await cleanupExpiredLogs(st, {}, { now: OLD + 20 * DAY })).deleted, []);
      // no complete checkpoint at or before the bound
      assert.equal((await cleanupExpiredLogs(st, {}, { now: NOW, maxCheckpointVersion: 3 })).cutoffCheckpoint, null);
      assert.deepEqual(await logNames(tmp.dir), all);
    } finally {
      await tmp.cleanup();
    }
  });

  test('delta.logRetentionDuration sets the retention; enableExpiredLogCleanup=false or an unreadable duration keeps everything', async () => {
    const tmp = await tempDir('cleanup');
    try {
      await historyTable(tmp.dir);
      const all = await logNames(tmp.dir);
      const st = new LocalStorage(tmp.dir);
      assert.match((await cleanupExpiredLogs(st, { 'delta.enableExpiredLogCleanup': 'FALSE' }, { now: NOW })).skipped ?? '', /enableExpiredLogCleanup/);
      assert.match((await cleanupExpiredLogs(st, { 'delta.logRetentionDuration': 'interval 3 fortnights' }, { now: NOW })).skipped ?? '', /not an interval/);
      assert.deepEqual(await logNames(tmp.dir), all);
      // 1 hour: the cutoff is midnight today; commits 10-12 are from today, so 9 is the cutoff commit
      const r = await cleanupExpiredLogs(st, { 'delta.logRetentionDuration': 'interval 1 hour' }, { now: NOW });
      assert.equal(r.cutoffCheckpoint, 8);
      // a day later all have expired, but never past the checkpoint just written; then up to the newest
      const r2 = await cleanupExpiredLogs(st, { 'delta.logRetentionDuration': 'interval 1 hour' }, { now: NOW + DAY, maxCheckpointVersion: 11 });
      assert.equal(r2.cutoffCheckpoint, 8);
      const r3 = await cleanupExpiredLogs(st, { 'delta.logRetentionDuration': 'interval 1 hour' }, { now: NOW + DAY });
      assert.equal(r3.cutoffCheckpoint, 12);
      assert.deepEqual((await logNames(tmp.dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')), [`${pad(12)}.json`]);
      assert.equal((await DeltaTable.forPath(tmp.dir).snapshot()).files.length, 13);
    } finally {
      await tmp.cleanup();
    }
  });

  test('after an automatic checkpoint the writer cleans up; not with enableExpiredLogCleanup=false; a failing delete never fails the commit', async () => {
    const old = Date.now() - 40 * DAY;
    for (const mode of ['default', 'disabled', 'delete fails'] as const) {
      const tmp = await tempDir('cleanup');
      try {
        const storage = new SpyStorage(tmp.dir);
        const configuration: Record<string, string> = { 'delta.checkpointInterval': '5' };
        if (mode === 'disabled') configuration['delta.enableExpiredLogCleanup'] = 'false';
        const t = await makeTable(tmp.dir, 9, configuration, storage);
        for (let v = 0; v <= 7; v++) await setTime(tmp.dir, `${pad(v)}.json`, old + v * 1000);
        const all = await logNames(tmp.dir);
        assert.ok(all.includes(`${pad(5)}.checkpoint.parquet`));
        storage.failDeletes = mode === 'delete fails';
        // a new writer object: `t` already looked today (at its checkpoint 5) and would not look again until midnight
        assert.equal(t.root, tmp.dir);
        assert.equal(await DeltaTable.forPath(tmp.dir, storage).commit([add(10)]), 10, mode);
        const names = await logNames(tmp.dir);
        assert.ok(names.includes(`${pad(10)}.checkpoint.parquet`), mode);
        if (mode === 'default') {
          assert.deepEqual(names.filter((n) => n.endsWith('.json')), [5, 6, 7, 8, 9, 10].map((v) => `${pad(v)}.json`));
        } else {
          assert.deepEqual(names, [...all, `${pad(10)}.checkpoint.parquet`, `${pad(10)}.json`].sort(), mode);
        }
        assert.equal((await DeltaTable.forPath(tmp.dir).snapshot()).files.length, 11, mode);
      } finally {
        await tmp.cleanup();
      }
    }
  });
});
