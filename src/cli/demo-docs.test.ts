// The docs and README: the two commands, links that resolve, the commands they
// mention exist, and a configuration reference that covers every key of the schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from './commands.js';

const ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const DOCS = ['architecture', 'configuration', 'middleware', 'transport', 'auth', 'running-demos', 'spark', 'operations', 'editor'];

async function markdownFiles(): Promise<string[]> {
  const docs = (await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f));
  return [join(ROOT, 'README.md'), ...docs];
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(md: string): Set<string> {
  const out = new Set<string>();
  for (const m of md.matchAll(/^#{1,6}\s+(.+)$/gm)) out.add(m[1].trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'));
  return out;
}

test('README keeps exactly the two commands and links every doc', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  assert.match(readme, /^npm ci && npx restlake demo(\s+#.*)?$/m);
  assert.match(readme, /^npm test(\s+#.*)?$/m);
  for (const d of DOCS) {
    assert.ok(existsSync(join(ROOT, 'docs', `${d}.md`)), `docs/${d}.md exists`);
    assert.ok(readme.includes(`(docs/${d}.md)`), `README links docs/${d}.md`);
  }
});

test('every relative link in README and docs resolves, anchors included', async () => {
  for (const file of await markdownFiles()) {
    const md = await readFile(file, 'utf8');
    for (const m of md.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/i.test(target)) continue; // http(s), mailto
      const [path, frag] = target.split('#');
      const abs = path ? resolve(dirname(file), path) : file;
      assert.ok(existsSync(abs), `${file}: link ${target} points at a missing file`);
      if (frag && abs.endsWith('.md')) assert.ok(anchors(await readFile(abs, 'utf8')).has(frag), `${file}: anchor #${frag} missing in ${path || 'itself'}`);
    }
  }
});

test('every `npx restlake <command>` in the docs is a command the CLI has', async () => {
  const names = new Set(COMMANDS.map((c) => c.name));
  for (const file of await markdownFiles()) {
    const md = await readFile(file, 'utf8');
    for (const m of md.matchAll(/npx restlake ([a-z]+)/g)) assert.ok(names.has(m[1]), `${file}: "restlake ${m[1]}" is not a command`);
  }
});

test('the configuration reference covers every section of the JSON Schema', async (t) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'gen-config-docs.mjs'), '--print'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const generated = r.stdout;
  for (const k of ['source', 'request', 'transport', 'response', 'sink', 'execution']) assert.match(generated, new RegExp(`^### \`${k}\`$`, 'm'));
  for (const t of ['none', 'basic', 'bearer', 'oauth2_client_credentials', 'oauth2_password']) assert.match(generated, new RegExp(`^### \`auth\` type \`${t}\`$`, 'm'));
  for (const t of ['retry', 'rate_limit', 'timing', 'logging', 'headers', 'module', 'adaptive_concurrency', 'circuit_breaker']) {
    assert.match(generated, new RegExp(`^### \`middleware\` type \`${t}\`$`, 'm'));
  }
  const doc = await readFile(join(ROOT, 'docs', 'configuration.md'), 'utf8');
  const sections = [...generated.matchAll(/^### (.+)$/gm)].map((m) => m[1]);
  const missingSections = sections.filter((h) => !doc.includes(`### ${h}\n`));
  assert.deepEqual(missingSections, [], 'docs/configuration.md lacks sections: run `node scripts/gen-config-docs.mjs`');
  const keys = [...generated.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
  assert.ok(keys.length > 60, `${keys.length} keys`);
  // A key added to the schema after the docs were generated is reported, not failed on:
  // `node scripts/gen-config-docs.mjs --check` is the strict gate for whoever edits the schema.
  const missingKeys = keys.filter((k) => !doc.includes(`| \`${k}\` |`));
  if (missingKeys.length > 0) t.diagnostic(`keys not yet in docs/configuration.md: ${missingKeys.join(', ')}`);
});
