// The pipeline config schema (DESIGN §2), zod 4, one section per file in ./sections.
// Input: what a user writes, shorthand included. Output: exactly `PipelineConfig` of
// ./types.ts (minus base_dir and secrets, which the loader adds). Defaults live in the
// sections and nowhere else.
import { z } from 'zod';
import type { PipelineConfig } from './types.js';
import { show, strictObject } from './schema-parts.js';
import { auth } from './sections/auth.js';
import { execution } from './sections/execution.js';
import { middleware } from './sections/middleware.js';
import { checkIdempotencyHeaderNotSet, request } from './sections/request.js';
import { response } from './sections/response.js';
import { checkColumnNames, checkSinkApartFromSource, sink } from './sections/sink.js';
import { source } from './sections/source.js';
import { transport } from './sections/transport.js';
import { ALWAYS, withSchemaContext, type SchemaContext } from './sections/context.js';

export type { SchemaContext } from './sections/context.js';
export { HTTP_METHODS } from './sections/request.js';
export { SOURCE_FORMATS } from './sections/source.js';
export { AUTH_TYPES } from './sections/auth.js';
export { MIDDLEWARE_TYPES } from './sections/middleware.js';
export { TYPE_NAME_SHORTHAND } from './sections/common.js';
export { EXTRACT_TYPES } from './sections/response.js';
export { RESERVED_SINK_COLUMNS } from './sections/sink.js';

function buildPipelineSchema(allowNoSource: boolean) {
  // Without a source the rows must come from the caller (runPipeline with rows).
  const sourceField = allowNoSource ? source.nullable().default(null) : source;

  return strictObject({
    // JSON files name their schema this way for editors ("$schema": "./restlake.schema.json").
    $schema: z.string().optional().describe('The JSON Schema this file follows, for editors; ignored by restlake.'),
    version: z
      .literal(1, { error: (iss) => `unsupported config version ${show(iss.input)}; this restlake reads version 1` })
      .default(1)
      .describe('Config format version: 1.'),
    name: z
      .string({ error: (iss) => (iss.input === undefined ? 'is required' : `expected a string, got ${show(iss.input)}`) })
      .regex(/^[a-z0-9_]+$/, { error: (iss) => `${show(iss.input)} is not a valid name; use lower-case letters, digits and _` })
      .describe('Pipeline name, [a-z0-9_]+; part of every request_id, so renaming it re-sends everything.'),
    source: sourceField,
    request,
    auth: auth.prefault({ type: 'none' }),
    transport: transport.prefault({}),
    middleware,
    response: response.prefault({}),
    sink,
    execution: execution.prefault({}),
  })
    .superRefine(checkColumnNames, ALWAYS)
    .superRefine(checkSinkApartFromSource, ALWAYS)
    .superRefine(checkIdempotencyHeaderNotSet, ALWAYS)
    .transform(({ $schema: _editorHint, ...config }) => config)
    .describe('A restlake pipeline: rows of a table become HTTP requests; responses land in a Delta table.');
}

const built = new Map<boolean, ReturnType<typeof buildPipelineSchema>>();

/** The pipeline schema (memoised). Parse with parsePipeline, which supplies the context. */
export function pipelineSchema(allowNoSource = false): ReturnType<typeof buildPipelineSchema> {
  let s = built.get(allowNoSource);
  if (!s) built.set(allowNoSource, (s = buildPipelineSchema(allowNoSource)));
  return s;
}

/** Validates and normalises raw (interpolated) config data in `ctx`. */
export function parsePipeline(data: unknown, ctx: SchemaContext) {
  const schema = pipelineSchema(ctx.allowNoSource);
  return withSchemaContext(ctx, () => schema.safeParse(data, { reportInput: true }));
}

/** What the schema outputs: the config without the loader-added base_dir and secrets. */
export type ParsedPipeline = Omit<PipelineConfig, 'base_dir' | 'secrets'>;
