// Run directories left by killed runs are removed by the next run; only those: one case per
// kind of directory found in the temporary directory, each real, with a real (dead or live) owner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createRunDir, processStart, removeStaleRunDirs } from './run-dir.js';
import { tempDir } from './e2e-support.js';

const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
const me = { pid: process.pid, start: processStart(process.pid), host: hostname() };

const all: { name: string; owner?: unknown; ownerText?: string; make?: (dir: string) => Promise<void>; removed: boolean; rootOnly?: boolean }[] = [
  { name: 'restlake-run-dead', owner: { ...me, pid: deadPid }, removed: true },
  { name: 'restlake-run-dead-nostart', owner: { ...me, pid: deadPid, start: null }, removed: true },
  { name: 'restlake-run-reused-pid', owner: { ...me, start: 'not-our-start' }, removed: true },
  { name: 'restlake-run-live', owner: me, removed: false },
  { name: 'restlake-run-other-host', owner: { ...me, pid: deadPid, host: 'elsewhere.example' }, removed: false },
  { name: 'restlake-run-no-owner', removed: false },
  { name: 'restlake-run-bad-owner', ownerText: '{"pid": "x"', removed: false },
  { name: 'restlake-e2e-dead', owner: { ...me, pid: deadPid }, removed: false },
  { name: 'restlake-run-other-user', owner: { ...me, pid: deadPid }, make: (d) => chown(d, 65534, 65534), removed: false, rootOnly: true },
];
// Chowning a directory to another user needs root.
const cases = all.filter((c) => !c.rootOnly || process.getuid?.() === 0);

test('removeStaleRunDirs removes only run directories of this user whose owner is gone', async (t) => {
  const tmp = await tempDir();
  t.after(() => tmp.cleanup());
  assert.ok(me.start !== null, 'this test runs where /proc gives start times');
  for (const c of cases) {
    const dir = join(tmp.dir, c.name);
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, 'job.json'), '{"password":"b4sic-Passw0rd"}', { mode: 0o600 });
    if (c.owner !== undefined || c.ownerText !== undefined) await writeFile(join(dir, 'owner.json'), c.ownerText ?? JSON.stringify(c.owner));
    await c.make?.(dir);
  }
  // A symlink that looks like a run directory: never followed.
  await mkdir(join(tmp.dir, 'target'));
  await writeFile(join(tmp.dir, 'target', 'owner.json'), JSON.stringify({ ...me, pid: deadPid }));
  await symlink(join(tmp.dir, 'target'), join(tmp.dir, 'restlake-run-symlink'));

  const removed = await removeStaleRunDirs(tmp.dir);
  assert.deepEqual(removed.sort(), cases.filter((c) => c.removed).map((c) => join(tmp.dir, c.name)).sort());
  for (const c of cases) {
    assert.equal(existsSync(join(tmp.dir, c.name)), !c.removed, c.name);
  }
  assert.ok(existsSync(join(tmp.dir, 'target', 'owner.json')));
  assert.deepEqual(await removeStaleRunDirs(tmp.dir), [], 'a second sweep finds nothing more');
});

test('createRunDir: 0700, owned by this process (pid, start time, host)', async (t) => {
  const tmp = await tempDir();
  t.after(() => tmp.cleanup());
  const dir = await createRunDir(tmp.dir);
  assert.match(dir, /\/restlake-run-[^/]+$/);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.equal((await stat(join(dir, 'owner.json'))).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'owner.json'), 'utf8')), me);
  assert.deepEqual(await removeStaleRunDirs(tmp.dir), [], "a live run's directory is kept");
});
