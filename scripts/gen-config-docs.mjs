#!/usr/bin/env node
// Writes the key reference of docs/configuration.md from the config's JSON Schema
// (configJsonSchema(), itself generated from the zod schema the loader validates
// with), so the docs list exactly the keys, types and defaults restlake accepts.
//
//   node scripts/gen-config-docs.mjs           rewrite the generated part (after `npx tsc -p .`)
//   node scripts/gen-config-docs.mjs --check   exit 1 when the docs are out of date
//   node scripts/gen-config-docs.mjs --print   print only the generated reference
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOC = join(ROOT, 'docs', 'configuration.md');
const BEGIN = '<!-- BEGIN GENERATED KEY REFERENCE: node scripts/gen-config-docs.mjs -->';
const END = '<!-- END GENERATED KEY REFERENCE -->';

const { configJsonSchema } = await import(pathToFileURL(join(ROOT, 'dist', 'config', 'json-schema.js')).href);
const schema = configJsonSchema({ references: false }); // the values themselves, not the ${env:} alternatives

const deref = (n) => (n && n.$ref ? { ...schema.$defs[n.$ref.split('/').pop()], ...n, $ref: undefined } : n);
const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const isDuration = (n) => n.anyOf?.some((a) => a.type === 'string' && /ms\|s\|m\|h/.test(a.pattern ?? ''));
const isSize = (n) => n.anyOf?.some((a) => a.type === 'string' && /kib/.test(a.pattern ?? ''));
const isNull = (n) => n.type === 'null';

function typeOf(raw) {
  const n = deref(raw);
  if (!n) return 'any';
  if (n.$ref === undefined && raw.$ref) return 'any JSON value';
  if (isDuration(n)) return 'duration (`250ms`, `30s`, `5m`, or seconds)';
  if (isSize(n)) return 'size (`10MB`, `512KiB`, or bytes)';
  if (n.const !== undefined) return `\`${n.const}\``;
  if (n.enum) return n.enum.map((e) => `\`${e}\``).join(' | ');
  const alts = n.anyOf ?? n.oneOf;
  if (alts) {
    const parts = alts.filter((a) => !isNull(a)).map(typeOf);
    const nullable = alts.some(isNull);
    return [...new Set(parts)].join(' or ') + (nullable ? ' (or null)' : '');
  }
  if (Array.isArray(n.type)) return n.type.join(' or ');
  if (n.type === 'array') return `list of ${typeOf(n.items)}`;
  if (n.type === 'object') {
    if (n.properties) return 'object';
    if (n.additionalProperties && typeof n.additionalProperties === 'object') return `map of ${typeOf(n.additionalProperties)}`;
    return 'object';
  }
  if (n.type === 'integer') return 'integer' + (n.minimum !== undefined && n.minimum > -1e15 ? ` ≥ ${n.minimum}` : '');
  if (n.type === 'number') return 'number' + (n.exclusiveMinimum !== undefined ? ` > ${n.exclusiveMinimum}` : n.minimum !== undefined ? ` ≥ ${n.minimum}` : '');
  return n.type ?? 'any';
}

function fmtDefault(n) {
  if (!('default' in n)) return '';
  const d = n.default;
  if (d === null) return '`null`';
  if (typeof d === 'object') return Object.keys(d).length === 0 && !Array.isArray(d) ? '' : `\`${JSON.stringify(d)}\``;
  return `\`${d}\``;
}

/** The object schema behind a node (through nullable/anyOf wrappers), or null. */
function objectOf(raw) {
  const n = deref(raw);
  if (!n) return null;
  if (n.type === 'object' && n.properties) return n;
  for (const a of n.anyOf ?? []) {
    const o = objectOf(a);
    if (o) return o;
  }
  return null;
}

