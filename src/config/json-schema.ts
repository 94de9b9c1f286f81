// The config's JSON Schema, for editor completion (`restlake schema`). It describes
// what a user WRITES (durations as "30s", `- timing` shorthand, defaults as written),
// generated from the same zod schema the loader validates with, so the two never drift.
import { z } from 'zod';
import { pipelineSchema, TYPE_NAME_SHORTHAND } from './schema.js';

let cached: Record<string, unknown> | null = null;

export function configJsonSchema(): Record<string, unknown> {
  if (cached) return structuredClone(cached);
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
  cached = {
    $schema: json.$schema,
    title: 'restlake pipeline config (version 1)',
    ...json,
  };
  return structuredClone(cached);
}
