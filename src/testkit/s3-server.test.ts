// The S3 test server is only useful if it behaves like S3 where restlake depends on it (conditional
// PUT answers 412) and never outlives the test process that started it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { fileURLToPath } from 'node:url';
import { startS3Server } from './s3-server.js';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, runPythonJson, testTools } from './python.js';

const ORPHAN_CHILD = process.env.RESTLAKE_S3_ORPHAN_CHILD;
if (ORPHAN_CHILD !== undefined) {
  // Child mode: start a server, report its endpoint, then wait to be killed without a chance to stop it.
  const s3 = await startS3Server();
  process.stdout.write(JSON.stringify({ endpoint: s3.endpoint }) + '\n');
  setInterval(() => {}, 1000);
} else {
  test('PutObject with If-None-Match: * answers 412 PreconditionFailed when the key exists', async () => {
    const s3 = await startS3Server();
    try {
      const c = s3.client();
      await c.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'k', Body: 'one', IfNoneMatch: '*' }));
      await assert.rejects(c.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'k', Body: 'two', IfNoneMatch: '*' })), (e: unknown) => {
        const err = e as { name: string; $metadata: { httpStatusCode: number } };
        assert.equal(err.$metadata.httpStatusCode, 412);
        assert.equal(err.name, 'PreconditionFailed');
        return true;
      });
      const r = await c.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'k' }));
      assert.equal(await r.Body!.transformToString(), 'one');
      assert.match(s3.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(s3.env.AWS_ENDPOINT_URL, s3.endpoint);
    } finally {
      await s3.stop();
    }
  });

  test('the server exits when the process that started it dies without stopping it', async () => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, RESTLAKE_S3_ORPHAN_CHILD: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const endpoint = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve((JSON.parse(line) as { endpoint: string }).endpoint);
      });
      child.on('exit', (code) => reject(new Error(`child exited ${code} before starting the server`)));
    });
    assert.equal((await fetchStatus(endpoint)) !== null, true, 'server answers while its parent lives');
    child.kill('SIGKILL');
    // The server sees its stdin close and exits; poll until the port stops answering (bounded).
    let answering = true;
    for (let i = 0; i < 100 && answering; i++) {
      await new Promise((r) => setTimeout(r, 100));
      answering = (await fetchStatus(endpoint)) !== null;
    }
    assert.equal(answering, false, 'the orphaned server stopped');
  });

  test('paths.json points at real tools and runPythonJson reports Python failures with the traceback', async () => {
    const t = testTools();
    for (const f of [t.python, `${t.sparkHome}/bin/spark-submit`, `${t.sparkHome}/bin/spark-class`, ...t.deltaJars, ...t.s3aJars]) {
      assert.ok(existsSync(f), `${f} exists`);
    }
    assert.match(t.sparkVersion, /^4\.0\./);
    assert.ok(t.deltaJars.some((j) => j.includes(`delta-spark_2.13-`)), 'delta-spark jar for Scala 2.13');
    const reqs = readFileSync(path.join(repoRoot, 'scripts', 'setup', 'requirements-test.txt'), 'utf8');
    assert.match(reqs, new RegExp(`pyspark==${t.sparkVersion.replace(/\./g, '\\.')}`), 'installed pyspark is the pinned one');
    const ok = await runPythonJson<{ n: number }>(['-c', 'import json; print("noise"); print(json.dumps({"n": 3}))']);
    assert.deepEqual(ok, { n: 3 });
    await assert.rejects(runPythonJson(['-c', 'raise ValueError("boom-from-python")']), /ValueError: boom-from-python/);
  });
}

/** HTTP status of GET /, or null when nothing answers. */
async function fetchStatus(endpoint: string): Promise<number | null> {
  const http = await import('node:http');
  return new Promise((resolve) => {
    const req = http.get(endpoint, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}