/** Variants of a discriminated union on `type` (auth, middleware items), or null. */
function variantsOf(raw) {
  const n = deref(raw);
  if (!n) return null;
  if (n.oneOf && n.oneOf.every((v) => v.properties?.type?.const)) return n.oneOf;
  for (const a of n.anyOf ?? []) {
    const v = variantsOf(a);
    if (v) return v;
  }
  return null;
}

function rows(obj, prefix, out) {
  const required = new Set(obj.required ?? []);
  for (const [key, raw] of Object.entries(obj.properties)) {
    const n = deref(raw);
    const path = prefix ? `${prefix}.${key}` : key;
    if (key === 'type' && n.const !== undefined) continue; // shown in the section title
    const desc = (n.description ?? objectOf(n)?.description ?? '') + (required.has(key) && !('default' in n) ? ' **Required.**' : '');
    out.push(`| \`${path}\` | ${cell(typeOf(raw))} | ${cell(fmtDefault(n))} | ${cell(desc.trim())} |`);
    const inner = objectOf(n);
    if (inner && !variantsOf(n)) rows(inner, path, out);
    const extra = n.additionalProperties && typeof n.additionalProperties === 'object' ? objectOf(n.additionalProperties) : null;
    if (extra) rows(extra, `${path}.<name>`, out);
    if (n.type === 'array' && objectOf(n.items) && !variantsOf(n.items)) rows(objectOf(n.items), `${path}[]`, out);
  }
}

const HEAD = ['| key | type | default | meaning |', '| --- | --- | --- | --- |'];

function section(title, obj, prefix) {
  const out = [`### ${title}`, ''];
  if (obj.description) out.push(obj.description, '');
  const body = [];
  rows(obj, prefix, body);
  if (body.length) out.push(...HEAD, ...body);
  else out.push('No options.');
  out.push('');
  return out;
}

const lines = [];
const topRequired = new Set(schema.required ?? []);
lines.push('### top level', '', ...HEAD);
for (const [key, raw] of Object.entries(schema.properties)) {
  const n = deref(raw);
  const desc = (n.description ?? objectOf(n)?.description ?? '') + (topRequired.has(key) ? ' **Required.**' : '');
  const listOfVariants = n.type === 'array' && variantsOf(n.items);
  const type = listOfVariants ? 'list of entries (below)' : typeOf(raw).replace(/^object$/, 'object (below)');
  lines.push(`| \`${key}\` | ${cell(type)} | ${cell(fmtDefault(n))} | ${cell(desc.trim())} |`);
}
lines.push('');
for (const [key, raw] of Object.entries(schema.properties)) {
  const n = deref(raw);
  const variants = variantsOf(n) ?? (n.type === 'array' ? variantsOf(n.items) : null);
  if (variants) {
    const where = n.type === 'array' ? `${key}[]` : key;
    for (const v of variants) lines.push(...section(`\`${key}\` type \`${v.properties.type.const}\``, v, where));
    continue;
  }
  const obj = objectOf(n);
  if (obj) lines.push(...section(`\`${key}\``, obj, key));
}
const generated = lines.join('\n').trimEnd();

if (process.argv.includes('--print')) {
  process.stdout.write(generated + '\n');
  process.exit(0);
}
const doc = readFileSync(DOC, 'utf8');
const a = doc.indexOf(BEGIN);
const b = doc.indexOf(END);
if (a < 0 || b < a) {
  console.error(`gen-config-docs: ${DOC} lacks the markers ${BEGIN} … ${END}`);
  process.exit(2);
}
const next = doc.slice(0, a + BEGIN.length) + '\n\n' + generated + '\n\n' + doc.slice(b);
if (process.argv.includes('--check')) {
  if (next !== doc) {
    console.error('docs/configuration.md is out of date: run `npx tsc -p . && node scripts/gen-config-docs.mjs`');
    process.exit(1);
  }
  console.log('docs/configuration.md is up to date');
} else {
  writeFileSync(DOC, next);
  console.log(`wrote the key reference of ${DOC}`);
}
