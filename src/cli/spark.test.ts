// `restlake spark setup` against a fake Spark home and a fake `mvn` that records its
// arguments and "downloads" the artifact: what is asked of Maven and where files land.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSpark } from './spark.js';
import { locateSpark } from '../engine/spark/locate.js';
import { deltaArtifacts, deltaVersionFor } from '../engine/spark/delta-jars.js';
import { RunError } from '../errors.js';

async function fakeSparkHome(root: string, scala: string, version: string): Promise<string> {
  const home = join(root, `spark-${version}`);
  await mkdir(join(home, 'bin'), { recursive: true });
  await mkdir(join(home, 'jars'), { recursive: true });
  await writeFile(join(home, 'bin', 'spark-submit'), '#!/bin/sh\nexit 1\n');
  await chmod(join(home, 'bin', 'spark-submit'), 0o755);
  await writeFile(join(home, 'jars', `spark-core_${scala}-${version}.jar`), '');
  return home;
}

/** A `mvn` that writes <artifactId>-<version>.jar into -DoutputDirectory and logs its args. */
async function fakeMvn(root: string, failOn?: string): Promise<{ path: string; log: string }> {
  const log = join(root, 'mvn.log');
  const path = join(root, 'mvn');
  await writeFile(
    path,
    `#!/bin/sh
echo "$@" >> '${log}'
for a in "$@"; do
  case "$a" in
    -Dartifact=*) art="\${a#-Dartifact=}" ;;
    -DoutputDirectory=*) out="\${a#-DoutputDirectory=}" ;;
  esac
done
${failOn ? `case "$art" in *${failOn}*) echo "[ERROR] Could not find artifact $art" ; exit 1 ;; esac` : ''}
id=$(echo "$art" | cut -d: -f2); v=$(echo "$art" | cut -d: -f3)
mkdir -p "$out" && echo jar > "$out/$id-$v.jar"
`,
  );
  await chmod(path, 0o755);
  return { path, log };
}

function io(env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: { PATH: '', ...env } },
    out: () => out,
    err: () => err,
  };
}

test('spark setup fetches the delta-spark and delta-storage jars matching SPARK_HOME', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'restlake-spark-setup-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const home = await fakeSparkHome(root, '2.13', '4.0.1');
  const mvn = await fakeMvn(root);
  const dir = join(root, 'jars');
  const c = io({ SPARK_HOME: home });
  const code = await runSpark(['setup', '--dir', dir, '--mvn', mvn.path], c.io);
  assert.equal(code, 0, c.err());
  assert.deepEqual((await readdir(dir)).sort(), ['delta-spark_2.13-4.0.1.jar', 'delta-storage-4.0.1.jar']);
  assert.match(c.out(), /Spark 4\.0\.1 \(Scala 2\.13\) at .* \(found via SPARK_HOME\)/);
  assert.match(c.out(), /Delta Lake 4\.0\.1/);
  const calls = await readFile(mvn.log, 'utf8');
  assert.match(calls, /dependency-plugin:[\d.]+:copy -Dartifact=io\.delta:delta-spark_2\.13:4\.0\.1/);
});

test('spark setup --s3 also fetches hadoop-aws and the AWS SDK bundle for the Hadoop inside that Spark', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'restlake-spark-setup-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const home = await fakeSparkHome(root, '2.13', '4.0.1');
  await writeFile(join(home, 'jars', 'hadoop-client-api-3.4.1.jar'), '');
  const mvn = await fakeMvn(root);
  const dir = join(root, 'jars');
  const c = io({ SPARK_HOME: home });
  assert.equal(await runSpark(['setup', '--dir', dir, '--mvn', mvn.path, '--s3'], c.io), 0, c.err());
  assert.deepEqual((await readdir(dir)).sort(), ['bundle-2.24.6.jar', 'delta-spark_2.13-4.0.1.jar', 'delta-storage-4.0.1.jar', 'hadoop-aws-3.4.1.jar']);
  assert.match(c.out(), /s3a for Hadoop 3\.4\.1: fetching org\.apache\.hadoop:hadoop-aws:3\.4\.1, software\.amazon\.awssdk:bundle:2\.24\.6/);
  // A Hadoop without a known bundle says what to do instead.
  await rm(join(home, 'jars', 'hadoop-client-api-3.4.1.jar'));
  await writeFile(join(home, 'jars', 'hadoop-client-api-3.9.9.jar'), '');
  const d = io({ SPARK_HOME: home });
  assert.equal(await runSpark(['setup', '--dir', dir, '--mvn', mvn.path, '--s3'], d.io), 3);
  assert.match(d.err(), /no known AWS SDK bundle for Hadoop 3\.9\.9 .*add org\.apache\.hadoop:hadoop-aws:3\.9\.9/);
});

test('spark setup: --delta-version overrides the table; Maven failures exit 3 naming the artifact', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'restlake-spark-setup-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const home = await fakeSparkHome(root, '2.12', '3.5.5');
  const mvn = await fakeMvn(root, 'delta-storage');
  const c = io();
  const code = await runSpark(['setup', '--spark-home', home, '--dir', join(root, 'j'), '--mvn', mvn.path, '--delta-version', '3.2.1'], c.io);
  assert.equal(code, 3);
  assert.match(c.out(), /ok\s+io\.delta:delta-spark_2\.12:3\.2\.1/);
  assert.match(c.err(), /FAIL io\.delta:delta-storage:3\.2\.1/);
});

test('spark setup: usage errors exit 2, an unknown Spark exits 3 with what was tried', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'restlake-spark-setup-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  let c = io();
  assert.equal(await runSpark(['frobnicate'], c.io), 2);
  assert.match(c.err(), /unknown subcommand "frobnicate"/);
  c = io();
  assert.equal(await runSpark(['setup', '--delta-version', 'latest'], c.io), 2);
  c = io({ SPARK_HOME: join(root, 'nowhere'), PYSPARK_PYTHON: join(root, 'no-python') });
  assert.equal(await runSpark(['setup'], c.io), 3);
  assert.match(c.err(), /Spark not found \(tried SPARK_HOME: .*nowhere \(no bin\/spark-submit\)\)/);
  const old = await fakeSparkHome(root, '2.11', '2.4.8');
  c = io({ SPARK_HOME: old });
  assert.equal(await runSpark(['setup'], c.io), 3);
  assert.match(c.err(), /no known delta-spark release for Spark 2\.4\.8/);
});

test('locateSpark finds spark-submit on PATH through its symlink; the Delta table maps Spark minors', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'restlake-spark-locate-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const home = await fakeSparkHome(root, '2.12', '3.4.1');
  await mkdir(join(root, 'bin'));
  const { symlink } = await import('node:fs/promises');
  await symlink(join(home, 'bin', 'spark-submit'), join(root, 'bin', 'spark-submit'));
  const found = locateSpark(null, { PATH: join(root, 'bin') });
  assert.equal(found.home, home);
  assert.equal(found.foundVia, 'PATH');
  assert.deepEqual([found.version, found.scalaVersion], ['3.4.1', '2.12']);
  assert.equal(deltaVersionFor('3.5.1'), '3.3.2');
  assert.equal(deltaVersionFor('4.0.0'), '4.0.1');
  assert.throws(() => deltaVersionFor('9.9.9'), RunError);
  assert.deepEqual(deltaArtifacts('2.12', '2.4.0'), ['io.delta:delta-core_2.12:2.4.0', 'io.delta:delta-storage:2.4.0']);
});
