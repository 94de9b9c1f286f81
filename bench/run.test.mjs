// The benchmark's smoke test: the harness still runs end to end (nginx, every contender,
// the report), on tiny sizes. It asserts what the harness produced, never a speed
// (timings on shared machines are noise; speeds are reported by `npm run bench`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

test('npm run bench -- --smoke: every scenario and contender runs, the report has every ratio', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'restlake-bench-smoke-'));
  try {
    const out = join(dir, 'report.json');
    const r = spawnSync(process.execPath, [join(here, 'run.mjs'), '--smoke', '--json', out], { encoding: 'utf8', timeout: 280_000 });
    assert.equal(r.status, 0, `bench exited ${r.status}:\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    const expected = {
      cpu: ['restlake', 'bare', 'aiohttp', 'naive', 'wrk'],
      latency: ['restlake', 'bare', 'aiohttp', 'naive', 'wrk'],
      extract: ['restlake', 'bare', 'aiohttp', 'naive'],
    };
    assert.deepEqual(Object.keys(report.scenarios).sort(), Object.keys(expected).sort());
    for (const [name, contenders] of Object.entries(expected)) {
      const sc = report.scenarios[name];
      assert.deepEqual(Object.keys(sc.contenders).sort(), [...contenders].sort(), name);
      for (const [c, v] of Object.entries(sc.contenders)) {
        assert.ok(v.rowsPerSecond > 0, `${name}/${c}: rows/s ${v.rowsPerSecond}`);
        if (c !== 'wrk') {
          assert.ok(v.cpuSecondsPer1k > 0, `${name}/${c}: CPU ${v.cpuSecondsPer1k}`);
          assert.ok(v.peakRssMB > 10, `${name}/${c}: peak RSS ${v.peakRssMB} MB`);
        }
      }
    }
    assert.ok(report.scenarios.latency.idealRowsPerSecond > 0);
    // The Markdown report on stdout carries the ratios the issue asks for.
    for (const ratio of ['restlake/bare', 'restlake/aiohttp', 'restlake/naive', 'restlake/wrk', 'CPU per row restlake/bare', 'efficiency']) {
      assert.ok(r.stdout.includes(ratio), `report lacks "${ratio}"`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
