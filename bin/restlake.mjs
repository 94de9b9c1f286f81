#!/usr/bin/env node
// Node 22.1+ can keep V8's compiled code of modules between runs, as tsc does. The CLI
// turns it on for itself and, through NODE_COMPILE_CACHE, for the workers it spawns
// (a 1-row run on Node 24: median 0.50 → 0.45 s wall). Node 20 has no such cache;
// NODE_DISABLE_COMPILE_CACHE=1 keeps it off. The CLI is imported only after this, so
// that its own modules are cached too.
//
// The cache is code Node runs: it lives in a directory of this user only,
// <tmpdir>/restlake-compile-cache-<uid>, created 0700 and used only while it is ours and
// not group/world-writable (a fixed shared path would let another local user plant
// entries). A NODE_COMPILE_CACHE set by the user is theirs to choose and used as is.
import nodeModule from 'node:module';
import { nodeTooOld } from '../dist/node-version.js';

const tooOld = nodeTooOld(process.versions.node);
if (tooOld) {
  process.stderr.write(`${tooOld}\n`);
  process.exit(2);
}

if (nodeModule.enableCompileCache && !process.env.NODE_DISABLE_COMPILE_CACHE) {
  if (!process.env.NODE_COMPILE_CACHE) {
    const { perUserTempDir, privateDirProblem } = await import('../dist/private-dir.js');
    const dir = perUserTempDir('restlake-compile-cache');
    const problem = privateDirProblem(dir);
    if (problem === null) process.env.NODE_COMPILE_CACHE = dir;
    else process.stderr.write(`restlake: warn: not using the compile cache ${dir}: it ${problem}\n`);
  }
  if (process.env.NODE_COMPILE_CACHE) nodeModule.enableCompileCache(process.env.NODE_COMPILE_CACHE);
}
const { main } = await import('../dist/cli/main.js');
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
