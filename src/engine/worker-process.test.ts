// A worker process starts with WORKER_NODE_FLAGS: its young generation stays at Node
// 20's size whatever the Node version (Node 24 would give it four times as much).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './e2e-support.js';
import { WorkerProcess } from './worker-process.js';

// Keeps ~200k small objects alive while allocating millions more, which makes V8 grow
// the young generation as far as it may; then reports its size on stderr.
const GROWER = `import v8 from 'node:v8';
let live = [];
for (let i = 0; i < 3e6; i++) { live.push({ i, s: 'x' + i }); if (live.length > 200000) live = []; }
const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
process.stderr.write('young_mb=' + young.space_size / 1048576 + '\\n');
`;

test('a worker process keeps a young generation of at most 2 x 16 MB', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  try {
    const script = join(tmp.dir, 'grow.mjs');
    await writeFile(script, GROWER);
    const logs: string[] = [];
    const exit = await new Promise<number | null>((resolve) => {
      new WorkerProcess({
        id: 0,
        script,
        jobPath: join(tmp.dir, 'unused.json'),
        onResult: () => assert.fail('no rows were sent'),
        onExit: (_w, code) => resolve(code),
        onLog: (_w, line) => logs.push(line),
      });
    });
    assert.equal(exit, 0, logs.join('\n'));
    const mb = Number(/^young_mb=(\d+(?:\.\d+)?)$/.exec(logs.at(-1) ?? '')?.[1]);
    assert.ok(mb > 0 && mb <= 32, `young generation ${mb} MB (${logs.join(' | ')})`);
  } finally {
    await tmp.cleanup();
  }
});
