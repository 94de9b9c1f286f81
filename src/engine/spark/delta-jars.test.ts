import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunError } from '../../errors.js';
import { defaultDeltaJars, defaultJarDir } from './delta-jars.js';

test('defaultDeltaJars: jars `spark setup` fetched for this Spark version come first', async (t) => {
  const version = `0.0.${process.pid}-test`;
  const dir = defaultJarDir(version);
  await mkdir(dir, { recursive: true });
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'delta-storage-9.9.9.jar'), '');
  await writeFile(join(dir, 'delta-spark_2.13-9.9.9.jar'), '');
  await writeFile(join(dir, 'README.txt'), '');
  assert.deepEqual(defaultDeltaJars({ home: '/nowhere', version, scalaVersion: '2.13' }), [
    join(dir, 'delta-spark_2.13-9.9.9.jar'),
    join(dir, 'delta-storage-9.9.9.jar'),
  ]);
});

test('defaultDeltaJars: none needed when Spark ships Delta itself; otherwise a RunError says to run setup', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'restlake-spark-home-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  await mkdir(join(home, 'jars'));
  // Scala 2.99 matches no repo-local test jars, so only the Spark home decides.
  const install = { home, version: `0.0.${process.pid}-none`, scalaVersion: '2.99' };
  assert.throws(() => defaultDeltaJars(install), (e: unknown) => e instanceof RunError && /restlake spark setup/.test(e.message));
  await writeFile(join(home, 'jars', 'delta-spark_2.99-1.0.0.jar'), '');
  assert.deepEqual(defaultDeltaJars(install), []);
});
