// Small schema builders shared by the sections.
import { z } from 'zod';
import { show } from '../schema-parts.js';
import { didYouMean } from '../suggest.js';

/** An enum whose message names what it is and suggests the closest value. */
export function enumOf<T extends readonly [string, ...string[]]>(values: T, what: string) {
  return z.enum(values, {
    error: (iss) =>
      iss.input === undefined
        ? `is required: one of ${values.join(', ')}`
        : `unknown ${what} ${show(iss.input)}; expected one of ${values.join(', ')}` +
          (typeof iss.input === 'string' ? didYouMean(iss.input, values) : ''),
  });
}

/** A discriminated union on `type` whose "unknown type" message lists the known ones. */
export function byType<T extends readonly [z.core.$ZodTypeDiscriminable, ...z.core.$ZodTypeDiscriminable[]]>(
  options: T,
  types: readonly string[],
  what: string,
) {
  return z.discriminatedUnion('type', options, {
    error: (iss) => {
      if (iss.code !== 'invalid_union') return undefined;
      const t = (iss.input as { type?: unknown } | undefined)?.type;
      if (t === undefined) return `is required: one of ${types.join(', ')}`;
      return `unknown ${what} type ${show(t)}; expected one of ${types.join(', ')}` + (typeof t === 'string' ? didYouMean(t, types) : '');
    },
  });
}

export const positiveInt = () => z.number().int().min(1);

/** A value for a free-form string map (extra_params, Spark conf): numbers and booleans become strings. */
export function scalarLiteral() {
  return z
    .union([z.string(), z.number(), z.boolean()], { error: (iss) => `expected a string, number or boolean, got ${show(iss.input)}` })
    .transform((v) => String(v));
}

/** Schemas that also accept a bare type name for `{type: name}`, with the names (for the JSON Schema). */
export const TYPE_NAME_SHORTHAND = new WeakMap<z.ZodType, readonly string[]>();

/** `- timing` or `auth: none` is shorthand for `{type: timing}` / `{type: none}`. */
export function orTypeName<T extends z.ZodType>(schema: T, types: readonly string[], description?: string) {
  let s = z.preprocess((v) => (typeof v === 'string' ? { type: v } : v), schema);
  // .describe() returns a new schema: register the one that is used.
  if (description) s = s.describe(description);
  TYPE_NAME_SHORTHAND.set(s, types);
  return s;
}
