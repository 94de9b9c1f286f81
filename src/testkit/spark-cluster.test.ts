// The standalone cluster the Spark engine's tests run on: it starts on loopback with 2 workers, runs a
// job whose rows pass through `node` inside the executors, and stops without leaving a JVM behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { interopScript, tail } from './python.js';
import { startSparkCluster } from './spark-cluster.js';

test('a 2-worker standalone cluster runs a job through node in its executors, then stops', async () => {
  const cluster = await startSparkCluster({ workers: 2 });
  let stopped = false;
  try {
    assert.match(cluster.masterUrl, /^spark:\/\/127\.0\.0\.1:\d+$/);
    const workers = await cluster.workers();
    assert.equal(workers.length, 2);
    assert.ok(workers.every((w) => w.state === 'ALIVE' && w.cores === 1), JSON.stringify(workers));

    const r = await cluster.submit([
      '--conf', 'spark.executor.memory=512m',
      '--conf', 'spark.ui.enabled=false',
      '--files', interopScript('transform_double.mjs'),
      interopScript('spark_smoke.py'),
      '100',
    ]);
    assert.equal(r.code, 0, `spark-submit failed:\n${tail(r.stderr, 60)}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { master: string; count: number; sum: number; cwds: string[]; node: string[] };
    assert.equal(out.master, cluster.masterUrl);
    assert.equal(out.count, 100);
    assert.equal(out.sum, 2 * ((99 * 100) / 2));
    assert.deepEqual(out.node, [process.version], 'the executors ran this Node');
    // Executors run in the workers' work dirs of this cluster, not in a local-mode driver.
    for (const cwd of out.cwds) assert.ok(cwd.startsWith(cluster.dir + path.sep), `executor cwd ${cwd} is under ${cluster.dir}`);

    // The log tails a failed Spark test prints: master, both workers, and the executors of the last app.
    const logs = await cluster.logTails(5);
    for (const name of ['master.log', 'worker-0.log', 'worker-1.log']) assert.ok(logs.includes(`--- ${name}\n`), `${name} in:\n${logs}`);
    assert.match(logs, /--- work-\d\/app-[^/]+\/\d+\/stderr\n/);

    const dir = cluster.dir;
    await cluster.stop();
    stopped = true;
    assert.equal(existsSync(dir), false, 'logs and work dirs are removed');
  } finally {
    if (!stopped) await cluster.stop();
  }
});
