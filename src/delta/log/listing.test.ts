// Loading a snapshot reads only the recent part of the log: listings from _last_checkpoint, commits after a
// snapshot in hand asked for by name, and the full listing whenever those cannot build the snapshot.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DeltaTable, LocalStorage } from '../index.js';
import { tempDir } from '../testing/duck.js';
import { SpyStorage, add, makeTable } from '../testing/log-table.js';

const pad = (v: number): string => String(v).padStart(20, '0');
const logDir = (dir: string): string => path.join(dir, '_delta_log');

describe('listing the log from _last_checkpoint', () => {
  test('the latest snapshot lists only from the checkpoint; the next one reads only the commits after the snapshot in hand', async () => {
    const tmp = await tempDir('listing');
    try {
      const writer = await makeTable(tmp.dir, 24);
      await writer.checkpoint(10);
      await writer.checkpoint(20);
      const st = new SpyStorage(tmp.dir);
      const t = DeltaTable.forPath(tmp.dir, st);
      const snap = await t.snapshot();
      assert.equal(snap.version, 24);
      assert.equal(snap.files.length, 25);
      assert.deepEqual(st.lists.map((l) => l.opts.startAfter), [`_delta_log/${pad(20)}`]);
      assert.equal(st.lists[0].returned, 7, 'checkpoint 20, commits 20-24, _last_checkpoint');
      assert.equal(await t.latestVersion(), 24);
      st.lists = [];
      await writer.commit([add(25)]);
      // one new commit: asked for by name (24 still there, 25 there, 26 not), no listing at all
      assert.equal((await t.snapshot()).files.length, 26);
      assert.equal(await t.latestVersion(), 25);
      assert.equal(st.lists.length, 0);
      // more new commits than are worth asking for one by one: a listing from the snapshot's version
      for (let v = 26; v <= 40; v++) await writer.commit([add(v)]);
      assert.equal((await t.snapshot()).files.length, 41);
      assert.deepEqual(st.lists.map((l) => [l.opts.startAfter, l.returned]), [[`_delta_log/${pad(25)}`, 17]], 'commits 25-40 and _last_checkpoint');
      // a version a few commits on, asked for by name too
      st.lists = [];
      await writer.commit([add(41)]);
      await writer.commit([add(42)]);
      assert.equal((await t.snapshot({ version: 42 })).files.length, 43);
      assert.equal(st.lists.length, 0);
    } finally {
      await tmp.cleanup();
    }
  });

  test('falls back to the whole log: no hint, a hint past the log, a hint to a missing or unreadable checkpoint, time travel before it', async () => {
    const cases: [string, (dir: string) => Promise<void>, { version?: number }][] = [
      ['no _last_checkpoint', (dir) => fs.rm(path.join(logDir(dir), '_last_checkpoint')), {}],
      ['corrupt _last_checkpoint', (dir) => fs.writeFile(path.join(logDir(dir), '_last_checkpoint'), '{"vers'), {}],
      ['hint past the log', (dir) => fs.writeFile(path.join(logDir(dir), '_last_checkpoint'), '{"version":40,"size":3}'), {}],
      ['checkpoint 20 gone', (dir) => fs.rm(path.join(logDir(dir), `${pad(20)}.checkpoint.parquet`)), {}],
      ['checkpoint 20 unreadable', (dir) => fs.writeFile(path.join(logDir(dir), `${pad(20)}.checkpoint.parquet`), 'garbage'), {}],
      ['time travel to 15', async () => {}, { version: 15 }],
    ];
    for (const [name, change, opts] of cases) {
      const tmp = await tempDir('listing');
      try {
        const writer = await makeTable(tmp.dir, 24);
        await writer.checkpoint(10);
        await writer.checkpoint(20);
        await change(tmp.dir);
        const st = new SpyStorage(tmp.dir);
        const snap = await DeltaTable.forPath(tmp.dir, st).snapshot(opts);
        assert.equal(snap.version, opts.version ?? 24, name);
        assert.equal(snap.files.length, (opts.version ?? 24) + 1, name);
        assert.ok(st.lists.some((l) => l.opts.startAfter === undefined), `${name}: a full listing`);
        assert.equal(await DeltaTable.forPath(tmp.dir).latestVersion(), 24, name);
      } finally {
        await tmp.cleanup();
      }
    }
  });

  test('a table removed under a snapshot in hand is gone, not the old snapshot', async () => {
    const tmp = await tempDir('listing');
    try {
      const t = await makeTable(tmp.dir, 3);
      assert.equal((await t.snapshot()).version, 3);
      await fs.rm(logDir(tmp.dir), { recursive: true });
      assert.equal(await t.latestSnapshot(), null);
      assert.equal(await t.latestVersion(), null);
    } finally {
      await tmp.cleanup();
    }
  });

  test('LocalStorage.list: startAfter and limit filter names before any stat', async () => {
    const tmp = await tempDir('listing');
    try {
      const st = new LocalStorage(tmp.dir);
      for (const n of ['b/2.json', 'b/1.json', 'b/3.json', 'b/_x', 'b/sub/4.json']) await st.write(n, Buffer.from(n));
      assert.deepEqual((await st.list('b', { startAfter: 'b/1.json' })).map((f) => f.path), ['b/2.json', 'b/3.json', 'b/_x']);
      assert.deepEqual((await st.list('b', { limit: 2 })).map((f) => f.path), ['b/1.json', 'b/2.json']);
      assert.deepEqual((await st.list('b', { recursive: true, startAfter: 'b/3' })).map((f) => f.path), ['b/3.json', 'b/_x', 'b/sub/4.json']);
    } finally {
      await tmp.cleanup();
    }
  });
});
