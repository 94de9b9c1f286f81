#!/usr/bin/env node
// Runs every compiled test file under dist/, and the benchmark's smoke test
// (bench/*.test.mjs, plain JavaScript like the rest of the harness), with node's test runner.
// Node 20 takes no globs on --test, so the files are listed here.
// Usage: node scripts/test.mjs [substring ...]  — only files whose path contains one of the substrings.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, suffix, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, suffix, out);
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = [...walk('dist', '.test.js', []), ...walk('bench', '.test.mjs', [])].filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = process.env.RESTLAKE_TEST_CONCURRENCY ?? '3';
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
