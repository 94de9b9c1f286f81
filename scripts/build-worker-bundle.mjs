#!/usr/bin/env node
// Bundles the worker entrypoint into ONE self-contained file, dist/restlake-worker.mjs,
// which the Spark engine ships to executors with --files: executor hosts have Node but
// not restlake's node_modules. Built from src/worker/main.ts (esbuild strips the types),
// or from dist/worker/main.js when only dist exists (an installed package).
//
// Usage: node scripts/build-worker-bundle.mjs [--out FILE]
import { existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outArg = process.argv.indexOf('--out');
const outfile = outArg > 0 ? resolve(process.argv[outArg + 1]) : join(root, 'dist', 'restlake-worker.mjs');
const entry = [join(root, 'src', 'worker', 'main.ts'), join(root, 'dist', 'worker', 'main.js')].find((p) => existsSync(p));
if (!entry) {
  console.error('build-worker-bundle: no worker entrypoint (src/worker/main.ts or dist/worker/main.js)');
  process.exit(1);
}

// Native addons and the DuckDB driver cannot travel in one .mjs; the worker must never
// pull them in (DESIGN §6: the worker imports no engine/sink). Fail the build if it does.
// src/duckdb.ts loads DuckDB with require(), which esbuild does not follow: forbid the module itself.
const FORBIDDEN = [/node_modules\/@duckdb\//, /node_modules\/duckdb\//, /\.node$/, /(^|\/)(src\/duckdb\.ts|dist\/duckdb\.js)$/];

let result;
try {
  result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    metafile: true,
    legalComments: 'none',
    sourcemap: false,
    logLevel: 'warning',
    // The worker loads esbuild lazily, only to transpile a .ts middleware module; esbuild
    // is a native binary and cannot be bundled. The Spark engine ships modules already
    // bundled as .mjs, so executors never take that path.
    external: ['esbuild'],
    // CommonJS dependencies bundled into ESM call require() for Node built-ins; give them one.
    banner: {
      js: "import { createRequire as __restlakeCreateRequire } from 'node:module'; const require = __restlakeCreateRequire(import.meta.url);",
    },
  });
} catch {
  // esbuild has already printed each error with its file and line.
  console.error('build-worker-bundle: failed');
  process.exit(1);
}

const inputs = Object.keys(result.metafile.inputs);
const bad = inputs.filter((p) => FORBIDDEN.some((re) => re.test(p)));
if (bad.length) {
  console.error(`build-worker-bundle: the worker pulls in modules that cannot run in a Spark executor:\n  ${bad.join('\n  ')}`);
  process.exit(1);
}
const bytes = statSync(outfile).size;
console.log(`build-worker-bundle: ${relative(root, entry)} -> ${relative(root, outfile)} (${(bytes / 1024).toFixed(0)} KiB, ${inputs.length} modules)`);
