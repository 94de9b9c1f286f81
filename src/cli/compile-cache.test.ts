// bin/restlake.mjs turns on Node's compile cache (Node 22.1+) for itself and for the
// workers of a run. A user middleware reports, from inside the worker, which cache
// that process uses; on Node 20 (no such cache) it must report none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import nodeModule from 'node:module';
import { join } from 'node:path';
import { startCli, startTestServer, tempDir } from '../engine/e2e-support.js';

const hasCompileCache = typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function';

const MIDDLEWARE = `import m from 'node:module';
export default () => (ex, next) => {
  ex.request.headers['x-compile-cache'] = m.getCompileCacheDir?.() ?? 'none';
  return next();
};
`;

test('the CLI and the workers of its run share one compile cache (none on Node 20, none when disabled)', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const seen: string[] = [];
  const server = await startTestServer((req) => {
    seen.push(String(req.headers['x-compile-cache']));
    return { status: 200, body: '{}' };
  });
  try {
    await writeFile(join(tmp.dir, 'mw.mjs'), MIDDLEWARE);
    await writeFile(join(tmp.dir, 'ids.csv'), 'id\n1\n2\n3\n');
    await writeFile(
      join(tmp.dir, 'p.yaml'),
      [
        'version: 1',
        'name: compile_cache',
        'source: { path: ./ids.csv }',
        `request: { url: "${server.url}/items/{{ id }}" }`,
        'middleware: [{ type: module, path: ./mw.mjs }]',
        'sink: { path: ./lake/out, mode: overwrite }',
        'execution: { workers: 2, concurrency: 1 }',
      ].join('\n'),
    );
    // The default cache lives under os.tmpdir(), which follows TMPDIR.
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp.dir };
    delete env.NODE_COMPILE_CACHE;
    delete env.NODE_DISABLE_COMPILE_CACHE;
    // Per user and private: another local user must not be able to plant compiled code.
    const cache = join(tmp.dir, `restlake-compile-cache-${process.getuid!()}`);

    const on = startCli(['run', 'p.yaml', '--quiet'], { cwd: tmp.dir, env });
    assert.equal(await on.done, 0, on.err());
    assert.equal(seen.length, 3);
    if (hasCompileCache) {
      for (const dir of seen) assert.ok(dir.startsWith(cache + '/'), `a worker used ${dir}, not the CLI's ${cache}`);
      assert.equal(statSync(cache).mode & 0o777, 0o700);
      // One directory per Node version, an entry per module compiled: the CLI's and the workers'.
      assert.ok(readdirSync(cache, { recursive: true }).length > 100, 'the cache holds almost nothing');
    } else {
      assert.deepEqual(seen, ['none', 'none', 'none']);
      assert.equal(existsSync(cache), false);
    }

    // A cache directory open to others (as if another user made it first) is not used.
    await rm(cache, { recursive: true, force: true });
    await mkdir(cache);
    await chmod(cache, 0o777);
    seen.length = 0;
    const planted = startCli(['run', 'p.yaml', '--quiet'], { cwd: tmp.dir, env });
    assert.equal(await planted.done, 0, planted.err());
    assert.deepEqual(seen, ['none', 'none', 'none']);
    assert.deepEqual(readdirSync(cache), [], 'nothing was written to it');
    assert.equal(planted.err(), hasCompileCache ? `restlake: warn: not using the compile cache ${cache}: it is writable by others (mode 0777)\n` : '');

    seen.length = 0;
    const off = startCli(['run', 'p.yaml', '--quiet'], { cwd: tmp.dir, env: { ...env, NODE_DISABLE_COMPILE_CACHE: '1' } });
    assert.equal(await off.done, 0, off.err());
    assert.deepEqual(seen, ['none', 'none', 'none']);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});
