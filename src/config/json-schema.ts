// The config's JSON Schema, for editor completion (`restlake schema`). It describes
// what a user WRITES (durations as "30s", `- timing` shorthand, defaults as written),
// generated from the same zod schema the loader validates with, so the two never drift.
import { z } from 'zod';
import { pipelineSchema, TYPE_NAME_SHORTHAND } from './schema.js';

const cached = new Map<boolean, Record<string, unknown>>();

/**
 * `references: false` leaves out the `${env:}`/`${file:}` alternatives (for the key
 * reference in the docs, which describes the values themselves).
 */
export function configJsonSchema(opts: { references?: boolean } = {}): Record<string, unknown> {
  const references = opts.references ?? true;
  const hit = cached.get(references);
  if (hit) return structuredClone(hit);
  const json = z.toJSONSchema(pipelineSchema(), {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    override: (ctx) => {
      const types = TYPE_NAME_SHORTHAND.get(ctx.zodSchema as unknown as z.ZodType);
      if (!types) return;
      // zod sees the object union behind the preprocess; add the bare-name form users may write.
      const { description, ...objects } = ctx.jsonSchema;
      for (const k of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Record<string, unknown>)[k];
      Object.assign(ctx.jsonSchema, {
        ...(description ? { description } : {}),
        anyOf: [{ type: 'string', enum: [...types], description: 'A type name alone, with default options, e.g. `timing`.' }, objects],
      });
    },
  }) as Record<string, unknown>;
  if (references) allowReferences(json);
  const schema = {
    $schema: json.$schema,
    title: 'restlake pipeline config (version 1)',
    ...json,
  };
  cached.set(references, schema);
  return structuredClone(schema);
}

// `${env:…}`/`${file:…}` is resolved before validation, so the loader accepts one
// where the schema wants a number (`workers: ${env:W}`) or a string of some pattern
// (`token_url: ${env:IDP_URL}`). The editor must accept them too.
const WHOLE_REFERENCE = { type: 'string', pattern: '^\\$\\{(env|file):[^}]+\\}$', description: 'A ${env:NAME} or ${file:path} reference.' };
const HAS_REFERENCE = { type: 'string', pattern: '\\$\\{(env|file):', description: 'A string with a ${env:NAME} or ${file:path} reference.' };

function allowReferences(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(allowReferences);
  if (node === null || typeof node !== 'object') return;
  const n = node as Record<string, unknown>;
  for (const v of Object.values(n)) allowReferences(v);
  if ('const' in n || 'enum' in n) return;
  const alt = n.type === 'integer' || n.type === 'number' || n.type === 'boolean' ? WHOLE_REFERENCE : n.type === 'string' && typeof n.pattern === 'string' ? HAS_REFERENCE : null;
  if (!alt) return;
  const { description, default: dflt, ...own } = n;
  for (const k of Object.keys(n)) delete n[k];
  Object.assign(n, description === undefined ? {} : { description }, dflt === undefined ? {} : { default: dflt }, { anyOf: [own, alt] });
}
