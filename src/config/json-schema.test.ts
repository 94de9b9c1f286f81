import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { configJsonSchema } from './json-schema.js';
import { DESIGN_EXAMPLE } from './testing.js';

type Schema = Record<string, unknown>;

/**
 * A small JSON Schema (2020-12) checker covering the keywords the generated schema uses.
 * Returns the paths that fail, so a test can say where.
 */
function check(root: Schema, schema: Schema, value: unknown, path = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref === '#' ? root : (schema.$ref.replace(/^#\//, '').split('/').reduce<unknown>((s, k) => (s as Schema)[k], root) as Schema);
    const rest = { ...schema };
    delete rest.$ref;
    return [...check(root, target, value, path), ...check(root, rest, value, path)];
  }
  const errs: string[] = [];
  const type = schema.type;
  if (type !== undefined) {
    const types = Array.isArray(type) ? type : [type];
    const t = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    const ok = types.some((x) => x === t || (x === 'integer' && Number.isInteger(value)) || (x === 'number' && t === 'number'));
    if (!ok) return [`${path}: expected ${types.join('|')}`];
  }
  if ('const' in schema && schema.const !== value) errs.push(`${path}: expected const ${String(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errs.push(`${path}: not in enum`);
  if (typeof schema.pattern === 'string' && typeof value === 'string' && !new RegExp(schema.pattern).test(value)) errs.push(`${path}: pattern`);
  if (typeof schema.minimum === 'number' && typeof value === 'number' && value < schema.minimum) errs.push(`${path}: minimum`);
  if (typeof schema.minLength === 'number' && typeof value === 'string' && value.length < schema.minLength) errs.push(`${path}: minLength`);
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((s) => check(root, s as Schema, value, path).length === 0)) errs.push(`${path}: no anyOf matches`);
  if (Array.isArray(schema.oneOf) && schema.oneOf.filter((s) => check(root, s as Schema, value, path).length === 0).length !== 1) {
    errs.push(`${path}: not exactly one oneOf matches`);
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => errs.push(...check(root, schema.items as Schema, v, `${path}[${i}]`)));
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errs.push(`${path}.${r}: required`);
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errs.push(...check(root, props[k], v, `${path}.${k}`));
      else if (schema.additionalProperties === false) errs.push(`${path}.${k}: not allowed`);
      else if (typeof schema.additionalProperties === 'object') errs.push(...check(root, schema.additionalProperties as Schema, v, `${path}.${k}`));
      if (schema.propertyNames) errs.push(...check(root, schema.propertyNames as Schema, k, `${path}.${k}(key)`));
    }
  }
  return errs;
}

test('the JSON Schema accepts the example config of DESIGN §2', () => {
  const schema = configJsonSchema();
  assert.deepEqual(check(schema, schema, parseYaml(DESIGN_EXAMPLE)), []);
});

test('the JSON Schema accepts the reference example and shorthand forms', async () => {
  const schema = configJsonSchema();
  const reference = parseYaml(await readFile(new URL('../../examples/pipeline.reference.yaml', import.meta.url), 'utf8'));
  assert.deepEqual(check(schema, schema, reference), []);
  const short = parseYaml(DESIGN_EXAMPLE.replace('  - type: timing', '  - timing').replace('key: [order_id]', 'key: order_id')) as Record<string, unknown>;
  short.auth = 'none';
  assert.deepEqual(check(schema, schema, short), []);
});

test('the JSON Schema accepts every shipped example, and ${env:}/${file:} references where the loader resolves them', async () => {
  const schema = configJsonSchema();
  const dir = new URL('../../examples/', import.meta.url);
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.yaml'))) {
    assert.deepEqual(check(schema, schema, parseYaml(await readFile(new URL(f, dir), 'utf8'))), [], f);
  }
  const withRefs = parseYaml(DESIGN_EXAMPLE) as Record<string, Record<string, unknown>>;
  withRefs.auth!.token_url = '${env:IDP_URL}';
  withRefs.execution = { ...withRefs.execution, workers: '${env:W}', concurrency: '${env:C:-8}', resume: '${env:RESUME}' };
  assert.deepEqual(check(schema, schema, withRefs), []);
  // Only a reference stands in for a number: other text still fails.
  withRefs.execution.workers = 'four';
  assert.notDeepEqual(check(schema, schema, withRefs), []);
});

test('the JSON Schema rejects unknown keys, bad enums and missing required keys where the loader does', () => {
  const schema = configJsonSchema();
  const cfg = parseYaml(DESIGN_EXAMPLE) as Record<string, Record<string, unknown>>;
  cfg.request.metod = 'GET';
  cfg.sink.mode = 'upsert';
  delete cfg.request.url;
  const errs = check(schema, schema, cfg);
  assert.ok(errs.includes('$.request.metod: not allowed'), errs.join('\n'));
  assert.ok(errs.includes('$.sink.mode: not in enum'), errs.join('\n'));
  assert.ok(errs.includes('$.request.url: required'), errs.join('\n'));
});

test('the JSON Schema describes the input shape, with descriptions and defaults as written', () => {
  const schema = configJsonSchema() as Schema & { properties: Record<string, Schema & { properties?: Record<string, Schema> }> };
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.deepEqual(schema.required, ['name', 'source', 'request', 'sink']);
  const transport = schema.properties.transport.properties!;
  // Durations and sizes as a user writes them, not the normalised ms/bytes.
  assert.equal(transport.timeout.default, '30s');
  assert.equal(transport.max_response_bytes.default, '10MB');
  assert.equal(transport.timeout_ms, undefined);
  assert.equal(schema.properties.request.properties!.method.default, 'GET');
  // Every key of every top-level section has a description, so editors can show help.
  const undocumented: string[] = [];
  for (const [section, s] of Object.entries(schema.properties)) {
    if (typeof s.description !== 'string') undocumented.push(section);
    for (const [k, p] of Object.entries(s.properties ?? {})) if (typeof p.description !== 'string') undocumented.push(`${section}.${k}`);
  }
  assert.deepEqual(undocumented, []);
  const text = JSON.stringify(schema);
  assert.match(text, /"A type name alone, with default options/);
  // Returned fresh each time: a caller mutating it cannot corrupt the next one.
  (schema as Record<string, unknown>).title = 'changed';
  assert.notEqual(configJsonSchema().title, 'changed');
});
